//! Service modules: how a bounded context (LTV, bidder, twin, …) plugs into
//! the one binary without the edge knowing it. A [`Module`] declares its
//! configuration sections and encrypted columns, and in [`Module::init`]
//! builds its service from the [`Platform`] and the services it is wired to
//! ([`ModuleContext::require`]), registers job handlers, default schedules,
//! health probes and shared services, and returns a [`Mount`]: its versioned
//! API, unversioned routes, OpenAPI additions and background tasks. Every
//! route a module mounts is served by the one edge stack; a module that needs
//! a server of its own (the bidder's exchange listener) starts it as a
//! background task on its own address.
//!
//! Handlers reach their module's service through the [`Service<T>`]
//! extractor, which reads the type-keyed [`Services`] map on the state; the
//! service is provided in the same `init` that builds the routes.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use futures::future::BoxFuture;
use kiki_core::ErrorCode;
use kiki_identity::Identity;
use kiki_shield::EncryptedColumn;
use kiki_store::{EventSpec, JobHandler, Jobs};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigSection};
use crate::error::ApiError;
use crate::health::{HealthProbe, HealthRegistry};
use crate::platform::Platform;
use crate::roles::Roles;
use crate::state::AppState;
use crate::versioning::VersionedApi;

/// A bounded context mounted into the server.
///
/// Everything a module serves comes out of [`Module::init`] as a [`Mount`]:
/// the routes are built in the same function as the service they call, so a
/// route can never be mounted without its service, and no state is carried
/// from `init` to routing behind the module's back.
pub trait Module: Send + Sync + 'static {
    /// Short name (`ltv`, `bidder`, `twin`), used in logs and errors.
    fn name(&self) -> &'static str;

    /// The configuration sections this module reads (`[ltv]`, …), each with
    /// its type. `kiki config check` and `kiki serve` parse and check every
    /// one; a top-level table no module declares is refused.
    fn config_sections(&self) -> Vec<ConfigSection> {
        Vec::new()
    }

    /// The columns this module stores encrypted with the platform key ring;
    /// `kiki keys status` and `kiki keys rotate` read them from here.
    fn encrypted_columns(&self) -> Vec<EncryptedColumn> {
        Vec::new()
    }

    /// The events this module publishes (`EventSpec::of::<T>(name)` per
    /// payload type): the catalogue in `docs/events.md` is generated from
    /// these, and live updates subscribe by their kinds.
    fn events(&self) -> Vec<EventSpec> {
        Vec::new()
    }

    /// Start-up: read configuration, build the service from the platform and
    /// the services it is wired to, register job handlers, schedules and
    /// probes, and return what it mounts. Runs before the state exists; an
    /// error (a bad section, a missing dependency) stops the process.
    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>>;
}

/// A background task, started once the state exists; it must stop when the
/// token fires.
type Task = Box<dyn FnOnce(&AppState, CancellationToken) -> Vec<JoinHandle<()>> + Send>;

/// What a module serves, returned by [`Module::init`].
#[derive(Default)]
pub struct Mount {
    pub(crate) api: VersionedApi<AppState>,
    pub(crate) routes: Router<AppState>,
    pub(crate) openapi: Option<serde_json::Value>,
    pub(crate) tasks: Vec<Task>,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount")
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Mount {
    /// Nothing mounted yet.
    pub fn new() -> Mount {
        Mount::default()
    }

    /// Versioned REST routes, mounted when the process runs the `api` role
    /// (and described in `/openapi.json`).
    pub fn api(mut self, api: VersionedApi<AppState>) -> Mount {
        self.api = std::mem::take(&mut self.api).merge(api);
        self
    }

    /// Unversioned routes (such as `/openrtb2/*`) under the same edge stack as
    /// every other route; build them for the roles in `ModuleContext::roles`.
    pub fn routes(mut self, routes: Router<AppState>) -> Mount {
        self.routes = std::mem::take(&mut self.routes).merge(routes);
        self
    }

    /// Paths outside the versioned API (such as `/openrtb2/*`) and their
    /// security schemes, as a partial OpenAPI document (`paths`,
    /// `components`) merged into `/openapi.json`, so every route the binary
    /// serves is described in one place.
    pub fn openapi(mut self, document: serde_json::Value) -> Mount {
        self.openapi = Some(document);
        self
    }

    /// A background task started once the state exists: it must stop when
    /// the token fires (the token fires when shutdown begins; the server then
    /// waits `jobs.shutdown_grace_secs` for each task). A module's own
    /// listener is one (see ARCHITECTURE.md, "one edge stack").
    pub fn spawn(
        mut self,
        task: impl FnOnce(&AppState, CancellationToken) -> Vec<JoinHandle<()>> + Send + 'static,
    ) -> Mount {
        self.tasks.push(Box::new(task));
        self
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
    /// Database, clock, cache, events, jobs, outbound client, audit log,
    /// decisions, key ring and mail.
    pub platform: &'a Platform,
    /// Authentication and tenancy (organisations, members); not the way to
    /// the audit log or key ring, which are on the platform.
    pub identity: &'a Identity,
    pub(crate) jobs: &'a mut Jobs,
    pub(crate) services: &'a mut Services,
    pub(crate) health: &'a mut HealthRegistry,
    pub(crate) schedules: &'a mut BTreeMap<String, String>,
    pub(crate) module: &'static str,
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

    /// A service this module is wired to (named in the module list, see
    /// ARCHITECTURE.md): provided by a module listed before it. Missing, the
    /// process does not start, naming both.
    pub fn require<T: Send + Sync + 'static>(&self) -> anyhow::Result<Arc<T>> {
        self.services.get::<T>().ok_or_else(|| {
            anyhow::anyhow!(
                "the {} module is wired to {}, which no module listed before it provides",
                self.module,
                std::any::type_name::<T>()
            )
        })
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
