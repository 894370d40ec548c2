//! The snapshot refresh: line items and segments loaded from the database,
//! compiled off the runtime's workers and swapped in atomically; then each
//! line item's stored conversion count (pCVR's input) is set in the engine.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use kiki_bidder::LineItem;
use kiki_bidder::valuation::{PerformanceTotals, SegmentData};
use kiki_core::OrgId;

use super::{BidderService, ItemMeta, ms};
use crate::store;

impl BidderService {
    /// Reloads line items and segments from the database and swaps them in.
    pub async fn refresh(&self) -> Result<(), kiki_store::StoreError> {
        let now = self.clock.now();
        let rows = store::load_active(&self.db, now).await?;
        let (segs, members) = store::load_segments(&self.db).await?;
        // Building the segment table and compiling the snapshot is CPU work
        // (milliseconds for thousands of line items): off the runtime's
        // workers, so bids on the same worker do not wait behind it.
        let (bidder, segments, configured) = (
            self.bidder.clone(),
            self.segments.clone(),
            self.cfg.segments.clone(),
        );
        let old = self.meta.load_full();
        let compiled = tokio::task::spawn_blocking(move || {
            let mut data = SegmentData::new();
            for s in &configured {
                data.set_segment_ltv(OrgId(s.org_id), &s.segment, s.ltv);
                for u in &s.users {
                    data.assign_user(OrgId(s.org_id), u, &s.segment);
                }
            }
            for (org, seg, ltv) in &segs {
                data.set_segment_ltv(*org, seg, *ltv);
            }
            for (org, user, seg) in &members {
                data.assign_user(*org, user, seg);
            }
            segments.replace(data);

            let mut meta = HashMap::with_capacity(rows.len());
            let mut items: Vec<LineItem> = Vec::with_capacity(rows.len());
            let mut conversions = Vec::with_capacity(rows.len());
            for row in rows {
                let (li, delivery) = (row.item, row.delivery_status);
                conversions.push((li.id, row.conversions));
                let delivery = old
                    .get(&li.id)
                    .map(|m| m.delivery_status.clone())
                    .unwrap_or(delivery);
                meta.insert(
                    li.id,
                    ItemMeta {
                        org: li.org_id,
                        name: li.name.clone(),
                        daily: li.budget.daily,
                        baseline_ltv: li.ltv_baseline,
                        hosts: li
                            .creatives
                            .iter()
                            .flat_map(|c| c.adomain.iter())
                            .map(|h| h.trim().to_ascii_lowercase())
                            .collect(),
                        delivery_status: delivery,
                    },
                );
                items.push(li);
            }
            let report = bidder.load_line_items(&items, ms(now));
            (meta, report, conversions)
        })
        .await;
        let (meta, report, conversions) = match compiled {
            Ok(x) => x,
            // A panic while compiling is a bug: surface it as the task's panic.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down: nothing to load.
            Err(_) => return Ok(()),
        };
        for r in &report.rejected {
            tracing::warn!(line_item.id = %r.id, errors = ?r.errors, "bidder: a stored line item does not compile");
        }
        self.meta.store(Arc::new(meta));
        if !self.loaded.swap(true, Ordering::AcqRel) {
            // First load: restore the rate estimates from the stored report.
            match store::performance_totals(&self.db).await {
                Ok(rows) => {
                    for (li, imps, clicks) in rows {
                        self.bidder.set_performance(
                            li,
                            PerformanceTotals {
                                impressions: imps.max(0) as u64,
                                clicks: clicks.max(0) as u64,
                                ..PerformanceTotals::default()
                            },
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "bidder: cannot read performance totals"),
            }
        }
        // Conversions are counted where they are reported and stored; every
        // replica takes the stored totals on each refresh (a `set`, so a
        // missed event or a second replica never counts one twice).
        for (li, n) in conversions {
            self.bidder.set_conversions(li, n);
        }
        tracing::debug!(
            snapshot.version = report.version,
            snapshot.active = report.active,
            "bidder snapshot loaded"
        );
        Ok(())
    }
}
