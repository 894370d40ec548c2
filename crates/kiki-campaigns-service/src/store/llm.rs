//! `campaign_llm_settings`: an organisation's own language model. The key
//! column holds the field-encrypted value (`kiki_shield::Keyring`), never the
//! key itself.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, OnConflict, Query};
use time::OffsetDateTime;

use super::schema::CampaignLlmSettings as L;

/// The registered encrypted column (key rotation re-encrypts it).
pub const ENCRYPTED_COLUMNS: &[kiki_shield::EncryptedColumn] = &[kiki_shield::EncryptedColumn {
    table: "campaign_llm_settings",
    id_column: "org_id",
    column: "api_key",
}];

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LlmRow {
    pub base_url: String,
    pub model: String,
    /// Encrypted.
    pub api_key: Option<String>,
    pub json_mode: bool,
    pub image_model: Option<String>,
    pub updated_by: String,
    pub updated_at: OffsetDateTime,
}

pub(crate) async fn get(db: &Db, org: OrgId) -> Result<Option<LlmRow>, StoreError> {
    let stmt = Query::select()
        .columns([
            L::BaseUrl,
            L::Model,
            L::ApiKey,
            L::JsonMode,
            L::ImageModel,
            L::UpdatedBy,
            L::UpdatedAt,
        ])
        .from(L::Table)
        .and_where(Expr::col(L::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Writes the organisation's model (the key already encrypted).
pub(crate) async fn put(tx: &mut Tx<'_>, org: OrgId, row: &LlmRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(L::Table)
        .columns([
            L::OrgId,
            L::BaseUrl,
            L::Model,
            L::ApiKey,
            L::JsonMode,
            L::ImageModel,
            L::UpdatedBy,
            L::UpdatedAt,
        ])
        .values_panic([
            org.0.into(),
            row.base_url.as_str().into(),
            row.model.as_str().into(),
            row.api_key.clone().into(),
            row.json_mode.into(),
            row.image_model.clone().into(),
            row.updated_by.as_str().into(),
            row.updated_at.into(),
        ])
        .on_conflict(
            OnConflict::column(L::OrgId)
                .update_columns([
                    L::BaseUrl,
                    L::Model,
                    L::ApiKey,
                    L::JsonMode,
                    L::ImageModel,
                    L::UpdatedBy,
                    L::UpdatedAt,
                ])
                .to_owned(),
        )
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Removes the organisation's model; false when there was none.
pub(crate) async fn delete(tx: &mut Tx<'_>, org: OrgId) -> Result<bool, StoreError> {
    let stmt = Query::delete()
        .from_table(L::Table)
        .and_where(Expr::col(L::OrgId).eq(org.0))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}
