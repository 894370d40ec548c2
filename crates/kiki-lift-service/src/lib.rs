//! The incrementality service: lift experiments per organisation on top of
//! the pure `kiki-lift` engine — a plan registered (frozen with its content
//! hash) before the test starts, the daily KPI panel, analyses run as
//! registered and stored with their inputs' hash, designs before spend as
//! jobs with progress — and the `/v1/experiments/lift` API.
//!
//! Layout (ARCHITECTURE.md, "Adding a bounded context"):
//!
//! - `lib.rs`: the `Module` and re-exports.
//! - `config.rs`: the `[lift]` section.
//! - `error.rs`: `LiftServiceError` and its `DomainError` face.
//! - `events.rs`: registration, analysis and design events.
//! - [`domain`]: plans, panels, analyses and designs (pure; also used by
//!   `kiki lift`).
//! - [`service`]: the use cases ([`LiftService`]).
//! - `jobs.rs`: `lift.design`.
//! - `store/`: the `lift_*` tables and every query on them (crate-private).
//! - `api.rs`: the routes and handlers.

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

pub use config::LiftConfig;
pub use error::LiftServiceError;
pub use service::{LiftService, LiftStatus};

/// The `lift` module, mounted by `kiki serve` and by tests.
#[derive(Debug, Default)]
pub struct LiftModule;

impl LiftModule {
    pub fn new() -> LiftModule {
        LiftModule
    }
}

impl Module for LiftModule {
    fn name(&self) -> &'static str {
        "lift"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<LiftConfig>("lift")]
    }

    fn events(&self) -> Vec<kiki_store::EventSpec> {
        vec![
            kiki_store::EventSpec::of::<events::ExperimentRegistered>("lift"),
            kiki_store::EventSpec::of::<events::AnalysisCompleted>("lift"),
            kiki_store::EventSpec::of::<events::DesignCompleted>("lift"),
        ]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let config: LiftConfig = ctx.section("lift")?;
            let problems = config.problems();
            if !problems.is_empty() {
                anyhow::bail!("configuration section `lift`: {}", problems.join("; "));
            }
            let upload_limit = config.max_upload_bytes;
            let svc = Arc::new(LiftService::new(ctx.platform, config));
            ctx.add_job_handler(Arc::new(jobs::DesignJob::new(svc.clone())));
            ctx.provide(svc);
            Ok(Mount::new().api(api::api(upload_limit)))
        })
    }
}
