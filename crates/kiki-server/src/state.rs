//! The application state every handler receives: one `Arc<App>`, cheap to
//! clone, holding the shared services (pools, cache, jobs, events, clock).

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use kiki_core::Clock;
use kiki_identity::Identity;
use kiki_outbound::OutboundClient;
use kiki_store::{Cache, Db, EventBus, Jobs};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::health::HealthRegistry;
use crate::middleware::EdgeCounters;
use crate::module::Services;
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
    pub db: Db,
    pub cache: Cache,
    pub events: EventBus,
    pub jobs: Jobs,
    pub outbound: OutboundClient,
    /// Users, organisations, sign-in, API keys, audit log and decision records.
    pub identity: Identity,
    pub clock: Arc<dyn Clock>,
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
