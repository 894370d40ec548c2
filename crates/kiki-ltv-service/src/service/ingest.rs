//! Ingest: storing an upload's (or another module's) transactions for an
//! organisation, validated and deduplicated, with the upload's record.

use std::collections::HashMap;

use kiki_core::TenantScope;
use uuid::Uuid;

use super::LtvService;
use crate::domain::{IngestReport, NewTransaction, TransactionKind, TransactionRef};
use crate::error::LtvServiceError;
use crate::store::{self, UploadRow};

/// How an upload is recorded.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// `csv` or `json`.
    pub format: &'static str,
    /// `user:<id>`, `api_key:<id>` or `system:<name>`.
    pub created_by: String,
}

impl LtvService {
    /// Stores transactions for `org` in one transaction; a row stored before
    /// (same customer, time, amount, currency and order id) is skipped. The
    /// entry point for uploads and for a future commerce module. With
    /// `upload`, the rows are recorded as one upload whose id the report
    /// carries. Rows dated outside the plausible span or with an amount of
    /// the wrong sign for their kind are refused (422), nothing stored.
    ///
    /// Identical rows *within one call* are distinct orders (the n-th copy
    /// gets its own key), so a file with two same-day orders of the same
    /// value keeps both, and sending the same file again adds nothing.
    pub async fn ingest_transactions(
        &self,
        scope: &TenantScope,
        rows: &[NewTransaction],
        upload: Option<NewUpload>,
    ) -> Result<IngestReport, LtvServiceError> {
        let refs: Vec<TransactionRef<'_>> = rows.iter().map(NewTransaction::as_ref).collect();
        self.ingest_rows(scope, &refs, upload).await
    }

    /// [`LtvService::ingest_transactions`] on borrowed rows (a CSV upload
    /// read straight from its bytes). The rows are inserted in customer
    /// order, in statements of a few thousand rows, inside the upload's one
    /// transaction: the indexes on customer and idempotency key (which
    /// starts with the customer) then grow at their ends instead of taking
    /// each row somewhere in the middle.
    pub async fn ingest_rows(
        &self,
        scope: &TenantScope,
        rows: &[TransactionRef<'_>],
        upload: Option<NewUpload>,
    ) -> Result<IngestReport, LtvServiceError> {
        let started = std::time::Instant::now();
        let org = scope.org_id();
        let window = self.date_window();
        let mut bad = crate::domain::RowErrors::default();
        for (i, r) in rows.iter().enumerate() {
            let n = i as u64 + 1;
            if !window.contains(r.at) {
                bad.push(
                    n,
                    "timestamp",
                    "Outside the plausible span of transaction dates.",
                );
            }
            let sign_ok = match r.kind {
                TransactionKind::Order => r.amount_micros >= 0,
                TransactionKind::Refund => r.amount_micros <= 0,
            };
            if !sign_ok {
                bad.push(n, "amount", "Orders are at least 0 and refunds at most 0.");
            }
        }
        bad.into_result("batch", ())?;
        let order = insert_order(rows);
        let now = self.clock.now();
        let received = rows.len() as u64;
        let mut tx = self.db.begin().await?;
        let upload_id = match &upload {
            Some(u) => {
                let id = Uuid::now_v7();
                let row = UploadRow {
                    id,
                    format: u.format.to_owned(),
                    currency: rows
                        .first()
                        .map_or_else(|| self.config.currency.clone(), |r| r.currency.to_string()),
                    received: i64::try_from(received).unwrap_or(i64::MAX),
                    inserted: 0,
                    created_by: u.created_by.clone(),
                    created_at: now,
                };
                store::insert_upload(&mut tx, org, &row).await?;
                Some(id)
            }
            None => None,
        };
        // Keys are made a batch at a time; copies of a row within the call
        // are next to each other in this order, so counting them needs
        // only the current customer's keys.
        let mut inserted = 0;
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut customer: Option<&str> = None;
        for part in order.chunks(INGEST_BATCH) {
            let mut batch = Vec::with_capacity(part.len());
            for &i in part {
                let r = rows[i as usize];
                if customer != Some(r.customer_id) {
                    seen.clear();
                    customer = Some(r.customer_id);
                }
                let base = r.dedup_key();
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                let key = if *n == 1 {
                    base
                } else {
                    format!("{base}\u{1f}#{n}")
                };
                batch.push((r, key));
            }
            inserted += store::insert_transactions(&mut tx, org, upload_id, &batch, now).await?;
        }
        if let Some(id) = upload_id {
            store::set_upload_inserted(
                &mut tx,
                org,
                id,
                i64::try_from(inserted).unwrap_or(i64::MAX),
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(
            org.id = %org,
            received,
            inserted,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "ltv transactions ingested"
        );
        Ok(IngestReport {
            received,
            inserted,
            duplicates: received.saturating_sub(inserted),
            upload_id,
        })
    }
}

/// Rows handed to one insert step (its statements are smaller).
const INGEST_BATCH: usize = 20_000;

/// Row indexes in the order they are inserted: by customer, time, amount,
/// order id and currency; rows equal in all of these keep their order.
fn insert_order(rows: &[TransactionRef<'_>]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&rows[a as usize], &rows[b as usize]);
        (
            a.customer_id,
            a.at,
            a.amount_micros,
            a.order_id,
            a.currency.as_str(),
        )
            .cmp(&(
                b.customer_id,
                b.at,
                b.amount_micros,
                b.order_id,
                b.currency.as_str(),
            ))
    });
    order
}
