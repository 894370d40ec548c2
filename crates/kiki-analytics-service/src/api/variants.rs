//! `GET /v1/analytics/variants`: a campaign's creative variants side by
//! side — counts, CTR and CVR with their 95 % Wilson intervals, CPA and
//! ROAS, the highest observed CTR and whether its interval overlaps the
//! others' — as JSON or, like the other tables, as CSV, Excel or PDF.

use axum::http::HeaderMap;
use axum::response::Response;
use kiki_identity::perm::CampaignRead;
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::Query;
use kiki_server::{ApiError, Service};
use kiki_twin::Platform;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::{answer, negotiated, printed_filters};
use crate::domain::variants::Variants;
use crate::domain::{Filters, Format, Report, ScopeKind};
use crate::service::{AnalyticsService, ReportRequest};

/// The variant comparison's query: the campaign (required) and the common
/// filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VariantsQuery {
    /// The KIKI campaign whose creative variants are compared.
    pub campaign_id: Uuid,
    /// First day (`YYYY-MM-DD`, included); default
    /// `analytics.default_range_days` − 1 days before `until`.
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub since: Option<Date>,
    /// Last day (included); default today in `tz`. Not before `since`; a
    /// range spans at most 3660 days.
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// The IANA time zone whose calendar decides "today" (default
    /// `analytics.default_time_zone`).
    #[param(max_length = 64, example = "Europe/Berlin")]
    pub tz: Option<String>,
    /// `organisation` (default) or `clients` (a client's campaign seen
    /// from its agency).
    #[param(value_type = Option<ScopeKind>, inline)]
    pub scope: Option<ScopeKind>,
    /// Only this platform.
    #[param(value_type = Option<Platform>)]
    pub platform: Option<Platform>,
    /// Only rows in this currency (ISO 4217).
    #[param(pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: Option<String>,
    /// `json` (default), `csv`, `xlsx` or `pdf`.
    #[param(value_type = Option<Format>, inline)]
    pub format: Option<Format>,
}

impl VariantsQuery {
    fn filters(&self) -> Filters {
        Filters {
            since: self.since,
            until: self.until,
            tz: self.tz.clone(),
            scope: self.scope,
            platform: self.platform.map(|p| p.as_str().to_owned()),
            campaign_id: Some(self.campaign_id),
            currency: self.currency.clone(),
            convert_to: None,
        }
    }

    pub(crate) fn request(&self) -> ReportRequest {
        ReportRequest::Variants(self.filters())
    }

    /// The filters as a PDF prints them.
    pub(crate) fn printed(&self) -> Vec<(String, String)> {
        printed_filters(
            self.scope,
            self.platform,
            Some(self.campaign_id),
            &self.currency,
            &self.tz,
        )
    }
}

/// A campaign's creative variants side by side: per creative (the ads
/// showing it, summed) and currency, impressions, clicks, conversions,
/// spend, revenue; CTR and CVR with the counts they rest on and their 95 %
/// Wilson intervals; CPA and ROAS from the sums. The variant with the
/// highest observed CTR is named with whether its interval overlaps the
/// others' — an observation, not a significance test. Another
/// organisation's campaign has no rows here (an empty answer, as in the
/// drill-down).
#[utoipa::path(get, path = "/analytics/variants", tag = "analytics", params(VariantsQuery),
    responses((status = 200, description = "The variants (JSON), or their table as CSV, an Excel workbook or a PDF",
            content((Variants = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/pdf"))),
        (status = 400, description = "No `campaign_id`, or a parameter that does not parse (named)", body = ErrorEnvelope),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, or an unknown time zone", body = ErrorEnvelope)))]
pub async fn variants(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<VariantsQuery>,
) -> Result<Response, ApiError> {
    let v = svc.variants(&p.0.scope, &q.filters()).await?;
    let format = negotiated(q.format, &headers);
    let printed = q.printed();
    answer(&svc, &p, &meta, format, Report::Variants(v), printed, q.tz).await
}
