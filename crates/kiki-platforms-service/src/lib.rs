//! The ad-platforms service: an organisation's connections to the ad
//! platforms (the built-in sandbox market at once; Meta and Google Ads
//! through OAuth 2.0 with PKCE, tokens field-encrypted), deployment of the
//! campaigns' ad sets through the port (`kiki_platforms::AdPlatform`), the
//! performance sync into daily metrics that feeds the twin's history and,
//! on the sandbox, the LTV transactions of the customers it acquired — and
//! the `/v1/platforms` API.
//!
//! Layout (ARCHITECTURE.md, "Adding a bounded context"):
//!
//! - `lib.rs`: the `Module` and re-exports.
//! - `config.rs`: the `[platforms]` section.
//! - `error.rs`: `PlatformsError` and its `DomainError` face.
//! - `events.rs`: connection and sync events.
//! - [`domain`]: requests, views and their rules.
//! - [`service`]: the use cases ([`PlatformsService`]), the sandbox adapter,
//!   deployment and the sync.
//! - `jobs.rs`: `platforms.sync_all`, `platforms.sync` and, in accelerated
//!   time, `platforms.sync_sandboxes`.
//! - `store/`: the `platform_*` and `sandbox_*` tables (crate-private).
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

pub use config::PlatformsConfig;
pub use error::PlatformsError;
pub use kiki_platforms::BreakdownDimension;
pub use service::deploy::{AdSetDeployment, DeployOutcome};
pub use service::{LiveConnector, PlatformsService, SandboxClock, SandboxPlatform};

/// The `platforms` module, mounted by `kiki serve` and by tests. With the
/// twin and LTV modules wired, synced metrics feed the twin's history and
/// the sandbox's orders reach the LTV model.
#[derive(Debug, Default)]
pub struct PlatformsModule {
    with_twin: bool,
    with_ltv: bool,
}

impl PlatformsModule {
    pub fn new() -> PlatformsModule {
        PlatformsModule::default()
    }

    /// Feed synced metrics into the twin's performance history.
    pub fn with_twin_module(mut self) -> PlatformsModule {
        self.with_twin = true;
        self
    }

    /// Ingest the sandbox customers' orders as LTV transactions.
    pub fn with_ltv_module(mut self) -> PlatformsModule {
        self.with_ltv = true;
        self
    }
}

impl Module for PlatformsModule {
    fn name(&self) -> &'static str {
        "platforms"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<PlatformsConfig>(
            "platforms",
        )]
    }

    fn encrypted_columns(&self) -> Vec<kiki_shield::EncryptedColumn> {
        store::connections::ENCRYPTED_COLUMNS.to_vec()
    }

    fn events(&self) -> Vec<kiki_store::EventSpec> {
        vec![
            kiki_store::EventSpec::of::<events::ConnectionChanged>("platforms"),
            kiki_store::EventSpec::of::<events::MetricsSynced>("platforms"),
        ]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let config: PlatformsConfig = ctx.section("platforms")?;
            let problems = config.problems();
            if !problems.is_empty() {
                anyhow::bail!("configuration section `platforms`: {}", problems.join("; "));
            }
            let twin = if self.with_twin {
                Some(ctx.require::<kiki_twin_service::TwinService>()?)
            } else {
                None
            };
            let ltv = if self.with_ltv {
                Some(ctx.require::<kiki_ltv_service::LtvService>()?)
            } else {
                None
            };
            let meta = config.meta.clone();
            let google = config.google.clone();
            let seconds_per_day = config.sandbox_seconds_per_day;
            let mut svc = PlatformsService::new(ctx.platform, config, twin, ltv);
            if let Some(m) = meta {
                let outbound = ctx.platform.outbound.clone();
                svc = svc.with_live(LiveConnector {
                    api: Arc::new(kiki_meta_ads::MetaAds::new(outbound.clone(), m.clone())),
                    oauth: Arc::new(kiki_meta_ads::MetaOAuth::new(outbound, m)),
                });
            }
            if let Some(g) = google {
                let outbound = ctx.platform.outbound.clone();
                svc = svc.with_live(LiveConnector {
                    api: Arc::new(kiki_google_ads::GoogleAds::new(outbound.clone(), g.clone())),
                    oauth: Arc::new(kiki_google_ads::GoogleOAuth::new(outbound, g)),
                });
            }
            // The market's clock: the installation's stored anchor in
            // accelerated time (retried later when the schema is not there).
            svc.anchor_market().await;
            let svc = Arc::new(svc);
            ctx.add_job_handler(Arc::new(jobs::SyncAllJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::SyncJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::SyncSandboxesJob::new(svc.clone())));
            ctx.default_schedule(jobs::SYNC_ALL_KIND, jobs::SYNC_ALL_SCHEDULE);
            if let Some(n) = seconds_per_day {
                // New simulated days every few seconds: the hourly sweep is
                // far too slow for a day that lasts seconds.
                ctx.default_schedule(jobs::SYNC_SANDBOXES_KIND, &jobs::sync_sandboxes_schedule(n));
            }
            ctx.provide(svc);
            Ok(Mount::new().api(api::api()))
        })
    }
}
