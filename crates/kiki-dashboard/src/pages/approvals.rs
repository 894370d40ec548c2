//! `/app/approvals`: the organisation's pending approval requests (a
//! launch or a budget raise), each with the budget asked for and the twin's
//! verdict, approved or rejected with a comment by a form POST with the
//! session's CSRF token; the decided requests below, most recent first.
//! With four-eyes on, the person who asked is not offered the buttons and
//! the campaigns service refuses their decision, which the page explains.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kiki_analytics_service::AnalyticsService;
use kiki_campaigns_service::CampaignsService;
use kiki_campaigns_service::domain::{
    ApprovalKind, ApprovalStatus, ApprovalView, Decision, DecisionRequest,
};
use kiki_core::{OrgId, PageRequest};
use kiki_identity::Permission;
use kiki_server::auth::Meta;
use kiki_server::{AppState, Service};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::PageError;
use crate::pages::campaigns::actor_label;
use crate::pages::overview::open;
use crate::pages::{chrome, read_form};
use crate::session::{Viewer, redirect};
use crate::views::{ApprovalRow, ApprovalsPage, Flash, Layout, html};

/// The most requests each list shows.
const ROWS: u32 = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ApprovalsQuery {
    /// What the last decision was (a key, never text).
    done: Option<String>,
}

fn when(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// The gate's reason after the verdict the sentence already says
/// ("Approved: the plan has…" → ": the plan has…").
fn why(reason: Option<&str>) -> String {
    match reason {
        None => ".".to_owned(),
        Some(r) => {
            let r = r
                .strip_prefix("Approved: ")
                .or_else(|| r.strip_prefix("Rejected: "))
                .unwrap_or(r);
            format!(": {r}")
        }
    }
}

fn row(v: &ApprovalView, viewer: &Viewer, campaign_query: &str, four_eyes: bool) -> ApprovalRow {
    let me = kiki_campaigns_service::service::actor_text(&viewer.principal.actor());
    let mine = v.requested_by == me;
    let (twin, twin_tone) = match (&v.kind, &v.gate) {
        (_, Some(g)) => match g.approved {
            Some(true) => (
                format!("The twin approves{}", why(g.reason.as_deref())),
                "approved",
            ),
            Some(false) => (
                format!("The twin refuses{}", why(g.reason.as_deref())),
                "refused",
            ),
            None => ("The twin's simulation is still running.".into(), "none"),
        },
        (ApprovalKind::BudgetIncrease, None) => (
            "No twin verdict: a budget raise is not simulated.".into(),
            "none",
        ),
        (ApprovalKind::Launch, None) => ("No twin verdict.".into(), "none"),
    };
    let pending = v.status == ApprovalStatus::Pending;
    ApprovalRow {
        id: v.id.to_string(),
        campaign_href: format!("/app/campaigns/{}?{campaign_query}", v.campaign_id),
        campaign_name: v.campaign_name.clone(),
        kind: match v.kind {
            ApprovalKind::Launch => "Launch".into(),
            ApprovalKind::BudgetIncrease => "Budget raise".into(),
        },
        status: v.status.as_str().to_owned(),
        daily_budget: format!("{} a day", v.daily_budget.text()),
        total_budget: v.total_budget.map(|t| format!("{} in all", t.text())),
        needs_override: pending
            && v.kind == ApprovalKind::Launch
            && v.gate.as_ref().and_then(|g| g.approved) == Some(false),
        twin,
        twin_tone,
        requested_by: actor_label(viewer, &v.requested_by),
        requested_at: when(v.created_at),
        reason: v.reason.clone(),
        comments: v
            .comments
            .iter()
            .map(|c| (actor_label(viewer, &c.author), c.body.clone()))
            .collect(),
        mine,
        can_decide: pending && viewer.can(Permission::BudgetApprove) && !(four_eyes && mine),
        decided_by: v.decided_by.as_deref().map(|b| actor_label(viewer, b)),
        decided_at: v.decided_at.map(when),
        decision_comment: v.decision_comment.clone(),
    }
}

/// `GET /app/approvals`.
pub async fn queue(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (viewer, range) = open(&app, &analytics, &headers, raw.as_deref()).await?;
    let q: ApprovalsQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| PageError::BadRequest(format!("The address is not valid: {e}.")))?;
    let scope = &viewer.principal.scope;
    let default_tz = viewer.time_zone(&analytics.config().default_time_zone);
    let settings = campaigns.settings(scope).await?;
    let page = PageRequest {
        limit: Some(ROWS),
        cursor: None,
    };
    let (pending, recent) = futures::try_join!(
        campaigns.approvals(scope, Some(ApprovalStatus::Pending), None, &page),
        campaigns.approvals(scope, None, None, &page),
    )?;
    let cq = range.query(&default_tz);
    let mut decided: Vec<&ApprovalView> = recent
        .items
        .iter()
        .filter(|a| a.status != ApprovalStatus::Pending)
        .collect();
    decided.sort_by(|a, b| {
        b.decided_at
            .unwrap_or(b.created_at)
            .cmp(&a.decided_at.unwrap_or(a.created_at))
    });
    let mut layout = Layout::public("Approvals");
    layout.chrome = Some(chrome(&viewer, "approvals", &range, &default_tz));
    layout.flash = match q.done.as_deref() {
        Some("approved") => Some("The request is approved."),
        Some("rejected") => Some("The request is rejected."),
        _ => None,
    }
    .map(|t| Flash {
        kind: "info",
        text: t.to_owned(),
    });
    let p = ApprovalsPage {
        layout,
        org: range.org.map(|o| o.to_string()),
        csrf: viewer.csrf.clone(),
        pending: pending
            .items
            .iter()
            .map(|v| row(v, &viewer, &cq, settings.four_eyes))
            .collect(),
        decided: decided
            .into_iter()
            .map(|v| row(v, &viewer, &cq, settings.four_eyes))
            .collect(),
        four_eyes: settings.four_eyes,
        may_decide: viewer.can(Permission::BudgetApprove),
    };
    Ok(html(StatusCode::OK, p.render()))
}

/// The decision form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DecisionForm {
    csrf: String,
    org: String,
    decision: String,
    comment: String,
    override_reason: String,
}

/// `POST /app/approvals/{id}/decision`: approve or reject with a comment.
pub async fn decide(
    State(app): State<AppState>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: DecisionForm = read_form(&body);
    let org = match f.org.trim() {
        "" => None,
        s => Some(OrgId(
            Uuid::parse_str(s).map_err(|_| PageError::NotFound("The organisation"))?,
        )),
    };
    let viewer = Viewer::load(&app.identity, &headers, org).await?;
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Permission::BudgetApprove)?;
    let id = Uuid::parse_str(&id).map_err(|_| PageError::NotFound("The approval"))?;
    let (decision, done) = match f.decision.as_str() {
        "approve" => (Decision::Approve, "approved"),
        "reject" => (Decision::Reject, "rejected"),
        _ => {
            return Err(PageError::BadRequest(
                "`decision` must be approve or reject.".into(),
            ));
        }
    };
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    campaigns
        .decide(
            &viewer.principal,
            &meta,
            id,
            DecisionRequest {
                decision,
                comment: text(&f.comment),
                override_reason: text(&f.override_reason),
            },
        )
        .await?;
    let mut p: Vec<(&str, String)> = Vec::new();
    if let Some(o) = org {
        p.push(("org", o.0.to_string()));
    }
    p.push(("done", done.to_owned()));
    Ok(redirect(&format!(
        "/app/approvals?{}",
        serde_urlencoded::to_string(&p).unwrap_or_default()
    )))
}
