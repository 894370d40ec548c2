//! The page templates (askama, compiled into the binary from `templates/`)
//! and what every page shares: the layout with its navigation, the
//! organisation switcher, the sign-out form and flash messages, and the
//! headers every dashboard response carries (a strict Content-Security-
//! Policy: no inline script or style anywhere, scripts and styles only from
//! this origin, no framing).
//!
//! A new page is a template that `{% extends "base.html" %}`, a struct here
//! with a `layout: Layout` field, and a handler in `pages/`; its link goes
//! into [`Chrome::nav`] guarded by the permission the handler checks.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::assets::Asset;
use crate::kpi::Tile;
use crate::range::Range;

/// The Content-Security-Policy of every dashboard response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'";
/// Where a link to another site may learn it came from: nowhere.
pub const REFERRER_POLICY: &str = "same-origin";

/// Adds the dashboard's security headers to a response (the edge keeps
/// them rather than writing its own).
pub async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(REFERRER_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// A rendered page, or the error page when rendering failed (logged).
pub fn html(status: StatusCode, rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(body) => {
            let mut r = (status, body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            // Pages show one person's data: never stored by a shared cache
            // or kept in the browser's history cache.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "a dashboard template failed to render");
            let mut r = (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be built.",
            )
                .into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
    }
}

/// What every page's frame shows.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// The signed-in frame (navigation, switcher, sign-out); `None` on the
    /// sign-in and error pages.
    pub chrome: Option<Chrome>,
    pub flash: Option<Flash>,
}

impl Layout {
    /// A page for someone not signed in.
    pub fn public(title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            chrome: None,
            flash: None,
        }
    }

    /// A static file by its name in `assets.rs`.
    pub fn asset(&self, name: &str) -> &'static Asset {
        crate::assets::get(name)
    }
}

/// The signed-in frame.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub user: String,
    pub org_name: String,
    /// `agency` or `client`.
    pub org_kind: String,
    pub role: String,
    /// Every organisation the person reaches (the switcher shows when
    /// there is more than one).
    pub orgs: Vec<OrgLink>,
    pub nav: Vec<NavLink>,
    /// The signed-in person's own account page, in the same organisation.
    pub account_href: String,
    /// The session's CSRF token, for the sign-out form and every other form.
    pub csrf: String,
}

#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
    /// A count shown after the label (unread notifications, when any).
    pub badge: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct OrgLink {
    pub href: String,
    pub name: String,
    pub kind: String,
    pub role: String,
    pub current: bool,
}

/// A message at the top of a page.
#[derive(Debug, Clone)]
pub struct Flash {
    /// `info` or `error`.
    pub kind: &'static str,
    pub text: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub layout: Layout,
    /// The double-submit token of the form.
    pub form_token: String,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "mfa.html")]
pub struct MfaPage {
    pub layout: Layout,
    pub form_token: String,
    pub error: Option<String>,
}

/// One currency's part of the overview.
#[derive(Debug, Clone)]
pub struct CurrencyView {
    pub currency: String,
    pub tiles: Vec<Tile>,
    /// Server-rendered SVG (no script needed to see it).
    pub chart_svg: String,
    /// The same series as JSON for `app.js`.
    pub chart_json: String,
}

/// One row of the platform breakdown.
#[derive(Debug, Clone)]
pub struct PlatformRow {
    pub platform: String,
    pub currency: String,
    pub spend: String,
    pub revenue: String,
    pub roas: String,
    pub conversions: String,
    pub cpa: String,
    pub clicks: String,
    pub ctr: String,
}

/// A preset link of the date-range component.
#[derive(Debug, Clone)]
pub struct PresetLink {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// The shared date-range component's data.
#[derive(Debug, Clone)]
pub struct RangeView {
    /// The page the component links to (`/app`).
    pub action: String,
    /// The page's own parameters the custom-range form keeps (the
    /// campaign list's filters, the drill-down's level).
    pub hidden: Vec<(String, String)>,
    pub range: Range,
    pub presets: Vec<PresetLink>,
    /// "27 Feb 2026 – 1 Mar 2026".
    pub period_text: String,
    /// "compared with 24 Feb 2026 – 26 Feb 2026", or "no comparison".
    pub comparison_text: String,
    pub time_zone: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub layout: Layout,
    pub range_view: RangeView,
    pub currencies: Vec<CurrencyView>,
    pub platforms: Vec<PlatformRow>,
    /// The CSV link, when the role may export.
    pub export_href: Option<String>,
    /// The roll-up and the organisation's own figures, where it reaches
    /// clients (empty otherwise).
    pub views: Vec<Link>,
    /// The roll-up's breakdown by organisation (empty otherwise).
    pub organisations: Vec<OrganisationRow>,
    /// The newest unread notifications (the notifications panel; `None`
    /// without the notifications module or the permission).
    pub notifications: Option<Vec<crate::pages::notifications::NotificationRow>>,
    /// Where the panel links to (the notifications page, in the
    /// organisation).
    pub notifications_href: String,
}

/// One organisation's row of the all-clients roll-up.
#[derive(Debug, Clone)]
pub struct OrganisationRow {
    pub name: String,
    pub currency: String,
    pub spend: String,
    pub revenue: String,
    pub roas: String,
    pub conversions: String,
    pub cpa: String,
}

impl OverviewPage {
    pub fn is_empty(&self) -> bool {
        self.currencies.is_empty()
    }
}

/// A link with its label (breadcrumbs, pagination, sort headers).
#[derive(Debug, Clone)]
pub struct Link {
    pub href: String,
    pub label: String,
    pub current: bool,
}

/// A choice of a filter's `<select>`.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One row of the campaign list.
#[derive(Debug, Clone)]
pub struct CampaignRow {
    pub id: String,
    pub href: String,
    pub name: String,
    pub status: String,
    pub status_label: String,
    pub platforms: String,
    pub budget: String,
    pub spend: String,
    pub created: String,
}

/// The campaign list's filter form.
#[derive(Debug, Clone)]
pub struct ListForm {
    pub statuses: Vec<Choice>,
    pub platforms: Vec<Choice>,
    pub sorts: Vec<Choice>,
    pub text: String,
    pub ascending: bool,
    pub per_page: usize,
    /// The range and organisation the form keeps.
    pub hidden: Vec<(String, String)>,
    /// The list without any filter, same range.
    pub reset_href: String,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
pub struct CampaignsPage {
    pub layout: Layout,
    pub range_view: RangeView,
    pub form: ListForm,
    pub rows: Vec<CampaignRow>,
    /// Rows matching the filters (every page).
    pub total: usize,
    /// Campaigns of the organisation before filtering.
    pub all: usize,
    /// "Page 2 of 5".
    pub page_text: String,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    /// Column headers that sort by them.
    pub sort_links: Vec<Link>,
    pub export_href: Option<String>,
    /// The create-campaign wizard, for roles that may create campaigns.
    pub new_href: Option<String>,
}

/// An ad set in the plan summary.
#[derive(Debug, Clone)]
pub struct AdSetRow {
    pub name: String,
    pub channel: String,
    pub share: String,
    pub daily_budget: String,
    pub deployment: String,
    pub href: String,
}

/// One status move.
#[derive(Debug, Clone)]
pub struct TransitionRow {
    pub at: String,
    pub action: String,
    pub from: String,
    pub to: String,
    pub actor: String,
    pub reason: String,
}

/// A creative and its policy review.
#[derive(Debug, Clone)]
pub struct CreativeRow {
    pub channel: String,
    pub headline: String,
    /// `approved`, `needs_review` or `rejected`.
    pub verdict: String,
    pub verdict_label: String,
    /// Why, one sentence per finding or limit problem.
    pub reasons: Vec<String>,
}

/// One stress scenario of the twin's report.
#[derive(Debug, Clone)]
pub struct StressRow {
    pub name: String,
    pub confidence: String,
    pub p50: String,
    pub risk: String,
}

/// One plan line's data-quality grade.
#[derive(Debug, Clone)]
pub struct GradeRow {
    pub platform: String,
    pub grade: String,
    pub note: String,
}

/// The twin's result for the campaign's plan.
#[derive(Debug, Clone)]
pub struct TwinView {
    pub p10: String,
    pub p50: String,
    pub p90: String,
    pub expected: String,
    pub confidence: String,
    pub confidence_basis: String,
    pub risk: String,
    pub grades: Vec<GradeRow>,
    pub stress: Vec<StressRow>,
    /// The gate's verdict in words.
    pub verdict: Option<String>,
    pub approved: Option<bool>,
}

/// One day of the drill-down's table.
#[derive(Debug, Clone)]
pub struct DayRow {
    pub day: String,
    pub currency: String,
    pub spend: String,
    pub revenue: String,
    pub roas: String,
    pub conversions: String,
    pub clicks: String,
    pub ctr: String,
}

/// One object of the level below (ad sets of the campaign, ads of an ad set).
#[derive(Debug, Clone)]
pub struct ChildRow {
    pub href: Option<String>,
    pub label: String,
    pub platform: String,
    pub currency: String,
    pub spend: String,
    pub revenue: String,
    pub conversions: String,
    pub clicks: String,
}

/// A daily chart of one currency.
#[derive(Debug, Clone)]
pub struct ChartView {
    pub currency: String,
    pub svg: String,
    pub json: String,
}

/// A status move offered as a button.
#[derive(Debug, Clone)]
pub struct ActionButton {
    pub action: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "campaign.html")]
pub struct CampaignPage {
    pub layout: Layout,
    pub range_view: RangeView,
    pub id: String,
    /// The organisation the forms act in.
    pub org: Option<String>,
    /// The session's CSRF token for the forms.
    pub csrf: String,
    pub name: String,
    pub status: String,
    pub status_label: String,
    pub objective: String,
    pub kind: String,
    pub brand: String,
    pub landing_url: String,
    pub currency: String,
    pub daily_budget: String,
    pub total_budget: Option<String>,
    pub schedule: String,
    pub target_roi: Option<String>,
    pub max_cpa: Option<String>,
    pub ltv: String,
    pub brand_safety: String,
    pub ad_sets: Vec<AdSetRow>,
    pub transitions: Vec<TransitionRow>,
    pub creatives: Vec<CreativeRow>,
    pub twin: Option<TwinView>,
    /// Why there is no twin result.
    pub twin_missing: String,
    pub crumbs: Vec<Link>,
    /// "Campaign", "Ad set Search", "Ad 123".
    pub level_title: String,
    pub charts: Vec<ChartView>,
    pub daily: Vec<DayRow>,
    pub children_title: Option<String>,
    pub children: Vec<ChildRow>,
    /// The creative variants side by side.
    pub variants: crate::pages::variants::VariantsView,
    pub actions: Vec<ActionButton>,
    pub can_budget: bool,
    pub budget_input: String,
    pub budget_error: Option<String>,
    pub list_href: String,
}

/// One approval request.
#[derive(Debug, Clone)]
pub struct ApprovalRow {
    pub id: String,
    pub campaign_href: String,
    pub campaign_name: String,
    pub kind: String,
    pub status: String,
    pub daily_budget: String,
    pub total_budget: Option<String>,
    /// The twin's verdict in words.
    pub twin: String,
    /// `approved`, `refused` or `none`.
    pub twin_tone: &'static str,
    pub requested_by: String,
    pub requested_at: String,
    pub reason: Option<String>,
    pub comments: Vec<(String, String)>,
    /// The viewer asked for it.
    pub mine: bool,
    /// Approve and reject are offered.
    pub can_decide: bool,
    /// Approving overrides the twin's refusal: a reason is asked for.
    pub needs_override: bool,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_comment: Option<String>,
}

#[derive(Template)]
#[template(path = "approvals.html")]
pub struct ApprovalsPage {
    pub layout: Layout,
    pub org: Option<String>,
    pub csrf: String,
    pub pending: Vec<ApprovalRow>,
    pub decided: Vec<ApprovalRow>,
    pub four_eyes: bool,
    /// The viewer's role may decide.
    pub may_decide: bool,
}
