//! Per-organisation settings: overrides of the gate threshold, the
//! rebalancing approval threshold and the industry, and the effective values.

use super::*;

/// Effective settings of one organisation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrgSettings {
    pub min_confidence: f64,
    pub approval_threshold_micros: i64,
    pub industry: Industry,
}

impl TwinService {
    async fn overrides(&self, org: OrgId) -> Result<SettingsOverrides> {
        Ok(match store::settings::get(&self.db, org).await? {
            None => SettingsOverrides::default(),
            Some(r) => SettingsOverrides {
                min_confidence: r.min_confidence,
                approval_threshold_micros: r.approval_threshold_micros,
                industry: r
                    .industry
                    .and_then(|i| serde_json::from_value(Value::String(i)).ok()),
            },
        })
    }

    pub(crate) async fn org_settings(&self, org: OrgId) -> Result<OrgSettings> {
        let o = self.overrides(org).await?;
        Ok(OrgSettings {
            min_confidence: o.min_confidence.unwrap_or(self.config.min_confidence),
            approval_threshold_micros: o
                .approval_threshold_micros
                .unwrap_or(self.config.approval_threshold_micros),
            industry: o.industry.unwrap_or(self.config.industry),
        })
    }

    /// The effective settings of the scope's active organisation.
    pub async fn settings(&self, scope: &TenantScope) -> Result<TwinSettingsView> {
        let org = scope.org_id();
        let s = self.org_settings(org).await?;
        Ok(TwinSettingsView {
            min_confidence: s.min_confidence,
            approval_threshold_micros: s.approval_threshold_micros,
            industry: s.industry,
            fee_rate_bps: self.config.fee_rate_bps,
            margin: self.margin(scope).await?,
            overrides: self.overrides(org).await?,
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
            approval_threshold_micros: o.approval_threshold_micros,
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
