//! Platform budgets fed from campaigns: when an organisation runs campaigns,
//! each platform's daily budget in `twin_budgets` is the sum of its live
//! campaigns' ad sets there (the campaigns module writes it after every
//! change), so the rebalancer and the mirror see what actually runs. Such a
//! budget is changed on the campaigns, not through `PUT /v1/twin/budgets`
//! (which still sets its bounds); the rebalancer's shifts are applied to the
//! campaigns' ad sets by the campaigns module, which then feeds the sums back.

use kiki_core::{Currency, TenantScope};
use kiki_shield::Actor;
use serde_json::json;

use super::{TwinService, audit_event};
use crate::domain::{BudgetsRequest, ShiftView};
use crate::error::{Result, TwinServiceError};
use crate::store;

impl TwinService {
    /// Replaces the campaign-fed budgets of the organisation with `lines`
    /// (platform, daily micros) in `currency`; `None` when no campaign is
    /// live. Audited when anything changed.
    pub async fn feed_budgets_from_campaigns(
        &self,
        scope: &TenantScope,
        lines: Option<(Currency, Vec<(String, i64)>)>,
        actor: &Actor,
    ) -> Result<()> {
        let org = scope.org_id();
        let now = self.now();
        let mut tx = self.record.begin().await?;
        let mut before = store::campaign_budgets::fed(&mut tx, org).await?;
        before.sort();
        let mut after = lines.as_ref().map(|l| l.1.clone()).unwrap_or_default();
        after.sort();
        let currency_now = store::rebalancing::budgets(&self.db, org)
            .await?
            .first()
            .map(|b| b.currency.clone());
        let same_currency = match (&lines, &currency_now) {
            (Some((c, _)), Some(now)) => c.as_str() == now,
            _ => true,
        };
        if before == after && same_currency {
            tx.rollback().await?;
            return Ok(());
        }
        store::campaign_budgets::feed(
            &mut tx,
            org,
            lines.as_ref().map(|(c, l)| (*c, l.as_slice())),
            now,
        )
        .await?;
        tx.audit(
            audit_event(org, actor.clone(), "twin.budgets.fed", None)
                .target("twin_budgets", org)
                .details(json!({
                    "currency": lines.as_ref().map(|l| l.0),
                    "before": before,
                    "after": after,
                })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refuses a manual budget that differs from what the campaigns feed
    /// (409 naming the platform); returns the fed platforms to mark again.
    pub(crate) async fn check_fed(
        &self,
        tx: &mut kiki_store::Tx<'_>,
        scope: &TenantScope,
        req: &BudgetsRequest,
    ) -> Result<Vec<String>> {
        let fed = store::campaign_budgets::fed(tx, scope.org_id()).await?;
        for (platform, micros) in &fed {
            let line = req.platforms.iter().find(|l| &l.platform == platform);
            if line.is_none_or(|l| l.daily_budget.micros != *micros) {
                let fed = kiki_core::Money::from_micros(*micros, req.currency).text();
                return Err(TwinServiceError::Conflict(format!(
                    "The {platform} budget is the sum of the live campaigns' ad sets there ({fed} a day); change it on the campaigns (POST /v1/campaigns/{{id}}/budget) and keep it as it is here (its minimum and maximum may change)."
                )));
            }
        }
        Ok(fed.into_iter().map(|(p, _)| p).collect())
    }

    /// Shifts the rebalancer applied or a person approved, newest first (up
    /// to 200 of each), for the campaigns to apply to their ad sets.
    pub async fn shifts_in_force(&self, scope: &TenantScope) -> Result<Vec<ShiftView>> {
        let mut out = Vec::new();
        for status in ["applied", "approved"] {
            let rows =
                store::rebalancing::shifts(&self.db, scope.org_id(), Some(status), 200, None)
                    .await?;
            for r in rows {
                out.push(r.into_view()?);
            }
        }
        Ok(out)
    }
}
