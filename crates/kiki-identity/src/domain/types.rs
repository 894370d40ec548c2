//! What the identity service hands out: organisations, users, members,
//! invitations, API keys, tokens, and the authenticated principal. These
//! serialise directly as API responses (OpenAPI schemas via utoipa).

use std::net::IpAddr;

use kiki_core::{OrgId, TenantScope, UserId};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::model::{OrgKind, Permission, ProfitBasis, Role, Status};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Organisation {
    #[schema(value_type = String, format = Uuid)]
    pub id: OrgId,
    /// The agency that owns this client organisation, if any.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_id: Option<OrgId>,
    pub kind: OrgKind,
    pub name: String,
    /// People may register into this organisation without an invitation (as viewers).
    pub open_signup: bool,
    /// Owners and admins must use two-factor authentication.
    pub require_mfa: bool,
    /// The contribution margin in basis points (3000 = 30 %): the share of
    /// incremental revenue that is gross profit, so net profit uplift =
    /// incremental revenue × margin − incremental ad spend. `null`: not
    /// configured, and every profit figure says it assumes 100 % (revenue =
    /// profit). Product costs from a commerce integration will refine it.
    #[schema(minimum = 0, maximum = 10000, example = 3000)]
    pub contribution_margin_bps: Option<u32>,
    /// `contribution_margin` (the default) or `revenue`: the contract option
    /// that counts revenue as profit.
    pub profit_basis: ProfitBasis,
    /// The currency the organisation's own thresholds and caps are stated
    /// in (campaign and twin settings), and that settings saved without
    /// one are read in. Organisations created before it start in `USD`.
    #[schema(value_type = String, example = "EUR", pattern = "^[A-Za-z]{3}$")]
    pub reporting_currency: kiki_core::Currency,
    /// The IANA time zone the organisation's reports count days in
    /// (analytics and the dashboard, when a request names none). `null`:
    /// the deployment's default (`analytics.default_time_zone`, UTC unless
    /// configured).
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub archived_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Organisation {
    /// The contribution margin profit figures use, as a share (0.3 for
    /// 30 %): `None` when none is configured (100 % is assumed) or when the
    /// contract counts revenue as profit.
    pub fn contribution_margin(&self) -> Option<f64> {
        match self.profit_basis {
            ProfitBasis::Revenue => None,
            ProfitBasis::ContributionMargin => self
                .contribution_margin_bps
                .map(|bps| f64::from(bps.min(10_000)) / 10_000.0),
        }
    }
}

/// An organisation the caller can switch to, with their role there.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReachableOrg {
    #[serde(flatten)]
    pub org: Organisation,
    pub role: Role,
    /// Reached through the parent agency's membership rather than a direct one.
    pub via_agency: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub email: String,
    pub username: Option<String>,
    pub display_name: String,
    pub is_superadmin: bool,
    pub status: Status,
    pub mfa_enabled: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub status: Status,
    pub mfa_enabled: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

/// The state of an invitation as people see it (expiry is computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Unused,
    Used,
    Revoked,
    Expired,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub org_id: OrgId,
    /// `email` or `code`.
    pub kind: String,
    pub email: Option<String>,
    pub role: Role,
    /// The first characters of the code (`KIKI-AbCd…`), to recognise it in a list.
    pub hint: String,
    pub state: InvitationState,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub created_by: Option<Uuid>,
    pub used_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A freshly created invite code: the only time the code is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedInviteCode {
    pub code: String,
    pub invitation: Invitation,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct InvitationCounts {
    pub unused: u64,
    pub used: u64,
    pub revoked: u64,
    pub expired: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKeyInfo {
    pub id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub org_id: OrgId,
    pub name: String,
    /// `kiki_<prefix>_…`: identifies the key without revealing it.
    pub prefix: String,
    pub permissions: Vec<String>,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A created API key: the token is shown once and never stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    pub token: String,
    pub key: ApiKeyInfo,
}

/// RFC 6749 §5.1 token response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
    pub refresh_token: String,
    /// Space-separated permissions of the token in its organisation.
    pub scope: String,
}

/// A dashboard session: the cookie value and the CSRF token the page sends back.
#[derive(Debug, Clone)]
pub struct CookieSession {
    pub session_id: Uuid,
    pub cookie_token: String,
    pub csrf_token: String,
    pub max_age_secs: u64,
}

/// TOTP enrolment material, shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MfaEnrolment {
    /// Base32 secret for manual entry.
    pub secret: String,
    pub otpauth_uri: String,
    /// A QR code of `otpauth_uri` as an SVG document.
    pub qr_svg: String,
}

/// Where a request comes from, for the audit log and throttling.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A person, signed in by access token or dashboard cookie (the session id).
    User { user_id: UserId, session_id: Uuid },
    /// A machine with an API key.
    ApiKey {
        key_id: Uuid,
        created_by: Option<Uuid>,
    },
}

/// How the principal authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    AccessToken,
    Cookie,
    ApiKey,
}

/// An authenticated caller acting in one organisation.
#[derive(Debug, Clone)]
pub struct Principal {
    pub caller: Caller,
    pub method: AuthMethod,
    /// Active organisation and the organisations it reaches.
    pub scope: TenantScope,
    /// The role in the active organisation (`None` for API keys).
    pub role: Option<Role>,
    pub permissions: Vec<Permission>,
    pub superadmin: bool,
    /// Authentication methods: `pwd`, `mfa`.
    pub amr: Vec<String>,
    /// The active organisation requires MFA of this role and the session has not used it.
    pub mfa_outstanding: bool,
    /// For cookie sessions: the hash of the CSRF token state-changing requests must carry.
    pub csrf_hash: Option<String>,
}

impl Principal {
    pub fn has(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
    pub fn user_id(&self) -> Option<UserId> {
        match self.caller {
            Caller::User { user_id, .. } => Some(user_id),
            Caller::ApiKey { .. } => None,
        }
    }
    pub fn org_id(&self) -> OrgId {
        self.scope.org_id()
    }
    /// The actor recorded in audit entries.
    pub fn actor(&self) -> kiki_shield::Actor {
        match self.caller {
            Caller::User { user_id, .. } => kiki_shield::Actor::User(user_id),
            Caller::ApiKey { key_id, .. } => kiki_shield::Actor::ApiKey(key_id),
        }
    }
}

/// Stamps an audit event with where its request came from.
pub(crate) trait StampRequest {
    fn stamp(self, meta: &RequestMeta) -> Self;
}

impl StampRequest for kiki_shield::AuditEvent {
    fn stamp(self, meta: &RequestMeta) -> Self {
        self.context(meta.ip, meta.user_agent.clone(), meta.request_id.clone())
    }
}

/// An email address as the document states it: an RFC 5322 dot-atom local
/// part (up to four atoms, 64 characters) and a domain of two or more labels
/// that start and end with a letter or digit (1 to 63 characters each), 254
/// characters in all. The server reads a little more (longer dot-atoms,
/// quoted local parts, international domains): what the mail transports can
/// deliver to.
pub fn email_address_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    const ATEXT: &str = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(254))
        .pattern(Some(format!(
            r"^{ATEXT}{{1,16}}(\.{ATEXT}{{1,15}}){{0,3}}@{label}(\.{label})+$",
            label = format!("[A-Za-z0-9]({ATEXT}{{0,61}}[A-Za-z0-9])?")
        )))
        .description(Some("An email address (read in lower case)."))
        .examples(["jane@example.com"])
        .build()
}
