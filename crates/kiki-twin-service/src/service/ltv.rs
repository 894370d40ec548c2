//! The hook through which the LTV service supplies lifetime values per
//! platform. Wired to the LTV module, [`FromLtvService`] reads the mean
//! and spread of CLV per acquisition platform from its current model; without
//! it, simulations use the LTV given in the request or the industry prior,
//! and the rebalancer the industry prior.

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::{Currency, TenantScope};
use kiki_twin::LtvInput;

/// A source of LTV estimates per platform (and segment) for an organisation.
/// [`FromLtvService`] implements it over the LTV module; the module list
/// wires one in (`TwinModule::with_ltv_module` or `with_ltv_source`).
pub trait LtvSource: Send + Sync + 'static {
    /// The organisation's LTV estimates in `currency`; empty when it has none.
    fn platform_ltv<'a>(
        &'a self,
        scope: &'a TenantScope,
        currency: Currency,
    ) -> BoxFuture<'a, Vec<LtvInput>>;
}

/// No LTV service: every lookup is empty, so priors apply.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLtv;

impl LtvSource for NoLtv {
    fn platform_ltv<'a>(&'a self, _: &'a TenantScope, _: Currency) -> BoxFuture<'a, Vec<LtvInput>> {
        Box::pin(async { Vec::new() })
    }
}

/// The LTV service's current model as the twin's LTV source: mean and
/// standard deviation of CLV per acquisition platform, for platforms the twin
/// models. A failed lookup is logged and treated as "no LTV" (priors apply),
/// so a simulation never fails because the LTV store did.
#[derive(Debug, Clone)]
pub struct FromLtvService(pub Arc<kiki_ltv_service::LtvService>);

impl LtvSource for FromLtvService {
    fn platform_ltv<'a>(
        &'a self,
        scope: &'a TenantScope,
        currency: Currency,
    ) -> BoxFuture<'a, Vec<LtvInput>> {
        Box::pin(async move {
            match self.0.platform_ltv(scope, currency.as_str()).await {
                Ok(rows) => rows
                    .into_iter()
                    .filter(|r| {
                        r.customers > 0 && kiki_twin::Platform::parse(&r.platform).is_some()
                    })
                    .map(|r| LtvInput {
                        platform: r.platform,
                        segment: None,
                        share: None,
                        mean_micros: r.mean_micros,
                        std_dev_micros: r.std_dev_micros,
                        customers: r.customers,
                        window: None,
                    })
                    .collect(),
                Err(e) => {
                    tracing::warn!(error = %e, org = %scope.org_id(), "cannot read LTV per platform; using priors");
                    Vec::new()
                }
            }
        })
    }
}
