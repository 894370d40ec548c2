//! The notifications centre: what needs a person's attention in an
//! organisation — an approval waiting, a rollback recommended, an ad
//! platform connection that needs re-connecting or a failing sync, the kill
//! switch engaged, a campaign over its budget or below the ROAS target —
//! raised from the events other contexts publish, one open notification per
//! kind and subject, and the `/v1/notifications` API (list, read, dismiss,
//! the organisation's thresholds). High-severity notifications may be
//! mailed to the organisation's owners.
//!
//! Layout (ARCHITECTURE.md, "Adding a bounded context"):
//!
//! - `lib.rs`: the `Module` and re-exports.
//! - `config.rs`: the `[notifications]` section.
//! - `error.rs`: `NotificationsError` and its `DomainError` face.
//! - [`domain`]: kinds, the wire shapes, thresholds, the budget and ROAS
//!   checks with their sentences (pure).
//! - [`service`]: the use cases ([`NotificationsService`]), the evaluation
//!   of events and the listener.
//! - `store/`: the `notifications` and `notification_settings` tables
//!   (crate-private).
//! - `api.rs`: the routes and handlers.
//! - `jobs.rs`: `notifications.evaluate`.
//!
//! It publishes no event of its own. Other contexts are reached through
//! their services (a campaign's budget and name, its spend and revenue from
//! analytics, the platforms' connections and sync runs, the organisation's
//! owners), never through their tables.

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

pub use config::NotificationsConfig;
pub use error::NotificationsError;
pub use service::NotificationsService;

/// The `notifications` module, mounted by `kiki serve` and by tests. Events
/// about approvals, rollbacks, the kill switch and connections need no other
/// module; with the campaigns module wired it names campaigns, with the
/// campaigns and analytics modules it checks budgets and ROAS when metrics
/// land, with the platforms module it checks connections' health (each
/// listed before it).
#[derive(Debug, Default)]
pub struct NotificationsModule {
    with_campaigns: bool,
    with_analytics: bool,
    with_platforms: bool,
}

impl NotificationsModule {
    pub fn new() -> NotificationsModule {
        NotificationsModule::default()
    }

    /// Name campaigns in notifications (the campaigns module).
    pub fn with_campaigns_module(mut self) -> NotificationsModule {
        self.with_campaigns = true;
        self
    }

    /// Check campaigns' budgets and ROAS when metrics land (the analytics
    /// module; needs [`with_campaigns_module`](Self::with_campaigns_module)).
    pub fn with_analytics_module(mut self) -> NotificationsModule {
        self.with_analytics = true;
        self
    }

    /// Check the platform connections' health (the platforms module).
    pub fn with_platforms_module(mut self) -> NotificationsModule {
        self.with_platforms = true;
        self
    }
}

impl Module for NotificationsModule {
    fn name(&self) -> &'static str {
        "notifications"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<NotificationsConfig>(
            "notifications",
        )]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let config: NotificationsConfig = ctx.section("notifications")?;
            let problems = config.problems();
            if !problems.is_empty() {
                anyhow::bail!(
                    "configuration section `notifications`: {}",
                    problems.join("; ")
                );
            }
            if self.with_analytics && !self.with_campaigns {
                anyhow::bail!(
                    "the notifications module checks budgets only with the campaigns module: wire it with_campaigns_module() too"
                );
            }
            let mut svc = NotificationsService::new(
                ctx.platform,
                ctx.identity.clone(),
                config,
                ctx.config.public_url(),
            );
            if self.with_campaigns {
                let campaigns = ctx.require::<kiki_campaigns_service::CampaignsService>()?;
                svc = if self.with_analytics {
                    svc.with_metrics(
                        campaigns,
                        ctx.require::<kiki_analytics_service::AnalyticsService>()?,
                    )
                } else {
                    svc.with_campaigns(campaigns)
                };
            }
            if self.with_platforms {
                svc =
                    svc.with_platforms(ctx.require::<kiki_platforms_service::PlatformsService>()?);
            }
            let svc = Arc::new(svc);
            ctx.add_job_handler(Arc::new(jobs::EvaluateJob(svc.clone())));
            ctx.provide(svc.clone());
            let mut mount = Mount::new().api(api::api());
            if ctx.roles.worker {
                mount = mount.spawn(move |state, cancel| {
                    vec![service::listen::spawn(svc, state.clone(), cancel)]
                });
            }
            Ok(mount)
        })
    }
}
