//! New customers of a span, as analytics reads them
//! ([`LtvService::new_customers`]): the customers whose first-ever order
//! falls inside it, per organisation and currency of that order, with the
//! CLV the organisation's current model predicts for them (customers the
//! model has no CLV for are counted apart: they first bought after the fit,
//! or the model has no spend model).

use kiki_core::{Currency, Money, OrgId, TenantScope};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::LtvService;
use crate::error::LtvServiceError;
use crate::store;

/// The model whose predictions valued the new customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelRef {
    pub id: Uuid,
    /// 1, 2, … per organisation.
    pub version: i64,
    /// The currency of its CLVs.
    pub currency: Currency,
    /// Horizon of its CLVs, days.
    pub horizon_days: i64,
}

/// New customers of one organisation whose first order is in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewCustomerCount {
    pub currency: Currency,
    pub customers: i64,
    /// Those the current model predicts a CLV for, in this currency.
    pub predicted: i64,
    /// Their predicted CLVs summed.
    pub predicted_ltv: Money,
}

/// One organisation's new customers in a span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewCustomers {
    pub org_id: OrgId,
    /// The organisation's current model; `None` before its first fit.
    pub model: Option<ModelRef>,
    /// One entry per currency of first orders, by code; empty without any.
    pub currencies: Vec<NewCustomerCount>,
}

impl LtvService {
    /// The customers of each of `orgs` (every one the scope reaches) whose
    /// first-ever order was placed in `since..until` (`until` excluded), per
    /// currency of that order, with the current model's predicted CLV of
    /// those it values. A first order is the earliest order of the customer
    /// ever stored that a fit may use (dated in the plausible span, not of
    /// an upload still being received); refunds are not orders.
    pub async fn new_customers(
        &self,
        scope: &TenantScope,
        orgs: &[OrgId],
        since: OffsetDateTime,
        until: OffsetDateTime,
        platform: Option<&str>,
    ) -> Result<Vec<NewCustomers>, LtvServiceError> {
        if orgs.iter().any(|o| !scope.can_reach(*o)) {
            return Err(LtvServiceError::NotFound("The organisation"));
        }
        let window = self.date_window();
        let mut out = Vec::with_capacity(orgs.len());
        for org in orgs {
            let model = store::current_model(&self.db, *org).await?;
            let model = model
                .map(|m| {
                    let currency = Currency::parse(&m.currency).map_err(|_| {
                        LtvServiceError::Corrupt(format!("model {} currency", m.id))
                    })?;
                    Ok::<_, LtvServiceError>(ModelRef {
                        id: m.id,
                        version: m.version,
                        currency,
                        horizon_days: m.horizon_days,
                    })
                })
                .transpose()?;
            let rows = store::new_customers(
                &self.db,
                *org,
                model.as_ref().map(|m| m.id),
                since,
                until,
                platform,
                &window,
            )
            .await?;
            let currencies = rows
                .into_iter()
                .map(|r| {
                    let currency = Currency::parse(&r.currency).map_err(|_| {
                        LtvServiceError::Corrupt(format!(
                            "a transaction's currency {:?}",
                            r.currency
                        ))
                    })?;
                    Ok(NewCustomerCount {
                        currency,
                        customers: r.customers,
                        predicted: r.predicted,
                        predicted_ltv: Money::from_micros(r.clv_micros.unwrap_or(0), currency),
                    })
                })
                .collect::<Result<Vec<_>, LtvServiceError>>()?;
            out.push(NewCustomers {
                org_id: *org,
                model,
                currencies,
            });
        }
        Ok(out)
    }
}
