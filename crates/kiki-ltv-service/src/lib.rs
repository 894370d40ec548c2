//! SyncValue's service layer: per-organisation transaction summaries, versioned
//! fitted models and stored predictions on top of the pure `kiki-ltv` engine,
//! the `/v1/ltv` API and the background fit job.
//!
//! Layout: `config.rs` (the `[ltv]` section), `error.rs` ([`LtvServiceError`]),
//! [`domain`] (request types, validation and the fit pipeline, pure), `store/`
//! (queries, all scoped by organisation, and the table identifiers;
//! crate-private), [`service`] (use cases: [`LtvService`]), [`jobs`]
//! (`ltv.fit`), [`api`] (routes and handlers).

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod service;
pub(crate) mod store;

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_server::{Module, ModuleContext, Mount};

pub use config::LtvConfig;
pub use domain::{FitRequest, FitSpec, IngestReport, NewTransaction};
pub use error::LtvServiceError;
pub use jobs::FitJob;
pub use service::{
    Aggregates, FIT_JOB_KIND, GroupValue, LtvModelView, LtvService, NewCustomerCount, NewCustomers,
};

/// The `ltv` module, mounted by `kiki serve` and by tests.
#[derive(Debug, Default)]
pub struct LtvModule;

impl LtvModule {
    pub fn new() -> LtvModule {
        LtvModule
    }
}

impl Module for LtvModule {
    fn name(&self) -> &'static str {
        "ltv"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<LtvConfig>("ltv")]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let config: LtvConfig = ctx.section("ltv")?;
            config.validate()?;
            let upload_limit = config.max_upload_bytes;
            let svc = Arc::new(LtvService::new(ctx.platform, config));
            ctx.add_job_handler(Arc::new(FitJob::new(svc.clone())));
            ctx.provide(svc);
            Ok(Mount::new().api(api::api(upload_limit)))
        })
    }
}
