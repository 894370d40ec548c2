//! Platform budgets and the rebalancer: `PUT /v1/twin/budgets` sets the
//! daily budgets and bounds the rule works on; the `twin.rebalance` job
//! computes LTV/CAC per platform from recent actuals and applies
//! `kiki_allocator::rebalance` once per organisation and period; shifts
//! above the approval threshold wait for `POST /v1/rebalancing/{id}/approve`.

use std::collections::BTreeMap;

use kiki_allocator::{PlatformActuals, RebalanceConfig, RebalanceInput};
use kiki_core::{Currency, FieldError, OrgId, Page, PageRequest, TenantScope};
use kiki_explain::NewDecision;
use kiki_identity::{Principal, RequestMeta};
use kiki_shield::Actor;
use kiki_store::Tx;

use kiki_twin::{Platform, priors};
use serde::Serialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{ENGINE_VERSION, TwinService, actor_text, audit_event, key_of};
use crate::domain::{BudgetLine, BudgetsRequest, BudgetsView, ShiftDecisionRequest, ShiftView};
use crate::error::{Result, TwinServiceError};
use crate::events::{Rebalanced, ShiftEvent};
use crate::store::{
    self,
    rebalancing::{BudgetRow, ShiftRow},
};

/// The job kind of the rebalancer.
pub const REBALANCE_KIND: &str = "twin.rebalance";
/// Its default schedule: every five minutes.
pub const REBALANCE_SCHEDULE: &str = "0 */5 * * * *";
const SYSTEM: &str = "twin.rebalancer";

impl ShiftRow {
    pub(crate) fn into_view(self) -> Result<ShiftView> {
        let bad = |what: &str| {
            TwinServiceError::Internal(format!("shift {}: unreadable {what}", self.id))
        };
        let currency = Currency::parse(&self.currency).map_err(|_| bad("currency"))?;
        let money = |micros| kiki_core::Money::from_micros(micros, currency);
        Ok(ShiftView {
            id: self.id,
            org_id: self.org_id,
            period_key: self.period_key.clone(),
            currency,
            from: Platform::parse(&self.from_platform).ok_or_else(|| bad("platform"))?,
            to: Platform::parse(&self.to_platform).ok_or_else(|| bad("platform"))?,
            amount: money(self.amount_micros),
            from_budget_before: money(self.from_budget_before_micros),
            from_budget_after: money(self.from_budget_after_micros),
            to_budget_before: money(self.to_budget_before_micros),
            to_budget_after: money(self.to_budget_after_micros),
            from_efficiency: self.from_efficiency,
            to_efficiency: self.to_efficiency,
            average_efficiency: self.average_efficiency,
            portfolio_efficiency_before: self.portfolio_efficiency_before,
            portfolio_efficiency_after: self.portfolio_efficiency_after,
            explanation: self.explanation,
            status: self.status,
            decided_by: self.decided_by,
            decision_reason: self.decision_reason,
            created_at: self.created_at,
            decided_at: self.decided_at,
        })
    }
}

/// What one rebalancing run did for one organisation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RebalanceOutcome {
    pub org_id: Uuid,
    /// False when this period had already been rebalanced (a retry).
    pub ran: bool,
    pub applied: usize,
    pub pending_approval: usize,
    pub skipped: usize,
}

fn validate_budgets(req: &BudgetsRequest) -> Vec<FieldError> {
    let mut e = Vec::new();
    if req.platforms.is_empty() {
        e.push(FieldError::new("platforms", "Give at least one platform."));
    }
    for (i, l) in req.platforms.iter().enumerate() {
        let path = format!("platforms[{i}]");
        if Platform::parse(&l.platform).is_none() {
            e.push(FieldError::new(
                format!("{path}.platform"),
                Platform::unknown_message(&l.platform),
            ));
        } else if req.platforms[..i].iter().any(|o| o.platform == l.platform) {
            e.push(FieldError::new(
                format!("{path}.platform"),
                "The platform appears twice; give each platform once.",
            ));
        }
        let mut other_currency = false;
        for (name, m) in [
            ("daily_budget", Some(l.daily_budget)),
            ("min_daily_budget", l.min_daily_budget),
            ("max_daily_budget", l.max_daily_budget),
        ] {
            if let Some(m) = m
                && m.currency != req.currency
            {
                other_currency = true;
                e.push(FieldError::new(
                    format!("{path}.{name}.currency"),
                    format!("Must be the request currency ({}).", req.currency),
                ));
            }
        }
        if other_currency {
            continue;
        }
        let (daily, min, max) = l.micros();
        if daily < 0 {
            e.push(FieldError::new(
                format!("{path}.daily_budget"),
                "The daily budget must not be negative.",
            ));
        }
        if min < 0 {
            e.push(FieldError::new(
                format!("{path}.min_daily_budget"),
                "The minimum must not be negative.",
            ));
        }
        if let Some(max) = max
            && max < min
        {
            e.push(FieldError::new(
                format!("{path}.max_daily_budget"),
                "The maximum daily budget must not be below the minimum.",
            ));
        }
        if daily < min || max.is_some_and(|m| daily > m) {
            e.push(FieldError::new(
                format!("{path}.daily_budget"),
                "The daily budget must lie within its minimum and maximum.",
            ));
        }
    }
    e
}

impl TwinService {
    async fn budget_rows(&self, org: OrgId) -> Result<Vec<BudgetRow>> {
        Ok(store::rebalancing::budgets(&self.db, org).await?)
    }

    /// The active organisation's platform budgets.
    pub async fn budgets(&self, scope: &TenantScope) -> Result<BudgetsView> {
        let rows = self.budget_rows(scope.org_id()).await?;
        let currency = rows.first().and_then(|r| Currency::parse(&r.currency).ok());
        Ok(BudgetsView {
            currency,
            platforms: rows
                .into_iter()
                .map(|r| {
                    let c = Currency::parse(&r.currency).unwrap_or(Currency::USD);
                    let money = |micros| kiki_core::Money::from_micros(micros, c);
                    BudgetLine {
                        platform: r.platform,
                        daily_budget: money(r.daily_budget_micros),
                        min_daily_budget: Some(money(r.min_daily_budget_micros)),
                        max_daily_budget: r.max_daily_budget_micros.map(money),
                    }
                })
                .collect(),
        })
    }

    /// `PUT /v1/twin/budgets`: replaces every platform budget of the active
    /// organisation (one currency).
    pub async fn put_budgets(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: BudgetsRequest,
    ) -> Result<BudgetsView> {
        let errors = validate_budgets(&req);
        if !errors.is_empty() {
            return Err(TwinServiceError::Invalid(errors));
        }
        let org = p.scope.org_id();
        let now = self.now();
        let before = self.budgets(&p.scope).await?;
        let mut tx = self.record.begin().await?;
        let fed = self.check_fed(&mut tx, &p.scope, &req).await?;
        store::rebalancing::replace_budgets(&mut tx, org, req.currency, &req.platforms, now)
            .await?;
        store::campaign_budgets::mark_fed(&mut tx, org, &fed).await?;
        tx.audit(
            audit_event(org, p.actor(), "twin.budgets.set", Some(meta))
                .target("twin_budgets", org)
                .details(json!({
                    "currency": req.currency,
                    "before": before.platforms,
                    "after": req.platforms,
                })),
        )
        .await?;
        tx.commit().await?;
        self.budgets(&p.scope).await
    }

    /// Runs the rebalancer for every organisation with budgets, for the
    /// period starting at `period`.
    /// `scope_for` is the job runner's scope for each organisation.
    pub async fn rebalance_all(
        &self,
        period: OffsetDateTime,
        scope_for: impl Fn(OrgId) -> TenantScope,
    ) -> Result<Vec<RebalanceOutcome>> {
        let mut out = Vec::new();
        for org in store::rebalancing::orgs_with_budgets(&self.db).await? {
            match self.rebalance_org(&scope_for(org), period).await {
                Ok(o) => out.push(o),
                Err(TwinServiceError::Invalid(fields)) => {
                    // One organisation's odd data must not stop the others.
                    tracing::warn!(org = %org.0, ?fields, "rebalancing skipped: invalid input");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Rebalances one organisation once for `period`; a second call for the
    /// same period does nothing.
    pub async fn rebalance_org(
        &self,
        scope: &TenantScope,
        period: OffsetDateTime,
    ) -> Result<RebalanceOutcome> {
        let org = scope.org_id();
        let period_key = period
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| TwinServiceError::Internal(format!("period format: {e}")))?;
        let mut outcome = RebalanceOutcome {
            org_id: org.0,
            ..RebalanceOutcome::default()
        };
        let budgets = self.budget_rows(org).await?;
        let Some(currency) = budgets
            .first()
            .and_then(|b| Currency::parse(&b.currency).ok())
        else {
            return Ok(outcome);
        };
        let settings = self.org_settings(org).await?;
        let threshold = self.approval_threshold(scope, &settings).await?;
        // Without an exchange rate a threshold in another currency than the
        // budgets cannot be compared with a shift: every shift waits.
        let foreign_threshold = threshold.currency != currency;
        let today = period.date();
        let from = today - Duration::days(i64::from(self.config.rebalance_window_days));
        let history = self.history(org, currency, from, today, None).await?;
        let ltv_inputs = self.ltv.platform_ltv(scope, currency).await;
        let margin = self.margin(scope).await?;
        let mut sums: BTreeMap<String, (i64, f64)> = BTreeMap::new();
        for h in &history {
            let e = sums.entry(h.platform.clone()).or_default();
            e.0 = e.0.saturating_add(h.spend_micros);
            e.1 += h.conversions;
        }
        let platforms = budgets
            .iter()
            .map(|b| {
                let (spend, conversions) = sums.get(&b.platform).copied().unwrap_or_default();
                let ltv_micros = platform_ltv_micros(&ltv_inputs, &b.platform, settings.industry);
                PlatformActuals {
                    platform: b.platform.clone(),
                    daily_budget_micros: b.daily_budget_micros,
                    min_daily_budget_micros: b.min_daily_budget_micros,
                    max_daily_budget_micros: b.max_daily_budget_micros,
                    spend_micros: spend,
                    conversions,
                    ltv_micros,
                }
            })
            .collect();
        let input = RebalanceInput {
            currency,
            platforms,
            config: RebalanceConfig {
                trigger_below_average: self.config.trigger_below_average,
                shift_fraction: self.config.shift_fraction,
                approval_threshold_micros: if foreign_threshold {
                    0
                } else {
                    threshold.micros
                },
                contribution_margin: margin.contribution_margin,
                ..RebalanceConfig::default()
            },
        };
        let mut plan =
            kiki_allocator::rebalance(&input).map_err(|e| TwinServiceError::from_alloc("", e))?;
        if foreign_threshold {
            let engine_says = format!(
                " The shift is above {} a day, so it needs approval before it is applied.",
                kiki_core::Money::zero(currency).text()
            );
            for s in &mut plan.shifts {
                s.requires_approval = true;
                s.explanation = format!(
                    "{} The approval threshold of {} is in {}, the budgets are in {currency}, and there is no exchange rate to compare them, so the shift needs approval before it is applied.",
                    s.explanation.trim_end_matches(engine_says.as_str()),
                    threshold.text(),
                    threshold.currency,
                );
            }
        }
        let now = self.now();
        let mut tx = self.record.begin().await?;
        let claimed =
            store::rebalancing::claim_run(&mut tx, org, &period_key, plan.shifts.len() as i64, now)
                .await?;
        if !claimed {
            tx.rollback().await?;
            return Ok(outcome);
        }
        outcome.ran = true;
        outcome.skipped = plan.skipped.len();
        let mut events = Vec::new();
        for s in &plan.shifts {
            let status = if s.requires_approval {
                outcome.pending_approval += 1;
                "pending_approval"
            } else {
                outcome.applied += 1;
                move_budget(&mut tx, org, s.from, s.to, s.amount_micros, now).await?;
                "applied"
            };
            let id = Uuid::now_v7();
            store::rebalancing::insert_shift(
                &mut tx,
                id,
                org,
                &period_key,
                currency,
                s,
                status,
                now,
            )
            .await?;
            let entry = tx
                .audit(
                    audit_event(org, Actor::System(SYSTEM.into()), "twin.rebalanced", None)
                        .target("rebalancing_shift", id)
                        .details(json!({
                            "period": period_key,
                            "status": status,
                            "from": s.from,
                            "to": s.to,
                            "amount": kiki_core::Money::from_micros(s.amount_micros, currency),
                        })),
                )
                .await?;
            tx.decision(NewDecision {
                org_id: Some(org),
                engine: "kiki-allocator".into(),
                engine_version: ENGINE_VERSION.into(),
                kind: "budget_shift".into(),
                subject_kind: "rebalancing_shift".into(),
                subject_id: id.to_string(),
                // The engine counts in micros; the record shows money.
                inputs: money_shaped(
                    json!({
                        "period": period_key,
                        "window_days": self.config.rebalance_window_days,
                        "efficiencies": plan.efficiencies,
                        "average_efficiency": plan.average_efficiency,
                        "threshold": plan.threshold,
                        "config": input.config,
                    }),
                    currency,
                ),
                output: money_shaped(json!({ "shift": s, "status": status }), currency),
                confidence: None,
                explanation: if s.requires_approval && !foreign_threshold {
                    format!(
                        "{} The shift is above the approval threshold and waits for approval.",
                        s.explanation
                    )
                } else {
                    s.explanation.clone()
                },
                audit_entry_id: Some(entry.id),
            })
            .await?;
            events.push(ShiftEvent {
                shift_id: id,
                status: status.to_owned(),
                from: s.from,
                to: s.to,
                amount: kiki_core::Money::from_micros(s.amount_micros, currency),
                explanation: s.explanation.clone(),
            });
        }
        if !events.is_empty() {
            tx.publish(
                Some(org),
                &Rebalanced {
                    period: Some(period_key),
                    shifts: events,
                },
            );
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Shifts of the active organisation, newest first, optionally of one status.
    pub async fn list_shifts(
        &self,
        scope: &TenantScope,
        status: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<ShiftView>> {
        if let Some(s) = status
            && !["applied", "pending_approval", "approved", "rejected"].contains(&s)
        {
            return Err(TwinServiceError::field(
                "status",
                "Must be applied, pending_approval, approved or rejected.",
            ));
        }
        let limit = page.limit();
        let key = key_of(page)?;
        let rows =
            store::rebalancing::shifts(&self.db, scope.org_id(), status, page.fetch(), key).await?;
        let items = rows
            .into_iter()
            .map(ShiftRow::into_view)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::keyset(items, limit, |v| (v.created_at, v.id)))
    }

    /// Approves (and applies) or rejects a shift waiting for approval.
    pub async fn decide_shift(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        approve: bool,
        req: ShiftDecisionRequest,
    ) -> Result<ShiftView> {
        let reason = req
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        if reason.as_ref().is_some_and(|r| r.chars().count() > 2000) {
            return Err(TwinServiceError::field(
                "reason",
                "The reason must be at most 2000 characters.",
            ));
        }
        let org = p.scope.org_id();
        let row = store::rebalancing::shift(&self.db, org, id)
            .await?
            .ok_or(TwinServiceError::NotFound("rebalancing shift"))?;
        if row.status != "pending_approval" {
            return Err(TwinServiceError::Conflict(format!(
                "The shift is {}; only a shift pending approval can be approved or rejected.",
                row.status
            )));
        }
        let now = self.now();
        let actor = p.actor();
        let by = actor_text(&actor);
        let status = if approve { "approved" } else { "rejected" };
        let from = Platform::parse(&row.from_platform)
            .ok_or_else(|| TwinServiceError::Internal(format!("shift {id}: bad platform")))?;
        let to = Platform::parse(&row.to_platform)
            .ok_or_else(|| TwinServiceError::Internal(format!("shift {id}: bad platform")))?;
        let row_currency = Currency::parse(&row.currency).unwrap_or(Currency::USD);
        let row_money = |micros| kiki_core::Money::from_micros(micros, row_currency);
        let mut tx = self.record.begin().await?;
        if !store::rebalancing::decide_shift(&mut tx, id, status, &by, reason.clone(), now).await? {
            return Err(TwinServiceError::Conflict(
                "The shift was decided by someone else meanwhile.".into(),
            ));
        }
        let moved = if approve {
            move_budget(&mut tx, org, from, to, row.amount_micros, now).await?
        } else {
            0
        };
        let entry = tx
            .audit(
                audit_event(
                    org,
                    actor,
                    &format!("twin.rebalancing.{status}"),
                    Some(meta),
                )
                .target("rebalancing_shift", id)
                .details(json!({
                    "from": row.from_platform,
                    "to": row.to_platform,
                    "amount": row_money(row.amount_micros),
                    "moved": row_money(moved),
                    "reason": reason,
                })),
            )
            .await?;
        tx.decision(NewDecision {
            org_id: Some(org),
            engine: "kiki-allocator".into(),
            engine_version: ENGINE_VERSION.into(),
            kind: format!("budget_shift_{status}"),
            subject_kind: "rebalancing_shift".into(),
            subject_id: id.to_string(),
            inputs: json!({ "shift": row.explanation, "decided_by": by, "reason": reason }),
            output: json!({ "status": status, "moved": row_money(moved) }),
            confidence: None,
            explanation: format!(
                "A person {status} the shift of {} a day from {} to {}{}.",
                row_money(row.amount_micros).text(),
                row.from_platform,
                row.to_platform,
                reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            audit_entry_id: Some(entry.id),
        })
        .await?;
        if approve {
            tx.publish(
                Some(org),
                &Rebalanced {
                    period: None,
                    shifts: vec![ShiftEvent {
                        shift_id: id,
                        status: status.to_owned(),
                        from,
                        to,
                        amount: row_money(moved),
                        explanation: row.explanation.clone(),
                    }],
                },
            );
        }
        tx.commit().await?;
        store::rebalancing::shift(&self.db, org, id)
            .await?
            .ok_or(TwinServiceError::NotFound("rebalancing shift"))?
            .into_view()
    }
}

/// Moves up to `amount` of daily budget from one platform to another within
/// both bounds as they stand now; returns what moved.
async fn move_budget(
    tx: &mut Tx<'_>,
    org: OrgId,
    from: Platform,
    to: Platform,
    amount: i64,
    now: OffsetDateTime,
) -> Result<i64> {
    let (Some(f), Some(t)) = (
        store::rebalancing::budget(tx, org, from).await?,
        store::rebalancing::budget(tx, org, to).await?,
    ) else {
        return Ok(0);
    };
    let room_from = Ord::max(f.daily_budget_micros - f.min_daily_budget_micros, 0);
    let room_to = t
        .max_daily_budget_micros
        .map(|m| Ord::max(m - t.daily_budget_micros, 0))
        .unwrap_or(i64::MAX);
    let moved = Ord::max(Ord::min(Ord::min(amount, room_from), room_to), 0);
    if moved == 0 {
        return Ok(0);
    }
    for (p, v) in [
        (from, f.daily_budget_micros - moved),
        (to, t.daily_budget_micros.saturating_add(moved)),
    ] {
        store::rebalancing::set_daily_budget(tx, org, p, v, now).await?;
    }
    Ok(moved)
}

/// A platform's customer LTV in micros: the LTV service's estimate
/// (segments weighted by share, else by customers), else the industry prior.
fn platform_ltv_micros(
    inputs: &[kiki_twin::LtvInput],
    platform: &str,
    industry: kiki_twin::Industry,
) -> i64 {
    let rows: Vec<_> = inputs.iter().filter(|l| l.platform == platform).collect();
    let (mut w, mut s) = (0.0, 0.0);
    for l in &rows {
        let weight = l.share.unwrap_or(l.customers as f64);
        w += weight;
        s += weight * l.mean.micros as f64;
    }
    if w > 0.0 && s.is_finite() {
        return (s / w).round() as i64;
    }
    match Platform::parse(platform) {
        Some(p) => (priors::prior(industry, p).ltv * 1e6).round() as i64,
        None => 0,
    }
}

/// A record's JSON with every `<name>_micros` integer of the engine's
/// structures written as `<name>`: Money in `currency`, the API's one shape.
fn money_shaped(mut value: Value, currency: Currency) -> Value {
    kiki_core::money::legacy::upgrade_legacy_micros(&mut value, currency);
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_twin::{Industry, LtvInput};

    fn usd(micros: i64) -> kiki_core::Money {
        kiki_core::Money::from_micros(micros, Currency::USD)
    }

    fn ltv(platform: &str, mean: i64, share: Option<f64>, customers: u64) -> LtvInput {
        LtvInput {
            platform: platform.into(),
            segment: None,
            share,
            mean: kiki_core::Money::from_micros(mean, Currency::USD),
            std_dev: kiki_core::Money::zero(Currency::USD),
            customers,
            window: None,
        }
    }

    #[test]
    fn platform_ltv_weights_segments_and_falls_back_to_the_prior() {
        let inputs = [
            ltv("meta", 100_000_000, None, 300),
            ltv("meta", 200_000_000, None, 100),
            ltv("google", 50_000_000, Some(0.5), 1),
            ltv("google", 150_000_000, Some(0.5), 999),
        ];
        assert_eq!(
            platform_ltv_micros(&inputs, "meta", Industry::General),
            125_000_000
        );
        assert_eq!(
            platform_ltv_micros(&inputs, "google", Industry::General),
            100_000_000
        );
        let prior = (priors::prior(Industry::Saas, Platform::Tiktok).ltv * 1e6).round() as i64;
        assert_eq!(
            platform_ltv_micros(&inputs, "tiktok", Industry::Saas),
            prior
        );
        assert_eq!(platform_ltv_micros(&inputs, "myspace", Industry::Saas), 0);
    }

    #[test]
    fn budgets_outside_their_bounds_are_named() {
        let req = BudgetsRequest {
            currency: Currency::USD,
            platforms: vec![
                BudgetLine {
                    platform: "meta".into(),
                    daily_budget: usd(5),
                    min_daily_budget: Some(usd(10)),
                    max_daily_budget: None,
                },
                BudgetLine {
                    platform: "meta".into(),
                    daily_budget: usd(5),
                    min_daily_budget: None,
                    max_daily_budget: None,
                },
                BudgetLine {
                    platform: "google".into(),
                    daily_budget: kiki_core::Money::from_micros(5, Currency::EUR),
                    min_daily_budget: None,
                    max_daily_budget: None,
                },
            ],
        };
        let fields: Vec<String> = validate_budgets(&req)
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            [
                "platforms[0].daily_budget",
                "platforms[1].platform",
                "platforms[2].daily_budget.currency"
            ]
        );
    }
}
