//! The application state every handler receives: one `Arc<App>`, cheap to
//! clone, holding the [`Platform`] (database, clock, cache, events, jobs,
//! outbound client, audit log, decisions, key ring, mail; `state.db` reads
//! through to it), the identity service and the edge's own parts.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use kiki_identity::Identity;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::health::HealthRegistry;
use crate::middleware::EdgeCounters;
use crate::module::Services;
use crate::platform::Platform;
use crate::roles::Roles;

#[derive(Clone, Debug)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

#[derive(Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub roles: Roles,
    /// The shared infrastructure (its job queue has every module's handlers).
    pub platform: Platform,
    /// Users, organisations, memberships, sign-in and API keys.
    pub identity: Identity,
    pub health: HealthRegistry,
    pub counters: Arc<EdgeCounters>,
    pub metrics: PrometheusHandle,
    pub started: Instant,
    /// Set once start-up finished (migrations, workers); `/readyz` needs it.
    pub ready: AtomicBool,
    /// Every migration of this build is applied (by this process or by `kiki migrate`).
    pub schema_ready: Arc<AtomicBool>,
    /// Services the modules share with their handlers (see `module::Service`).
    pub services: Services,
}

impl Deref for App {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.platform
    }
}
