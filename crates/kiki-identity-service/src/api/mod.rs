//! The identity and security API (`/v1/auth`, `/v1/me`, organisations,
//! members, invitations, API keys, audit log, decision records, permissions,
//! outbox). Handlers only translate HTTP to calls on
//! [`kiki_identity::Identity`], [`kiki_shield::AuditLog`] and
//! [`kiki_explain::Decisions`]; every tenant-scoped handler takes
//! [`kiki_server::auth::Auth`] or [`kiki_server::auth::RequirePermission`]
//! and passes its scope down.
//!
//! - `auth.rs`: `/v1/auth/*` and `/v1/me/*`.
//! - `orgs.rs`: organisations, members, invitations, API keys.
//! - `audit.rs`: the audit log, decision records, permissions, the outbox.

pub mod audit;
pub mod auth;
pub mod orgs;

use kiki_server::state::AppState;
use kiki_server::versioning::{ApiVersion, VersionedApi};
use utoipa_axum::routes;

/// Every route of this module, in both API versions.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
    VersionedApi::new()
        .routes(v, routes!(auth::token))
        .routes(v, routes!(auth::refresh))
        .routes(v, routes!(auth::logout))
        .routes(v, routes!(auth::logout_all))
        .routes(v, routes!(auth::session_login, auth::session_logout))
        .routes(v, routes!(auth::register))
        .routes(v, routes!(auth::password_reset))
        .routes(v, routes!(auth::password_reset_confirm))
        .routes(v, routes!(auth::me))
        .routes(v, routes!(auth::change_password))
        .routes(v, routes!(auth::mfa_enroll))
        .routes(v, routes!(auth::mfa_confirm))
        .routes(v, routes!(auth::mfa_disable))
        .routes(v, routes!(auth::mfa_recovery_codes))
        .routes(v, routes!(orgs::list_orgs, orgs::create_org))
        .routes(v, routes!(orgs::get_org, orgs::update_org))
        .routes(v, routes!(orgs::archive_org))
        .routes(v, routes!(orgs::unarchive_org))
        .routes(v, routes!(orgs::list_members))
        .routes(v, routes!(orgs::change_member_role, orgs::remove_member))
        .routes(v, routes!(orgs::deactivate_member))
        .routes(v, routes!(orgs::reactivate_member))
        .routes(v, routes!(orgs::list_invitations, orgs::invite))
        .routes(v, routes!(orgs::create_invite_code))
        .routes(v, routes!(orgs::revoke_invitation))
        .routes(v, routes!(orgs::accept_invitation))
        .routes(v, routes!(orgs::list_api_keys, orgs::create_api_key))
        .routes(v, routes!(orgs::revoke_api_key))
        .routes(v, routes!(audit::list_audit))
        .routes(v, routes!(audit::verify_audit))
        .routes(v, routes!(audit::list_decisions))
        .routes(v, routes!(audit::get_decision))
        .routes(v, routes!(audit::permissions))
        .routes(v, routes!(audit::outbox))
}

/// A list response.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}
