//! Per-organisation settings: overrides of the gate threshold, the
//! rebalancing approval threshold and the industry, and the effective values.
//!
//! The approval threshold is an amount of money in a currency: the one it
//! was saved in, or, for the `[twin]` default and for rows saved before
//! thresholds had a currency, the organisation's reporting currency.

use super::*;

/// Effective settings of one organisation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrgSettings {
    pub min_confidence: f64,
    /// Micros of `threshold_currency`.
    pub approval_threshold_micros: i64,
    /// `None`: the organisation's reporting currency.
    pub threshold_currency: Option<Currency>,
    pub industry: Industry,
}

impl TwinService {
    /// The currency the organisation states its thresholds in.
    pub(crate) async fn reporting_currency(&self, scope: &TenantScope) -> Result<Currency> {
        let org = self
            .identity
            .organisation(scope, scope.org_id())
            .await
            .map_err(|e| TwinServiceError::Internal(format!("reading the organisation: {e}")))?;
        Ok(org.reporting_currency)
    }

    /// The rebalancing approval threshold in force, in its currency.
    pub(crate) async fn approval_threshold(
        &self,
        scope: &TenantScope,
        s: &OrgSettings,
    ) -> Result<kiki_core::Money> {
        let currency = match s.threshold_currency {
            Some(c) => c,
            None => self.reporting_currency(scope).await?,
        };
        Ok(kiki_core::Money::from_micros(
            s.approval_threshold_micros,
            currency,
        ))
    }

    /// The stored overrides, with the threshold's currency (`None` when it
    /// is the organisation's reporting currency).
    async fn stored(
        &self,
        org: OrgId,
    ) -> Result<(Option<i64>, Option<Currency>, SettingsOverrides)> {
        Ok(match store::settings::get(&self.db, org).await? {
            None => (None, None, SettingsOverrides::default()),
            Some(r) => {
                let currency = r
                    .currency
                    .as_deref()
                    .and_then(|c| Currency::parse_exact(c).ok());
                (
                    r.approval_threshold_micros,
                    currency,
                    SettingsOverrides {
                        min_confidence: r.min_confidence,
                        approval_threshold: None,
                        industry: r
                            .industry
                            .and_then(|i| serde_json::from_value(Value::String(i)).ok()),
                    },
                )
            }
        })
    }

    async fn overrides(&self, scope: &TenantScope) -> Result<SettingsOverrides> {
        let (threshold, currency, mut o) = self.stored(scope.org_id()).await?;
        if let Some(micros) = threshold {
            let currency = match currency {
                Some(c) => c,
                None => self.reporting_currency(scope).await?,
            };
            o.approval_threshold = Some(kiki_core::Money::from_micros(micros, currency));
        }
        Ok(o)
    }

    pub(crate) async fn org_settings(&self, org: OrgId) -> Result<OrgSettings> {
        let (threshold, currency, o) = self.stored(org).await?;
        Ok(OrgSettings {
            min_confidence: o.min_confidence.unwrap_or(self.config.min_confidence),
            approval_threshold_micros: threshold.unwrap_or(self.config.approval_threshold_micros),
            threshold_currency: threshold.and(currency),
            industry: o.industry.unwrap_or(self.config.industry),
        })
    }

    /// The effective settings of the scope's active organisation.
    pub async fn settings(&self, scope: &TenantScope) -> Result<TwinSettingsView> {
        let org = scope.org_id();
        let s = self.org_settings(org).await?;
        Ok(TwinSettingsView {
            min_confidence: s.min_confidence,
            approval_threshold: self.approval_threshold(scope, &s).await?,
            industry: s.industry,
            fee_rate_bps: self.config.fee_rate_bps,
            margin: self.margin(scope).await?,
            overrides: self.overrides(scope).await?,
        })
    }

    /// Replaces the active organisation's overrides.
    pub async fn put_settings(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        o: SettingsOverrides,
    ) -> Result<TwinSettingsView> {
        let errors = o.validate();
        if !errors.is_empty() {
            return Err(TwinServiceError::Invalid(errors));
        }
        let org = p.scope.org_id();
        let industry = o
            .industry
            .map(|i| {
                serde_json::to_value(i)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
            })
            .unwrap_or(None);
        let now = self.now();
        let row = store::settings::SettingsRow {
            min_confidence: o.min_confidence,
            approval_threshold_micros: o.approval_threshold.map(|m| m.micros),
            currency: o.approval_threshold.map(|m| m.currency.as_str().to_owned()),
            industry,
        };
        let mut tx = self.record.begin().await?;
        store::settings::put(&mut tx, org, row, &actor_text(&p.actor()), now).await?;
        tx.audit(
            audit_event(org, p.actor(), "twin.settings.changed", Some(meta))
                .target("twin_settings", org)
                .details(json!({ "overrides": o })),
        )
        .await?;
        tx.commit().await?;
        self.settings(&p.scope).await
    }
}
