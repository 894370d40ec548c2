//! `twin_settings`: an organisation's overrides of the gate threshold, the
//! rebalancing approval threshold and the industry.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, OnConflict, Query};
use time::OffsetDateTime;

use super::schema::TwinSettings as S;

/// The stored overrides; `None` is "the configured default".
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SettingsRow {
    pub min_confidence: Option<f64>,
    pub approval_threshold_micros: Option<i64>,
    /// The threshold's currency; `None` on rows saved before it had one:
    /// the organisation's reporting currency.
    pub currency: Option<String>,
    pub industry: Option<String>,
}

/// The organisation's overrides, if it has any.
pub(crate) async fn get(db: &Db, org: OrgId) -> Result<Option<SettingsRow>, StoreError> {
    let stmt = Query::select()
        .columns([
            S::MinConfidence,
            S::ApprovalThresholdMicros,
            S::Currency,
            S::Industry,
        ])
        .from(S::Table)
        .and_where(Expr::col(S::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Replaces the organisation's overrides.
pub(crate) async fn put(
    tx: &mut Tx<'_>,
    org: OrgId,
    row: SettingsRow,
    updated_by: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(S::Table)
        .columns([
            S::OrgId,
            S::MinConfidence,
            S::ApprovalThresholdMicros,
            S::Currency,
            S::Industry,
            S::UpdatedBy,
            S::UpdatedAt,
        ])
        .values_panic([
            org.0.into(),
            row.min_confidence.into(),
            row.approval_threshold_micros.into(),
            row.currency.into(),
            row.industry.into(),
            updated_by.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::column(S::OrgId)
                .update_columns([
                    S::MinConfidence,
                    S::ApprovalThresholdMicros,
                    S::Currency,
                    S::Industry,
                    S::UpdatedBy,
                    S::UpdatedAt,
                ])
                .to_owned(),
        )
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}
