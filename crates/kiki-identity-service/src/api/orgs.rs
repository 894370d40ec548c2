//! Organisations, members, invitations and API keys of the active
//! organisation. Ids of other tenants' resources answer 404.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kiki_core::{OrgId, UserId};
use kiki_identity::NewApiKeyRequest;
use kiki_identity::OrgUpdate;
use kiki_identity::perm::{ApiKeyManage, OrgManage, OrgRead, UserManage, UserRead};
use kiki_identity::{
    ApiKeyInfo, CreatedApiKey, CreatedInviteCode, Invitation, InvitationCounts, Member, OrgKind,
    Organisation, ProfitBasis, Role, Status,
};
use kiki_server::auth::{Auth, Meta, RequirePermission as Perm};
use kiki_server::error::{ApiError, ErrorEnvelope};
use kiki_server::extract::{Json as Body, Path};
use kiki_server::state::AppState;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Items;

/// The active organisation and, for an agency, its client organisations.
#[utoipa::path(get, path = "/organisations", tag = "organisations",
    responses((status = 200, body = Items<Organisation>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_orgs(
    State(app): State<AppState>,
    p: Perm<OrgRead>,
) -> Result<Json<Items<Organisation>>, ApiError> {
    let items = app.identity.list_organisations(&p.0.scope).await?;
    Ok(Json(Items { items }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOrg {
    /// 1 to 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// `client` (default) or `agency` (top level only).
    pub kind: Option<OrgKind>,
    /// A top-level agency or standalone business (platform operators only).
    #[serde(default)]
    pub top_level: bool,
}

kiki_server::request_schema!(pub NewOrgSchema for NewOrg, serde_json::json!({
    "anyOf": [
        {"required": ["top_level"], "properties": {"top_level": {"const": true}}},
        {"properties": {"kind": {"enum": ["client", null]}}}
    ],
    "description": "A client organisation (`kind` absent or `client`) under the active agency, or with `top_level` a top-level agency or standalone business."
}));

/// Creates a client organisation under the active agency (or a top-level one, for operators).
#[utoipa::path(post, path = "/organisations", tag = "organisations", request_body = NewOrgSchema,
    responses((status = 201, body = Organisation), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_org(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
    Body(req): Body<NewOrg>,
) -> Result<(StatusCode, Json<Organisation>), ApiError> {
    let org = app
        .identity
        .create_organisation(
            &meta,
            &p.0,
            &req.name,
            req.kind.unwrap_or(OrgKind::Client),
            req.top_level,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// One organisation the caller reaches.
#[utoipa::path(get, path = "/organisations/{id}", tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = Organisation), (status = 404, body = ErrorEnvelope)))]
pub async fn get_org(
    State(app): State<AppState>,
    p: Perm<OrgRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<Organisation>, ApiError> {
    Ok(Json(
        app.identity.organisation(&p.0.scope, OrgId(id)).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    /// 1 to 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    pub open_signup: Option<bool>,
    /// Require two-factor authentication of owners and admins.
    pub require_mfa: Option<bool>,
    /// The contribution margin in basis points, 0 to 10000 (3000 = 30 %):
    /// the share of incremental revenue that is gross profit. `null` clears
    /// it (profit figures then assume 100 % and say so).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable, minimum = 0, maximum = 10000, example = 3000)]
    pub contribution_margin_bps: Option<Option<i64>>,
    /// `contribution_margin` or `revenue` (the contract option counting
    /// revenue as profit); needs `billing.manage`.
    pub profit_basis: Option<ProfitBasis>,
    /// The ISO 4217 currency the organisation's thresholds and caps are
    /// stated in (three letters; lower case is accepted).
    #[schema(
        min_length = 3,
        max_length = 3,
        pattern = "^[A-Za-z]{3}$",
        example = "EUR"
    )]
    pub reporting_currency: Option<String>,
    /// The IANA time zone reports count days in (`Europe/Berlin`); `null`
    /// clears it (the deployment's default).
    #[serde(default, deserialize_with = "present_text")]
    #[schema(value_type = Option<String>, nullable, min_length = 1, max_length = 64, example = "Europe/Berlin")]
    pub time_zone: Option<Option<String>>,
}

/// A field that may be `null` on purpose: present (`Some`, possibly
/// `Some(None)`) or absent (`None`, through `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// [`present`] for text.
fn present_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

kiki_server::request_schema!(pub OrgPatchSchema for OrgPatch, serde_json::json!({
    "anyOf": [
        {"required": ["name"], "properties": {"name": {"type": "string"}}},
        {"required": ["open_signup"], "properties": {"open_signup": {"type": "boolean"}}},
        {"required": ["require_mfa"], "properties": {"require_mfa": {"type": "boolean"}}},
        {"required": ["contribution_margin_bps"]},
        {"required": ["profit_basis"], "properties": {"profit_basis": {"type": "string"}}},
        {"required": ["reporting_currency"], "properties": {"reporting_currency": {"type": "string"}}},
        {"required": ["time_zone"]}
    ],
    "description": "At least one change."
}));

/// Renames or reconfigures an organisation: name, sign-up, MFA, how it
/// counts profit (contribution margin; the profit basis of its contract,
/// which needs `billing.manage`), its reporting currency and its time zone. Every change is audit-logged
/// (`org.updated`, with the values before and after).
#[utoipa::path(patch, path = "/organisations/{id}", tag = "organisations",
    request_body(content = OrgPatchSchema, example = json!({"contribution_margin_bps": 3000})),
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = Organisation),
        (status = 403, body = ErrorEnvelope, description = "No `org.manage`, or a change of `profit_basis` without `billing.manage`"),
        (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "A field out of range, e.g. `contribution_margin_bps` above 10000")))]
pub async fn update_org(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
    Path(id): Path<Uuid>,
    Body(req): Body<OrgPatch>,
) -> Result<Json<Organisation>, ApiError> {
    let upd = OrgUpdate {
        name: req.name,
        open_signup: req.open_signup,
        require_mfa: req.require_mfa,
        contribution_margin_bps: req.contribution_margin_bps,
        profit_basis: req.profit_basis,
        reporting_currency: req.reporting_currency,
        time_zone: req.time_zone,
    };
    Ok(Json(
        app.identity
            .update_organisation(&meta, &p.0, OrgId(id), upd)
            .await?,
    ))
}

/// Archives an organisation (kept for the record, no longer reachable).
#[utoipa::path(post, path = "/organisations/{id}/archive", tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = Organisation, description = "The organisation, archived (archiving twice is a no-op)"),
        (status = 400, body = ErrorEnvelope, description = "The id is not a UUID, or a malformed X-Kiki-Org"),
        (status = 401, body = ErrorEnvelope, description = "Not signed in"),
        (status = 403, body = ErrorEnvelope, description = "No `org.manage`, or not the owner of the organisation signed in to"),
        (status = 404, body = ErrorEnvelope, description = "The caller does not reach this organisation"),
        (status = 409, body = ErrorEnvelope, description = "The top organisation of the caller's tree, which they are signed in to: archiving it would lock everyone out")))]
pub async fn archive_org(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
    Path(id): Path<Uuid>,
) -> Result<Json<Organisation>, ApiError> {
    Ok(Json(
        app.identity
            .archive_organisation(&meta, &p.0, OrgId(id))
            .await?,
    ))
}

/// Brings an archived organisation back (audited `org.unarchived`): for an
/// owner or admin of its parent agency, signed in to the agency, or a
/// platform superadmin.
#[utoipa::path(post, path = "/organisations/{id}/unarchive", tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    responses((status = 200, body = Organisation, description = "The organisation, reachable again (unarchiving a live one is a no-op)"),
        (status = 400, body = ErrorEnvelope, description = "The id is not a UUID, or a malformed X-Kiki-Org"),
        (status = 401, body = ErrorEnvelope, description = "Not signed in"),
        (status = 403, body = ErrorEnvelope, description = "Signed in to the parent agency without being its owner or admin, or MFA enrolment outstanding"),
        (status = 404, body = ErrorEnvelope, description = "No such organisation, or not a client of the caller's agency")))]
pub async fn unarchive_org(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Auth(p): Auth,
    Path(id): Path<Uuid>,
) -> Result<Json<Organisation>, ApiError> {
    Ok(Json(
        app.identity
            .unarchive_organisation(&meta, &p, OrgId(id))
            .await?,
    ))
}

/// Members of the active organisation.
#[utoipa::path(get, path = "/members", tag = "members",
    responses((status = 200, body = Items<Member>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_members(
    State(app): State<AppState>,
    p: Perm<UserRead>,
) -> Result<Json<Items<Member>>, ApiError> {
    Ok(Json(Items {
        items: app.identity.list_members(&p.0.scope).await?,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    pub role: Role,
}

/// Changes a member's role.
#[utoipa::path(patch, path = "/members/{user_id}", tag = "members", request_body = RoleChange,
    params(("user_id" = uuid::Uuid, Path, description = "User id")),
    responses((status = 200, body = Member), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn change_member_role(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<UserManage>,
    Path(user): Path<Uuid>,
    Body(req): Body<RoleChange>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(
        app.identity
            .change_role(&meta, &p.0, UserId(user), req.role)
            .await?,
    ))
}

/// Removes a member from the active organisation.
#[utoipa::path(delete, path = "/members/{user_id}", tag = "members",
    params(("user_id" = uuid::Uuid, Path, description = "User id")),
    responses((status = 204), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn remove_member(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<UserManage>,
    Path(user): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    app.identity
        .remove_member(&meta, &p.0, UserId(user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivates a member (their sessions in this organisation end).
#[utoipa::path(post, path = "/members/{user_id}/deactivate", tag = "members",
    params(("user_id" = uuid::Uuid, Path, description = "User id")),
    responses((status = 200, body = Member), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn deactivate_member(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<UserManage>,
    Path(user): Path<Uuid>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(
        app.identity
            .set_member_status(&meta, &p.0, UserId(user), Status::Deactivated)
            .await?,
    ))
}

/// Reactivates a member.
#[utoipa::path(post, path = "/members/{user_id}/reactivate", tag = "members",
    params(("user_id" = uuid::Uuid, Path, description = "User id")),
    responses((status = 200, body = Member), (status = 404, body = ErrorEnvelope)))]
pub async fn reactivate_member(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<UserManage>,
    Path(user): Path<Uuid>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(
        app.identity
            .set_member_status(&meta, &p.0, UserId(user), Status::Active)
            .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationList {
    pub items: Vec<Invitation>,
    pub counts: InvitationCounts,
}

/// Invitations and invite codes of the active organisation, with counts by state.
#[utoipa::path(get, path = "/invitations", tag = "members",
    responses((status = 200, body = InvitationList), (status = 403, body = ErrorEnvelope)))]
pub async fn list_invitations(
    State(app): State<AppState>,
    p: Perm<UserRead>,
) -> Result<Json<InvitationList>, ApiError> {
    let (items, counts) = app.identity.list_invitations(&p.0.scope).await?;
    Ok(Json(InvitationList { items, counts }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewInvitation {
    #[schema(schema_with = super::auth::email_address)]
    pub email: String,
    pub role: Role,
    /// 1 to 90; default `auth.invitation_ttl_days`.
    #[schema(minimum = 1, maximum = 90)]
    pub expires_in_days: Option<u32>,
}

/// Invites a person by email (a single-use link goes through the mail port).
#[utoipa::path(post, path = "/invitations", tag = "members", request_body = NewInvitation,
    responses((status = 201, body = Invitation), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn invite(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<UserManage>,
    Body(req): Body<NewInvitation>,
) -> Result<(StatusCode, Json<Invitation>), ApiError> {
    let inv = app
        .identity
        .invite_by_email(&meta, &p.0, &req.email, req.role, req.expires_in_days)
        .await?;
    Ok((StatusCode::CREATED, Json(inv)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewInviteCode {
    pub role: Role,
    /// 1 to 90; default `auth.invitation_ttl_days`.
    #[schema(minimum = 1, maximum = 90)]
    pub expires_in_days: Option<u32>,
}

/// Creates an invite code (`KIKI-` + 16 characters; shown once, single use).
#[utoipa::path(post, path = "/invite-codes", tag = "members", request_body = NewInviteCode,
    responses((status = 201, body = CreatedInviteCode), (status = 403, body = ErrorEnvelope)))]
pub async fn create_invite_code(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<UserManage>,
    Body(req): Body<NewInviteCode>,
) -> Result<(StatusCode, Json<CreatedInviteCode>), ApiError> {
    let c = app
        .identity
        .create_invite_code(&meta, &p.0, req.role, req.expires_in_days)
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Revokes an unused invitation or invite code.
#[utoipa::path(post, path = "/invitations/{id}/revoke", tag = "members",
    params(("id" = uuid::Uuid, Path, description = "Invitation id")),
    responses((status = 200, body = Invitation), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn revoke_invitation(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<UserManage>,
    Path(id): Path<Uuid>,
) -> Result<Json<Invitation>, ApiError> {
    Ok(Json(app.identity.revoke_invitation(&meta, &p.0, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AcceptInvitation {
    /// The invitation token from the email, or an invite code.
    pub invitation: String,
}

/// A signed-in user joins another organisation with an invitation or code.
#[utoipa::path(post, path = "/invitations/accept", tag = "members", request_body = AcceptInvitation,
    responses((status = 200, body = Organisation), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn accept_invitation(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Auth(p): Auth,
    Body(req): Body<AcceptInvitation>,
) -> Result<Json<Organisation>, ApiError> {
    Ok(Json(
        app.identity
            .accept_invitation(&meta, &p, &req.invitation)
            .await?,
    ))
}

/// API keys of the active organisation.
#[utoipa::path(get, path = "/api-keys", tag = "api keys",
    responses((status = 200, body = Items<ApiKeyInfo>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_api_keys(
    State(app): State<AppState>,
    p: Perm<ApiKeyManage>,
) -> Result<Json<Items<ApiKeyInfo>>, ApiError> {
    Ok(Json(Items {
        items: app.identity.list_api_keys(&p.0.scope).await?,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewApiKey {
    /// 1 to 100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// Permission names, e.g. `["campaign.read"]`; at most the creator's own.
    #[schema(schema_with = permission_names)]
    pub permissions: Vec<String>,
    /// RFC 3339, in the future; none = no expiry.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<time::OffsetDateTime>,
}

/// At least one permission name (`GET /v1/permissions` lists them).
fn permission_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(
                    kiki_identity::Permission::ALL.iter().map(|p| p.as_str()),
                )),
        )
        .min_items(Some(1))
        .description(Some(
            "Permission names, e.g. `[\"campaign.read\"]`; at most the creator's own.",
        ))
        .build()
}

/// Creates an API key; the token is in this response only.
#[utoipa::path(post, path = "/api-keys", tag = "api keys", request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_api_key(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<ApiKeyManage>,
    Body(req): Body<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let k = app
        .identity
        .create_api_key(
            &meta,
            &p.0,
            NewApiKeyRequest {
                name: req.name,
                permissions: req.permissions,
                expires_at: req.expires_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(k)))
}

/// Revokes an API key (it stops working at once).
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "api keys",
    params(("id" = uuid::Uuid, Path, description = "API key id")),
    responses((status = 200, body = ApiKeyInfo), (status = 404, body = ErrorEnvelope)))]
pub async fn revoke_api_key(
    State(app): State<AppState>,
    Meta(meta): Meta,
    p: Perm<ApiKeyManage>,
    Path(id): Path<Uuid>,
) -> Result<Json<ApiKeyInfo>, ApiError> {
    Ok(Json(app.identity.revoke_api_key(&meta, &p.0, id).await?))
}
