//! The campaigns context's service layer: campaigns and their ad sets, the
//! status machine with every move stored and audited, the launch gate through
//! the twin, approvals (four-eyes, gate overrides, budget raises), the kill
//! switch, and creatives with their policy review — on top of the pure
//! `kiki-campaigns`, `kiki-creative` and `kiki-planner` crates.
//!
//! Layout (ARCHITECTURE.md, "Adding a bounded context"):
//!
//! - `lib.rs`: the `Module` and re-exports.
//! - `config.rs`: the `[campaigns]` section.
//! - `error.rs`: `CampaignsError` and its `DomainError` face.
//! - `events.rs`: `campaigns.status_changed`, approvals and the kill switch.
//! - `domain.rs`: the request and response types and the pure rules.
//! - `service/`: the use cases.
//! - `jobs.rs`: the channel sync and the shift sweep.
//! - `store/`: the campaign tables and every query on them (crate-private).
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

pub use config::CampaignsConfig;
pub use error::CampaignsError;
pub use service::CampaignsService;

/// The `campaigns` module. It needs the twin module (the launch gate), listed
/// before it; wired to the LTV module, the planner uses the organisation's
/// fitted customer value; wired to the bidder, KIKI programmatic ad sets run.
#[derive(Debug, Default)]
pub struct CampaignsModule {
    with_ltv: bool,
    with_bidder: bool,
    with_platforms: bool,
}

impl CampaignsModule {
    /// Campaigns on the twin; the planner uses industry priors for LTV.
    pub fn new() -> CampaignsModule {
        CampaignsModule::default()
    }

    /// Wired to the LTV module's current models (listed before it).
    pub fn with_ltv_module(self) -> CampaignsModule {
        CampaignsModule {
            with_ltv: true,
            ..self
        }
    }

    /// Wired to the bidder module (listed before it): KIKI programmatic ad
    /// sets run as its line items. Without it they show `not_connected`.
    pub fn with_bidder_module(self) -> CampaignsModule {
        CampaignsModule {
            with_bidder: true,
            ..self
        }
    }

    /// Ad sets on Meta, Google and the other platforms run through the
    /// organisation's connections (the ad-platforms module).
    pub fn with_platforms_module(self) -> CampaignsModule {
        CampaignsModule {
            with_platforms: true,
            ..self
        }
    }
}

impl Module for CampaignsModule {
    fn name(&self) -> &'static str {
        "campaigns"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<CampaignsConfig>(
            "campaigns",
        )]
    }

    fn encrypted_columns(&self) -> Vec<kiki_shield::EncryptedColumn> {
        store::llm::ENCRYPTED_COLUMNS.to_vec()
    }

    fn events(&self) -> Vec<kiki_store::EventSpec> {
        vec![
            kiki_store::EventSpec::of::<events::StatusChanged>("campaigns"),
            kiki_store::EventSpec::of::<events::ApprovalRequested>("campaigns"),
            kiki_store::EventSpec::of::<events::ApprovalDecided>("campaigns"),
            kiki_store::EventSpec::of::<events::KillSwitchEngaged>("campaigns"),
            kiki_store::EventSpec::of::<events::KillSwitchReleased>("campaigns"),
        ]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let cfg: CampaignsConfig = ctx.section("campaigns")?;
            let problems = cfg.problems();
            if !problems.is_empty() {
                anyhow::bail!("configuration section `campaigns`: {}", problems.join("; "));
            }
            let twin = ctx.require::<kiki_twin_service::TwinService>()?;
            let ltv = if self.with_ltv {
                Some(ctx.require::<kiki_ltv_service::LtvService>()?)
            } else {
                None
            };
            let bidder = if self.with_bidder {
                Some(ctx.require::<kiki_bidder_service::BidderService>()?)
            } else {
                None
            };
            let mut svc =
                CampaignsService::new(ctx.platform, ctx.identity.clone(), cfg, twin, ltv, bidder)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            if self.with_platforms {
                svc =
                    svc.with_platforms(ctx.require::<kiki_platforms_service::PlatformsService>()?);
            }
            let svc = Arc::new(svc);
            ctx.add_job_handler(Arc::new(jobs::SyncChannelsJob(svc.clone())));
            ctx.add_job_handler(Arc::new(jobs::ApplyShiftsJob(svc.clone())));
            ctx.default_schedule(
                service::shifts::SHIFTS_KIND,
                service::shifts::SHIFTS_SCHEDULE,
            );
            ctx.provide(svc.clone());
            let mut mount = Mount::new().api(api::api());
            // A model key rotated in Vault reaches the planner and the creative
            // writer without a restart.
            if let Ok(live) = ctx.require::<kiki_server::vault::LiveConfig>() {
                let live = (*live).clone();
                mount = mount.spawn(move |_state, cancel| {
                    vec![tokio::spawn(follow_llm_rotation(svc, live, cancel))]
                });
            }
            Ok(mount)
        })
    }
}

/// Applies each new `[campaigns.llm]` of the live configuration (its key
/// rotated in Vault) until `cancel`.
async fn follow_llm_rotation(
    svc: Arc<CampaignsService>,
    live: kiki_server::vault::LiveConfig,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut rx = live.subscribe();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = rx.changed() => if changed.is_err() { return },
        }
        let cfg = rx.borrow_and_update().clone();
        let section: CampaignsConfig = match kiki_server::config::parse_section(
            "campaigns",
            cfg.module_section("campaigns"),
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "the rotated [campaigns] section cannot be read; the model stays as it was");
                continue;
            }
        };
        match svc.apply_llm_section(section.llm.as_ref()) {
            Ok(()) => tracing::info!("the language model's settings were reloaded"),
            Err(e) => {
                tracing::error!(error = %e, "the rotated model settings cannot be used; the model stays as it was")
            }
        }
    }
}
