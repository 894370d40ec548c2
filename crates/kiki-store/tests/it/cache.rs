//! The cache: TTLs, invalidation, single computation, the Redis path and the
//! fallback to memory when Redis is unreachable.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kiki_store::{Cache, CacheConfig, DependencyStatus, RedisConfig};
use secrecy::SecretString;

use crate::support::{eventually, redis_or_note};

fn cfg() -> CacheConfig {
    CacheConfig {
        default_ttl_secs: 300,
        max_entries: 1000,
    }
}

fn redis_cfg(url: &str) -> RedisConfig {
    RedisConfig {
        url: Some(SecretString::from(url.to_owned())),
    }
}

/// Keys unique to one test run, so parallel tests on one Redis never collide.
fn prefix() -> String {
    format!("it-{}:", uuid::Uuid::new_v4().simple())
}

async fn ttl_and_invalidation_behave(cache: &Cache) {
    let p = prefix();
    let (short, a, b, other) = (
        format!("{p}short"),
        format!("{p}org:1:a"),
        format!("{p}org:1:b"),
        format!("{p}org:2:a"),
    );
    cache
        .set_json(&short, &1u32, Some(Duration::from_millis(100)))
        .await;
    cache.set_json(&a, &"a", None).await;
    cache.set_json(&b, &vec![1, 2, 3], None).await;
    cache.set_json(&other, &true, None).await;
    assert_eq!(cache.get_json::<u32>(&short).await, Some(1));
    assert_eq!(cache.get_json::<Vec<i32>>(&b).await, Some(vec![1, 2, 3]));
    assert_eq!(
        cache.get_json::<u32>(&a).await,
        None,
        "a value of another shape is a miss"
    );
    eventually("the short entry to expire", || async {
        cache.get_json::<u32>(&short).await.is_none()
    })
    .await;
    assert_eq!(
        cache.get_json::<String>(&a).await.as_deref(),
        Some("a"),
        "the default TTL is long"
    );

    cache.invalidate_prefix(&format!("{p}org:1:")).await;
    assert_eq!(cache.get_json::<String>(&a).await, None);
    assert_eq!(cache.get_json::<Vec<i32>>(&b).await, None);
    assert_eq!(cache.get_json::<bool>(&other).await, Some(true));
    cache.invalidate(&other).await;
    assert_eq!(cache.get_json::<bool>(&other).await, None);
}

async fn get_or_compute_computes_once(cache: &Cache) {
    let key = format!("{}report", prefix());
    let calls = Arc::new(AtomicUsize::new(0));
    let compute = || {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, std::io::Error>(vec!["expensive".to_owned()])
        }
    };
    let (x, y, z) = tokio::join!(
        cache.get_or_compute(&key, None, compute),
        cache.get_or_compute(&key, None, compute),
        cache.get_or_compute(&key, None, compute),
    );
    assert_eq!(x.unwrap(), vec!["expensive"]);
    assert_eq!(y.unwrap(), vec!["expensive"]);
    assert_eq!(z.unwrap(), vec!["expensive"]);
    let again: Vec<String> = cache.get_or_compute(&key, None, compute).await.unwrap();
    assert_eq!(again, vec!["expensive"]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let failing_key = format!("{}failing", prefix());
    let err: Result<u8, &str> = cache
        .get_or_compute(&failing_key, None, || async { Err("upstream down") })
        .await;
    assert_eq!(err, Err("upstream down"));
    assert_eq!(
        cache.get_json::<u8>(&failing_key).await,
        None,
        "errors are not cached"
    );
}

#[tokio::test]
async fn in_memory_entries_expire_and_invalidate_by_key_and_prefix() {
    let cache = Cache::in_memory(&cfg());
    assert!(!cache.is_redis());
    ttl_and_invalidation_behave(&cache).await;
    let h = cache.health().await;
    assert_eq!((h.name.as_str(), h.status), ("cache", DependencyStatus::Up));
}

#[tokio::test]
async fn in_memory_get_or_compute_computes_once_for_concurrent_callers() {
    get_or_compute_computes_once(&Cache::in_memory(&cfg())).await;
}

#[tokio::test]
async fn redis_entries_expire_and_invalidate_by_key_and_prefix() {
    let Some(url) = redis_or_note("the Redis cache test") else {
        return;
    };
    let cache = Cache::new(&cfg(), &redis_cfg(&url)).await.unwrap();
    assert!(cache.is_redis());
    ttl_and_invalidation_behave(&cache).await;
    get_or_compute_computes_once(&cache).await;
    let h = cache.health().await;
    assert_eq!(
        (h.name.as_str(), h.status, h.error),
        ("redis", DependencyStatus::Up, None)
    );
}

#[tokio::test]
async fn two_caches_on_one_redis_share_entries_and_invalidations() {
    let Some(url) = redis_or_note("the shared Redis cache test") else {
        return;
    };
    let a = Cache::new(&cfg(), &redis_cfg(&url)).await.unwrap();
    let b = Cache::new(&cfg(), &redis_cfg(&url)).await.unwrap();
    let key = format!("{}shared", prefix());
    a.set_json(&key, &42u64, None).await;
    assert_eq!(b.get_json::<u64>(&key).await, Some(42));
    b.invalidate(&key).await;
    assert_eq!(a.get_json::<u64>(&key).await, None);
}

#[tokio::test]
async fn an_unreachable_redis_degrades_to_memory_and_keeps_working() {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    let cache = Cache::new(&cfg(), &redis_cfg("redis://127.0.0.1:1/0"))
        .await
        .unwrap();
    assert!(!cache.is_redis());
    ttl_and_invalidation_behave(&cache).await;
    get_or_compute_computes_once(&cache).await;
    let h = cache.health().await;
    assert_eq!(h.name, "redis");
    assert_eq!(h.status, DependencyStatus::Degraded);
    let e = h.error.unwrap();
    assert!(e.contains("serving from process memory"), "{e}");
}

#[tokio::test]
async fn a_malformed_redis_url_is_a_configuration_error() {
    let err = Cache::new(&cfg(), &redis_cfg("not a url at all"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redis.url"), "{err}");
}

/// A private redis-server this test starts and stops (never the shared one).
struct OwnRedis {
    child: std::process::Child,
    port: u16,
}

impl OwnRedis {
    fn start(port: u16) -> Option<OwnRedis> {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(OwnRedis { child, port })
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    async fn wait_ready(&self) {
        let port = self.port;
        eventually(
            "the private redis-server to accept connections",
            || async move { std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() },
        )
        .await;
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn when_redis_goes_away_the_cache_falls_back_logs_once_and_returns_to_redis_later() {
    if redis_or_note("the Redis outage test").is_none() {
        return;
    }
    let port = OwnRedis::free_port();
    let Some(server) = OwnRedis::start(port) else {
        assert!(
            !kiki_store::testing::in_ci(),
            "redis-server must be installed in CI"
        );
        eprintln!("note: redis-server is not installed; the Redis outage test did not run");
        return;
    };
    server.wait_ready().await;
    let (logs, _guard) = crate::support::capture_logs();
    let cache = Cache::new(&cfg(), &redis_cfg(&format!("redis://127.0.0.1:{port}/0")))
        .await
        .unwrap();
    assert!(cache.is_redis());
    cache.set_json("stale", &"before the outage", None).await;

    drop(server);
    // Many calls during the outage: all served from memory, one warning.
    for i in 0..20u32 {
        cache.set_json(&format!("k{i}"), &i, None).await;
        assert_eq!(cache.get_json::<u32>(&format!("k{i}")).await, Some(i));
    }
    cache.invalidate("stale").await;
    assert!(!cache.is_redis());
    assert_eq!(cache.health().await.status, DependencyStatus::Degraded);
    let warnings = logs
        .contents()
        .matches("Redis is unreachable; the cache is using process memory")
        .count();
    assert_eq!(warnings, 1, "{}", logs.contents());

    let _server = OwnRedis::start(port).expect("redis-server restarts");
    _server.wait_ready().await;
    eventually("the cache to use Redis again", || async {
        cache.set_json("probe", &1u8, None).await;
        cache.is_redis()
    })
    .await;
    assert!(logs.contents().contains("Redis is reachable again"));
    assert_eq!(
        cache.get_json::<String>("stale").await,
        None,
        "the invalidation made during the outage was replayed on Redis"
    );
    assert_eq!(cache.health().await.status, DependencyStatus::Up);
}
