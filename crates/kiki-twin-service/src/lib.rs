//! SyncTwin's and AcquisitionAgent's service layer: stored simulations and
//! gate decisions, the post-launch mirror and rebalancer jobs, what-if
//! allocations, on top of the pure `kiki-twin` and `kiki-allocator` engines.
//!
//! - `service.rs`: simulations, the gate and overrides, settings, performance history.
//! - `allocations.rs`: what-if allocations.
//! - `rebalancing.rs`: platform budgets, the rebalancer, shift approvals.
//! - `mirror.rs`: the post-launch mirror.
//! - `jobs.rs`: `twin.simulate`, `twin.mirror`, `twin.rebalance`.
//! - `api.rs`: the routes and the error mapping.

mod allocations;
pub mod api;
pub mod config;
pub mod error;
pub mod jobs;
pub mod ltv;
pub mod mirror;
pub mod rebalancing;
mod schema;
pub mod service;
pub mod types;

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_server::versioning::VersionedApi;
use kiki_server::{AppState, Module, ModuleContext};

pub use config::TwinServiceConfig;
pub use error::TwinServiceError;
pub use ltv::{FromLtvService, LtvProvider, LtvSource, NoLtv};
pub use mirror::{MIRROR_KIND, MIRROR_SCHEDULE, MirrorOutcome};
pub use rebalancing::{REBALANCE_KIND, REBALANCE_SCHEDULE, RebalanceOutcome};
pub use service::{SIMULATE_KIND, TwinService};

/// The `twin` module, mounted by `kiki serve` and by tests.
#[derive(Debug, Default)]
pub struct TwinModule;

impl TwinModule {
    pub fn new() -> TwinModule {
        TwinModule
    }
}

impl Module for TwinModule {
    fn name(&self) -> &'static str {
        "twin"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<TwinServiceConfig>("twin")]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let cfg: TwinServiceConfig = ctx.section("twin")?;
            let problems = cfg.problems();
            if !problems.is_empty() {
                anyhow::bail!("configuration section `twin`: {}", problems.join("; "));
            }
            let ltv: Arc<dyn LtvSource> = match (
                ctx.service::<LtvProvider>(),
                ctx.service::<kiki_ltv_service::LtvService>(),
            ) {
                (Some(p), _) => p.0.clone(),
                (None, Some(svc)) => Arc::new(FromLtvService(svc)),
                (None, None) => Arc::new(NoLtv),
            };
            let svc = Arc::new(TwinService::new(
                ctx.db.clone(),
                ctx.identity.clone(),
                ctx.events.clone(),
                ctx.jobs().clone(),
                ctx.clock.clone(),
                cfg,
                ltv,
            ));
            ctx.add_job_handler(Arc::new(jobs::SimulateJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::MirrorJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::RebalanceJob(svc.clone())));
            ctx.default_schedule(MIRROR_KIND, MIRROR_SCHEDULE);
            ctx.default_schedule(REBALANCE_KIND, REBALANCE_SCHEDULE);
            ctx.provide(svc);
            Ok(())
        })
    }

    fn api(&self) -> VersionedApi<AppState> {
        api::api()
    }
}
