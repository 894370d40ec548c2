//! `platform_objects`: which platform id a KIKI campaign, ad set, creative or
//! ad has on each platform.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, OnConflict, Query};
use time::OffsetDateTime;

use super::schema::PlatformObjects as O;

/// One mapped object.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ObjectRow {
    pub kind: String,
    pub kiki_id: String,
    pub external_id: String,
    pub status: String,
}

pub(crate) async fn get(
    db: &Db,
    org: OrgId,
    platform: &str,
    kind: &str,
    kiki_id: &str,
) -> Result<Option<ObjectRow>, StoreError> {
    let stmt = Query::select()
        .columns([O::Kind, O::KikiId, O::ExternalId, O::Status])
        .from(O::Table)
        .and_where(Expr::col(O::OrgId).eq(org.0))
        .and_where(Expr::col(O::Platform).eq(platform))
        .and_where(Expr::col(O::Kind).eq(kind))
        .and_where(Expr::col(O::KikiId).eq(kiki_id))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Every mapped object of the organisation on a platform.
pub(crate) async fn all(db: &Db, org: OrgId, platform: &str) -> Result<Vec<ObjectRow>, StoreError> {
    let stmt = Query::select()
        .columns([O::Kind, O::KikiId, O::ExternalId, O::Status])
        .from(O::Table)
        .and_where(Expr::col(O::OrgId).eq(org.0))
        .and_where(Expr::col(O::Platform).eq(platform))
        .to_owned();
    db.fetch_all(&stmt).await
}

/// The mapped ads of one KIKI ad set.
pub(crate) async fn ads_of(
    db: &Db,
    org: OrgId,
    platform: &str,
    ad_set_id: &str,
) -> Result<Vec<ObjectRow>, StoreError> {
    let stmt = Query::select()
        .columns([O::Kind, O::KikiId, O::ExternalId, O::Status])
        .from(O::Table)
        .and_where(Expr::col(O::OrgId).eq(org.0))
        .and_where(Expr::col(O::Platform).eq(platform))
        .and_where(Expr::col(O::AdSetId).eq(ad_set_id))
        .and_where(Expr::col(O::Kind).eq("ad"))
        .to_owned();
    db.fetch_all(&stmt).await
}

/// Records (or updates the status of) a mapped object.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn put(
    db: &Db,
    org: OrgId,
    platform: &str,
    kind: &str,
    kiki_id: &str,
    external_id: &str,
    campaign_id: &str,
    ad_set_id: Option<&str>,
    status: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(O::Table)
        .columns([
            O::OrgId,
            O::Platform,
            O::Kind,
            O::KikiId,
            O::ExternalId,
            O::CampaignId,
            O::AdSetId,
            O::Status,
            O::CreatedAt,
            O::UpdatedAt,
        ])
        .values_panic([
            org.0.into(),
            platform.into(),
            kind.into(),
            kiki_id.into(),
            external_id.into(),
            campaign_id.into(),
            ad_set_id.map(str::to_owned).into(),
            status.into(),
            now.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::columns([O::OrgId, O::Platform, O::Kind, O::KikiId])
                .update_columns([O::ExternalId, O::Status, O::UpdatedAt])
                .to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Removes every mapping of the organisation on a platform (a disconnect
/// from a different account starts afresh).
pub(crate) async fn forget(tx: &mut Tx<'_>, org: OrgId, platform: &str) -> Result<u64, StoreError> {
    tx.execute(
        &Query::delete()
            .from_table(O::Table)
            .and_where(Expr::col(O::OrgId).eq(org.0))
            .and_where(Expr::col(O::Platform).eq(platform))
            .to_owned(),
    )
    .await
}
