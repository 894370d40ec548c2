//! Table identifiers and row types of the identity tables
//! (`migrations/*/0002_identity.sql`), decodable on SQLite and PostgreSQL.

use kiki_shield::EncryptedColumn;
use sea_query::Iden;
use time::OffsetDateTime;
use uuid::Uuid;

/// Columns this crate encrypts with the key ring, for `kiki keys rotate`.
pub const ENCRYPTED_COLUMNS: &[EncryptedColumn] = &[EncryptedColumn {
    table: "users",
    id_column: "id",
    column: "totp_secret",
}];

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum Organisations {
    Table,
    Id,
    ParentId,
    Kind,
    Name,
    OpenSignup,
    RequireMfa,
    ContributionMarginBps,
    ProfitBasis,
    ReportingCurrency,
    TimeZone,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum Users {
    Table,
    Id,
    Email,
    Username,
    DisplayName,
    PasswordHash,
    IsSuperadmin,
    Status,
    TotpSecret,
    TotpEnabledAt,
    TotpLastStep,
    PasswordChangedAt,
    LastLoginAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum Memberships {
    Table,
    Id,
    OrgId,
    UserId,
    Role,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum Invitations {
    Table,
    Id,
    OrgId,
    Kind,
    Email,
    Role,
    TokenHash,
    Hint,
    Status,
    ExpiresAt,
    CreatedBy,
    UsedBy,
    UsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum AuthSessions {
    Table,
    Id,
    UserId,
    OrgId,
    Kind,
    Amr,
    TokenHash,
    CsrfHash,
    Ip,
    UserAgent,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    RevokedAt,
    RevokedReason,
}

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum RefreshTokens {
    Table,
    Id,
    SessionId,
    TokenHash,
    Status,
    CreatedAt,
    UsedAt,
    ExpiresAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum ApiKeys {
    Table,
    Id,
    OrgId,
    Name,
    Prefix,
    KeyHash,
    Permissions,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum PasswordResets {
    Table,
    Id,
    UserId,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStartedAt,
    NextAllowedAt,
    LockedUntil,
    UpdatedAt,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct OrgRow {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: String,
    pub name: String,
    pub open_signup: bool,
    pub require_mfa: bool,
    pub contribution_margin_bps: Option<i64>,
    pub profit_basis: String,
    pub reporting_currency: String,
    pub time_zone: Option<String>,
    pub archived_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub username: Option<String>,
    pub display_name: String,
    pub password_hash: String,
    pub is_superadmin: bool,
    pub status: String,
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<OffsetDateTime>,
    pub totp_last_step: Option<i64>,
    pub last_login_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// A membership joined with its organisation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct MembershipOrgRow {
    pub org_id: Uuid,
    pub role: String,
    pub require_mfa: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub status: String,
    pub totp_enabled_at: Option<OffsetDateTime>,
    pub last_login_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct InvitationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: String,
    pub email: Option<String>,
    pub role: String,
    pub hint: String,
    pub status: String,
    pub expires_at: OffsetDateTime,
    pub created_by: Option<Uuid>,
    pub used_by: Option<Uuid>,
    pub used_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub amr: String,
    pub csrf_hash: Option<String>,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RefreshRow {
    pub id: Uuid,
    pub session_id: Uuid,
    pub status: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub permissions: sqlx::types::Json<Vec<String>>,
    pub created_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ThrottleRow {
    pub failures: i64,
    pub window_started_at: OffsetDateTime,
    pub next_allowed_at: Option<OffsetDateTime>,
    pub locked_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct IdRow {
    pub id: Uuid,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CountRow {
    pub n: i64,
}
