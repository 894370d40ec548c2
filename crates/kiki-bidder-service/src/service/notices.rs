//! Refused notices: each is counted at once and queued; the reporting flush
//! writes its audit entry and decision record (the notice path never waits
//! for the database).

use kiki_bidder::{NoticeAnomaly, NoticeKind};
use kiki_core::Money;
use kiki_explain::NewDecision;
use kiki_shield::{Actor, AuditEvent};

use super::{BidderService, NOTICE_ENGINE, kind_name};

/// Most refused notices waiting for their decision record; beyond it they are
/// still refused and counted, but not recorded one by one.
const MAX_PENDING_ANOMALIES: usize = 10_000;

/// A refused notice waiting for the background flush to record it.
#[derive(Debug, Clone)]
pub struct PendingAnomaly {
    pub anomaly: NoticeAnomaly,
    pub kind: NoticeKind,
    /// `${AUCTION_PRICE}` as the exchange substituted it, and its currency.
    pub reported_price: String,
    pub reported_currency: String,
    pub at_ms: i64,
}

impl BidderService {
    /// Counts a refused notice and queues its decision record for the
    /// background flush: the notice path never waits for the database.
    pub fn queue_anomaly(
        &self,
        anomaly: NoticeAnomaly,
        kind: NoticeKind,
        query: &str,
        now_ms: i64,
    ) {
        metrics::counter!("kiki_bidder_notice_anomalies_total", "reason" => anomaly.reason.as_str())
            .increment(1);
        tracing::warn!(
            bid.id = %anomaly.bid_id,
            line_item.id = %anomaly.line_item,
            bid_price_micros = anomaly.bid_price_micros,
            reported_price_micros = anomaly.reported_price_micros,
            "bidder: a notice reports a clearing price above the bid; refused"
        );
        let (reported_price, reported_currency) =
            kiki_bidder::notice::NoticeParams::parse_query(query)
                .map(|p| {
                    (
                        p.price
                            .map(|s| s.chars().take(40).collect())
                            .unwrap_or_default(),
                        p.currency.unwrap_or(self.cfg.engine.currency).to_string(),
                    )
                })
                .unwrap_or_default();
        let mut q = self.anomalies.lock();
        if q.len() >= MAX_PENDING_ANOMALIES {
            metrics::counter!("kiki_bidder_notice_anomalies_unrecorded_total").increment(1);
            return;
        }
        q.push(PendingAnomaly {
            anomaly,
            kind,
            reported_price,
            reported_currency,
            at_ms: now_ms,
        });
    }

    /// Writes a decision record and an audit entry, in one transaction, for
    /// each refused notice queued since the last flush. A failed write keeps
    /// the rest for the next flush.
    pub async fn record_notice_anomalies(&self) -> anyhow::Result<usize> {
        let pending = std::mem::take(&mut *self.anomalies.lock());
        let mut recorded = 0;
        let mut iter = pending.into_iter();
        while let Some(p) = iter.next() {
            if let Err(e) = self.record_anomaly(&p).await {
                let mut q = self.anomalies.lock();
                let rest: Vec<PendingAnomaly> = std::iter::once(p).chain(iter).collect();
                let room = MAX_PENDING_ANOMALIES.saturating_sub(q.len());
                q.extend(rest.into_iter().take(room));
                return Err(e);
            }
            recorded += 1;
        }
        Ok(recorded)
    }

    async fn record_anomaly(&self, p: &PendingAnomaly) -> anyhow::Result<()> {
        let a = &p.anomaly;
        let org = self.item(a.line_item).map(|m| m.org);
        let cur = self.cfg.engine.currency;
        let explanation = format!(
            "The exchange reported a clearing price of {} {cur} CPM on a {} notice for bid {}, above the bid price of {} {cur} CPM; a clearing price never exceeds the bid (first or second price), so the notice was refused and no spend was booked.",
            crate::openrtb::micros_text(a.reported_price_micros),
            kind_name(p.kind),
            a.bid_id,
            crate::openrtb::micros_text(a.bid_price_micros),
        );
        let mut tx = self.record.begin().await?;
        let mut ev = AuditEvent::new(
            org,
            Actor::System(NOTICE_ENGINE.into()),
            "bidder.notice.refused",
        );
        ev.target_kind = Some("bidder_line_item".into());
        ev.target_id = Some(a.line_item.to_string());
        ev.details = serde_json::json!({
            "reason": a.reason.as_str(),
            "bid_id": a.bid_id.to_string(),
            "kind": kind_name(p.kind),
            "bid_price": Money::from_micros(a.bid_price_micros, cur),
            "clearing_price": Money::from_micros(a.reported_price_micros, cur),
        });
        let entry = tx.audit(ev).await?;
        tx.decision(NewDecision {
            org_id: org,
            engine: NOTICE_ENGINE.into(),
            engine_version: env!("CARGO_PKG_VERSION").into(),
            kind: a.reason.as_str().into(),
            subject_kind: "bidder_bid".into(),
            subject_id: a.bid_id.to_string(),
            inputs: serde_json::json!({
                "bid_id": a.bid_id.to_string(),
                "line_item_id": a.line_item,
                "notice": kind_name(p.kind),
                "bid_price": Money::from_micros(a.bid_price_micros, cur),
                "clearing_price": Money::from_micros(a.reported_price_micros, cur),
                "reported_price": p.reported_price,
                "reported_currency": p.reported_currency,
                "currency": cur.to_string(),
                "received_at_ms": p.at_ms,
            }),
            output: serde_json::json!({ "status": "refused", "booked": Money::zero(cur) }),
            confidence: None,
            explanation,
            audit_entry_id: Some(entry.id),
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
