//! Ingest: storing an upload's (or another module's) transactions for an
//! organisation, validated and deduplicated, with the upload's record.

use kiki_core::TenantScope;
use uuid::Uuid;

use super::LtvService;
use crate::domain::{IngestReport, NewTransaction, TransactionKind};
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
        let mut seen: std::collections::HashMap<String, u32> = Default::default();
        let keys: Vec<String> = rows
            .iter()
            .map(|r| {
                let base = r.dedup_key();
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    base
                } else {
                    format!("{base}\u{1f}#{n}")
                }
            })
            .collect();
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
        let inserted =
            store::insert_transactions(&mut tx, org, upload_id, rows, &keys, now).await?;
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
        tracing::info!(org.id = %org, received, inserted, "ltv transactions ingested");
        Ok(IngestReport {
            received,
            inserted,
            duplicates: received.saturating_sub(inserted),
            upload_id,
        })
    }
}
