//! The organisation's campaign settings: approval threshold, four-eyes, the
//! daily cap and its own ad-policy rules.

use super::*;

impl CampaignsService {
    /// The settings in force: stored, else the `[campaigns]` defaults.
    pub(crate) async fn settings_of(&self, org: OrgId) -> Result<CampaignSettings> {
        let Some(row) = store::settings::get(&self.db, org).await? else {
            return Ok(default_settings(&self.config));
        };
        let policy = serde_json::from_value(row.policy.0).map_err(|e| {
            CampaignsError::Internal(format!(
                "campaign settings of {org:?}: policy unreadable: {e}"
            ))
        })?;
        Ok(CampaignSettings {
            approval_threshold_micros: row
                .approval_threshold_micros
                .unwrap_or(self.config.approval_threshold_micros),
            four_eyes: row.four_eyes,
            max_daily_budget_micros: row.max_daily_budget_micros,
            policy,
        })
    }

    /// `GET /v1/campaign-settings`.
    pub async fn settings(&self, scope: &TenantScope) -> Result<CampaignSettings> {
        self.settings_of(scope.org_id()).await
    }

    /// `PUT /v1/campaign-settings`.
    pub async fn put_settings(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        s: CampaignSettings,
    ) -> Result<CampaignSettings> {
        let mut errors = Vec::new();
        if s.approval_threshold_micros < 0 {
            errors.push(kiki_core::FieldError::new(
                "approval_threshold_micros",
                "Must not be negative.",
            ));
        }
        if let Some(m) = s.max_daily_budget_micros
            && m <= 0
        {
            errors.push(kiki_core::FieldError::new(
                "max_daily_budget_micros",
                "Must be more than zero.",
            ));
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
                approval_threshold_micros: Some(s.approval_threshold_micros),
                max_daily_budget_micros: s.max_daily_budget_micros,
                currency: None,
                four_eyes: s.four_eyes,
                policy: json_of(&s.policy)?,
                by: &by,
                now: self.now(),
            },
        )
        .await?;
        tx.audit(
            audit_event(org, actor, "campaigns.settings.updated", Some(meta)).details(json!({
                "approval_threshold_micros": s.approval_threshold_micros,
                "four_eyes": s.four_eyes,
                "max_daily_budget_micros": s.max_daily_budget_micros,
            })),
        )
        .await?;
        tx.commit().await?;
        self.settings_of(org).await
    }
}
