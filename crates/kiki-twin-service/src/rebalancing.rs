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

use crate::events::{Rebalanced, ShiftEvent};
use kiki_twin::{Platform, priors};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use serde::Serialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::{Result, TwinServiceError};
use crate::schema::{TwinBudgets as B, TwinRebalanceRuns as R, TwinRebalancingShifts as Sh};
use crate::service::{
    ENGINE_VERSION, TwinService, actor_text, apply_cursor, audit_event, cursor_of,
};
use crate::types::{BudgetLine, BudgetsRequest, BudgetsView, ShiftDecisionRequest, ShiftView};

/// The job kind of the rebalancer.
pub const REBALANCE_KIND: &str = "twin.rebalance";
/// Its default schedule: every five minutes.
pub const REBALANCE_SCHEDULE: &str = "0 */5 * * * *";
const SYSTEM: &str = "twin.rebalancer";

#[derive(Debug, sqlx::FromRow)]
struct BudgetRow {
    platform: String,
    currency: String,
    daily_budget_micros: i64,
    min_daily_budget_micros: i64,
    max_daily_budget_micros: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
struct ShiftRow {
    id: Uuid,
    org_id: Uuid,
    period_key: String,
    currency: String,
    from_platform: String,
    to_platform: String,
    amount_micros: i64,
    from_budget_before_micros: i64,
    from_budget_after_micros: i64,
    to_budget_before_micros: i64,
    to_budget_after_micros: i64,
    from_efficiency: f64,
    to_efficiency: f64,
    average_efficiency: f64,
    portfolio_efficiency_before: f64,
    portfolio_efficiency_after: f64,
    explanation: String,
    status: String,
    decided_by: Option<String>,
    decision_reason: Option<String>,
    created_at: OffsetDateTime,
    decided_at: Option<OffsetDateTime>,
}

const SHIFT_COLUMNS: [Sh; 22] = [
    Sh::Id,
    Sh::OrgId,
    Sh::PeriodKey,
    Sh::Currency,
    Sh::FromPlatform,
    Sh::ToPlatform,
    Sh::AmountMicros,
    Sh::FromBudgetBeforeMicros,
    Sh::FromBudgetAfterMicros,
    Sh::ToBudgetBeforeMicros,
    Sh::ToBudgetAfterMicros,
    Sh::FromEfficiency,
    Sh::ToEfficiency,
    Sh::AverageEfficiency,
    Sh::PortfolioEfficiencyBefore,
    Sh::PortfolioEfficiencyAfter,
    Sh::Explanation,
    Sh::Status,
    Sh::DecidedBy,
    Sh::DecisionReason,
    Sh::CreatedAt,
    Sh::DecidedAt,
];

impl ShiftRow {
    fn into_view(self) -> Result<ShiftView> {
        let bad = |what: &str| {
            TwinServiceError::Internal(format!("shift {}: unreadable {what}", self.id))
        };
        Ok(ShiftView {
            id: self.id,
            org_id: self.org_id,
            period_key: self.period_key.clone(),
            currency: Currency::parse(&self.currency).map_err(|_| bad("currency"))?,
            from: Platform::parse(&self.from_platform).ok_or_else(|| bad("platform"))?,
            to: Platform::parse(&self.to_platform).ok_or_else(|| bad("platform"))?,
            amount_micros: self.amount_micros,
            from_budget_before_micros: self.from_budget_before_micros,
            from_budget_after_micros: self.from_budget_after_micros,
            to_budget_before_micros: self.to_budget_before_micros,
            to_budget_after_micros: self.to_budget_after_micros,
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
        if l.daily_budget_micros < 0 {
            e.push(FieldError::new(
                format!("{path}.daily_budget_micros"),
                "The daily budget must not be negative.",
            ));
        }
        if l.min_daily_budget_micros < 0 {
            e.push(FieldError::new(
                format!("{path}.min_daily_budget_micros"),
                "The minimum must not be negative.",
            ));
        }
        if let Some(max) = l.max_daily_budget_micros
            && max < l.min_daily_budget_micros
        {
            e.push(FieldError::new(
                format!("{path}.max_daily_budget_micros"),
                "The maximum daily budget must not be below the minimum.",
            ));
        }
        if l.daily_budget_micros < l.min_daily_budget_micros
            || l.max_daily_budget_micros
                .is_some_and(|m| l.daily_budget_micros > m)
        {
            e.push(FieldError::new(
                format!("{path}.daily_budget_micros"),
                "The daily budget must lie within its minimum and maximum.",
            ));
        }
    }
    e
}

impl TwinService {
    async fn budget_rows(&self, org: OrgId) -> Result<Vec<BudgetRow>> {
        let stmt = Query::select()
            .columns([
                B::Platform,
                B::Currency,
                B::DailyBudgetMicros,
                B::MinDailyBudgetMicros,
                B::MaxDailyBudgetMicros,
            ])
            .from(B::Table)
            .and_where(Expr::col(B::OrgId).eq(org.0))
            .order_by(B::Platform, Order::Asc)
            .to_owned();
        Ok(self.db.fetch_all(&stmt).await?)
    }

    /// The active organisation's platform budgets.
    pub async fn budgets(&self, scope: &TenantScope) -> Result<BudgetsView> {
        let rows = self.budget_rows(scope.org_id()).await?;
        Ok(BudgetsView {
            currency: rows.first().and_then(|r| Currency::parse(&r.currency).ok()),
            platforms: rows
                .into_iter()
                .map(|r| BudgetLine {
                    platform: r.platform,
                    daily_budget_micros: r.daily_budget_micros,
                    min_daily_budget_micros: r.min_daily_budget_micros,
                    max_daily_budget_micros: r.max_daily_budget_micros,
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
        let delete = Query::delete()
            .from_table(B::Table)
            .and_where(Expr::col(B::OrgId).eq(org.0))
            .to_owned();
        let mut insert = Query::insert()
            .into_table(B::Table)
            .columns([
                B::OrgId,
                B::Platform,
                B::Currency,
                B::DailyBudgetMicros,
                B::MinDailyBudgetMicros,
                B::MaxDailyBudgetMicros,
                B::UpdatedAt,
            ])
            .to_owned();
        for l in &req.platforms {
            insert.values_panic([
                org.0.into(),
                l.platform.as_str().into(),
                req.currency.as_str().into(),
                l.daily_budget_micros.into(),
                l.min_daily_budget_micros.into(),
                l.max_daily_budget_micros.into(),
                now.into(),
            ]);
        }
        let mut tx = self.db.begin().await?;
        tx.execute(&delete).await?;
        tx.execute(&insert).await?;
        self.audit
            .append(
                &mut tx,
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

    /// Organisations with budgets set.
    async fn orgs_with_budgets(&self) -> Result<Vec<OrgId>> {
        #[derive(sqlx::FromRow)]
        struct OrgRow {
            org_id: Uuid,
        }
        let stmt = Query::select()
            .column(B::OrgId)
            .distinct()
            .from(B::Table)
            .order_by(B::OrgId, Order::Asc)
            .to_owned();
        let rows: Vec<OrgRow> = self.db.fetch_all(&stmt).await?;
        Ok(rows.into_iter().map(|r| OrgId(r.org_id)).collect())
    }

    /// Runs the rebalancer for every organisation with budgets, for the
    /// period starting at `period`.
    pub async fn rebalance_all(&self, period: OffsetDateTime) -> Result<Vec<RebalanceOutcome>> {
        let mut out = Vec::new();
        for org in self.orgs_with_budgets().await? {
            match self.rebalance_org(org, period).await {
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
        org: OrgId,
        period: OffsetDateTime,
    ) -> Result<RebalanceOutcome> {
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
        let today = period.date();
        let from = today - Duration::days(i64::from(self.config.rebalance_window_days));
        let history = self.history(org, currency, from, today, None).await?;
        let ltv_inputs = self.ltv.platform_ltv(org, currency).await;
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
                approval_threshold_micros: settings.approval_threshold_micros,
                ..RebalanceConfig::default()
            },
        };
        let plan =
            kiki_allocator::rebalance(&input).map_err(|e| TwinServiceError::from_alloc("", e))?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let claim = Query::insert()
            .into_table(R::Table)
            .columns([R::OrgId, R::PeriodKey, R::Shifts, R::CreatedAt])
            .values_panic([
                org.0.into(),
                period_key.as_str().into(),
                (plan.shifts.len() as i64).into(),
                now.into(),
            ])
            .on_conflict(
                OnConflict::columns([R::OrgId, R::PeriodKey])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        if tx.execute(&claim).await? == 0 {
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
            let insert = Query::insert()
                .into_table(Sh::Table)
                .columns(SHIFT_COLUMNS)
                .values_panic([
                    id.into(),
                    org.0.into(),
                    period_key.as_str().into(),
                    currency.as_str().into(),
                    s.from.as_str().into(),
                    s.to.as_str().into(),
                    s.amount_micros.into(),
                    s.from_budget_before_micros.into(),
                    s.from_budget_after_micros.into(),
                    s.to_budget_before_micros.into(),
                    s.to_budget_after_micros.into(),
                    s.from_efficiency.into(),
                    s.to_efficiency.into(),
                    s.average_efficiency.into(),
                    s.portfolio_efficiency_before.into(),
                    s.portfolio_efficiency_after.into(),
                    s.explanation.as_str().into(),
                    status.into(),
                    Option::<String>::None.into(),
                    Option::<String>::None.into(),
                    now.into(),
                    Option::<OffsetDateTime>::None.into(),
                ])
                .to_owned();
            tx.execute(&insert).await?;
            let entry = self
                .audit
                .append(
                    &mut tx,
                    audit_event(org, Actor::System(SYSTEM.into()), "twin.rebalanced", None)
                        .target("rebalancing_shift", id)
                        .details(json!({
                            "period": period_key,
                            "status": status,
                            "from": s.from,
                            "to": s.to,
                            "amount_micros": s.amount_micros,
                        })),
                )
                .await?;
            self.decisions
                .record(
                    &mut tx,
                    NewDecision {
                        org_id: Some(org),
                        engine: "kiki-allocator".into(),
                        engine_version: ENGINE_VERSION.into(),
                        kind: "budget_shift".into(),
                        subject_kind: "rebalancing_shift".into(),
                        subject_id: id.to_string(),
                        inputs: json!({
                            "period": period_key,
                            "window_days": self.config.rebalance_window_days,
                            "efficiencies": plan.efficiencies,
                            "average_efficiency": plan.average_efficiency,
                            "threshold": plan.threshold,
                            "config": input.config,
                        }),
                        output: json!({ "shift": s, "status": status }),
                        confidence: None,
                        explanation: if s.requires_approval {
                            format!("{} The shift is above the approval threshold and waits for approval.", s.explanation)
                        } else {
                            s.explanation.clone()
                        },
                        audit_entry_id: Some(entry.id),
                    },
                )
                .await?;
            events.push(ShiftEvent {
                shift_id: id,
                status: status.to_owned(),
                from: s.from,
                to: s.to,
                amount_micros: s.amount_micros,
                explanation: s.explanation.clone(),
            });
        }
        tx.commit().await?;
        if !events.is_empty() {
            self.publish(
                org,
                &Rebalanced {
                    period: Some(period_key),
                    shifts: events,
                },
            )
            .await;
        }
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
        let mut stmt = Query::select()
            .columns(SHIFT_COLUMNS)
            .from(Sh::Table)
            .and_where(Expr::col(Sh::OrgId).eq(scope.org_id().0))
            .order_by(Sh::CreatedAt, Order::Desc)
            .order_by(Sh::Id, Order::Desc)
            .limit(u64::from(limit) + 1)
            .to_owned();
        if let Some(s) = status {
            stmt.and_where(Expr::col(Sh::Status).eq(s));
        }
        apply_cursor(&mut stmt, page, Sh::CreatedAt, Sh::Id)?;
        let rows: Vec<ShiftRow> = self.db.fetch_all(&stmt).await?;
        let mut items = rows
            .into_iter()
            .map(ShiftRow::into_view)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|v| cursor_of(v.created_at, v.id))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
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
        let select = Query::select()
            .columns(SHIFT_COLUMNS)
            .from(Sh::Table)
            .and_where(Expr::col(Sh::Id).eq(id))
            .and_where(Expr::col(Sh::OrgId).eq(org.0))
            .to_owned();
        let row: ShiftRow = self
            .db
            .fetch_optional(&select)
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
        let update = Query::update()
            .table(Sh::Table)
            .value(Sh::Status, status)
            .value(Sh::DecidedBy, by.as_str())
            .value(Sh::DecisionReason, reason.clone())
            .value(Sh::DecidedAt, now)
            .and_where(Expr::col(Sh::Id).eq(id))
            .and_where(Expr::col(Sh::Status).eq("pending_approval"))
            .to_owned();
        let from = Platform::parse(&row.from_platform)
            .ok_or_else(|| TwinServiceError::Internal(format!("shift {id}: bad platform")))?;
        let to = Platform::parse(&row.to_platform)
            .ok_or_else(|| TwinServiceError::Internal(format!("shift {id}: bad platform")))?;
        let mut tx = self.db.begin().await?;
        if tx.execute(&update).await? == 0 {
            return Err(TwinServiceError::Conflict(
                "The shift was decided by someone else meanwhile.".into(),
            ));
        }
        let moved = if approve {
            move_budget(&mut tx, org, from, to, row.amount_micros, now).await?
        } else {
            0
        };
        let entry = self
            .audit
            .append(
                &mut tx,
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
                    "amount_micros": row.amount_micros,
                    "moved_micros": moved,
                    "reason": reason,
                })),
            )
            .await?;
        self.decisions
            .record(
                &mut tx,
                NewDecision {
                    org_id: Some(org),
                    engine: "kiki-allocator".into(),
                    engine_version: ENGINE_VERSION.into(),
                    kind: format!("budget_shift_{status}"),
                    subject_kind: "rebalancing_shift".into(),
                    subject_id: id.to_string(),
                    inputs: json!({ "shift": row.explanation, "decided_by": by, "reason": reason }),
                    output: json!({ "status": status, "moved_micros": moved }),
                    confidence: None,
                    explanation: format!(
                        "A person {status} the shift of {} from {} to {}{}.",
                        kiki_core::Money::from_micros(
                            row.amount_micros,
                            Currency::parse(&row.currency).unwrap_or(Currency::USD)
                        ),
                        row.from_platform,
                        row.to_platform,
                        reason
                            .as_ref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    ),
                    audit_entry_id: Some(entry.id),
                },
            )
            .await?;
        tx.commit().await?;
        if approve {
            self.publish(
                org,
                &Rebalanced {
                    period: None,
                    shifts: vec![ShiftEvent {
                        shift_id: id,
                        status: status.to_owned(),
                        from,
                        to,
                        amount_micros: moved,
                        explanation: row.explanation.clone(),
                    }],
                },
            )
            .await;
        }
        let row: ShiftRow = self
            .db
            .fetch_optional(&select)
            .await?
            .ok_or(TwinServiceError::NotFound("rebalancing shift"))?;
        row.into_view()
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
    let select = |p: Platform| {
        Query::select()
            .columns([
                B::Platform,
                B::Currency,
                B::DailyBudgetMicros,
                B::MinDailyBudgetMicros,
                B::MaxDailyBudgetMicros,
            ])
            .from(B::Table)
            .and_where(Expr::col(B::OrgId).eq(org.0))
            .and_where(Expr::col(B::Platform).eq(p.as_str()))
            .to_owned()
    };
    let (Some(f), Some(t)) = (
        tx.fetch_optional::<BudgetRow, _>(&select(from)).await?,
        tx.fetch_optional::<BudgetRow, _>(&select(to)).await?,
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
        let stmt = Query::update()
            .table(B::Table)
            .value(B::DailyBudgetMicros, v)
            .value(B::UpdatedAt, now)
            .and_where(Expr::col(B::OrgId).eq(org.0))
            .and_where(Expr::col(B::Platform).eq(p.as_str()))
            .to_owned();
        tx.execute(&stmt).await?;
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
        s += weight * l.mean_micros as f64;
    }
    if w > 0.0 && s.is_finite() {
        return (s / w).round() as i64;
    }
    match Platform::parse(platform) {
        Some(p) => (priors::prior(industry, p).ltv * 1e6).round() as i64,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_twin::{Industry, LtvInput};

    fn ltv(platform: &str, mean: i64, share: Option<f64>, customers: u64) -> LtvInput {
        LtvInput {
            platform: platform.into(),
            segment: None,
            share,
            mean_micros: mean,
            std_dev_micros: 0,
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
                    daily_budget_micros: 5,
                    min_daily_budget_micros: 10,
                    max_daily_budget_micros: None,
                },
                BudgetLine {
                    platform: "meta".into(),
                    daily_budget_micros: 5,
                    min_daily_budget_micros: 0,
                    max_daily_budget_micros: None,
                },
            ],
        };
        let fields: Vec<String> = validate_budgets(&req)
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            ["platforms[0].daily_budget_micros", "platforms[1].platform"]
        );
    }
}
