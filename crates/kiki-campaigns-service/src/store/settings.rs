//! `campaign_settings`: one row per organisation that saved its settings.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, OnConflict, Query};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;

use super::schema::CampaignSettings as S;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SettingsRow {
    pub approval_threshold_micros: Option<i64>,
    pub max_daily_budget_micros: Option<i64>,
    pub currency: Option<String>,
    pub four_eyes: bool,
    pub policy: Json<Value>,
}

pub(crate) async fn get(db: &Db, org: OrgId) -> Result<Option<SettingsRow>, StoreError> {
    let stmt = Query::select()
        .columns([
            S::ApprovalThresholdMicros,
            S::MaxDailyBudgetMicros,
            S::Currency,
            S::FourEyes,
            S::Policy,
        ])
        .from(S::Table)
        .and_where(Expr::col(S::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// What `PUT /v1/campaign-settings` stores.
pub(crate) struct SettingsWrite<'a> {
    pub approval_threshold_micros: Option<i64>,
    pub max_daily_budget_micros: Option<i64>,
    pub currency: Option<&'a str>,
    pub four_eyes: bool,
    pub policy: Value,
    pub by: &'a str,
    pub now: OffsetDateTime,
}

pub(crate) async fn put(
    tx: &mut Tx<'_>,
    org: OrgId,
    s: SettingsWrite<'_>,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(S::Table)
        .columns([
            S::OrgId,
            S::ApprovalThresholdMicros,
            S::MaxDailyBudgetMicros,
            S::Currency,
            S::FourEyes,
            S::Policy,
            S::UpdatedBy,
            S::UpdatedAt,
        ])
        .values_panic([
            org.0.into(),
            s.approval_threshold_micros.into(),
            s.max_daily_budget_micros.into(),
            s.currency.map(str::to_owned).into(),
            s.four_eyes.into(),
            s.policy.into(),
            s.by.into(),
            s.now.into(),
        ])
        .on_conflict(
            OnConflict::column(S::OrgId)
                .update_columns([
                    S::ApprovalThresholdMicros,
                    S::MaxDailyBudgetMicros,
                    S::Currency,
                    S::FourEyes,
                    S::Policy,
                    S::UpdatedBy,
                    S::UpdatedAt,
                ])
                .to_owned(),
        )
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}
