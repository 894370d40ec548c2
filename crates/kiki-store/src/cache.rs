//! The shared cache: Redis when configured (shared by every replica), moka
//! in process memory otherwise — and as the fallback while Redis is away.
//!
//! Values are stored as JSON text with a TTL. Redis keys live under the
//! `kiki:cache:` namespace. When Redis fails, the cache logs once, serves from
//! memory, reports `degraded`, and retries Redis every couple of seconds;
//! invalidations made during the outage are replayed on Redis when it
//! returns, so no replica reads an entry that was invalidated while it was down.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{CacheConfig, RedisConfig};
use crate::error::StoreError;
use crate::health::{DependencyCheck, DependencyStatus};

const NAMESPACE: &str = "kiki:cache:";
/// How long a Redis connection attempt or command may take before we fall back.
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);
/// While Redis is down, how often to try it again.
const REDIS_RETRY: Duration = Duration::from_secs(2);
/// Invalidations remembered during an outage; beyond this the whole namespace is cleared on recovery.
const MAX_PENDING_INVALIDATIONS: usize = 10_000;

#[derive(Clone)]
struct Entry {
    json: Arc<str>,
    ttl: Duration,
}

struct EntryTtl;

impl Expiry<String, Entry> for EntryTtl {
    fn expire_after_create(&self, _key: &String, value: &Entry, _at: Instant) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _at: Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

enum Invalidation {
    Key(String),
    Prefix(String),
}

struct RedisState {
    client: redis::Client,
    manager: tokio::sync::Mutex<Option<ConnectionManager>>,
    down: AtomicBool,
    retry_at: parking_lot::Mutex<Option<Instant>>,
    last_error: parking_lot::Mutex<Option<String>>,
    pending: parking_lot::Mutex<(Vec<Invalidation>, bool)>,
}

impl RedisState {
    /// A connection, or `None` while Redis is known to be down and not yet due for a retry.
    async fn conn(&self, force: bool) -> Option<ConnectionManager> {
        if !force
            && self.down.load(Ordering::Relaxed)
            && self.retry_at.lock().is_some_and(|at| Instant::now() < at)
        {
            return None;
        }
        let mut guard = self.manager.lock().await;
        if let Some(m) = guard.as_ref() {
            return Some(m.clone());
        }
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        match tokio::time::timeout(
            REDIS_TIMEOUT * 2,
            ConnectionManager::new_with_config(self.client.clone(), cfg),
        )
        .await
        {
            Ok(Ok(m)) => {
                *guard = Some(m.clone());
                Some(m)
            }
            Ok(Err(e)) => {
                self.mark_down(&e.to_string());
                None
            }
            Err(_) => {
                self.mark_down("the connection attempt timed out");
                None
            }
        }
    }

    fn mark_down(&self, error: &str) {
        *self.retry_at.lock() = Some(Instant::now() + REDIS_RETRY);
        *self.last_error.lock() = Some(error.to_owned());
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error,
                "Redis is unreachable; the cache is using process memory until it returns"
            );
        }
    }

    /// Marks Redis as up; returns true when this ends an outage.
    fn mark_up(&self) -> bool {
        let was_down = self.down.swap(false, Ordering::Relaxed);
        if was_down {
            tracing::info!("Redis is reachable again; the cache uses it again");
        }
        was_down
    }

    fn remember(&self, inv: Invalidation) {
        let mut p = self.pending.lock();
        if p.0.len() < MAX_PENDING_INVALIDATIONS {
            p.0.push(inv);
        } else {
            p.1 = true;
        }
    }
}

struct Inner {
    local: moka::future::Cache<String, Entry>,
    default_ttl: Duration,
    redis: Option<RedisState>,
    flights: parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A JSON cache with TTLs. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("redis_configured", &self.inner.redis.is_some())
            .field("redis_up", &self.is_redis())
            .finish()
    }
}

impl Cache {
    /// Uses Redis when `redis.url` is set. An unreachable Redis at start is not
    /// an error: the cache starts degraded (in memory) and keeps retrying. A
    /// malformed URL is a configuration error.
    pub async fn new(cfg: &CacheConfig, redis: &RedisConfig) -> Result<Cache, StoreError> {
        let Some(url) = &redis.url else {
            return Ok(Cache::in_memory(cfg));
        };
        let client = redis::Client::open(url.expose_secret()).map_err(|e| {
            StoreError::Config(format!(
                "The Redis URL in redis.url is invalid ({e}); expected redis://[:password@]host:port/db."
            ))
        })?;
        let cache = Cache::build(
            cfg,
            Some(RedisState {
                client,
                manager: tokio::sync::Mutex::new(None),
                down: AtomicBool::new(false),
                retry_at: parking_lot::Mutex::new(None),
                last_error: parking_lot::Mutex::new(None),
                pending: parking_lot::Mutex::new((Vec::new(), false)),
            }),
        );
        if let Some(r) = &cache.inner.redis
            && r.conn(true).await.is_some()
        {
            r.mark_up();
            tracing::info!("cache connected to Redis");
        }
        Ok(cache)
    }

    /// A process-local cache (single instance, tests).
    pub fn in_memory(cfg: &CacheConfig) -> Cache {
        Cache::build(cfg, None)
    }

    fn build(cfg: &CacheConfig, redis: Option<RedisState>) -> Cache {
        let local = moka::future::Cache::builder()
            .max_capacity(cfg.max_entries)
            .expire_after(EntryTtl)
            .support_invalidation_closures()
            .build();
        Cache {
            inner: Arc::new(Inner {
                local,
                default_ttl: Duration::from_secs(cfg.default_ttl_secs.max(1)),
                redis,
                flights: parking_lot::Mutex::new(HashMap::new()),
            }),
        }
    }

    /// True when Redis is configured and was reachable at its last use.
    pub fn is_redis(&self) -> bool {
        self.inner
            .redis
            .as_ref()
            .is_some_and(|r| !r.down.load(Ordering::Relaxed))
    }

    /// A connection when Redis is configured and usable now.
    async fn redis(&self) -> Option<(&RedisState, ConnectionManager)> {
        let r = self.inner.redis.as_ref()?;
        let conn = r.conn(false).await?;
        Some((r, conn))
    }

    /// Records that a Redis command worked; replays invalidations missed during an outage.
    async fn redis_ok(&self, r: &RedisState, conn: &mut ConnectionManager) {
        if !r.mark_up() {
            return;
        }
        let (pending, overflowed) = std::mem::take(&mut *r.pending.lock());
        let replay = if overflowed {
            vec![Invalidation::Prefix(String::new())]
        } else {
            pending
        };
        for inv in replay {
            let res = match &inv {
                Invalidation::Key(k) => conn.unlink::<_, usize>(namespaced(k)).await.map(|_| ()),
                Invalidation::Prefix(p) => unlink_prefix(conn, p).await,
            };
            if let Err(e) = res {
                r.mark_down(&e.to_string());
                r.remember(inv);
                return;
            }
        }
    }

    async fn get_raw(&self, key: &str) -> (Option<Arc<str>>, &'static str) {
        if let Some((r, mut conn)) = self.redis().await {
            match conn.get::<_, Option<String>>(namespaced(key)).await {
                Ok(v) => {
                    self.redis_ok(r, &mut conn).await;
                    return (v.map(Arc::from), "redis");
                }
                Err(e) => r.mark_down(&e.to_string()),
            }
        }
        (self.inner.local.get(key).await.map(|e| e.json), "memory")
    }

    /// One request against a shared GCRA rate bucket in Redis (the generic
    /// cell rate algorithm: one request per `interval`, `burst` at once),
    /// so every replica counts against the same bucket. `None` when Redis is
    /// not configured or not reachable now (the caller uses its own bucket);
    /// otherwise `Ok` to go ahead or `Err(wait)` until the next request fits.
    /// Redis's own clock (`TIME`) is used, so replicas need not agree on time.
    pub async fn rate_check(
        &self,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> Option<Result<(), Duration>> {
        let (r, mut conn) = self.redis().await?;
        let interval_us = interval.as_micros().max(1) as i64;
        let tolerance_us = interval_us * i64::from(burst.max(1) - 1);
        let result = GCRA_SCRIPT
            .key(namespaced(&format!("rate:{key}")))
            .arg(interval_us)
            .arg(tolerance_us)
            .invoke_async::<i64>(&mut conn)
            .await;
        match result {
            Ok(wait_us) => {
                self.redis_ok(r, &mut conn).await;
                Some(if wait_us <= 0 {
                    Ok(())
                } else {
                    Err(Duration::from_micros(wait_us as u64))
                })
            }
            Err(e) => {
                r.mark_down(&e.to_string());
                None
            }
        }
    }

    /// The value under `key`, or `None` when absent, expired, or not a `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let (raw, backend) = self.get_raw(key).await;
        let value = raw.and_then(|json| match serde_json::from_str(&json) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::debug!(cache.key = key, error = %e, "cached value has another shape; treated as a miss");
                None
            }
        });
        if value.is_some() {
            metrics::counter!("kiki_cache_hits_total", "backend" => backend).increment(1);
        } else {
            metrics::counter!("kiki_cache_misses_total", "backend" => backend).increment(1);
        }
        value
    }

    /// Stores `v` for `ttl` (default `cache.default_ttl_secs`). Failures to
    /// encode are logged: a cache write is never worth failing a request.
    pub async fn set_json<T: Serialize>(&self, key: &str, v: &T, ttl: Option<Duration>) {
        let json = match serde_json::to_string(v) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(cache.key = key, error = %e, "value not cached: it cannot be encoded as JSON");
                return;
            }
        };
        let ttl = ttl
            .unwrap_or(self.inner.default_ttl)
            .max(Duration::from_millis(1));
        if let Some((r, mut conn)) = self.redis().await {
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
            match conn.pset_ex::<_, _, ()>(namespaced(key), &json, ms).await {
                Ok(()) => {
                    self.redis_ok(r, &mut conn).await;
                    return;
                }
                Err(e) => r.mark_down(&e.to_string()),
            }
        }
        self.inner
            .local
            .insert(
                key.to_owned(),
                Entry {
                    json: Arc::from(json),
                    ttl,
                },
            )
            .await;
    }

    /// The cached value, or `f()`'s value, which is then cached. Concurrent
    /// callers in this process for the same key wait for one computation.
    /// Errors of `f` are returned and not cached.
    pub async fn get_or_compute<T, F, Fut, E>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        f: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.get_json(key).await {
            return Ok(v);
        }
        let flight = self
            .inner
            .flights
            .lock()
            .entry(key.to_owned())
            .or_default()
            .clone();
        let result = {
            let _one_at_a_time = flight.lock().await;
            let (raw, _) = self.get_raw(key).await;
            match raw.and_then(|json| serde_json::from_str::<T>(&json).ok()) {
                Some(v) => Ok(v),
                None => match f().await {
                    Ok(v) => {
                        self.set_json(key, &v, ttl).await;
                        Ok(v)
                    }
                    Err(e) => Err(e),
                },
            }
        };
        let mut flights = self.inner.flights.lock();
        // Ours plus the map's: nobody else is waiting on this key.
        if Arc::strong_count(&flight) <= 2 {
            flights.remove(key);
        }
        result
    }

    /// Removes one key.
    pub async fn invalidate(&self, key: &str) {
        self.inner.local.invalidate(key).await;
        if let Some(r) = &self.inner.redis {
            match self.redis().await {
                Some((r, mut conn)) => match conn.unlink::<_, usize>(namespaced(key)).await {
                    Ok(_) => self.redis_ok(r, &mut conn).await,
                    Err(e) => {
                        r.mark_down(&e.to_string());
                        r.remember(Invalidation::Key(key.to_owned()));
                    }
                },
                None => r.remember(Invalidation::Key(key.to_owned())),
            }
        }
    }

    /// Removes every key starting with `prefix` (Redis: `SCAN MATCH` + `UNLINK`).
    pub async fn invalidate_prefix(&self, prefix: &str) {
        let owned = prefix.to_owned();
        if let Err(e) = self
            .inner
            .local
            .invalidate_entries_if(move |k, _| k.starts_with(&owned))
        {
            tracing::warn!(error = %e, "invalidating in-memory cache entries failed");
        }
        if let Some(r) = &self.inner.redis {
            match self.redis().await {
                Some((r, mut conn)) => match unlink_prefix(&mut conn, prefix).await {
                    Ok(()) => self.redis_ok(r, &mut conn).await,
                    Err(e) => {
                        r.mark_down(&e.to_string());
                        r.remember(Invalidation::Prefix(prefix.to_owned()));
                    }
                },
                None => r.remember(Invalidation::Prefix(prefix.to_owned())),
            }
        }
    }

    /// `cache` (memory only): always up. `redis`: up when PING answers,
    /// degraded (serving from memory) when it does not.
    pub async fn health(&self) -> DependencyCheck {
        let start = Instant::now();
        let Some(r) = &self.inner.redis else {
            return DependencyCheck::new("cache", DependencyStatus::Up, start.elapsed());
        };
        let ping = match r.conn(true).await {
            Some(mut conn) => {
                match tokio::time::timeout(
                    REDIS_TIMEOUT,
                    redis::cmd("PING").query_async::<String>(&mut conn),
                )
                .await
                {
                    Ok(Ok(_)) => {
                        self.redis_ok(r, &mut conn).await;
                        Ok(())
                    }
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("PING timed out".to_owned()),
                }
            }
            None => Err(r
                .last_error
                .lock()
                .clone()
                .unwrap_or_else(|| "no connection".to_owned())),
        };
        match ping {
            Ok(()) => DependencyCheck::new("redis", DependencyStatus::Up, start.elapsed()),
            Err(e) => {
                r.mark_down(&e);
                DependencyCheck::new("redis", DependencyStatus::Degraded, start.elapsed())
                    .with_error(format!(
                        "Redis is unreachable ({e}); the cache is serving from process memory."
                    ))
            }
        }
    }
}

fn namespaced(key: &str) -> String {
    format!("{NAMESPACE}{key}")
}

/// Escapes glob metacharacters so a prefix matches literally in `SCAN MATCH`.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// GCRA in one atomic step: KEYS[1] holds the theoretical arrival time
/// (microseconds, Redis clock); ARGV[1] is the emission interval, ARGV[2] the
/// burst tolerance. Returns 0 when the request fits (and books it), else the
/// microseconds until it would.
static GCRA_SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then
  return tat - tolerance - now
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.floor((new_tat - now) / 1000) + 1)
return 0
",
    )
});

async fn unlink_prefix(conn: &mut ConnectionManager, prefix: &str) -> redis::RedisResult<()> {
    let pattern = format!("{}*", glob_escape(&namespaced(prefix)));
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await?;
        if !keys.is_empty() {
            conn.unlink::<_, usize>(keys).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_metacharacters_are_escaped() {
        assert_eq!(glob_escape("org:1:*"), "org:1:\\*");
        assert_eq!(glob_escape("a?b[c]\\"), "a\\?b\\[c\\]\\\\");
        assert_eq!(glob_escape("plain"), "plain");
    }
}
