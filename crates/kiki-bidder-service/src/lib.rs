//! SyncFlow's service layer: the `/openrtb2/*` endpoints, exchange
//! authentication, line-item storage behind `/v1/bidder/line-items`, the
//! snapshot refresh, the shared (Redis) budget and frequency store and the
//! batched hourly reporting, on top of the pure `kiki-bidder` engine.

use kiki_server::Module;

/// The `bidder` module, mounted by `kiki serve` and by tests.
#[derive(Debug, Default)]
pub struct BidderModule;

impl BidderModule {
    pub fn new() -> BidderModule {
        BidderModule
    }
}

impl Module for BidderModule {
    fn name(&self) -> &'static str {
        "bidder"
    }
}
