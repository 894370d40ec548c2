//! The analytics service: the query side over the ad platforms' daily
//! metrics — summaries with a comparison period, time series by day, week
//! or month, breakdowns by platform, organisation, campaign, ad set, ad and
//! creative variant, top and bottom performers, drill-down from a campaign
//! to its ad sets and ads with daily rows, a campaign's creative variants
//! side by side (observed rates with counts and Wilson intervals) — for one
//! organisation or an agency with all its clients, exported as CSV, Excel
//! or PDF (directly, or as a job with progress and an expiring download
//! link), under `/v1/analytics`.
//!
//! It reads its own daily roll-ups (`analytics_daily`,
//! `analytics_daily_totals`), fed when metrics land: the platforms' sync
//! publishes `platforms.metrics_synced`, a listener queues the
//! `analytics.ingest` job, and the job reads the synced days through
//! `PlatformsService::metrics` and replaces them in the roll-ups. KIKI's
//! own buying is platform `kiki`: the bidder's flushes
//! (`bidder.delivery_flushed`) and recorded conversions
//! (`conversions.recorded`) queue the same job, which reads
//! `BidderService::daily_delivery` and
//! `ConversionsService::daily_by_line_item` (`service/kiki_source.rs`). No query
//! reads another context's tables: creative variants are labelled through
//! `CampaignsService::creatives_by_ids` when the campaigns module is wired;
//! the summary's new customers come from `LtvService::new_customers`,
//! launched plans' baselines from `TwinService::launch_baselines`
//! (`service/summary.rs`). Metric definitions are the pure `kiki-analytics`
//! crate's (docs/analytics.md).
//!
//! Layout (ARCHITECTURE.md, "Adding a bounded context"):
//!
//! - `lib.rs`: the `Module` and re-exports.
//! - `config.rs`: the `[analytics]` section.
//! - `error.rs`: `AnalyticsError` and its `DomainError` face.
//! - `events.rs`: `analytics.rolled_up`.
//! - [`domain`]: queries, answers, the export tables (pure).
//! - [`service`]: the use cases ([`AnalyticsService`]) and the listener.
//! - `store/`: the `analytics_*` tables (crate-private).
//! - `api/`: the routes and handlers, exports and export jobs included.
//! - `jobs.rs`: `analytics.ingest`, `analytics.export`.

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

pub use config::AnalyticsConfig;
pub use error::AnalyticsError;
pub use service::AnalyticsService;

/// The `analytics` module, mounted by `kiki serve` and by tests. With the
/// platforms module wired (listed before it), every metrics sync feeds the
/// roll-ups; with the bidder module wired (and the conversions module for
/// conversions and revenue), KIKI's own buying does, as platform `kiki`;
/// without them, rows arrive only through
/// [`AnalyticsService::record_daily`]. With the LTV and twin modules wired,
/// the summary adds new customers, predicted LTV, CAC, LTV/CAC, the net
/// profit uplift against launched plans' baselines and the fee.
#[derive(Debug, Default)]
pub struct AnalyticsModule {
    with_platforms: bool,
    with_campaigns: bool,
    with_ltv: bool,
    with_twin: bool,
    with_bidder: bool,
    with_conversions: bool,
}

impl AnalyticsModule {
    pub fn new() -> AnalyticsModule {
        AnalyticsModule::default()
    }

    /// Feed the roll-ups from the ad platforms' metrics syncs.
    pub fn with_platforms_module(mut self) -> AnalyticsModule {
        self.with_platforms = true;
        self
    }

    /// Label creative variants with the campaigns service's creatives.
    pub fn with_campaigns_module(mut self) -> AnalyticsModule {
        self.with_campaigns = true;
        self
    }

    /// Read new customers and their predicted LTV from the LTV module
    /// (listed before it); without it those summary figures are `null`.
    pub fn with_ltv_module(mut self) -> AnalyticsModule {
        self.with_ltv = true;
        self
    }

    /// Feed platform `kiki` from the bidder's delivery (the bidder module
    /// listed before it); without it the `kiki` source is off.
    pub fn with_bidder_module(mut self) -> AnalyticsModule {
        self.with_bidder = true;
        self
    }

    /// Add the conversions credited to the bidder's line items (count and
    /// value) to platform `kiki` (the conversions module listed before it;
    /// needs [`with_bidder_module`](Self::with_bidder_module)).
    pub fn with_conversions_module(mut self) -> AnalyticsModule {
        self.with_conversions = true;
        self
    }

    /// Read launched plans' baselines and the fee rate from the twin module
    /// (listed before it); without it the uplift and fee are `null`.
    pub fn with_twin_module(mut self) -> AnalyticsModule {
        self.with_twin = true;
        self
    }
}

impl Module for AnalyticsModule {
    fn name(&self) -> &'static str {
        "analytics"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<AnalyticsConfig>(
            "analytics",
        )]
    }

    fn events(&self) -> Vec<kiki_store::EventSpec> {
        vec![kiki_store::EventSpec::of::<events::RolledUp>("analytics")]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let config: AnalyticsConfig = ctx.section("analytics")?;
            let problems = config.problems();
            if !problems.is_empty() {
                anyhow::bail!("configuration section `analytics`: {}", problems.join("; "));
            }
            let platforms = if self.with_platforms {
                Some(ctx.require::<kiki_platforms_service::PlatformsService>()?)
            } else {
                None
            };
            let mut svc =
                AnalyticsService::new(ctx.platform, ctx.identity.clone(), platforms, config)
                    .with_public_url(ctx.config.public_url());
            if self.with_campaigns {
                svc =
                    svc.with_campaigns(ctx.require::<kiki_campaigns_service::CampaignsService>()?);
            }
            if self.with_ltv {
                svc = svc.with_ltv(ctx.require::<kiki_ltv_service::LtvService>()?);
            }
            if self.with_twin {
                svc = svc.with_twin(ctx.require::<kiki_twin_service::TwinService>()?);
            }
            if self.with_conversions && !self.with_bidder {
                anyhow::bail!(
                    "the analytics module reads conversions only with the bidder's delivery: wire it with_bidder_module() too"
                );
            }
            if self.with_bidder {
                let conversions = if self.with_conversions {
                    Some(ctx.require::<kiki_conversions_service::ConversionsService>()?)
                } else {
                    None
                };
                svc = svc.with_kiki_source(
                    ctx.require::<kiki_bidder_service::BidderService>()?,
                    conversions,
                );
            }
            let svc = Arc::new(svc);
            ctx.add_job_handler(Arc::new(jobs::IngestJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::ExportJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::SweepJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::SendJob(svc.clone())));
            ctx.default_schedule(jobs::SWEEP_KIND, jobs::SWEEP_SCHEDULE);
            ctx.provide(svc.clone());
            let mut mount = Mount::new().api(api::api());
            if (self.with_platforms || self.with_bidder) && ctx.roles.worker {
                // Workers turn each metrics sync, bidder flush and
                // conversion into an ingest job.
                mount = mount.spawn(move |state, cancel| {
                    vec![service::listen::spawn(svc, state.clone(), cancel)]
                });
            }
            Ok(mount)
        })
    }
}
