//! The conversions service: orders reported by the advertiser's server or
//! its order-confirmation page, attributed to the signed click id the
//! bidder's click tracker appended to the landing page (`kiki_click`),
//! counted once per order, credited to the clicked line item (the bidder's
//! pCVR) and summed per campaign and day — and the `/v1/conversions` API
//! with the snippet.
//!
//! Layout (ARCHITECTURE.md, "Adding a bounded context"):
//!
//! - `lib.rs`: the `Module` and re-exports.
//! - `config.rs`: the `[conversions]` section.
//! - `error.rs`: `ConversionsError` and its `DomainError` face.
//! - `events.rs`: `conversions.recorded`.
//! - [`domain`]: request and answer shapes, attribution and signature rules,
//!   the snippet (pure).
//! - [`service`]: the use cases ([`ConversionsService`]) and the
//!   credentials (`service/keys.rs`).
//! - `store/`: the `conversions` and `conversion_keys` tables
//!   (crate-private).
//! - `api.rs`: the routes and handlers.
//!
//! The bidder is reached only through `BidderService` (reading a click id,
//! crediting a conversion), never through its tables.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod service;
pub(crate) mod store;

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_server::{Module, ModuleContext, Mount};

pub use config::ConversionsConfig;
pub use error::ConversionsError;
pub use service::{ConversionsService, Recorded, Reporter};

/// The `conversions` module, mounted by `kiki serve` and by tests. It needs
/// the bidder module, listed before it: click ids are the bidder's, and so
/// is the pCVR a conversion feeds.
#[derive(Debug, Default)]
pub struct ConversionsModule;

impl ConversionsModule {
    pub fn new() -> ConversionsModule {
        ConversionsModule
    }
}

impl Module for ConversionsModule {
    fn name(&self) -> &'static str {
        "conversions"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<ConversionsConfig>(
            "conversions",
        )]
    }

    fn encrypted_columns(&self) -> Vec<kiki_shield::EncryptedColumn> {
        store::ENCRYPTED_COLUMNS.to_vec()
    }

    fn events(&self) -> Vec<kiki_store::EventSpec> {
        vec![kiki_store::EventSpec::of::<events::ConversionRecorded>(
            "conversions",
        )]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let config: ConversionsConfig = ctx.section("conversions")?;
            let problems = config.problems();
            if !problems.is_empty() {
                anyhow::bail!(
                    "configuration section `conversions`: {}",
                    problems.join("; ")
                );
            }
            let bidder = ctx.require::<kiki_bidder_service::BidderService>()?;
            let svc = Arc::new(ConversionsService::new(ctx.platform, bidder, config));
            ctx.provide(svc);
            Ok(Mount::new().api(api::api()).openapi(api::document()))
        })
    }
}
