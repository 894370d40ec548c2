//! The hook through which the LTV service supplies lifetime values per
//! platform. Wired to the LTV module, [`FromLtvService`] reads the mean
//! and spread of CLV per acquisition platform from its current model (the
//! organisation-wide figure for platforms its customers do not carry) and
//! names the model; without it, simulations use the LTV given in the request
//! or the industry prior, and the rebalancer the industry prior.

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::{Currency, Money, TenantScope};
use kiki_twin::{LtvInput, Platform};
use time::Date;

/// The organisation's fitted LTV model as simulations name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LtvModelSummary {
    /// 1, 2, … per organisation.
    pub version: i64,
    pub fitted_on: Date,
    /// Mean CLV over every valued customer.
    pub mean_clv: Money,
    /// Whether some customers carry their acquisition platform (then those
    /// platforms get their own figure).
    pub per_platform: bool,
}

impl LtvModelSummary {
    /// "LTV model 3, fitted 2026-03-01, mean CLV $29.10, per acquisition
    /// platform".
    pub fn describe(&self) -> String {
        format!(
            "LTV model {}, fitted {}, mean CLV {}, {}",
            self.version,
            self.fitted_on,
            self.mean_clv.text(),
            if self.per_platform {
                "per acquisition platform where customers carry one"
            } else {
                "organisation-wide"
            }
        )
    }
}

/// LTV estimates for a simulation and the model they came from.
#[derive(Debug, Clone, Default)]
pub struct LtvEstimates {
    pub inputs: Vec<LtvInput>,
    /// The fitted model, when the estimates come from one.
    pub model: Option<LtvModelSummary>,
}

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

    /// Estimates for a plan's platforms and the model they came from. The
    /// default is [`LtvSource::platform_ltv`] without a model.
    fn estimates<'a>(
        &'a self,
        scope: &'a TenantScope,
        currency: Currency,
        _platforms: &'a [Platform],
    ) -> BoxFuture<'a, LtvEstimates> {
        Box::pin(async move {
            LtvEstimates {
                inputs: self.platform_ltv(scope, currency).await,
                model: None,
            }
        })
    }
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
                        mean: Money::from_micros(r.mean_micros, currency),
                        std_dev: Money::from_micros(r.std_dev_micros, currency),
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

    /// Per platform where customers carry one, the organisation-wide mean
    /// (spread from the quartiles) for the plan's other platforms; the
    /// model named. A failed lookup is logged and treated as "no model".
    fn estimates<'a>(
        &'a self,
        scope: &'a TenantScope,
        currency: Currency,
        platforms: &'a [Platform],
    ) -> BoxFuture<'a, LtvEstimates> {
        Box::pin(async move {
            let model = match self.0.current_model(scope).await {
                Ok(Some(m)) if m.currency.eq_ignore_ascii_case(currency.as_str()) => m,
                Ok(_) => return LtvEstimates::default(),
                Err(e) => {
                    tracing::warn!(error = %e, org = %scope.org_id(), "cannot read the LTV model; using priors");
                    return LtvEstimates::default();
                }
            };
            let all = match self.0.aggregates(scope, kiki_ltv::GroupBy::All).await {
                Ok(Some(a)) if a.model_id == model.id => a.groups.into_iter().next(),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(error = %e, org = %scope.org_id(), "cannot read LTV aggregates; using priors");
                    return LtvEstimates::default();
                }
            };
            let Some(all) = all.filter(|g| g.value.valued > 0) else {
                // A model without a spend model has no CLV to simulate with.
                return LtvEstimates::default();
            };
            let mut inputs = self.platform_ltv(scope, currency).await;
            let per_platform = !inputs.is_empty();
            let v = &all.value;
            // The interquartile range of a normal is 1.349 standard deviations.
            let spread = ((v.p75_clv_micros - v.p25_clv_micros).max(0) as f64 / 1.349) as i64;
            for p in platforms {
                if !inputs.iter().any(|i| i.platform == p.as_str()) {
                    inputs.push(LtvInput {
                        platform: p.as_str().to_owned(),
                        segment: None,
                        share: None,
                        mean: Money::from_micros(v.mean_clv_micros, currency),
                        std_dev: Money::from_micros(spread, currency),
                        customers: v.valued,
                        window: None,
                    });
                }
            }
            LtvEstimates {
                inputs,
                model: Some(LtvModelSummary {
                    version: model.version,
                    fitted_on: model.created_at.date(),
                    mean_clv: Money::from_micros(v.mean_clv_micros, currency),
                    per_platform,
                }),
            }
        })
    }
}
