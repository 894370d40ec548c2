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
    /// The session's CSRF token, for the sign-out form and every other form.
    pub csrf: String,
}

#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
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
    pub action: &'static str,
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
}

impl OverviewPage {
    pub fn is_empty(&self) -> bool {
        self.currencies.is_empty()
    }
}
