//! The organisation's campaign settings: approval threshold, four-eyes, the
//! daily cap and its own ad-policy rules.

use super::*;

/// The settings as stored: amounts in micros of `currency`, which is `None`
/// for the defaults and for rows saved before settings had a currency (both
/// read in the organisation's reporting currency).
#[derive(Debug, Clone)]
pub(crate) struct OrgSettings {
    pub approval_threshold_micros: i64,
    pub max_daily_budget_micros: Option<i64>,
    pub currency: Option<kiki_core::Currency>,
    pub four_eyes: bool,
    pub policy: kiki_creative::PolicyRules,
}

impl CampaignsService {
    /// The settings in force: stored, else the `[campaigns]` defaults.
    pub(crate) async fn settings_of(&self, org: OrgId) -> Result<OrgSettings> {
        let Some(row) = store::settings::get(&self.db, org).await? else {
            return Ok(OrgSettings {
                approval_threshold_micros: self.config.approval_threshold_micros,
                max_daily_budget_micros: None,
                currency: None,
                four_eyes: self.config.four_eyes,
                policy: kiki_creative::PolicyRules::default(),
            });
        };
        let policy = serde_json::from_value(row.policy.0).map_err(|e| {
            CampaignsError::Internal(format!(
                "campaign settings of {org:?}: policy unreadable: {e}"
            ))
        })?;
        Ok(OrgSettings {
            approval_threshold_micros: row
                .approval_threshold_micros
                .unwrap_or(self.config.approval_threshold_micros),
            max_daily_budget_micros: row.max_daily_budget_micros,
            currency: row
                .currency
                .as_deref()
                .and_then(|c| kiki_core::Currency::parse_exact(c).ok()),
            four_eyes: row.four_eyes,
            policy,
        })
    }

    /// The currency the organisation's settings amounts are in.
    pub(crate) async fn settings_currency(
        &self,
        scope: &TenantScope,
        s: &OrgSettings,
    ) -> Result<kiki_core::Currency> {
        if let Some(c) = s.currency {
            return Ok(c);
        }
        let org = self
            .identity
            .organisation(scope, scope.org_id())
            .await
            .map_err(|e| CampaignsError::Internal(format!("reading the organisation: {e}")))?;
        Ok(org.reporting_currency)
    }

    /// The settings in force with their amounts as money.
    pub(crate) async fn settings_in(&self, scope: &TenantScope) -> Result<CampaignSettings> {
        let s = self.settings_of(scope.org_id()).await?;
        let currency = self.settings_currency(scope, &s).await?;
        Ok(CampaignSettings {
            approval_threshold: Money::from_micros(s.approval_threshold_micros, currency),
            four_eyes: s.four_eyes,
            max_daily_budget: s
                .max_daily_budget_micros
                .map(|m| Money::from_micros(m, currency)),
            policy: s.policy,
        })
    }

    /// `GET /v1/campaign-settings`.
    pub async fn settings(&self, scope: &TenantScope) -> Result<CampaignSettings> {
        self.settings_in(scope).await
    }

    /// `PUT /v1/campaign-settings`.
    pub async fn put_settings(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        s: CampaignSettings,
    ) -> Result<CampaignSettings> {
        let mut errors = Vec::new();
        let currency = s.approval_threshold.currency;
        if s.approval_threshold.micros < 0 {
            errors.push(kiki_core::FieldError::new(
                "approval_threshold",
                "Must not be negative.",
            ));
        }
        if let Some(m) = s.max_daily_budget {
            if m.micros <= 0 {
                errors.push(kiki_core::FieldError::new(
                    "max_daily_budget",
                    "Must be more than zero.",
                ));
            }
            if m.currency != currency {
                errors.push(kiki_core::FieldError::new(
                    "max_daily_budget.currency",
                    format!("Must be the approval threshold's currency {currency}."),
                ));
            }
        }
        let lists = [
            ("policy.prohibited_words", &s.policy.prohibited_words),
            (
                "policy.required_disclaimers",
                &s.policy.required_disclaimers,
            ),
            ("policy.brand_keywords", &s.policy.brand_keywords),
            ("policy.competitor_names", &s.policy.competitor_names),
            ("policy.allowed_terms", &s.policy.allowed_terms),
        ];
        for (field, list) in lists {
            if list.len() > 200 {
                errors.push(kiki_core::FieldError::new(field, "At most 200 entries."));
            }
            for (i, w) in list.iter().enumerate() {
                let n = kiki_core::trim_schema(w).chars().count();
                if n == 0 || w.chars().count() > 100 {
                    errors.push(kiki_core::FieldError::new(
                        format!("{field}[{i}]"),
                        "1 to 100 characters, not only spaces.",
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(CampaignsError::Invalid(errors));
        }
        let org = p.scope.org_id();
        let actor = p.actor();
        let by = actor_text(&actor);
        let mut tx = self.record.begin().await?;
        store::settings::put(
            &mut tx,
            org,
            store::settings::SettingsWrite {
                approval_threshold_micros: Some(s.approval_threshold.micros),
                max_daily_budget_micros: s.max_daily_budget.map(|m| m.micros),
                currency: Some(currency.as_str()),
                four_eyes: s.four_eyes,
                policy: json_of(&s.policy)?,
                by: &by,
                now: self.now(),
            },
        )
        .await?;
        tx.audit(
            audit_event(org, actor, "campaigns.settings.updated", Some(meta)).details(json!({
                "approval_threshold": s.approval_threshold,
                "four_eyes": s.four_eyes,
                "max_daily_budget": s.max_daily_budget,
            })),
        )
        .await?;
        tx.commit().await?;
        self.settings_in(&p.scope).await
    }
}
