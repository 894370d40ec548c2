//! Service modules: how a bounded context (LTV, bidder, twin, …) plugs into
//! the one binary without the edge knowing it. A [`Module`] reads its own
//! configuration section, registers job handlers, default schedules, health
//! probes and shared services during start-up ([`Module::init`]), contributes
//! versioned API routes and unversioned routes (such as `/openrtb2/*`), and
//! may start background tasks once the state exists ([`Module::spawn`]).
//!
//! Handlers reach their module's service through the [`Service<T>`]
//! extractor, which reads the type-keyed [`Services`] map on the state.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::Response;
use futures::future::BoxFuture;
use kiki_core::{Clock, ErrorCode};
use kiki_identity::Identity;
use kiki_store::{Cache, Db, EventBus, JobHandler, Jobs};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigSection};
use crate::error::ApiError;
use crate::health::{HealthProbe, HealthRegistry};
use crate::roles::Roles;
use crate::state::AppState;
use crate::versioning::VersionedApi;

/// A bounded context mounted into the server.
pub trait Module: Send + Sync + 'static {
    /// Short name (`ltv`, `bidder`, `twin`), used in logs and errors.
    fn name(&self) -> &'static str;

    /// The configuration sections this module reads (`[ltv]`, …), each with
    /// its type. `kiki config check` and `kiki serve` parse and check every
    /// one; a top-level table no module declares is refused.
    fn config_sections(&self) -> Vec<ConfigSection> {
        Vec::new()
    }

    /// Start-up: read configuration, register handlers, schedules, probes and
    /// services. Runs before the state exists; an error stops the process.
    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        let _ = ctx;
        Box::pin(async { Ok(()) })
    }

    /// Paths outside the versioned API (such as `/openrtb2/*`) and their
    /// security schemes, as a partial OpenAPI document (`paths`,
    /// `components`) merged into `/openapi.json`, so every route the binary
    /// serves is described in one place.
    fn openapi(&self) -> Option<serde_json::Value> {
        None
    }

    /// Versioned REST routes, mounted when the process runs the `api` role.
    fn api(&self) -> VersionedApi<AppState> {
        VersionedApi::new()
    }

    /// Unversioned routes for the roles this process runs (for example the
    /// OpenRTB endpoints under the `bidder` role).
    fn routes(&self, roles: Roles) -> Router<AppState> {
        let _ = roles;
        Router::new()
    }

    /// Routes on a latency-critical path (the OpenRTB bid and notice
    /// endpoints), mounted **outside** the generic edge stack: no access log,
    /// per-request span, request id, HTTP metrics, rate limit, CORS or
    /// timeout or compression, and no layer. Each handler must be wrapped in
    /// [`crate::middleware::guarded`] (`move |req| guarded(h(svc, req))`),
    /// which catches panics and applies the error-envelope normaliser. The
    /// module counts its own metrics and compresses its own answers when a
    /// client asks (`Accept-Encoding`). The router carries no state: handlers
    /// hold what they need (a service `Arc`), because axum clones a route's
    /// handler, and so its state, for every request.
    fn hot_routes(&self, roles: Roles) -> Router {
        let _ = roles;
        Router::new()
    }

    /// The hottest endpoints (the bid request), called by the server's
    /// connection loop itself for their exact method and path, before axum's
    /// router: no route matching, no `MatchedPath` or `ConnectInfo`
    /// extension (the peer address is an argument), no per-request clone of
    /// a boxed route. The same paths stay in `hot_routes` for every other
    /// method (405) and for the router's own tests. A handler is wrapped in
    /// [`crate::middleware::guarded`] like a hot route.
    fn hot_endpoints(&self, roles: Roles) -> Vec<HotEndpoint> {
        let _ = roles;
        Vec::new()
    }

    /// Background tasks started once the state exists; they must stop when
    /// `cancel` fires.
    fn spawn(&self, state: &AppState, cancel: CancellationToken) -> Vec<JoinHandle<()>> {
        let _ = (state, cancel);
        Vec::new()
    }
}

/// A type-keyed map of the services modules share with their handlers.
#[derive(Default, Clone)]
pub struct Services {
    map: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("count", &self.map.len())
            .finish()
    }
}

impl Services {
    /// Registers `value`, replacing any earlier one of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.map.insert(TypeId::of::<T>(), value);
    }

    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|v| v.clone().downcast::<T>().ok())
    }
}

/// What a module sees while the server starts.
pub struct ModuleContext<'a> {
    pub config: &'a Config,
    pub roles: Roles,
    pub db: &'a Db,
    pub cache: &'a Cache,
    pub events: &'a EventBus,
    pub identity: &'a Identity,
    pub clock: &'a Arc<dyn Clock>,
    pub(crate) jobs: &'a mut Jobs,
    pub(crate) services: &'a mut Services,
    pub(crate) health: &'a mut HealthRegistry,
    pub(crate) schedules: &'a mut BTreeMap<String, String>,
}

impl ModuleContext<'_> {
    /// The module's configuration section (`[ltv]`, `[bidder]`, `[twin]`),
    /// after file and environment layers; unknown keys are refused by the
    /// target type's own `deny_unknown_fields`. The error names the section.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> anyhow::Result<T> {
        crate::config::parse_section(name, self.config.module_section(name))
            .map_err(anyhow::Error::msg)
    }

    /// Registers a job handler for its `kind`.
    pub fn add_job_handler(&mut self, handler: Arc<dyn JobHandler>) {
        *self.jobs = self.jobs.clone().with_handler(handler);
    }

    /// The job queue (to enqueue from services the module builds).
    pub fn jobs(&self) -> &Jobs {
        self.jobs
    }

    /// A schedule (six-field cron, seconds first) for `kind`, unless the
    /// configuration's `jobs.schedules` already names that kind.
    pub fn default_schedule(&mut self, kind: &str, cron: &str) {
        self.schedules
            .entry(kind.to_owned())
            .or_insert_with(|| cron.to_owned());
    }

    /// Shares a service with handlers (read with the [`Service`] extractor).
    pub fn provide<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.services.insert(value);
    }

    /// A service an earlier module provided (modules start in order).
    pub fn service<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.services.get::<T>()
    }

    /// Adds a dependency to `/healthz`.
    pub fn add_probe(&mut self, probe: Arc<dyn HealthProbe>) {
        self.health.register(probe);
    }
}

/// A module's service in a handler: `Service(ltv): Service<LtvService>`.
#[derive(Debug)]
pub struct Service<T>(pub Arc<T>);

impl<T: Send + Sync + 'static> FromRequestParts<AppState> for Service<T> {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        state.services.get::<T>().map(Service).ok_or_else(|| {
            tracing::error!(
                service = std::any::type_name::<T>(),
                "a route needs a service no module provided"
            );
            ApiError::new(
                ErrorCode::Internal,
                "the service behind this route is not running",
            )
        })
    }
}

/// A handler of [`Module::hot_endpoints`]: the request and the peer address.
pub type HotHandler =
    Arc<dyn Fn(Request, std::net::SocketAddr) -> BoxFuture<'static, Response> + Send + Sync>;

/// One endpoint the connection loop serves before the router.
#[derive(Clone)]
pub struct HotEndpoint {
    pub method: Method,
    pub path: &'static str,
    pub handler: HotHandler,
}

impl std::fmt::Debug for HotEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}
