//! The web dashboard: server-rendered HTML pages for marketers and
//! agencies, in the `api` role, beside the JSON API. Pages are askama
//! templates compiled into the binary, progressively enhanced (htmx and
//! uPlot, vendored and served from the binary); everything works with no
//! internet and no script. The session is the identity context's cookie
//! session; figures come from the analytics service, campaigns and
//! approvals from the campaigns service, the twin's results from the twin
//! service, customers and lifetime values from the LTV service (when its
//! module is mounted), members, invitations, API keys, the account and the
//! audit log from the identity context, all in-process. See
//! docs/dashboard.md.
//!
//! Layout (ARCHITECTURE.md, "Adding a bounded context", as far as a
//! presentation module has the parts):
//!
//! - `lib.rs`: the `Module` and its routes.
//! - [`error`]: why a page cannot be shown, as an HTML page.
//! - [`session`]: cookies, CSRF tokens, the signed-in [`session::Viewer`].
//! - [`range`]: the date range in the URL (pure).
//! - [`kpi`], [`chart`]: the overview's tiles and charts (pure).
//! - [`listing`]: the campaign list's filters, sort and pages (pure).
//! - [`forms`]: amounts typed into forms (pure).
//! - [`views`]: templates, the layout, the security headers.
//! - [`pages`]: the handlers.
//! - [`assets`]: static files with hashed names and integrity hashes.
//!
//! No configuration section, tables, events or jobs of its own: it reads
//! and changes what the identity, analytics, campaigns and twin contexts
//! own, through their services.

pub mod assets;
pub mod chart;
pub mod error;
pub mod forms;
pub mod kpi;
pub mod listing;
pub mod pages;
pub mod range;
pub mod session;
pub mod views;

use axum::Router;
use axum::routing::{get, post};
use futures::future::BoxFuture;
use kiki_server::{AppState, Module, ModuleContext, Mount};

pub use error::PageError;

/// The `dashboard` module. Wired to the analytics, twin and campaigns
/// modules, which must be listed before it.
#[derive(Debug, Default)]
pub struct DashboardModule;

impl DashboardModule {
    pub fn new() -> DashboardModule {
        DashboardModule
    }
}

/// Every dashboard route, each response with the dashboard's headers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::sign_in::root))
        .route(
            "/sign-in",
            get(pages::sign_in::sign_in_page).post(pages::sign_in::sign_in),
        )
        .route("/sign-in/mfa", post(pages::sign_in::sign_in_mfa))
        // Signing out changes state: only the form's POST does it.
        .route(
            "/sign-out",
            post(pages::sign_in::sign_out).get(|| async { session::redirect("/") }),
        )
        .route("/app", get(pages::overview::overview))
        .route("/app/platforms.csv", get(pages::overview::platforms_csv))
        .route("/app/campaigns", get(pages::campaigns::list))
        .route("/app/campaigns.csv", get(pages::campaigns::list_csv))
        .route("/app/campaigns/{id}", get(pages::campaigns::detail))
        .route("/app/campaigns/{id}/actions", post(pages::campaigns::act))
        .route("/app/campaigns/{id}/budget", post(pages::campaigns::budget))
        .route("/app/approvals", get(pages::approvals::queue))
        .route(
            "/app/approvals/{id}/decision",
            post(pages::approvals::decide),
        )
        .route("/app/customers", get(pages::customers::page))
        .route(
            "/app/customers/preview",
            post(pages::customers::preview).layer(axum::extract::DefaultBodyLimit::max(
                pages::customers::PREVIEW_BODY_BYTES,
            )),
        )
        .route(
            "/app/customers/upload",
            post(pages::customers::upload).layer(axum::extract::DefaultBodyLimit::max(
                pages::customers::CONFIRM_BODY_BYTES,
            )),
        )
        .route("/app/customers/fit", post(pages::customers::fit))
        .route("/app/customers/c/{id}", get(pages::customers::customer))
        .route("/app/notifications", get(pages::notifications::page))
        .route(
            "/app/notifications/read-all",
            post(pages::notifications::mark_all_read),
        )
        .route(
            "/app/notifications/{id}/read",
            post(pages::notifications::mark_read),
        )
        .route(
            "/app/notifications/{id}/dismiss",
            post(pages::notifications::dismiss),
        )
        .merge(wizard_routes())
        .merge(admin_routes())
        .route("/app/{*rest}", get(not_found))
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::map_response(views::security_headers))
}

/// The settings, account, audit-log and public account pages
/// (`pages::settings`, `pages::account`, `pages::audit`, `pages::public`).
fn admin_routes() -> Router<AppState> {
    use pages::settings::{api_keys, invitations, members};
    use pages::{account, audit, public};
    Router::new()
        .route(
            "/app/settings",
            get(|| async { session::redirect("/app/settings/members") }),
        )
        .route("/app/settings/members", get(members::page))
        .route(
            "/app/settings/members/{user}/role",
            post(members::change_role),
        )
        .route(
            "/app/settings/members/{user}/status",
            post(members::set_status),
        )
        .route(
            "/app/settings/members/{user}/remove",
            get(members::confirm_remove).post(members::remove),
        )
        .route(
            "/app/settings/invitations",
            get(invitations::page).post(invitations::invite),
        )
        .route("/app/settings/invite-codes", post(invitations::create_code))
        .route(
            "/app/settings/invitations/{id}/revoke",
            post(invitations::revoke),
        )
        .route(
            "/app/settings/api-keys",
            get(api_keys::page).post(api_keys::create),
        )
        .route("/app/settings/api-keys/{id}/revoke", post(api_keys::revoke))
        .route("/app/account", get(account::page))
        .route("/app/account/password", post(account::change_password))
        .route("/app/account/mfa/enroll", post(account::enrol))
        .route("/app/account/mfa/confirm", post(account::confirm))
        .route(
            "/app/account/mfa/recovery-codes",
            post(account::recovery_codes),
        )
        .route("/app/account/mfa/disable", post(account::disable))
        .route("/app/audit", get(audit::page))
        .route("/app/audit.csv", get(audit::csv))
        .route(
            "/password-reset",
            get(public::reset_page).post(public::request_reset),
        )
        .route(
            "/password-reset/confirm",
            get(public::confirm_page).post(public::confirm_reset),
        )
        // The address the reset mail links to.
        .route("/reset-password", get(public::confirm_page))
        .route(
            "/register",
            get(public::register_page).post(public::register),
        )
}

/// The create-campaign wizard (`pages::wizard`).
fn wizard_routes() -> Router<AppState> {
    use pages::wizard as w;
    Router::new()
        .route("/app/campaigns/new", get(w::goal).post(w::save_new))
        .route("/app/campaigns/new/plan", post(w::plan))
        .route(
            "/app/campaigns/new/{id}/plan",
            get(w::plan_saved).post(w::save_plan),
        )
        .route(
            "/app/campaigns/new/{id}/creatives",
            get(w::creatives).post(w::add_creative),
        )
        .route(
            "/app/campaigns/new/{id}/creatives/generate",
            post(w::generate),
        )
        .route(
            "/app/campaigns/new/{id}/creatives/{creative}",
            post(w::edit_creative),
        )
        .route("/app/campaigns/new/{id}/review", post(w::review))
        .route("/app/campaigns/new/{id}/release", post(w::release))
        .route(
            "/app/campaigns/new/{id}/simulation",
            get(w::simulation).post(w::simulate),
        )
        .route(
            "/app/campaigns/new/{id}/submit",
            get(w::submit_step).post(w::submit),
        )
}

async fn not_found() -> PageError {
    PageError::NotFound("This page")
}

impl Module for DashboardModule {
    fn name(&self) -> &'static str {
        "dashboard"
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            // Figures, campaigns and the twin's results: a missing module
            // stops start-up.
            ctx.require::<kiki_analytics_service::AnalyticsService>()?;
            ctx.require::<kiki_twin_service::TwinService>()?;
            ctx.require::<kiki_campaigns_service::CampaignsService>()?;
            if !ctx.roles.api {
                return Ok(Mount::new());
            }
            Ok(Mount::new().routes(routes()))
        })
    }
}
