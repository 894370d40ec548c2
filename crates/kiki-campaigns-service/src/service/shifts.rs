//! The rebalancer's budget shifts applied to campaigns. The twin decides a
//! shift between two platforms (applied at once, or after a person approves
//! it); `campaigns.apply_shifts` (scheduled every five minutes, 30 s after the
//! rebalancer) moves the money between the ad sets of the live campaigns
//! that run on both platforms (`kiki_campaigns::shift`), syncs their channels
//! and feeds the new sums back to the twin's budget table. Each shift is
//! applied once (`campaign_budget_moves`), with an audit entry per campaign
//! and a decision record that says how much found ad sets and why the rest
//! did not.

use std::collections::BTreeMap;

use kiki_campaigns::shift::{Side, shift_campaign, split};
use kiki_twin_service::domain::ShiftView;

use super::*;
use crate::store::campaigns::AdSetRow;

/// The job kind of the shift sweep.
pub const SHIFTS_KIND: &str = "campaigns.apply_shifts";
/// Its default schedule: every five minutes, 30 s after the rebalancer.
pub const SHIFTS_SCHEDULE: &str = "30 */5 * * * *";
/// Shifts older than this are history: the budgets fed since supersede them.
const FRESH: Duration = Duration::days(1);
const SYSTEM: &str = "campaigns.shifts";

/// A campaign on both platforms: its id, its ad sets' (budget, side), and
/// what may leave it.
type Eligible = (Uuid, Vec<(i64, Side)>, i64);

/// What one shift did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppliedShift {
    pub shift_id: Uuid,
    pub applied_micros: i64,
    pub campaigns: Vec<Uuid>,
}

impl CampaignsService {
    /// Applies the organisation's fresh shifts not applied yet, oldest first.
    pub async fn apply_shifts(&self, scope: &TenantScope) -> Result<Vec<AppliedShift>> {
        let org = scope.org_id();
        let cutoff = self.now() - FRESH;
        let mut shifts: Vec<ShiftView> = self
            .twin
            .shifts_in_force(scope)
            .await?
            .into_iter()
            .filter(|s| s.decided_at.unwrap_or(s.created_at) >= cutoff)
            .collect();
        let ids: Vec<Uuid> = shifts.iter().map(|s| s.id).collect();
        let done = store::budget_moves::applied(&self.db, org, &ids).await?;
        shifts.retain(|s| !done.contains(&s.id));
        shifts.sort_by_key(|s| (s.decided_at.unwrap_or(s.created_at), s.id));
        let mut out = Vec::new();
        for s in &shifts {
            out.push(self.apply_shift(scope, s).await?);
        }
        if !out.is_empty() {
            self.feed_twin_budgets(scope).await?;
        }
        Ok(out)
    }

    async fn apply_shift(&self, scope: &TenantScope, sh: &ShiftView) -> Result<AppliedShift> {
        let org = scope.org_id();
        let (from, to) = (sh.from.as_str(), sh.to.as_str());
        let mut campaigns: BTreeMap<Uuid, Vec<AdSetRow>> = BTreeMap::new();
        for (set, currency) in store::campaigns::live_ad_sets(&self.db, org).await? {
            if currency == sh.currency.as_str() {
                campaigns.entry(set.campaign_id).or_default().push(set);
            }
        }
        let side = |s: &AdSetRow| match channel_of(&s.channel).map(twin_platform) {
            Some(p) if p.as_str() == from => Side::From,
            Some(p) if p.as_str() == to => Side::To,
            _ => Side::Other,
        };
        // Campaigns on both platforms, with what may leave each.
        let mut eligible: Vec<Eligible> = Vec::new();
        for (id, sets) in &campaigns {
            let sides: Vec<(i64, Side)> = sets
                .iter()
                .map(|s| (s.daily_budget_micros, side(s)))
                .collect();
            let daily: i64 = sides.iter().map(|s| s.0).sum();
            if sides.iter().any(|s| s.1 == Side::From) && sides.iter().any(|s| s.1 == Side::To) {
                let movable = kiki_campaigns::shift::movable(daily, &sides);
                eligible.push((*id, sides, movable));
            }
        }
        let room: i64 = eligible.iter().map(|e| e.2).sum();
        let total = sh.amount.micros.clamp(0, room);
        let portions = split(total, &eligible.iter().map(|e| e.2).collect::<Vec<_>>());
        let now = self.now();
        let actor = Actor::System(SYSTEM.into());
        let mut changed = Vec::new();
        let mut applied = 0i64;
        let mut tx = self.record.begin().await?;
        for ((id, sides, _), portion) in eligible.iter().zip(portions) {
            if portion <= 0 {
                continue;
            }
            let daily: i64 = sides.iter().map(|s| s.0).sum();
            let Some(shifted) = shift_campaign(daily, sides, portion) else {
                continue;
            };
            let row = self.row(org, *id).await?;
            let mut draft = row.draft()?;
            let sets = &campaigns[id];
            for (set, share) in sets.iter().zip(&shifted.shares_bps) {
                if let Some(a) = draft.ad_sets.get_mut(set.position as usize) {
                    a.budget_share_bps = *share;
                }
            }
            if !store::campaigns::set_budget(
                &mut tx,
                org,
                row.id,
                row.version,
                (
                    draft.daily_budget.micros,
                    draft.total_budget.map(|t| t.micros),
                ),
                json_of(&draft)?,
                now,
            )
            .await?
            {
                return Err(changed_meanwhile());
            }
            for ((set, share), budget) in sets.iter().zip(&shifted.shares_bps).zip(&shifted.budgets)
            {
                store::campaigns::set_ad_set_share(&mut tx, org, set.id, (*share, *budget), now)
                    .await?;
            }
            tx.audit(
                audit_event(
                    org,
                    actor.clone(),
                    "campaigns.campaign.budget_shifted",
                    None,
                )
                .target("campaign", row.id)
                .details(json!({
                    "shift_id": sh.id,
                    "from": from,
                    "to": to,
                    "moved": Money::from_micros(shifted.moved, sh.currency),
                    "shares_bps": shifted.shares_bps,
                })),
            )
            .await?;
            self.enqueue_sync(&mut tx, org, row.id).await?;
            applied += shifted.moved;
            changed.push(row.id);
        }
        let amount = sh.amount;
        let moved = Money::from_micros(applied, sh.currency);
        let (fp, tp) = (sh.from.display_name(), sh.to.display_name());
        let mut note = format!(
            "{moved} of the {amount} a day the rebalancer moved from {fp} to {tp} went to {} live campaign(s) that run on both.",
            changed.len()
        );
        if applied < sh.amount.micros {
            let rest = Money::from_micros(sh.amount.micros - applied, sh.currency);
            note.push_str(&format!(
                " {rest} found no ad set: a campaign's daily budget does not change when its money moves, so only campaigns in {} on both {fp} and {tp} take part, and each ad set keeps at least one basis point.",
                sh.currency
            ));
        }
        let inserted = store::budget_moves::insert(
            &mut tx,
            store::budget_moves::NewMove {
                shift: sh.id,
                org,
                from,
                to,
                currency: sh.currency.as_str(),
                amount_micros: sh.amount.micros,
                applied_micros: applied,
                campaigns: json!(changed),
                note: &note,
                now,
            },
        )
        .await?;
        if !inserted {
            // Another run applied it meanwhile.
            tx.rollback().await?;
            return Ok(AppliedShift {
                shift_id: sh.id,
                applied_micros: 0,
                campaigns: Vec::new(),
            });
        }
        let entry = tx
            .audit(
                audit_event(org, actor, "campaigns.budget_shift.applied", None)
                    .target("rebalancing_shift", sh.id)
                    .details(json!({
                        "applied": Money::from_micros(applied, sh.currency),
                        "amount": sh.amount,
                        "campaigns": changed,
                    })),
            )
            .await?;
        tx.decision(NewDecision {
            org_id: Some(org),
            engine: ENGINE.into(),
            engine_version: ENGINE_VERSION.into(),
            kind: "budget_shift_applied".into(),
            subject_kind: "rebalancing_shift".into(),
            subject_id: sh.id.to_string(),
            inputs: json!({
                "from": from,
                "to": to,
                "amount": sh.amount,
                "currency": sh.currency,
                "eligible_campaigns": eligible.len(),
                "movable": Money::from_micros(room, sh.currency),
            }),
            output: json!({ "applied": Money::from_micros(applied, sh.currency), "campaigns": changed }),
            confidence: None,
            explanation: note,
            audit_entry_id: Some(entry.id),
        })
        .await?;
        tx.commit().await?;
        Ok(AppliedShift {
            shift_id: sh.id,
            applied_micros: applied,
            campaigns: changed,
        })
    }
}

impl CampaignsService {
    /// `POST /v1/campaigns/{id}/mix`: the allocator's split of the campaign's
    /// daily budget over its ad sets (response curves fitted from the
    /// organisation's history, industry priors where it is thin) becomes the
    /// ad sets' shares. The daily budget does not change, so no approval is
    /// needed; a live campaign's channels follow through the sync.
    pub async fn apply_mix(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: MixRequest,
    ) -> Result<CampaignView> {
        let org = p.scope.org_id();
        let reason = reason_of("reason", req.reason.as_deref())?;
        let row = self.row(org, id).await?;
        let status = row.status()?;
        if !matches!(
            status,
            CampaignStatus::Draft
                | CampaignStatus::Approved
                | CampaignStatus::Active
                | CampaignStatus::Paused
        ) {
            return Err(CampaignsError::Conflict(format!(
                "The mix of a campaign that is {} cannot change; a draft, approved, active or paused campaign's can.",
                status.as_str()
            )));
        }
        let mut draft = row.draft()?;
        let sets = store::campaigns::ad_sets(&self.db, org, id).await?;
        let daily = draft.daily_budget.micros;
        // Each ad set keeps a basis point, when the budget has room for it.
        let mut floor = (daily + 9_999) / 10_000;
        if floor.saturating_mul(sets.len() as i64) > daily {
            floor = 0;
        }
        let request = kiki_twin_service::domain::AllocationApiRequest {
            currency: draft.currency,
            total_budget: Money::from_micros(daily, draft.currency),
            objective: Default::default(),
            target: None,
            value_basis: Default::default(),
            platforms: sets
                .iter()
                .map(|s| {
                    let channel = channel_of(&s.channel)
                        .ok_or_else(|| corrupt("ad set channel", id, &s.channel))?;
                    Ok(kiki_twin_service::domain::AllocationLine {
                        platform: twin_platform(channel).as_str().to_owned(),
                        ad_set_id: Some(s.id.to_string()),
                        curve: None,
                        value_per_conversion: None,
                        min_daily_budget: Some(Money::from_micros(floor, draft.currency)),
                        max_daily_budget: None,
                        reference_daily_budget: None,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        };
        let answer = match self.twin.allocate(&p.scope, request).await {
            Ok(a) => a,
            // The allocator's refusal is about the campaign as stored, not
            // about this request's fields.
            Err(kiki_twin_service::TwinServiceError::Invalid(fields)) => {
                return Err(CampaignsError::Conflict(format!(
                    "The allocator cannot split this campaign's budget: {}",
                    kiki_core::fields_message(&fields)
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let budgets: Vec<i64> = sets
            .iter()
            .map(|s| {
                answer
                    .result
                    .allocations
                    .iter()
                    .find(|a| a.ad_set_id.as_deref() == Some(s.id.to_string().as_str()))
                    .map_or(floor, |a| a.daily_budget.micros.max(floor))
            })
            .collect();
        let shares = kiki_campaigns::shift::shares_bps(budgets.iter().sum(), &budgets);
        for (a, share) in draft.ad_sets.iter_mut().zip(&shares) {
            a.budget_share_bps = *share;
        }
        let now = self.now();
        let actor = p.actor();
        let mut tx = self.record.begin().await?;
        if !store::campaigns::set_budget(
            &mut tx,
            org,
            id,
            row.version,
            (daily, draft.total_budget.map(|t| t.micros)),
            json_of(&draft)?,
            now,
        )
        .await?
        {
            return Err(changed_meanwhile());
        }
        for (s, share) in sets.iter().zip(&shares) {
            let budget = ad_set_budget(draft.daily_budget, *share).micros;
            store::campaigns::set_ad_set_share(&mut tx, org, s.id, (*share, budget), now).await?;
        }
        let lines: Vec<Value> = sets
            .iter()
            .zip(&shares)
            .map(|(s, share)| {
                json!({"ad_set_id": s.id, "channel": s.channel, "before_bps": s.budget_share_bps, "after_bps": share})
            })
            .collect();
        let entry = tx
            .audit(
                audit_event(org, actor, "campaigns.campaign.mix_applied", Some(meta))
                    .target("campaign", id)
                    .details(json!({ "shares": lines, "reason": reason })),
            )
            .await?;
        let mut words: Vec<String> = sets
            .iter()
            .zip(&shares)
            .map(|(s, share)| {
                format!(
                    "{} {:.1} % → {:.1} %",
                    s.name,
                    s.budget_share_bps as f64 / 100.0,
                    f64::from(*share) / 100.0
                )
            })
            .collect();
        words.sort();
        tx.decision(NewDecision {
            org_id: Some(org),
            engine: "kiki-allocator".into(),
            engine_version: ENGINE_VERSION.into(),
            kind: "campaign_mix".into(),
            subject_kind: "campaign".into(),
            subject_id: id.to_string(),
            inputs: json!({
                "daily_budget": draft.daily_budget,
                "curve_sources": answer.curve_sources,
            }),
            output: json!({ "shares": lines, "expected": answer.result.expected }),
            confidence: None,
            explanation: format!(
                "The allocator split the daily budget of {} to maximise expected value on response curves ({}): {}.",
                draft.daily_budget,
                answer.curve_sources.join(", "),
                words.join("; ")
            ),
            audit_entry_id: Some(entry.id),
        })
        .await?;
        if status != CampaignStatus::Draft {
            self.enqueue_sync(&mut tx, org, id).await?;
        }
        tx.commit().await?;
        self.view(&p.scope, id).await
    }
}
