//! Building and running the application: connect the store, run migrations,
//! compose the router for the process's roles with the middleware stack,
//! start background workers, and shut down gracefully (stop accepting, let
//! in-flight requests finish within the grace period, stop workers through a
//! cancellation token, close pools).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::routing::get;
use kiki_core::{Clock, SystemClock};
use kiki_explain::Decisions;
use kiki_identity::{Identity, IdentityParts};
use kiki_notify::Mail;
use kiki_outbound::OutboundClient;
use kiki_shield::{AuditLog, Keyring};
use kiki_store::{Cache, Db, EventBus, HousekeepingJob, Jobs, Scheduler};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::health::{self, CacheProbe, DatabaseProbe, HealthRegistry};
use crate::middleware::{self, EdgeCounters, RateLimit};
use crate::module::{Module, ModuleContext, Services};
use crate::openapi::{self, ApiDoc};
use crate::platform::Platform;
use crate::roles::Roles;
use crate::state::{App, AppState};
use crate::versioning::{self, VersionedApi};

/// What a caller may add to the standard build (tests, embedding programs).
#[derive(Default)]
pub struct BuildOptions {
    /// Extra routes mounted under the same middleware (tests use this for slow or panicking handlers).
    pub extra_routes: Option<Router<AppState>>,
    /// Extra versioned API routes from context crates.
    pub extra_api: Option<VersionedApi<AppState>>,
    /// A clock other than the system clock.
    pub clock: Option<Arc<dyn Clock>>,
    /// A listener already bound (port 0 in tests).
    pub listener: Option<TcpListener>,
    /// Service modules (LTV, bidder, twin, …) started in this order.
    pub modules: Vec<Arc<dyn Module>>,
}

impl std::fmt::Debug for BuildOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildOptions").finish_non_exhaustive()
    }
}

/// A built application, bound to its address, not yet serving.
pub struct Application {
    state: AppState,
    /// The API document `/openapi.json` serves (with the `api` role).
    openapi: Option<serde_json::Value>,
    router: Router,
    listener: TcpListener,
    cancel: CancellationToken,
    background: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::build_with(config, BuildOptions::default()).await
    }

    pub async fn build_with(config: Config, opts: BuildOptions) -> anyhow::Result<Application> {
        config.validate_with(&config_registry(&opts.modules))?;
        let started = Instant::now();
        let roles = Roles::parse(&config.roles).map_err(anyhow::Error::msg)?;
        let clock: Arc<dyn Clock> = opts.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let metrics = crate::metrics::prometheus();

        let db = Db::connect(&config.database)
            .await
            .context("connecting to the database")?;
        let schema_ready = Arc::new(AtomicBool::new(false));
        if config.database.run_migrations {
            // `Db::connect` applied pending migrations; confirm before serving.
            if !db.is_migrated() {
                db.migrate().await.context("running database migrations")?;
            }
            schema_ready.store(true, Ordering::Release);
        } else {
            // Another process (an init job running `kiki migrate`) owns the schema;
            // readiness waits until every migration this build knows is applied.
            spawn_migration_watch(db.clone(), schema_ready.clone());
        }
        let cache = Cache::new(&config.cache, &config.redis)
            .await
            .context("starting the cache")?;
        let events = EventBus::new(&config.events, &db, &config.redis)
            .await
            .context("starting the event bus")?;
        let mut jobs = Jobs::new(db.clone(), config.jobs.clone())
            .with_clock(clock.clone())
            .with_handler(Arc::new(HousekeepingJob::new(
                db.clone(),
                config.jobs.retention_days,
            )))
            // Runs when `jobs.schedules` names `db.backup` (no default schedule).
            .with_handler({
                let backups = kiki_store::backup::BackupJob::new(
                    db.clone(),
                    config.database.clone(),
                    config.backup.clone(),
                );
                if config
                    .jobs
                    .schedules
                    .contains_key(kiki_store::backup::BACKUP_KIND)
                {
                    backups.export_newest();
                }
                Arc::new(backups)
            });
        let outbound = OutboundClient::new(&config.outbound)?;
        let platform = build_platform(&config, db, clock, cache, events, jobs.clone(), outbound)?;
        let identity = build_identity(&config, &platform)?;
        if config.database.run_migrations {
            let done = identity
                .bootstrap(&config.bootstrap, config.is_production())
                .await
                .context("creating the first administrator")?;
            if let kiki_identity::bootstrap::Bootstrapped::Demo { .. } = done {
                tracing::info!(
                    email = kiki_identity::bootstrap::DEMO_EMAIL,
                    "demo organisation ready: sign in with the demo account from the README"
                );
            }
        }

        let mut health = HealthRegistry::default();
        health.register(Arc::new(DatabaseProbe(platform.db.clone())));
        if config.redis.url.is_some() {
            health.register(Arc::new(CacheProbe(platform.cache.clone())));
        }

        if let Some(source) = &config.vault_source {
            source.log_startup();
        }
        let live = crate::vault::LiveConfig::new(Arc::new(config.clone()));
        let mut services = Services::default();
        // Reloadable settings (rotated in Vault) are read from here.
        services.insert(Arc::new(live.clone()));
        let mut schedules = config.jobs.schedules.clone();
        let mut mounts = Vec::with_capacity(opts.modules.len());
        for module in &opts.modules {
            let mut ctx = ModuleContext {
                config: &config,
                roles,
                platform: &platform,
                identity: &identity,
                jobs: &mut jobs,
                services: &mut services,
                health: &mut health,
                schedules: &mut schedules,
                module: module.name(),
            };
            let mount = module
                .init(&mut ctx)
                .await
                .with_context(|| format!("starting the {} module", module.name()))?;
            mounts.push(mount);
        }

        let listener = match opts.listener {
            Some(l) => l,
            None => TcpListener::bind(&config.http.bind)
                .await
                .with_context(|| format!("binding {}", config.http.bind))?,
        };

        let state = AppState(Arc::new(App {
            config: Arc::new(config),
            roles,
            // The state's queue knows every handler the modules registered.
            platform: Platform { jobs, ..platform },
            identity,
            health,
            counters: Arc::new(EdgeCounters::default()),
            metrics,
            started,
            ready: AtomicBool::new(false),
            schema_ready,
            services,
        }));

        let mut extra_api = opts.extra_api.unwrap_or_default();
        let mut extra_routes = opts.extra_routes.unwrap_or_default();
        let mut documents = Vec::new();
        let mut tasks = Vec::new();
        for mount in mounts {
            extra_api = extra_api.merge(mount.api);
            extra_routes = extra_routes.merge(mount.routes);
            documents.extend(mount.openapi);
            tasks.extend(mount.tasks);
        }
        // One stack for every route the process serves.
        let (router, openapi) =
            compose_router_and_document(&state, Some(extra_routes), Some(extra_api), &documents);
        let cancel = CancellationToken::new();
        let mut background = Vec::new();
        if roles.worker {
            let instance = format!("{}-{}", hostname(), std::process::id());
            background.push(state.jobs.spawn_workers(&instance, cancel.clone()));
            let scheduler = Scheduler::new(
                state.db.clone(),
                state.jobs.clone(),
                schedules,
                state.clock.clone(),
            )?;
            background.push(scheduler.spawn(&instance, cancel.clone()));
        }
        for task in tasks {
            background.extend(task(&state, cancel.clone()));
        }
        if let Some(source) = state.config.vault_source.clone() {
            background.push(tokio::spawn(follow_key_rotation(
                state.keyring.clone(),
                live.clone(),
                cancel.clone(),
            )));
            background.push(tokio::spawn(source.run(live, cancel.clone())));
        }
        state.ready.store(true, Ordering::Release);
        Ok(Application {
            state,
            openapi,
            router,
            listener,
            cancel,
            background,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The OpenAPI document this build serves at `/openapi.json` (`None`
    /// without the `api` role).
    pub fn openapi(&self) -> Option<&serde_json::Value> {
        self.openapi.as_ref()
    }

    /// Serves until `shutdown` resolves, then drains within the grace period.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            state,
            openapi: _,
            router,
            listener,
            cancel,
            background,
        } = self;
        let grace = Duration::from_secs(state.config.http.shutdown_grace_secs);
        let token = cancel.clone();
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutdown requested; no new connections, draining in-flight requests");
            token.cancel();
        });
        let serve = std::future::IntoFuture::into_future(serve);
        tokio::pin!(serve);
        tokio::select! {
            res = &mut serve => res.context("serving HTTP")?,
            _ = async { cancel.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_secs = grace.as_secs(), "grace period over; closing the remaining connections");
            }
        }
        cancel.cancel();
        let jobs_grace = Duration::from_secs(state.config.jobs.shutdown_grace_secs.max(1));
        for handle in background {
            if tokio::time::timeout(jobs_grace, handle).await.is_err() {
                tracing::warn!("a background worker did not stop within its grace period");
            }
        }
        state.db.close().await;
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// Adds the field-encryption keys that appear in the live configuration (a
/// key added in Vault ahead of a rotation) to the key ring, for decryption,
/// until `cancel`.
async fn follow_key_rotation(
    keyring: Keyring,
    live: crate::vault::LiveConfig,
    cancel: CancellationToken,
) {
    let mut rx = live.subscribe();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = rx.changed() => if changed.is_err() { return },
        }
        let cfg = rx.borrow_and_update().clone();
        match keyring.add_decryption_keys(&cfg.encryption) {
            Ok(kids) if !kids.is_empty() => {
                tracing::info!(kids = ?kids, "encryption keys added to the key ring for decryption");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "a rotated encryption key cannot be used"),
        }
    }
}

/// Every configuration section the given modules declare.
pub fn config_registry(modules: &[Arc<dyn Module>]) -> Vec<crate::config::ConfigSection> {
    modules.iter().flat_map(|m| m.config_sections()).collect()
}

/// Every event the given modules publish (the catalogue in `docs/events.md`).
pub fn event_catalogue(modules: &[Arc<dyn Module>]) -> Vec<kiki_store::EventSpec> {
    modules.iter().flat_map(|m| m.events()).collect()
}

/// Every column the given modules store encrypted (`kiki keys status` and
/// `kiki keys rotate` walk these).
pub fn encrypted_columns(modules: &[Arc<dyn Module>]) -> Vec<kiki_shield::EncryptedColumn> {
    modules.iter().flat_map(|m| m.encrypted_columns()).collect()
}

/// The field-encryption key ring from `encryption.*` and the master secret.
pub fn build_keyring(config: &Config) -> anyhow::Result<Keyring> {
    use secrecy::ExposeSecret as _;
    Keyring::from_config(&config.encryption, config.master_secret().expose_secret())
        .map_err(|e| anyhow::anyhow!("encryption: {e}"))
}

/// The platform handle from its parts and the configuration (key ring,
/// audit log, decisions, mail port).
pub fn build_platform(
    config: &Config,
    db: Db,
    clock: Arc<dyn Clock>,
    cache: Cache,
    events: EventBus,
    jobs: Jobs,
    outbound: OutboundClient,
) -> anyhow::Result<Platform> {
    let keyring = build_keyring(config)?;
    let mail = Mail::new(&config.mail, db.clone()).map_err(|e| anyhow::anyhow!("mail: {e}"))?;
    Ok(Platform {
        audit: AuditLog::new(db.clone(), clock.clone()),
        decisions: Decisions::new(db.clone(), clock.clone()),
        db,
        clock,
        cache,
        events,
        jobs,
        outbound,
        keyring,
        mail,
    })
}

/// The platform for a one-off command (`kiki admin`, `kiki keys`, …): the
/// database migrated, the system clock, no workers.
pub async fn open_platform(config: &Config) -> anyhow::Result<Platform> {
    let db = Db::connect(&config.database)
        .await
        .context("connecting to the database")?;
    if !db.is_migrated() {
        db.migrate().await.context("running database migrations")?;
    }
    let cache = Cache::new(&config.cache, &config.redis)
        .await
        .context("starting the cache")?;
    let events = EventBus::new(&config.events, &db, &config.redis)
        .await
        .context("starting the event bus")?;
    let jobs = Jobs::new(db.clone(), config.jobs.clone());
    let outbound = OutboundClient::new(&config.outbound)?;
    build_platform(
        config,
        db,
        Arc::new(SystemClock),
        cache,
        events,
        jobs,
        outbound,
    )
}

/// The identity service from the configuration and the platform.
pub fn build_identity(config: &Config, platform: &Platform) -> anyhow::Result<Identity> {
    Identity::new(IdentityParts {
        db: platform.db.clone(),
        clock: platform.clock.clone(),
        config: config.auth.clone(),
        master_secret: config.master_secret(),
        keyring: platform.keyring.clone(),
        audit: platform.audit.clone(),
        decisions: platform.decisions.clone(),
        mail: platform.mail.clone(),
        public_url: config.public_url(),
    })
    .map_err(|e| anyhow::anyhow!("auth: {e}"))
}

/// Polls until the database has every migration of this build, then marks
/// the pool migrated so `/readyz` turns 200.
fn spawn_migration_watch(db: Db, schema_ready: Arc<AtomicBool>) {
    tokio::spawn(async move {
        loop {
            match db.pending_migrations().await.map(|p| p.is_empty()) {
                Ok(true) => {
                    schema_ready.store(true, Ordering::Release);
                    return;
                }
                Ok(false) => tracing::warn!("database migrations are pending; run `kiki migrate`"),
                Err(e) => tracing::warn!(error = %e, "cannot read the migration state"),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "kiki".into())
}

/// The edge router (see [`compose_router_and_document`]).
pub fn compose_router(
    state: &AppState,
    extra_routes: Option<Router<AppState>>,
    extra_api: Option<VersionedApi<AppState>>,
    documents: &[serde_json::Value],
) -> Router {
    compose_router_and_document(state, extra_routes, extra_api, documents).0
}

/// The router for the process's roles, with the middleware stack.
pub fn compose_router_and_document(
    state: &AppState,
    extra_routes: Option<Router<AppState>>,
    extra_api: Option<VersionedApi<AppState>>,
    documents: &[serde_json::Value],
) -> (Router, Option<serde_json::Value>) {
    let cfg = &state.config;
    let roles = state.roles;

    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::livez))
        .routes(routes!(health::readyz))
        .routes(routes!(health::healthz))
        .routes(routes!(crate::metrics::get_metrics));
    if roles.api {
        let mut versioned = crate::routes::api();
        if let Some(extra) = extra_api {
            versioned = versioned.merge(extra);
        }
        api = api.merge(versioned.into_router(&cfg.api.deprecated).layer(
            axum::middleware::from_fn_with_state(state.clone(), crate::idempotency::idempotency),
        ));
    }
    let (mut router, mut doc) = api.split_for_parts();
    doc.info.version = crate::VERSION.to_owned();
    let mut document = None;
    if roles.api {
        let mut json = serde_json::to_value(&doc).unwrap_or_default();
        for part in documents {
            openapi::merge_document(&mut json, part);
        }
        openapi::finish_document(&mut json);
        // Rendered once; every request gets the same bytes.
        let body = bytes::Bytes::from(serde_json::to_vec(&json).unwrap_or_default());
        document = Some(json);
        router = router
            .route(
                "/openapi.json",
                get(move || {
                    let b = body.clone();
                    async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], b) }
                }),
            )
            .route("/docs", get(openapi::docs_page))
            .route("/docs/assets/docs.js", get(openapi::docs_js))
            .route("/docs/assets/docs.css", get(openapi::docs_css));
    }
    if let Some(extra) = extra_routes {
        router = router.merge(extra);
    }
    router = router
        .fallback(versioning::fallback)
        .method_not_allowed_fallback(|| async {
            crate::error::envelope_for_status(StatusCode::METHOD_NOT_ALLOWED)
        });

    let rate_limit = Arc::new(
        RateLimit::new(
            cfg.http.rate_limit.per_second,
            cfg.http.rate_limit.burst,
            cfg.http.trust_forwarded_for,
        )
        .shared_through(&state.cache),
    );
    // Outermost first: the edge sees the final status of everything inside.
    let stack = ServiceBuilder::new()
        .layer(axum::middleware::from_fn(
            crate::keepalive::close_if_body_unread,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.counters.clone(),
            middleware::edge,
        ))
        .layer(axum::middleware::from_fn(middleware::normalize_errors))
        .layer(axum::middleware::from_fn_with_state(
            cfg.http.behind_tls,
            middleware::security_headers,
        ))
        .layer(cors_layer(&cfg.http.cors))
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .option_layer(
            cfg.http
                .rate_limit
                .enabled
                .then(|| axum::middleware::from_fn_with_state(rate_limit, middleware::rate_limit)),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(cfg.http.request_timeout_secs),
        ))
        .layer(DefaultBodyLimit::max(cfg.http.body_limit_bytes));
    (router.layer(stack).with_state(state.clone()), document)
}

fn cors_layer(cfg: &crate::config::CorsConfig) -> CorsLayer {
    let origins: Vec<HeaderValue> = cfg
        .allowed_origins
        .iter()
        .filter(|o| *o != "*")
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let allow = if cfg.allowed_origins.iter().any(|o| o == "*") && !cfg.allow_credentials {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins)
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-kiki-org"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .allow_credentials(cfg.allow_credentials)
        .max_age(Duration::from_secs(600))
}
