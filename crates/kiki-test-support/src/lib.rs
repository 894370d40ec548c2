//! Integration-test support: `TestApp` spawns the real application on port 0
//! against a fresh database — a temporary SQLite file, or a fresh PostgreSQL
//! database when `KIKI_TEST_DATABASE_URL` is set — optionally with Redis from
//! `KIKI_TEST_REDIS_URL`, and `FakeServices` starts local fake external APIs.
//! Every `TestApp` mounts the identity module (`kiki-identity-service`), so
//! tests of any context sign in through `/v1/auth/token`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use kiki_core::Clock;
use kiki_server::{AppState, Application, BuildOptions, Config};
use kiki_store::testing::TestDb;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use wiremock;

pub mod identity;

/// Local stand-ins for external services, each a real HTTP server on loopback.
pub mod fakes {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// An OTLP/HTTP collector that accepts trace exports at `/v1/traces`.
    pub async fn otlp_collector() -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/traces"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        server
    }

    /// An endpoint that fails `failures` times with `status`, then answers 200 with `body`.
    pub async fn flaky_endpoint(route: &str, failures: u64, status: u16, body: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(path(route.to_owned()))
            .respond_with(ResponseTemplate::new(status))
            .up_to_n_times(failures)
            .mount(&server)
            .await;
        Mock::given(path(route.to_owned()))
            .respond_with(ResponseTemplate::new(200).set_body_string(body.to_owned()))
            .mount(&server)
            .await;
        server
    }
}

/// The Redis URL tests should use, if any (`KIKI_TEST_REDIS_URL`).
pub fn test_redis_url() -> Option<String> {
    std::env::var("KIKI_TEST_REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A running application for one test.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
    db: Option<TestDb>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Builds a `TestApp`; every setting has a test-friendly default.
pub struct TestAppBuilder {
    config: Config,
    routes: Option<Router<AppState>>,
    clock: Option<Arc<dyn Clock>>,
    redis: bool,
    database_url: Option<String>,
    modules: Vec<Arc<dyn kiki_server::Module>>,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        let mut config = Config::default();
        // Tests send many requests from one address; the rate-limit test sets its own.
        config.http.rate_limit.per_second = 100_000;
        config.http.rate_limit.burst = 100_000;
        config.http.shutdown_grace_secs = 5;
        config.jobs.poll_interval_ms = 20;
        config.jobs.shutdown_grace_secs = 2;
        config.log.level = "warn".into();
        // Cheap password hashing keeps sign-in tests fast; the default cost is
        // what docs/benchmarks.md measures and one identity test checks.
        config.auth.argon2 = kiki_credentials::password::Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        TestAppBuilder {
            config,
            routes: None,
            clock: None,
            redis: false,
            database_url: None,
            modules: Vec::new(),
        }
    }

    /// The default app.
    pub async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    /// Waits until job `id` has finished (succeeded, failed or cancelled)
    /// and returns its record. The worker runs it; the wait polls the jobs
    /// table. The bound is a hang guard (a stuck job fails the test after
    /// a minute), not a timing assertion.
    pub async fn wait_for_job(&self, id: kiki_core::JobId) -> kiki_store::JobRecord {
        for _ in 0..1200 {
            let job = self
                .state
                .jobs
                .get(id)
                .await
                .expect("the jobs table is readable")
                .expect("the job exists");
            if job.status.is_finished() {
                return job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("job {id:?} did not finish within a minute");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed to send")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request failed to send")
    }

    /// Starts graceful shutdown and returns immediately.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down gracefully and waits for the server to finish.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.begin_shutdown();
        let res = match self.handle.take() {
            Some(h) => h.await?,
            None => Ok(()),
        };
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
        res
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

impl TestAppBuilder {
    /// Changes the configuration before start.
    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    /// Extra routes mounted behind the full middleware stack.
    pub fn routes(mut self, r: Router<AppState>) -> Self {
        self.routes = Some(r);
        self
    }

    pub fn clock(mut self, c: Arc<dyn Clock>) -> Self {
        self.clock = Some(c);
        self
    }

    /// Uses this database instead of a fresh migrated one (for start-up tests).
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Mounts a service module (as `kiki serve` does with every module). The
    /// identity module (sign-in, organisations, …) is always mounted, first.
    pub fn module(mut self, m: Arc<dyn kiki_server::Module>) -> Self {
        self.modules.push(m);
        self
    }

    /// Uses Redis from `KIKI_TEST_REDIS_URL` when set.
    pub fn with_redis(mut self) -> Self {
        self.redis = true;
        self
    }

    pub async fn spawn(mut self) -> TestApp {
        let db = kiki_store::testing::fresh_db().await;
        self.config.database.url = self
            .database_url
            .take()
            .unwrap_or_else(|| db.url().to_owned());
        // Under CI=true a test that asked for Redis fails when it is not
        // configured, instead of running without it.
        if self.redis
            && let Some(url) = kiki_store::testing::require_redis("a TestApp with Redis")
        {
            self.config.redis.url = Some(secrecy::SecretString::from(url));
        }
        // Every test signs in through the identity API, as `kiki serve` does.
        if !self.modules.iter().any(|m| m.name() == "identity") {
            self.modules
                .insert(0, Arc::new(kiki_identity_service::IdentityModule::new()));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let app = Application::build_with(
            self.config,
            BuildOptions {
                extra_routes: self.routes,
                clock: self.clock,
                listener: Some(listener),
                modules: self.modules,
                ..Default::default()
            },
        )
        .await
        .expect("the application builds");
        let addr = app.local_addr();
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            state,
            shutdown: Some(tx),
            handle: Some(handle),
            db: Some(db),
        }
    }
}
