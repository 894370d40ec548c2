//! SyncFlow's service layer: the `/openrtb2/*` endpoints, exchange
//! authentication, line-item storage behind `/v1/bidder/line-items`, the
//! snapshot refresh, the shared (Redis) budget and frequency store and the
//! batched hourly reporting, and the sync of segment LTVs from the LTV
//! service (`ltv_sync`), on top of the pure `kiki-bidder` engine.

pub mod api;
pub mod config;
mod config_view;
pub mod line_items;
pub mod ltv_sync;
pub mod openrtb;
mod openrtb_doc;
pub mod reporting;
pub mod service;
pub mod shared;
pub mod store;
pub mod trackers;

use std::sync::{Arc, OnceLock};

use axum::Router;
use futures::future::BoxFuture;
use kiki_server::versioning::VersionedApi;
use kiki_server::{AppState, Module, ModuleContext, Roles};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::BidderServiceConfig;
pub use service::BidderService;

/// The Redis key prefix of the shared counters.
pub const REDIS_PREFIX: &str = "kiki:bidder:";

/// The `bidder` module, mounted by `kiki serve` and by tests.
#[derive(Debug, Default)]
pub struct BidderModule {
    svc: OnceLock<Arc<BidderService>>,
}

impl BidderModule {
    pub fn new() -> BidderModule {
        BidderModule::default()
    }

    /// The running service (after `init`).
    pub fn service(&self) -> Option<Arc<BidderService>> {
        self.svc.get().cloned()
    }
}

impl Module for BidderModule {
    fn name(&self) -> &'static str {
        "bidder"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<BidderServiceConfig>(
            "bidder",
        )]
    }

    fn openapi(&self) -> Option<serde_json::Value> {
        Some(openrtb_doc::document())
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let cfg: BidderServiceConfig = ctx.section("bidder")?;
            cfg.validate(ctx.config.is_production())
                .map_err(anyhow::Error::msg)?;
            let shared = if cfg.shared_counters && ctx.roles.bidder {
                let url = ctx.config.redis.url.as_ref().ok_or_else(|| {
                    anyhow::anyhow!(
                        "bidder.shared_counters needs redis.url (KIKI__REDIS__URL); set it or turn shared_counters off"
                    )
                })?;
                Some(shared::SharedCounters::connect(url.expose_secret(), REDIS_PREFIX).await?)
            } else {
                None
            };
            // Tracker URLs are signed with a key derived from the server's
            // secret under a fixed label; the key itself is never logged.
            let tracker_key =
                trackers::derive_key(ctx.config.master_secret().expose_secret().as_bytes());
            let svc = Arc::new(
                BidderService::new(
                    cfg,
                    shared,
                    ctx.db.clone(),
                    ctx.clock.clone(),
                    service::Platform {
                        identity: ctx.identity.clone(),
                        events: ctx.events.clone(),
                        tracker_key,
                    },
                )?
                .trusting_forwarded_for(ctx.config.http.trust_forwarded_for),
            );
            // The first load happens before serving, so a new process bids at once;
            // a database without the schema yet is retried by the refresh loop.
            if let Err(e) = svc.refresh().await {
                tracing::warn!(error = %e, "bidder: first snapshot load failed; retrying in the background");
            }
            // The LTV module starts first in `kiki serve`: when it runs, segment
            // values follow its model (scheduled, and on demand through the API).
            if let Some(ltv) = ctx.service::<kiki_ltv_service::LtvService>() {
                svc.link_ltv(ltv_sync::LtvLink {
                    ltv,
                    identity: ctx.identity.clone(),
                    events: ctx.events.clone(),
                });
                ctx.add_job_handler(Arc::new(ltv_sync::LtvSyncJob::new(svc.clone())));
                ctx.default_schedule(ltv_sync::SYNC_JOB_KIND, ltv_sync::SYNC_SCHEDULE);
            }
            ctx.provide(svc.clone());
            let _ = self.svc.set(svc);
            Ok(())
        })
    }

    fn api(&self) -> VersionedApi<AppState> {
        api::api()
    }

    /// The OpenRTB endpoints sit on the lean stack: the bid path pays for no
    /// access log, span or per-route HTTP metric (it counts its own).
    fn hot_routes(&self, roles: Roles) -> Router {
        match (roles.bidder, self.svc.get()) {
            (true, Some(svc)) => openrtb::routes(svc.clone()),
            _ => Router::new(),
        }
    }

    /// The bid request skips axum's router altogether (see `Module::hot_endpoints`).
    fn hot_endpoints(&self, roles: Roles) -> Vec<kiki_server::HotEndpoint> {
        match (roles.bidder, self.svc.get()) {
            (true, Some(svc)) => vec![openrtb::hot_endpoint(svc.clone())],
            _ => Vec::new(),
        }
    }

    fn spawn(&self, state: &AppState, cancel: CancellationToken) -> Vec<JoinHandle<()>> {
        match self.svc.get() {
            Some(svc) => {
                service::spawn_loops(svc.clone(), state.clone(), state.roles.bidder, cancel)
            }
            None => Vec::new(),
        }
    }
}
