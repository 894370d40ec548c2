//! The hook through which the LTV service supplies lifetime values per
//! platform. Until it does, simulations use the LTV given in the request or
//! the industry prior, and the rebalancer the industry prior.

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::{Currency, OrgId};
use kiki_twin::LtvInput;

/// A source of LTV estimates per platform (and segment) for an organisation.
/// The LTV module implements it and provides an [`LtvProvider`] before the
/// twin module starts.
pub trait LtvSource: Send + Sync + 'static {
    /// The organisation's LTV estimates in `currency`; empty when it has none.
    fn platform_ltv<'a>(&'a self, org: OrgId, currency: Currency) -> BoxFuture<'a, Vec<LtvInput>>;
}

/// What a module shares (`ctx.provide(Arc::new(LtvProvider(..)))`) so the
/// twin module finds the LTV source at start-up.
#[derive(Clone)]
pub struct LtvProvider(pub Arc<dyn LtvSource>);

impl std::fmt::Debug for LtvProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LtvProvider")
    }
}

/// No LTV service: every lookup is empty, so priors apply.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLtv;

impl LtvSource for NoLtv {
    fn platform_ltv<'a>(&'a self, _: OrgId, _: Currency) -> BoxFuture<'a, Vec<LtvInput>> {
        Box::pin(async { Vec::new() })
    }
}
