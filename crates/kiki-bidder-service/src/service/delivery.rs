//! What the background flush writes: the hourly report and the delivery
//! status changes of line items (each with its audit entry and decision).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kiki_bidder::LineItemId;
use kiki_core::OrgId;
use kiki_explain::{NewDecision, RecordError};
use kiki_shield::{Actor, AuditEvent};
use time::{Date, OffsetDateTime};

use kiki_bidder::engine::LineItemStatus;
use kiki_core::Money;

use super::{BidderService, ENGINE, ItemMeta};
use crate::events::DeliveryFlushed;
use crate::store;

/// A line item's delivery status and why, in words with amounts as people
/// write them. `min_ltv` is the margin policy's minimum (bidder currency).
fn delivery_status(m: &ItemMeta, st: &LineItemStatus, min_ltv: Money) -> (&'static str, String) {
    if m.baseline_ltv.micros < min_ltv.micros {
        (
            "margin_refused",
            format!(
                "MarginGuardian refuses contextual bids: the baseline LTV {} is below the minimum {}; only users in segments above the minimum are bid on.",
                m.baseline_ltv.text(),
                min_ltv.text()
            ),
        )
    } else if st.spent_today.micros >= m.daily.micros {
        (
            "budget_exhausted",
            format!(
                "The daily budget of {} is spent ({}); bidding resumes tomorrow (UTC).",
                m.daily.text(),
                st.spent_today.text()
            ),
        )
    } else {
        (
            "delivering",
            format!(
                "Delivering: {} of {} spent today, pacing throttle {:.4}.",
                st.spent_today.text(),
                m.daily.text(),
                st.throttle
            ),
        )
    }
}

impl BidderService {
    /// Writes the hourly counts gathered since the last flush (upsert-add),
    /// then publishes one `bidder.delivery_flushed` per organisation with
    /// counts, naming the UTC days its hours fall on (after the commit;
    /// nothing is published when the write fails and the counts are kept).
    pub async fn flush_reporting(&self) -> Result<usize, RecordError> {
        let rows = self.reporting.drain();
        if rows.is_empty() {
            return Ok(0);
        }
        let meta = self.meta.load();
        let mut out = Vec::with_capacity(rows.len());
        let mut unknown = 0usize;
        // Per organisation: the first and last day, and its line items.
        let mut touched: BTreeMap<OrgId, (Date, Date, BTreeSet<LineItemId>)> = BTreeMap::new();
        for (li, hour, c) in &rows {
            let Some(m) = meta.get(li) else {
                unknown += 1;
                continue;
            };
            let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(*hour) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let day = at.date();
            let t = touched
                .entry(m.org)
                .or_insert_with(|| (day, day, BTreeSet::new()));
            t.0 = t.0.min(day);
            t.1 = t.1.max(day);
            t.2.insert(*li);
            out.push((m.org, *li, at, *c));
        }
        if unknown > 0 {
            tracing::debug!(
                rows = unknown,
                "bidder: counts of line items no longer loaded dropped"
            );
        }
        let n = out.len();
        let res = async {
            let mut change = self.record.begin().await?;
            store::add_hourly(change.tx(), &out).await?;
            for (org, (since, until, items)) in &touched {
                change.publish(
                    Some(*org),
                    &DeliveryFlushed {
                        since: since.to_string(),
                        until: until.to_string(),
                        line_items: items.len(),
                    },
                );
            }
            change.commit().await
        }
        .await;
        if let Err(e) = res {
            self.reporting.restore(rows);
            return Err(e);
        }
        Ok(n)
    }

    /// Compares each line item's delivery status with the last recorded one
    /// and records a decision (and an audit entry) for each change. A
    /// conditional update makes exactly one replica record a change.
    pub async fn record_status_changes(&self) -> anyhow::Result<usize> {
        let now_ms = self.now_ms();
        let meta = self.meta.load_full();
        let mut changed = Vec::new();
        for (id, m) in meta.iter() {
            let Some(st) = self.bidder.line_item_status(*id, now_ms) else {
                continue;
            };
            let policy = self
                .cfg
                .engine
                .margin_per_org
                .get(&m.org)
                .copied()
                .unwrap_or(self.cfg.engine.margin);
            let min_ltv =
                kiki_core::Money::from_micros(policy.min_ltv_micros, self.cfg.engine.currency);
            let (status, why) = delivery_status(m, &st, min_ltv);
            if m.delivery_status != status {
                changed.push((*id, m.clone(), status, why, st));
            }
        }
        let mut recorded = 0;
        for (id, m, status, why, st) in changed {
            let mut tx = self.record.begin().await?;
            if store::set_delivery_status(&mut tx, id, status).await? {
                let mut ev = AuditEvent::new(
                    Some(m.org),
                    Actor::System(ENGINE.into()),
                    "bidder.line_item.delivery_status",
                );
                ev.target_kind = Some("bidder_line_item".into());
                ev.target_id = Some(id.to_string());
                ev.details = serde_json::json!({ "from": m.delivery_status, "to": status });
                let entry = tx.audit(ev).await?;
                tx.decision(NewDecision {
                    org_id: Some(m.org),
                    engine: ENGINE.into(),
                    engine_version: env!("CARGO_PKG_VERSION").into(),
                    kind: status.into(),
                    subject_kind: "bidder_line_item".into(),
                    subject_id: id.to_string(),
                    inputs: serde_json::json!({
                        "daily_budget": m.daily,
                        "spent_today": st.spent_today,
                        "baseline_ltv": m.baseline_ltv,
                        "throttle": st.throttle,
                        "previous": m.delivery_status,
                    }),
                    output: serde_json::json!({ "status": status }),
                    confidence: None,
                    explanation: why,
                    audit_entry_id: Some(entry.id),
                })
                .await?;
                recorded += 1;
            }
            tx.commit().await?;
            // Remember it locally either way (another replica may have recorded it).
            let mut next = (*self.meta.load_full()).clone();
            if let Some(x) = next.get_mut(&id) {
                x.delivery_status = status.to_owned();
            }
            self.meta.store(Arc::new(next));
        }
        Ok(recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_bidder::LineItemId;
    use kiki_bidder::budget::AccountState;
    use kiki_bidder::valuation::{PerformanceTotals, RateEstimate};
    use kiki_core::{Currency, OrgId};

    fn usd(micros: i64) -> Money {
        Money::from_micros(micros, Currency::USD)
    }

    fn meta(daily: i64, ltv: i64) -> ItemMeta {
        ItemMeta {
            org: OrgId::new(),
            name: "spring".into(),
            daily: usd(daily),
            baseline_ltv: usd(ltv),
            hosts: Vec::new(),
            delivery_status: "delivering".into(),
        }
    }

    fn status(spent: i64) -> LineItemStatus {
        LineItemStatus {
            id: LineItemId::new(),
            day: 1,
            spent_today: usd(spent),
            spent_total: usd(spent),
            account: AccountState::default().in_currency(Currency::USD),
            throttle: 0.5,
            shading_factor: 1.0,
            performance: PerformanceTotals::default(),
            rates: RateEstimate {
                p_click: 0.01,
                p_convert_after_click: 0.02,
            },
        }
    }

    #[test]
    fn delivery_reasons_state_amounts_as_people_write_them() {
        let (kind, why) = delivery_status(
            &meta(200_000_000, 90_000_000),
            &status(200_000_000),
            usd(50_000_000),
        );
        assert_eq!(kind, "budget_exhausted");
        assert_eq!(
            why,
            "The daily budget of $200.00 is spent ($200.00); bidding resumes tomorrow (UTC)."
        );
        let (kind, why) = delivery_status(
            &meta(200_000_000, 90_000_000),
            &status(1_234_500_000 / 10),
            usd(50_000_000),
        );
        assert_eq!(kind, "delivering");
        assert!(
            why.starts_with("Delivering: $123.45 of $200.00 spent today"),
            "{why}"
        );
        let (kind, why) =
            delivery_status(&meta(200_000_000, 10_000_000), &status(0), usd(50_000_000));
        assert_eq!(kind, "margin_refused");
        assert!(
            why.contains("the baseline LTV $10.00 is below the minimum $50.00;"),
            "{why}"
        );
        assert!(!why.contains("micros"));
    }
}
