//! Deletion and erasure: removing an upload, a customer's or all
//! transactions, and erasing a customer, each with its audit entry; the
//! predictions left without data go and the current model is marked stale.

use kiki_core::{OrgId, TenantScope};
use kiki_shield::{Actor, AuditEvent};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::LtvService;
use crate::error::LtvServiceError;
use crate::store::{self, Deletion};

/// Who asks for a deletion, for its audit entry.
#[derive(Debug, Clone)]
pub struct Requester {
    pub actor: Actor,
    pub request_id: Option<String>,
}

/// What a deletion or erasure removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"transactions_deleted": 535, "predictions_deleted": 200,
    "stale_model_id": "01938f2e-7c1a-7d1e-9a3b-4c5d6e7f8091"}))]
pub struct DeletionReport {
    pub transactions_deleted: u64,
    /// Stored predictions removed: those of customers left without any
    /// transaction (for an erasure, every prediction of the customer).
    pub predictions_deleted: u64,
    /// The current model, marked stale now because data it rests on is
    /// gone; absent when nothing was deleted, there is no model, or it was
    /// stale already.
    pub stale_model_id: Option<Uuid>,
}

/// A customer reference for audit entries: the audit log is append-only,
/// so it keeps a keyed digest of the customer id rather than the id itself.
fn customer_ref(org: OrgId, customer_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(org.0.as_bytes());
    h.update(customer_id.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl LtvService {
    /// Deletes the transactions one upload stored. 404 for an upload the
    /// organisation does not have.
    pub async fn delete_upload(
        &self,
        scope: &TenantScope,
        upload: Uuid,
        by: &Requester,
    ) -> Result<DeletionReport, LtvServiceError> {
        let org = scope.org_id();
        let mut tx = self.record.begin().await?;
        let Some(row) = store::get_upload(&mut tx, org, upload).await? else {
            return Err(LtvServiceError::NotFound("The upload"));
        };
        let deleted = store::delete_transactions(&mut tx, org, Deletion::Upload(upload)).await?;
        store::delete_uploads(&mut tx, org, Some(upload)).await?;
        let report = self.after_deletion(&mut tx, org, deleted, None).await?;
        self.audit_deletion(
            &mut tx,
            org,
            by,
            "ltv.upload.deleted",
            ("ltv_upload", upload.to_string()),
            json!({"format": row.format, "received": row.received, "inserted": row.inserted}),
            &report,
        )
        .await?;
        tx.commit().await?;
        self.platform_cache.lock().remove(&org);
        Ok(report)
    }

    /// Deletes every transaction of one customer and their stored
    /// predictions. 404 when the customer has neither.
    pub async fn delete_customer_transactions(
        &self,
        scope: &TenantScope,
        customer_id: &str,
        by: &Requester,
    ) -> Result<DeletionReport, LtvServiceError> {
        let org = scope.org_id();
        let mut tx = self.record.begin().await?;
        let deleted =
            store::delete_transactions(&mut tx, org, Deletion::Customer(customer_id)).await?;
        let report = self
            .after_deletion(&mut tx, org, deleted, Some(customer_id))
            .await?;
        if report.transactions_deleted == 0 && report.predictions_deleted == 0 {
            return Err(LtvServiceError::NotFound("The customer"));
        }
        self.audit_deletion(
            &mut tx,
            org,
            by,
            "ltv.customer.transactions_deleted",
            ("ltv_customer", customer_ref(org, customer_id)),
            json!({}),
            &report,
        )
        .await?;
        tx.commit().await?;
        self.platform_cache.lock().remove(&org);
        Ok(report)
    }

    /// Deletes all of the organisation's transactions, upload records and
    /// stored predictions. The models stay (they hold parameters, not
    /// customers); the current one is marked stale.
    pub async fn delete_all_transactions(
        &self,
        scope: &TenantScope,
        by: &Requester,
    ) -> Result<DeletionReport, LtvServiceError> {
        let org = scope.org_id();
        let mut tx = self.record.begin().await?;
        let deleted = store::delete_transactions(&mut tx, org, Deletion::All).await?;
        let uploads = store::delete_uploads(&mut tx, org, None).await?;
        let report = self.after_deletion(&mut tx, org, deleted, None).await?;
        self.audit_deletion(
            &mut tx,
            org,
            by,
            "ltv.transactions.deleted",
            ("ltv_transactions", org.to_string()),
            json!({"uploads_deleted": uploads}),
            &report,
        )
        .await?;
        tx.commit().await?;
        self.platform_cache.lock().remove(&org);
        Ok(report)
    }

    /// Erases a customer from the LTV context: their transactions and every
    /// stored prediction of them, under any model, in one transaction with
    /// its audit entry (which names the customer by a digest only). Erasing
    /// a customer with nothing stored succeeds with zero counts, so a
    /// data-protection request can be replayed safely. The entry point of
    /// an organisation-wide erasure flow.
    pub async fn erase_customer(
        &self,
        scope: &TenantScope,
        customer_id: &str,
        by: &Requester,
    ) -> Result<DeletionReport, LtvServiceError> {
        let org = scope.org_id();
        let mut tx = self.record.begin().await?;
        let deleted =
            store::delete_transactions(&mut tx, org, Deletion::Customer(customer_id)).await?;
        let report = self
            .after_deletion(&mut tx, org, deleted, Some(customer_id))
            .await?;
        self.audit_deletion(
            &mut tx,
            org,
            by,
            "ltv.customer.erased",
            ("ltv_customer", customer_ref(org, customer_id)),
            json!({}),
            &report,
        )
        .await?;
        tx.commit().await?;
        self.platform_cache.lock().remove(&org);
        tracing::info!(org.id = %org, "ltv customer erased");
        Ok(report)
    }

    /// Removes the predictions the deletion left without data (all of
    /// `customer`'s, and those of customers without transactions) and marks
    /// the current model stale when transactions were deleted.
    async fn after_deletion(
        &self,
        tx: &mut kiki_store::Tx<'_>,
        org: OrgId,
        transactions_deleted: u64,
        customer: Option<&str>,
    ) -> Result<DeletionReport, LtvServiceError> {
        let mut predictions_deleted = match customer {
            Some(c) => store::delete_customer_predictions(tx, org, c).await?,
            None => 0,
        };
        predictions_deleted += store::delete_orphan_predictions(tx, org).await?;
        let stale_model_id = if transactions_deleted > 0 || predictions_deleted > 0 {
            store::mark_current_model_stale(tx, org, self.clock.now()).await?
        } else {
            None
        };
        Ok(DeletionReport {
            transactions_deleted,
            predictions_deleted,
            stale_model_id,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit_deletion(
        &self,
        tx: &mut kiki_explain::Change<'_>,
        org: OrgId,
        by: &Requester,
        action: &str,
        (kind, id): (&str, String),
        mut details: serde_json::Value,
        report: &DeletionReport,
    ) -> Result<(), LtvServiceError> {
        if let Some(map) = details.as_object_mut() {
            map.insert(
                "transactions_deleted".into(),
                json!(report.transactions_deleted),
            );
            map.insert(
                "predictions_deleted".into(),
                json!(report.predictions_deleted),
            );
            map.insert("stale_model_id".into(), json!(report.stale_model_id));
        }
        tx.audit(
            AuditEvent::new(Some(org), by.actor.clone(), action)
                .target(kind, id)
                .details(details)
                .context(None, None, by.request_id.clone()),
        )
        .await?;
        Ok(())
    }
}
