//! The HTTP edge of the campaigns service: handlers with their OpenAPI
//! annotations. `CampaignsError` becomes an HTTP error through its
//! `DomainError` face (`crate::error`).

use axum::Json as AxumJson;
use axum::body::Bytes;
use axum::http::StatusCode;
use kiki_campaigns::{CampaignDraft, CampaignStatus};
use kiki_core::{Page, PageRequest};
use kiki_identity::perm::{BudgetApprove, CampaignRead, CampaignWrite, OrgManage};
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json, Path, Query};
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use serde::Deserialize;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::*;
use crate::service::CampaignsService;

/// The versioned routes of the campaigns module.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
    VersionedApi::new()
        .routes(v, routes!(create_campaign, list_campaigns))
        .routes(v, routes!(plan_campaign))
        .routes(v, routes!(get_campaign, put_campaign))
        .routes(v, routes!(campaign_action))
        .routes(v, routes!(campaign_transitions))
        .routes(v, routes!(campaign_budget))
        .routes(v, routes!(campaign_mix))
        .routes(v, routes!(list_approvals))
        .routes(v, routes!(get_approval))
        .routes(v, routes!(decide_approval))
        .routes(v, routes!(comment_approval))
        .routes(v, routes!(get_settings, put_settings))
        .routes(
            v,
            routes!(get_llm_settings, put_llm_settings, delete_llm_settings),
        )
        .routes(v, routes!(get_kill_switch, engage_kill_switch))
        .routes(v, routes!(release_kill_switch))
        .routes(v, routes!(create_creative, list_creatives))
        .routes(v, routes!(get_creative, put_creative, delete_creative))
        .routes(v, routes!(generate_creatives))
        .routes(v, routes!(review_creative))
        .routes(v, routes!(rate_creative))
        .routes(v, routes!(creative_image))
}

/// Stores a campaign as a draft, with its ad sets. Every field is checked
/// (one 422 names each problem); nothing runs until it is submitted.
#[utoipa::path(post, path = "/campaigns", tag = "campaigns", request_body = CampaignDraft,
    responses((status = 201, body = CampaignView, description = "Stored as a draft"),
        (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_campaign(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Json(draft): Json<CampaignDraft>,
) -> Result<(StatusCode, AxumJson<CampaignView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        AxumJson(svc.create(&p.0, &meta, draft).await?),
    ))
}

/// A campaign plan from a goal in words, a form and/or a landing page:
/// budget, duration, target, audience, industry, campaign type, max CPA
/// from the LTV with its source, channel mix, creative brief, every value
/// marked as given, extracted, read from the page, inferred or defaulted, and
/// the guardrails that fired. Answered by the configured language model
/// (validated, repaired once) or by the rule planner; `planner` says which.
/// Nothing is stored: `POST /v1/campaigns` stores the plan's `draft`.
#[utoipa::path(post, path = "/campaigns/plan", tag = "campaigns",
    request_body = crate::service::plan::PlanApiRequestSchema,
    responses((status = 200, body = crate::service::plan::PlanView), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn plan_campaign(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Json(req): Json<crate::service::plan::PlanApiRequest>,
) -> Result<AxumJson<crate::service::plan::PlanView>, ApiError> {
    Ok(AxumJson(svc.plan(&p.0, &meta, req).await?))
}

/// Filters of the campaign list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignQuery {
    /// Only campaigns in this status.
    pub status: Option<CampaignStatus>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The active organisation's campaigns, newest first.
#[utoipa::path(get, path = "/campaigns", tag = "campaigns", params(CampaignQuery),
    responses((status = 200, body = Page<CampaignView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_campaigns(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<CampaignQuery>,
) -> Result<AxumJson<Page<CampaignView>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(AxumJson(svc.list(&p.0.scope, q.status, &page).await?))
}

/// One campaign with its ad sets, the gate's verdict and the allowed moves.
#[utoipa::path(get, path = "/campaigns/{id}", tag = "campaigns",
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_campaign(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<AxumJson<CampaignView>, ApiError> {
    svc.get(&p.0.scope, id)
        .await?
        .map(AxumJson)
        .ok_or_else(|| ApiError::not_found("The campaign"))
}

/// Rewrites a draft campaign (only in `draft`; its ad sets get new ids).
#[utoipa::path(put, path = "/campaigns/{id}", tag = "campaigns",
    params(("id" = Uuid, Path, description = "Campaign id")), request_body = CampaignDraft,
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn put_campaign(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    Json(draft): Json<CampaignDraft>,
) -> Result<AxumJson<CampaignView>, ApiError> {
    Ok(AxumJson(svc.rewrite(&p.0, &meta, id, draft).await?))
}

/// Moves a campaign: `submit` (runs the twin's launch gate and asks for
/// approval), `withdraw`, `revise`, `launch`, `pause`, `resume`, `complete`,
/// `archive`, `hold` (with a reason), `release`, `fail`, `retry`. An illegal
/// move is 409 listing the allowed ones; `approve`/`reject` are decided on
/// the approval.
#[utoipa::path(post, path = "/campaigns/{id}/actions", tag = "campaigns",
    params(("id" = Uuid, Path, description = "Campaign id")), request_body = ActionRequestSchema,
    responses((status = 200, body = CampaignView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn campaign_action(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    Json(req): Json<ActionRequest>,
) -> Result<AxumJson<CampaignView>, ApiError> {
    Ok(AxumJson(svc.act(&p.0, &meta, id, req).await?))
}

/// Every status move of a campaign, oldest first (the last 500): who, why,
/// and whether a rule made it.
#[utoipa::path(get, path = "/campaigns/{id}/transitions", tag = "campaigns",
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses((status = 200, body = Vec<TransitionView>), (status = 404, body = ErrorEnvelope)))]
pub async fn campaign_transitions(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<AxumJson<Vec<TransitionView>>, ApiError> {
    Ok(AxumJson(svc.transitions(&p.0.scope, id).await?))
}

/// Changes a campaign's budget. A raise of more than the organisation's
/// threshold on a campaign already approved waits for approval (202 with
/// the approval); anything else applies now (200).
#[utoipa::path(post, path = "/campaigns/{id}/budget", tag = "campaigns",
    params(("id" = Uuid, Path, description = "Campaign id")), request_body = BudgetRequest,
    responses((status = 200, body = BudgetChangeView, description = "Applied"),
        (status = 202, body = BudgetChangeView, description = "Waits for approval"),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn campaign_budget(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    Json(req): Json<BudgetRequest>,
) -> Result<(StatusCode, AxumJson<BudgetChangeView>), ApiError> {
    let v = svc.change_budget(&p.0, &meta, id, req).await?;
    let status = if v.applied {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, AxumJson(v)))
}

/// Filters of the approvals list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalQuery {
    /// Only approvals in this status (`pending`: the queue).
    pub status: Option<ApprovalStatus>,
    /// Only approvals of this campaign.
    pub campaign_id: Option<Uuid>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The active organisation's approvals, newest first, with their comments.
#[utoipa::path(get, path = "/approvals", tag = "campaigns", params(ApprovalQuery),
    responses((status = 200, body = Page<ApprovalView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_approvals(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<ApprovalQuery>,
) -> Result<AxumJson<Page<ApprovalView>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(AxumJson(
        svc.approvals(&p.0.scope, q.status, q.campaign_id, &page)
            .await?,
    ))
}

/// One approval with its comments and, for a launch, the gate's verdict.
#[utoipa::path(get, path = "/approvals/{id}", tag = "campaigns",
    params(("id" = Uuid, Path, description = "Approval id")),
    responses((status = 200, body = ApprovalView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_approval(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<AxumJson<ApprovalView>, ApiError> {
    svc.approval(&p.0.scope, id)
        .await?
        .map(AxumJson)
        .ok_or_else(|| ApiError::not_found("The approval"))
}

/// Approves or rejects a launch or a budget raise. With four-eyes on, the
/// requester cannot decide (403). Approving a launch the twin's gate refused
/// needs `override_reason` and records the override.
#[utoipa::path(post, path = "/approvals/{id}/decision", tag = "campaigns",
    params(("id" = Uuid, Path, description = "Approval id")), request_body = DecisionRequest,
    responses((status = 200, body = ApprovalView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn decide_approval(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<BudgetApprove>,
    Path(id): Path<Uuid>,
    Json(req): Json<DecisionRequest>,
) -> Result<AxumJson<ApprovalView>, ApiError> {
    Ok(AxumJson(svc.decide(&p.0, &meta, id, req).await?))
}

/// Adds a comment to an approval (at most 200 per approval).
#[utoipa::path(post, path = "/approvals/{id}/comments", tag = "campaigns",
    params(("id" = Uuid, Path, description = "Approval id")), request_body = CommentRequest,
    responses((status = 200, body = ApprovalView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn comment_approval(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
    Json(req): Json<CommentRequest>,
) -> Result<AxumJson<ApprovalView>, ApiError> {
    Ok(AxumJson(svc.comment(&p.0, &meta, id, req).await?))
}

/// The organisation's campaign settings (stored, else the defaults).
#[utoipa::path(get, path = "/campaign-settings", tag = "campaigns",
    responses((status = 200, body = CampaignSettings), (status = 403, body = ErrorEnvelope)))]
pub async fn get_settings(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
) -> Result<AxumJson<CampaignSettings>, ApiError> {
    Ok(AxumJson(svc.settings(&p.0.scope).await?))
}

/// Replaces the organisation's campaign settings.
#[utoipa::path(put, path = "/campaign-settings", tag = "campaigns", request_body = CampaignSettings,
    responses((status = 200, body = CampaignSettings), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_settings(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<BudgetApprove>,
    Json(req): Json<CampaignSettings>,
) -> Result<AxumJson<CampaignSettings>, ApiError> {
    Ok(AxumJson(svc.put_settings(&p.0, &meta, req).await?))
}

/// Splits the campaign's daily budget over its ad sets as the allocator
/// advises (response curves from the organisation's history, industry priors
/// where it is thin). The daily budget stays; a live campaign's channels
/// follow. A decision record explains the split.
#[utoipa::path(post, path = "/campaigns/{id}/mix", tag = "campaigns", request_body = MixRequest,
    params(("id" = Uuid, Path, description = "The campaign")),
    responses((status = 200, body = CampaignView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn campaign_mix(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    Json(req): Json<MixRequest>,
) -> Result<AxumJson<CampaignView>, ApiError> {
    Ok(AxumJson(svc.apply_mix(&p.0, &meta, id, req).await?))
}

/// Which language model the organisation's planner and creative writer use:
/// its own, the server's, or none (rules and templates). The key is never shown.
#[utoipa::path(get, path = "/campaign-settings/llm", tag = "campaigns",
    responses((status = 200, body = LlmSettingsView), (status = 403, body = ErrorEnvelope)))]
pub async fn get_llm_settings(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
) -> Result<AxumJson<LlmSettingsView>, ApiError> {
    Ok(AxumJson(svc.llm_settings(&p.0.scope).await?))
}

/// Sets the organisation's own OpenAI-compatible model. The key is stored
/// encrypted; leave it out to keep the stored one. The host must be public.
#[utoipa::path(put, path = "/campaign-settings/llm", tag = "campaigns", request_body = LlmSettingsRequest,
    responses((status = 200, body = LlmSettingsView), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_llm_settings(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
    Json(req): Json<LlmSettingsRequest>,
) -> Result<AxumJson<LlmSettingsView>, ApiError> {
    Ok(AxumJson(svc.put_llm_settings(&p.0, &meta, req).await?))
}

/// Removes the organisation's own model: the server's (or the rules) answer again.
#[utoipa::path(delete, path = "/campaign-settings/llm", tag = "campaigns",
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn delete_llm_settings(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
) -> Result<StatusCode, ApiError> {
    svc.delete_llm_settings(&p.0, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's kill switch: engaged or not, and the current (or last)
/// switch with what it paused.
#[utoipa::path(get, path = "/kill-switch", tag = "campaigns",
    responses((status = 200, body = KillSwitchState), (status = 403, body = ErrorEnvelope)))]
pub async fn get_kill_switch(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
) -> Result<AxumJson<KillSwitchState>, ApiError> {
    Ok(AxumJson(svc.kill_switch_state(&p.0.scope).await?))
}

/// Pauses every active campaign of the organisation (`scope: organisation`)
/// or of it and every client it reaches (`clients`), and reports per channel
/// what happened. 409 when a switch is engaged already.
#[utoipa::path(post, path = "/kill-switch", tag = "campaigns", request_body = KillSwitchRequest,
    responses((status = 200, body = KillSwitchView), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn engage_kill_switch(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Json(req): Json<KillSwitchRequest>,
) -> Result<AxumJson<KillSwitchView>, ApiError> {
    Ok(AxumJson(svc.engage_kill_switch(&p.0, &meta, req).await?))
}

/// Releases the engaged kill switch: the campaigns it paused and that are
/// still paused by it run again. 409 when none is engaged.
#[utoipa::path(post, path = "/kill-switch/release", tag = "campaigns",
    request_body = Option<ReleaseRequest>,
    responses((status = 200, body = KillSwitchView), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn release_kill_switch(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<BudgetApprove>,
    body: Bytes,
) -> Result<AxumJson<KillSwitchView>, ApiError> {
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        ReleaseRequest::default()
    } else {
        kiki_server::extract::parse_json::<Option<ReleaseRequest>>(&body)?.unwrap_or_default()
    };
    Ok(AxumJson(svc.release_kill_switch(&p.0, &meta, req).await?))
}

/// Stores a creative a person wrote (bring your own copy and media),
/// reviewed against the ad policy and the platform's limits. A rejected
/// creative puts its campaign on safety hold.
#[utoipa::path(post, path = "/creatives", tag = "creatives", request_body = NewCreative,
    responses((status = 201, body = CreativeView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_creative(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Json(req): Json<NewCreative>,
) -> Result<(StatusCode, AxumJson<CreativeView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        AxumJson(svc.create_creative(&p.0, &meta, req).await?),
    ))
}

/// Filters of the creative library.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreativeQuery {
    /// Only creatives of this campaign.
    pub campaign_id: Option<Uuid>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The organisation's creative library, newest first.
#[utoipa::path(get, path = "/creatives", tag = "creatives", params(CreativeQuery),
    responses((status = 200, body = Page<CreativeView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_creatives(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<CreativeQuery>,
) -> Result<AxumJson<Page<CreativeView>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(AxumJson(
        svc.creatives(&p.0.scope, q.campaign_id, &page).await?,
    ))
}

/// One creative with its review.
#[utoipa::path(get, path = "/creatives/{id}", tag = "creatives",
    params(("id" = Uuid, Path, description = "Creative id")),
    responses((status = 200, body = CreativeView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_creative(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<AxumJson<CreativeView>, ApiError> {
    svc.creative(&p.0.scope, id)
        .await?
        .map(AxumJson)
        .ok_or_else(|| ApiError::not_found("The creative"))
}

/// New copy for a creative, reviewed again.
#[utoipa::path(put, path = "/creatives/{id}", tag = "creatives",
    params(("id" = Uuid, Path, description = "Creative id")), request_body = CreativeUpdate,
    responses((status = 200, body = CreativeView), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn put_creative(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    Json(req): Json<CreativeUpdate>,
) -> Result<AxumJson<CreativeView>, ApiError> {
    Ok(AxumJson(svc.update_creative(&p.0, &meta, id, req).await?))
}

/// Removes a creative from use (kept for the record).
#[utoipa::path(delete, path = "/creatives/{id}", tag = "creatives",
    params(("id" = Uuid, Path, description = "Creative id")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorEnvelope)))]
pub async fn delete_creative(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    svc.remove_creative(&p.0, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Writes `count` variants from a brief with the built-in template engine
/// (tone × audience × industry), fitted to the channel's limits, each with
/// image and video prompts, reviewed and stored.
#[utoipa::path(post, path = "/creatives/generate", tag = "creatives", request_body = GenerateRequest,
    responses((status = 201, body = Vec<CreativeView>), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn generate_creatives(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Json(req): Json<GenerateRequest>,
) -> Result<(StatusCode, AxumJson<Vec<CreativeView>>), ApiError> {
    Ok((
        StatusCode::CREATED,
        AxumJson(svc.generate(&p.0, &meta, req).await?),
    ))
}

/// Reviews copy against the ad policy, the organisation's rules and the
/// channel's limits, storing nothing.
#[utoipa::path(post, path = "/creatives/review", tag = "creatives", request_body = ReviewRequest,
    responses((status = 200, body = CreativeReview), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn review_creative(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignRead>,
    Json(req): Json<ReviewRequest>,
) -> Result<AxumJson<CreativeReview>, ApiError> {
    Ok(AxumJson(svc.review(&p.0.scope, req).await?))
}

/// Generates the creative's image from its image prompt through the
/// configured images endpoint (`[campaigns.llm] image_model`) and keeps its
/// address as the creative's media. 409 when no image model is configured.
#[utoipa::path(post, path = "/creatives/{id}/image", tag = "creatives",
    params(("id" = Uuid, Path, description = "Creative id")), request_body = Option<ImageRequest>,
    responses((status = 200, body = CreativeView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn creative_image(
    Service(svc): Service<CampaignsService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<AxumJson<CreativeView>, ApiError> {
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        ImageRequest::default()
    } else {
        kiki_server::extract::parse_json::<Option<ImageRequest>>(&body)?.unwrap_or_default()
    };
    Ok(AxumJson(svc.generate_image(&p.0, &meta, id, req).await?))
}

/// Rates a creative, 1 to 5 stars.
#[utoipa::path(post, path = "/creatives/{id}/rating", tag = "creatives",
    params(("id" = Uuid, Path, description = "Creative id")), request_body = RatingRequest,
    responses((status = 200, body = CreativeView), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn rate_creative(
    Service(svc): Service<CampaignsService>,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    Json(req): Json<RatingRequest>,
) -> Result<AxumJson<CreativeView>, ApiError> {
    Ok(AxumJson(svc.rate_creative(&p.0, id, req).await?))
}
