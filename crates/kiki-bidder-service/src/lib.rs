//! SyncFlow's service layer: the `/openrtb2/*` endpoints (on the API router
//! and on the bidder's own exchange listener), exchange
//! authentication, line-item storage behind `/v1/bidder/line-items`, the
//! snapshot refresh, the shared (Redis) budget and frequency store and the
//! batched hourly reporting, and the sync of segment LTVs from the LTV
//! service, on top of the pure `kiki-bidder` engine.
//!
//! - `config/`: the `[bidder]` section (`mod.rs`) and its printed view and
//!   problems (`view.rs`).
//! - `events.rs`: the events it publishes (`bidder.line_items_changed`,
//!   `bidder.segments_changed`, `bidder.conversions_credited`,
//!   `bidder.delivery_flushed`).
//! - `service/`: `BidderService` — exchange authentication, observation and
//!   the snapshot (`mod.rs`), line-item use cases (`line_items.rs`), the LTV
//!   segment sync and its job (`ltv_sync.rs`), hourly counts
//!   (`reporting.rs`), the Redis budget and frequency store (`shared.rs`),
//!   tracker signing (`trackers.rs`), click ids and conversion credits
//!   (`conversions.rs`), and the background loops.
//! - `store.rs`: the `bidder_*` tables and their queries (crate-private).
//! - `api.rs`: `/v1/bidder/*`; `openrtb.rs` and `openrtb_doc.rs`: the
//!   exchange-facing hot path and its documentation.

pub mod api;
pub mod config;
pub mod events;
pub mod openrtb;
mod openrtb_doc;
pub mod service;
pub(crate) mod store;

// Crate-level paths the OpenRTB handlers name.
pub(crate) use service::{reporting, trackers};

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kiki_server::{Module, ModuleContext, Mount};
use secrecy::ExposeSecret;

pub use config::BidderServiceConfig;
pub use service::BidderService;
pub use service::line_items::{ChangedBy, LineItemError};
pub use service::shared::SharedCounters;

/// Writes a line item straight into storage, without an audit entry: for the
/// load benchmark's seed (`examples/bidder_server.rs`), never for tenant data.
#[doc(hidden)]
pub use store::insert_line_item as seed_line_item;

/// The Redis key prefix of the shared counters.
pub const REDIS_PREFIX: &str = "kiki:bidder:";

/// The `bidder` module, mounted by `kiki serve` and by tests.
#[derive(Debug, Default)]
pub struct BidderModule {
    /// Segment values follow the LTV module's current model (scheduled, and
    /// on demand through the API).
    ltv: bool,
}

impl BidderModule {
    /// The bidder on its own: segment values come from the API.
    pub fn new() -> BidderModule {
        BidderModule::default()
    }

    /// Wired to the LTV module (listed before it): the segment sync job is
    /// registered and scheduled; start-up fails if no LTV module runs.
    pub fn with_ltv_module(self) -> BidderModule {
        BidderModule { ltv: true }
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

    fn events(&self) -> Vec<kiki_store::EventSpec> {
        vec![
            kiki_store::EventSpec::of::<events::LineItemsChanged>("bidder"),
            kiki_store::EventSpec::of::<events::SegmentsChanged>("bidder"),
            kiki_store::EventSpec::of::<events::ConversionsCredited>("bidder"),
            kiki_store::EventSpec::of::<events::DeliveryFlushed>("bidder"),
        ]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let cfg: BidderServiceConfig = ctx.section("bidder")?;
            cfg.validate(ctx.config.is_production())
                .map_err(anyhow::Error::msg)?;
            let ltv = if self.ltv {
                Some(ctx.require::<kiki_ltv_service::LtvService>()?)
            } else {
                None
            };
            let shared = if cfg.shared_counters && ctx.roles.bidder {
                let url = ctx.config.redis.url.as_ref().ok_or_else(|| {
                    anyhow::anyhow!(
                        "bidder.shared_counters needs redis.url (KIKI__REDIS__URL); set it or turn shared_counters off"
                    )
                })?;
                Some(SharedCounters::connect(url.expose_secret(), REDIS_PREFIX).await?)
            } else {
                None
            };
            // Tracker URLs are signed with a key derived from the server's
            // secret under a fixed label; the key itself is never logged.
            let master = ctx.config.master_secret();
            let master = master.expose_secret().as_bytes();
            let keys = (
                service::trackers::derive_key(master),
                service::trackers::derive_click_key(master),
            );
            let linked = ltv.is_some();
            let svc = Arc::new(
                BidderService::new(cfg, shared, ctx.platform, keys, ltv)?
                    .trusting_forwarded_for(ctx.config.http.trust_forwarded_for),
            );
            // The first load happens before serving, so a new process bids at once;
            // a database without the schema yet is retried by the refresh loop.
            if let Err(e) = svc.refresh().await {
                tracing::warn!(error = %e, "bidder: first snapshot load failed; retrying in the background");
            }
            if linked {
                ctx.add_job_handler(Arc::new(service::ltv_sync::LtvSyncJob::new(svc.clone())));
                ctx.default_schedule(
                    service::ltv_sync::SYNC_JOB_KIND,
                    service::ltv_sync::SYNC_SCHEDULE,
                );
            }
            ctx.provide(svc.clone());
            let mut mount = Mount::new()
                .api(api::api())
                .openapi(openrtb_doc::document());
            // The OpenRTB endpoints, where the bidder role runs: on the API
            // router under the edge stack like every route, and, when
            // `exchange_listen` is set, on the bidder's own listener (the
            // address exchanges use in production; see openrtb/listener.rs).
            let mut listener = None;
            if ctx.roles.bidder {
                mount = mount.routes(openrtb::routes(svc.clone()));
                if let Some(addr) = &svc.cfg.exchange_listen {
                    let http = &ctx.config.http;
                    let l = openrtb::listener::ExchangeListener::bind(
                        addr,
                        svc.clone(),
                        openrtb::listener::ListenerSettings {
                            header_timeout: Duration::from_secs(http.request_timeout_secs),
                            shutdown_grace: Duration::from_secs(http.shutdown_grace_secs),
                        },
                    )
                    .await?;
                    let bound = l.local_addr()?;
                    tracing::info!(addr = %bound, "bidder: exchange listener bound");
                    ctx.provide(Arc::new(openrtb::listener::ExchangeAddress(bound)));
                    listener = Some(l);
                }
            } else if let Some(addr) = &svc.cfg.exchange_listen {
                tracing::info!(
                    %addr,
                    "bidder.exchange_listen is set but this process does not run the bidder role; no exchange listener"
                );
            }
            let bidder_role = ctx.roles.bidder;
            Ok(mount.spawn(move |state, cancel| {
                let mut tasks = Vec::new();
                if let Some(l) = listener {
                    tasks.push(l.spawn(cancel.clone()));
                }
                tasks.extend(service::spawn_loops(
                    svc,
                    state.clone(),
                    bidder_role,
                    cancel,
                ));
                tasks
            }))
        })
    }
}
