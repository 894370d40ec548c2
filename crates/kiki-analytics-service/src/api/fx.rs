//! `/v1/analytics/fx-rates`: the organisation's dated exchange rates, which
//! `convert_to` converts through. Writing (by hand, or importing the
//! European Central Bank's reference rates) needs `org.manage`, a setting
//! of the organisation like its margin; reading needs `campaign.read`.

use axum::Json;
use kiki_core::Currency;
use kiki_identity::perm::{CampaignRead, OrgManage};
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Query};
use kiki_server::{ApiError, Service};
use serde::Deserialize;
use time::Date;

use crate::domain::fx::{FxRateList, FxRatesWritten, PutFxRates};
use crate::error::AnalyticsError;
use crate::service::AnalyticsService;
use crate::service::fx::FxListQuery;

/// Most rates a page holds.
const MAX_PAGE: u32 = 1000;

/// The list's query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FxRatesQuery {
    /// Only this base currency (ISO 4217).
    #[param(pattern = "^[A-Za-z]{3}$", example = "EUR")]
    pub base: Option<String>,
    /// Only this quote currency (ISO 4217).
    #[param(pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub quote: Option<String>,
    /// First day (`YYYY-MM-DD`, included).
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub since: Option<Date>,
    /// Last day (included).
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// Rates, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// Writes a batch of dated rates (units of `quote` per unit of `base`,
/// exact decimals); a rate of the same pair and day is replaced. All are
/// written, or none (a bad rate is named, `rates[3].rate`).
#[utoipa::path(put, path = "/analytics/fx-rates", tag = "analytics",
    request_body = PutFxRates,
    responses((status = 200, description = "Written", body = FxRatesWritten),
        (status = 403, description = "Lacks `org.manage`", body = ErrorEnvelope),
        (status = 422, description = "A rate's day, base, quote or rate is invalid, or the batch is empty or holds more than 5000 rates (each field named)", body = ErrorEnvelope)))]
pub async fn put_fx_rates(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
    Body(body): Body<PutFxRates>,
) -> Result<Json<FxRatesWritten>, ApiError> {
    Ok(Json(svc.put_fx_rates(&p.0, &meta, &body).await?))
}

/// The organisation's rates, a page at a time in order of base, quote and
/// day (`next_cursor` leads on).
#[utoipa::path(get, path = "/analytics/fx-rates", tag = "analytics", params(FxRatesQuery),
    responses((status = 200, body = FxRateList),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 422, description = "A currency, day, limit or cursor is invalid (each named)", body = ErrorEnvelope)))]
pub async fn list_fx_rates(
    Service(svc): Service<AnalyticsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<FxRatesQuery>,
) -> Result<Json<FxRateList>, ApiError> {
    let currency = |name: &str, v: &Option<String>| -> Result<Option<String>, AnalyticsError> {
        v.as_deref()
            .map(|c| {
                Currency::parse_exact(c)
                    .map(|c| c.as_str().to_owned())
                    .map_err(|_| {
                        AnalyticsError::field(name, "Must be a three-letter ISO 4217 code.")
                    })
            })
            .transpose()
    };
    let query = FxListQuery {
        base: currency("base", &q.base)?,
        quote: currency("quote", &q.quote)?,
        since: q.since,
        until: q.until,
        limit: super::limit(q.limit, 100, MAX_PAGE)?,
        cursor: q.cursor,
    };
    Ok(Json(svc.fx_rates(&p.0.scope, &query).await?))
}

/// Imports the European Central Bank's euro foreign exchange reference
/// rates from `analytics.fx_ecb_url` (by default the last 90 days) as
/// EUR → X rates of source `ecb`, replacing rates of the same pair and
/// day. Optional: rates written with `PUT` need no account and no
/// internet.
#[utoipa::path(post, path = "/analytics/fx-rates/import", tag = "analytics",
    responses((status = 200, description = "Imported", body = FxRatesWritten),
        (status = 403, description = "Lacks `org.manage`", body = ErrorEnvelope),
        (status = 502, description = "The file read is not the ECB's reference rates (nothing written)", body = ErrorEnvelope),
        (status = 503, description = "The ECB's server could not be reached or failed; try again later", body = ErrorEnvelope)))]
pub async fn import_fx_rates(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
) -> Result<Json<FxRatesWritten>, ApiError> {
    Ok(Json(svc.import_ecb(&p.0, &meta).await?))
}
