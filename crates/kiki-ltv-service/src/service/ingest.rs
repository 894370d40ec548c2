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
    /// Stores transactions for `org`; a row stored before (same customer,
    /// time, amount, currency and order id) is skipped. The entry point for
    /// uploads and for other modules. Without `upload` the rows go in one
    /// transaction. With `upload`, they are recorded as one upload whose id
    /// the report carries, stored a batch per short transaction while the
    /// upload is `receiving` (no reader sees them) and made visible at once
    /// by one last transaction that marks it complete; an upload that fails
    /// is removed again. Rows dated outside the plausible span or with an amount of
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
    /// order, in statements of a few thousand rows: the indexes on customer and idempotency key (which
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
        let (inserted, upload_id) = match &upload {
            None => {
                // Another module's rows (a sync's orders): few, one transaction.
                let mut tx = self.db.begin().await?;
                let mut inserted = 0;
                let mut keyer = Keyer::default();
                for part in order.chunks(INGEST_BATCH) {
                    let batch = keyer.batch(rows, part);
                    inserted += store::insert_transactions(&mut tx, org, None, &batch, now).await?;
                }
                tx.commit().await?;
                (inserted, None)
            }
            Some(u) => {
                self.remove_abandoned_uploads(org).await;
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
                let mut tx = self.db.begin().await?;
                store::insert_upload(&mut tx, org, &row, store::UPLOAD_RECEIVING).await?;
                tx.commit().await?;
                match self.stage_upload(org, id, rows, &order, now).await {
                    Ok(n) => (n, Some(id)),
                    Err(e) => {
                        self.remove_upload(org, id).await;
                        return Err(e);
                    }
                }
            }
        };
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

/// Rows given their keys at a time (a staged upload then commits by time,
/// [`super::fit::LOCK_BUDGET`], not by rows).
const INGEST_BATCH: usize = 20_000;

/// A staged upload left `receiving` longer than this is taken for stopped
/// (its request has long timed out) and removed by the next upload.
const ABANDONED_UPLOAD_AFTER: time::Duration = time::Duration::hours(1);

impl LtvService {
    /// Stores an upload's rows in transactions of at most about
    /// [`super::fit::LOCK_BUDGET`], with a pause after each on SQLite so that
    /// other writers (job claims, progress) are not kept waiting behind its
    /// write lock; then one short transaction
    /// counts them and marks the upload complete, which makes every row
    /// visible at once. The number of rows stored.
    async fn stage_upload(
        &self,
        org: kiki_core::OrgId,
        upload: Uuid,
        rows: &[TransactionRef<'_>],
        order: &[u32],
        now: time::OffsetDateTime,
    ) -> Result<u64, LtvServiceError> {
        let sqlite = self.db.backend() == kiki_store::Backend::Sqlite;
        let mut inserted = 0;
        let mut keyer = Keyer::default();
        let mut open: Option<(kiki_store::Tx<'_>, std::time::Instant)> = None;
        for part in order.chunks(INGEST_BATCH) {
            let batch = keyer.batch(rows, part);
            for statement in batch.chunks(store::TRANSACTION_BATCH) {
                if open.is_none() {
                    open = Some((self.db.begin().await?, std::time::Instant::now()));
                }
                let mut held_long = false;
                if let Some((tx, started)) = open.as_mut() {
                    inserted +=
                        store::insert_transactions(tx, org, Some(upload), statement, now).await?;
                    held_long = started.elapsed() >= super::fit::LOCK_BUDGET;
                }
                // Commit once the lock was held long enough; PostgreSQL
                // writers do not queue behind one lock, so they only commit.
                if held_long && let Some((tx, started)) = open.take() {
                    tx.commit().await?;
                    if sqlite {
                        super::fit::pause_after(started.elapsed()).await;
                    }
                }
            }
        }
        if let Some((tx, _)) = open.take() {
            tx.commit().await?;
        }
        let mut tx = self.db.begin().await?;
        store::complete_upload(
            &mut tx,
            org,
            upload,
            i64::try_from(inserted).unwrap_or(i64::MAX),
        )
        .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Removes an upload that did not complete: its rows, a batch per
    /// transaction, then its record. Failures are logged; the next upload
    /// of the organisation tries again.
    async fn remove_upload(&self, org: kiki_core::OrgId, upload: Uuid) {
        let removed = async {
            loop {
                let started = std::time::Instant::now();
                let mut tx = self.db.begin().await?;
                let n =
                    store::delete_upload_batch(&mut tx, org, upload, INGEST_BATCH as u64).await?;
                tx.commit().await?;
                if n < INGEST_BATCH as u64 {
                    break;
                }
                super::fit::pause_after(started.elapsed()).await;
            }
            let mut tx = self.db.begin().await?;
            store::delete_uploads(&mut tx, org, Some(upload)).await?;
            tx.commit().await?;
            Ok::<(), LtvServiceError>(())
        };
        if let Err(e) = removed.await {
            tracing::warn!(org.id = %org, ltv.upload_id = %upload, error = %e, "removing an unfinished ltv upload failed; the next upload removes it");
        }
    }

    /// Removes uploads of the organisation that stopped while `receiving`.
    async fn remove_abandoned_uploads(&self, org: kiki_core::OrgId) {
        let before = self.clock.now() - ABANDONED_UPLOAD_AFTER;
        match store::abandoned_uploads(&self.db, org, before).await {
            Ok(ids) => {
                for id in ids {
                    tracing::warn!(org.id = %org, ltv.upload_id = %id, "removing an ltv upload that stopped before it completed");
                    self.remove_upload(org, id).await;
                }
            }
            Err(e) => {
                tracing::warn!(org.id = %org, error = %e, "looking for unfinished ltv uploads failed")
            }
        }
    }
}

/// Gives rows their idempotency keys a batch at a time, in insert order.
/// Copies of a row within the call are next to each other in that order, so
/// counting them needs only the current customer's keys.
#[derive(Default)]
struct Keyer<'r> {
    seen: HashMap<String, u32>,
    customer: Option<&'r str>,
}

impl<'r> Keyer<'r> {
    fn batch<'a: 'r>(
        &mut self,
        rows: &[TransactionRef<'a>],
        part: &[u32],
    ) -> Vec<(TransactionRef<'a>, String)> {
        let mut batch = Vec::with_capacity(part.len());
        for &i in part {
            let r = rows[i as usize];
            if self.customer != Some(r.customer_id) {
                self.seen.clear();
                self.customer = Some(r.customer_id);
            }
            let base = r.dedup_key();
            let n = self.seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let key = if *n == 1 {
                base
            } else {
                format!("{base}\u{1f}#{n}")
            };
            batch.push((r, key));
        }
        batch
    }
}

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
