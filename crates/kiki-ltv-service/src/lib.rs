//! SyncValue's service layer: per-organisation transaction summaries, versioned
//! fitted models and stored predictions on top of the pure `kiki-ltv` engine,
//! the `/v1/ltv` API and the background fit job.

use kiki_server::Module;

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
}
