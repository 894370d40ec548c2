//! SyncTwin's and AcquisitionAgent's service layer: stored simulations and
//! gate decisions, the post-launch mirror and rebalancer jobs, what-if
//! allocations, on top of the pure `kiki-twin` and `kiki-allocator` engines.

use kiki_server::Module;

/// The `twin` module, mounted by `kiki serve` and by tests.
#[derive(Debug, Default)]
pub struct TwinModule;

impl TwinModule {
    pub fn new() -> TwinModule {
        TwinModule
    }
}

impl Module for TwinModule {
    fn name(&self) -> &'static str {
        "twin"
    }
}
