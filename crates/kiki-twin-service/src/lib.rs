//! SyncTwin's and AcquisitionAgent's service layer: stored simulations and
//! gate decisions, the post-launch mirror and rebalancer jobs, what-if
//! allocations, on top of the pure `kiki-twin` and `kiki-allocator` engines.
//!
//! The template of a context service crate (ARCHITECTURE.md, "Adding a
//! bounded context"):
//!
//! - `lib.rs`: the `Module` and re-exports.
//! - `config.rs`: the `[twin]` section.
//! - `error.rs`: `TwinServiceError` and its `DomainError` face.
//! - `events.rs`: the events it publishes (`twin.rebalanced`, `twin.rollback_recommended`).
//! - `domain.rs`: the request and response types of the API.
//! - `service/`: the use cases — simulations, the gate and overrides (`mod.rs`); stored
//!   simulations and market models read back (`simulations.rs`); settings
//!   (`settings.rs`); performance history (`performance.rs`); launched plans'
//!   no-new-spend baselines for analytics (`baselines.rs`); what-if allocations
//!   (`allocations.rs`); platform budgets, the rebalancer and shift approvals
//!   (`rebalancing.rs`); the post-launch mirror (`mirror.rs`); the LTV source (`ltv.rs`).
//! - `store/`: the `twin_*` tables and every query on them (crate-private).
//! - `api.rs`: the routes and handlers.
//! - `jobs.rs`: `twin.simulate`, `twin.mirror`, `twin.rebalance`.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod jobs;
pub mod service;
pub(crate) mod store;

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_server::{Module, ModuleContext, Mount};

pub use config::TwinServiceConfig;
pub use error::TwinServiceError;
pub use service::baselines::{BaselineDay, LaunchBaseline, LaunchBaselines};
pub use service::ltv::{FromLtvService, LtvEstimates, LtvModelSummary, LtvSource, NoLtv};
pub use service::mirror::{MIRROR_KIND, MIRROR_SCHEDULE, MirrorOutcome};
pub use service::rebalancing::{REBALANCE_KIND, REBALANCE_SCHEDULE, RebalanceOutcome};
pub use service::{SIMULATE_KIND, TwinService};

/// Where the twin reads lifetime values from, fixed in the module list.
#[derive(Clone, Default)]
enum LtvWiring {
    /// No LTV: simulations use the request's figures or the industry prior.
    #[default]
    None,
    /// The LTV module's service (it must be listed before the twin).
    Module,
    /// A given source (tests, embedding programs).
    Source(Arc<dyn LtvSource>),
}

/// The `twin` module, mounted by `kiki serve` and by tests.
#[derive(Default)]
pub struct TwinModule {
    ltv: LtvWiring,
}

impl std::fmt::Debug for TwinModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ltv = match self.ltv {
            LtvWiring::None => "none",
            LtvWiring::Module => "ltv module",
            LtvWiring::Source(_) => "given source",
        };
        f.debug_struct("TwinModule").field("ltv", &ltv).finish()
    }
}

impl TwinModule {
    /// The twin without an LTV source (priors apply).
    pub fn new() -> TwinModule {
        TwinModule::default()
    }

    /// Wired to the LTV module's current models; start-up fails if no LTV
    /// module is listed before it.
    pub fn with_ltv_module(self) -> TwinModule {
        TwinModule {
            ltv: LtvWiring::Module,
        }
    }

    /// Wired to a given LTV source.
    pub fn with_ltv_source(self, source: Arc<dyn LtvSource>) -> TwinModule {
        TwinModule {
            ltv: LtvWiring::Source(source),
        }
    }
}

impl Module for TwinModule {
    fn name(&self) -> &'static str {
        "twin"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<TwinServiceConfig>("twin")]
    }

    fn events(&self) -> Vec<kiki_store::EventSpec> {
        vec![
            kiki_store::EventSpec::of::<events::Rebalanced>("twin"),
            kiki_store::EventSpec::of::<events::RollbackRecommended>("twin"),
        ]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let cfg: TwinServiceConfig = ctx.section("twin")?;
            let problems = cfg.problems();
            if !problems.is_empty() {
                anyhow::bail!("configuration section `twin`: {}", problems.join("; "));
            }
            let ltv: Arc<dyn LtvSource> = match &self.ltv {
                LtvWiring::None => Arc::new(NoLtv),
                LtvWiring::Module => Arc::new(FromLtvService(
                    ctx.require::<kiki_ltv_service::LtvService>()?,
                )),
                LtvWiring::Source(source) => source.clone(),
            };
            let svc = Arc::new(TwinService::new(
                ctx.platform,
                cfg,
                ltv,
                ctx.identity.clone(),
            ));
            ctx.add_job_handler(Arc::new(jobs::SimulateJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::MirrorJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::RebalanceJob(svc.clone())));
            ctx.default_schedule(MIRROR_KIND, MIRROR_SCHEDULE);
            ctx.default_schedule(REBALANCE_KIND, REBALANCE_SCHEDULE);
            ctx.provide(svc);
            Ok(Mount::new().api(api::api()))
        })
    }
}
