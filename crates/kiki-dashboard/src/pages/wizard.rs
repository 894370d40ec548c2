//! `/app/campaigns/new…`: the create-campaign wizard, five steps that each
//! work as a plain form (htmx only enhances them):
//!
//! 1. **Goal** (`GET /app/campaigns/new`): a goal in words, a form
//!    (budget, currency, platforms, countries, target return and cost per
//!    result, dates, product, brand, kind) and a landing page for the
//!    planner to read. Posted to `/app/campaigns/new/plan`, which asks the
//!    campaigns service's planner and answers with step 2.
//! 2. **Plan** (unsaved: the answer of `/app/campaigns/new/plan`; saved:
//!    `/app/campaigns/new/{id}/plan`): the planned campaign with its ad sets
//!    as editable fields, and the planner's assumptions, guardrails and who
//!    planned it (the rule planner or a language model). "Save draft"
//!    stores the draft (`POST /app/campaigns/new`, or a rewrite of the
//!    stored one); from then on every step works on the stored draft, so a
//!    reload or the back button loses nothing. The service's field errors
//!    are shown by the field they name, with everything typed kept.
//! 3. **Creatives** (`/app/campaigns/new/{id}/creatives`): generated
//!    variants, edited copy and the person's own, each with its policy
//!    verdict and reasons; `…/review` answers the verdict of typed copy
//!    without storing it (htmx asks it as the person types).
//! 4. **Simulation** (`/app/campaigns/new/{id}/simulation`): the twin's
//!    simulation of the draft's plan, shown with the campaign page's twin
//!    partial; the simulation's id stays in the URL (`?sim=`).
//! 5. **Submit** (`/app/campaigns/new/{id}/submit`): the `submit` move,
//!    which runs the launch gate and waits for approval, then back to the
//!    campaign page with its message.
//!
//! Every step needs `campaign.write`; every POST carries the session's CSRF
//! token; a draft of another organisation is a 404.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kiki_analytics_service::AnalyticsService;
use kiki_campaigns::{Action, AssetSource, CampaignDraft, CampaignKind, CampaignStatus};
use kiki_campaigns_service::domain::{
    ActionRequest, CampaignView, CreativeReview, CreativeUpdate, CreativeView, GenerateRequest,
    NewCreative, ReviewRequest,
};
use kiki_campaigns_service::service::plan::PlanApiRequest;
use kiki_campaigns_service::{CampaignsError, CampaignsService};
use kiki_core::{Currency, FieldError, Money, OrgId, PageRequest};
use kiki_creative::{AdCopy, Channel, CreativeBrief, Tone};
use kiki_identity::Permission;
use kiki_planner::{AssumptionOrigin, CampaignPlan, GoalForm};
use kiki_server::auth::Meta;
use kiki_server::{AppState, Service};
use kiki_twin_service::TwinService;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::error::PageError;
use crate::forms::{plain_amount, positive_amount};
use crate::pages::campaigns::{twin_view, wire, words};
use crate::pages::chrome;
use crate::pages::overview::open;
use crate::range::Range;
use crate::session::{Viewer, redirect};
use crate::views::{Flash, Layout, TwinView, html};

/// The twin's industries, as a draft names them.
const INDUSTRIES: [&str; 8] = [
    "ecommerce",
    "saas",
    "mobile_apps",
    "professional_services",
    "education",
    "health",
    "finance",
    "general",
];
/// The steps, in order.
const STEPS: [(&str, &str); 5] = [
    ("goal", "Goal"),
    ("plan", "Plan"),
    ("creatives", "Creatives"),
    ("simulation", "Simulation"),
    ("submit", "Submit"),
];
/// The most creatives step 3 lists.
const MAX_CREATIVES: u32 = 100;
/// The most variants one "Generate" asks for.
const MAX_GENERATE: u32 = 5;

// ---------------------------------------------------------------- views

/// One step of the indicator.
#[derive(Debug, Clone)]
pub struct StepLink {
    pub number: usize,
    pub label: &'static str,
    /// A link when the step can be opened from here.
    pub href: Option<String>,
    pub current: bool,
}

/// A choice of a select or a group of checkboxes.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A form field as the wizard renders it (`wizard_field.html`).
#[derive(Debug, Clone, Default)]
pub struct Field {
    /// The form name, also the service's name for the field.
    pub name: String,
    pub id: String,
    pub label: String,
    pub hint: String,
    /// `text`, `textarea`, `date`, `url`, `number`, `select`, `checkboxes`.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<Opt>,
    pub error: Option<String>,
    /// `decimal` for amounts.
    pub inputmode: &'static str,
    /// Where htmx posts the form as the person types (its verdict), and
    /// the element the answer replaces.
    pub live_url: String,
    pub live_target: String,
}

impl Field {
    fn new(name: &str, label: &str, kind: &'static str, value: impl Into<String>) -> Field {
        Field {
            name: name.to_owned(),
            id: field_id(name),
            label: label.to_owned(),
            kind,
            value: value.into(),
            ..Field::default()
        }
    }

    fn hint(mut self, hint: &str) -> Field {
        self.hint = hint.to_owned();
        self
    }

    fn amount(mut self) -> Field {
        self.inputmode = "decimal";
        self
    }

    fn options(mut self, options: Vec<Opt>) -> Field {
        self.options = options;
        self
    }

    /// The ids of the hint and the error, for `aria-describedby`.
    pub fn describedby(&self) -> String {
        let mut ids = Vec::new();
        if !self.hint.is_empty() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }

    fn live(mut self, url: &str, target: &str) -> Field {
        self.live_url = url.to_owned();
        self.live_target = target.to_owned();
        self
    }
}

/// An HTML id for a field name (`ad_sets[0].name` → `f-ad_sets-0--name`).
fn field_id(name: &str) -> String {
    let mut id = String::from("f-");
    id.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        }
    }));
    id
}

/// A policy verdict with its reasons (`wizard_verdict.html`, also the
/// answer of the live review).
#[derive(Debug, Clone)]
pub struct VerdictView {
    /// `approved`, `needs_review`, `rejected`.
    pub verdict: String,
    pub label: String,
    pub reasons: Vec<String>,
}

/// One value of the plan and where it came from.
#[derive(Debug, Clone)]
pub struct AssumptionRow {
    pub field: String,
    pub value: String,
    pub origin: String,
}

/// Who planned it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannerInfo {
    /// `rules` or `llm`.
    pub kind: String,
    pub model: Option<String>,
    pub fallback_reason: Option<String>,
    pub repaired: bool,
    /// The landing page read, when one was.
    pub page_url: Option<String>,
}

impl PlannerInfo {
    /// The sentence the plan step shows.
    pub fn sentence(&self) -> String {
        let mut s = match (self.kind.as_str(), &self.model) {
            ("llm", Some(m)) => format!("Planned by the language model {m}"),
            ("llm", None) => "Planned by the configured language model".to_owned(),
            _ => "Planned by KIKI's rule planner".to_owned(),
        };
        if self.repaired {
            s.push_str(" (its first answer was invalid and was repaired)");
        }
        s.push('.');
        if let Some(r) = &self.fallback_reason {
            s.push_str(&format!(
                " A language model is configured but was not used: {r}"
            ));
        }
        if let Some(u) = &self.page_url {
            s.push_str(&format!(" The landing page {u} was read."));
        }
        s
    }
}

/// What the unsaved plan step carries from one POST to the next (a hidden
/// field): the planner's answer, so the assumptions stay on the page while
/// the person edits. The person's own edits are validated by the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Carried {
    plan: CampaignPlan,
    planner: PlannerInfo,
}

#[derive(Template)]
#[template(path = "wizard_goal.html")]
pub struct GoalPage {
    pub layout: Layout,
    pub steps: Vec<StepLink>,
    pub csrf: String,
    pub org: Option<String>,
    /// The goal in words and the landing page.
    pub intro: Vec<Field>,
    pub fields: Vec<Field>,
    pub errors: Vec<String>,
}

/// One ad set's fields on the plan step.
#[derive(Debug, Clone)]
pub struct AdSetFields {
    pub title: String,
    pub fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "wizard_plan.html")]
pub struct PlanPage {
    pub layout: Layout,
    pub steps: Vec<StepLink>,
    pub csrf: String,
    pub org: Option<String>,
    /// Where "Save draft" posts.
    pub action: String,
    /// The planner's answer, carried (the unsaved plan only).
    pub carried: Option<String>,
    pub planner: Option<String>,
    pub assumptions: Vec<AssumptionRow>,
    pub guardrails: Vec<String>,
    pub notes: Vec<String>,
    pub missing: Vec<String>,
    pub fields: Vec<Field>,
    pub ad_sets: Vec<AdSetFields>,
    pub errors: Vec<String>,
}

/// A stored creative on step 3.
#[derive(Debug, Clone)]
pub struct CreativeCard {
    pub id: String,
    pub channel: String,
    pub channel_label: String,
    pub source: String,
    /// The id of its verdict's element.
    pub target: String,
    pub verdict: VerdictView,
    pub fields: Vec<Field>,
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "wizard_creatives.html")]
pub struct CreativesPage {
    pub layout: Layout,
    pub steps: Vec<StepLink>,
    pub csrf: String,
    pub org: Option<String>,
    pub id: String,
    pub name: String,
    /// `?org=…` or empty, for the forms' actions.
    pub oq: String,
    pub creatives: Vec<CreativeCard>,
    pub generate: Vec<Field>,
    pub generate_errors: Vec<String>,
    pub own: Vec<Field>,
    pub own_verdict: Option<VerdictView>,
    pub own_target: String,
    /// On safety hold: a creative is rejected; "Release" is offered.
    pub held: bool,
    pub own_errors: Vec<String>,
    pub next_href: String,
}

#[derive(Template)]
#[template(path = "wizard_verdict.html")]
pub struct VerdictFragment {
    pub target: String,
    pub verdict: VerdictView,
}

#[derive(Template)]
#[template(path = "wizard_simulation.html")]
pub struct SimulationPage {
    pub layout: Layout,
    pub steps: Vec<StepLink>,
    pub csrf: String,
    pub org: Option<String>,
    pub id: String,
    pub name: String,
    pub oq: String,
    pub facts: Vec<(String, String)>,
    pub twin: Option<TwinView>,
    pub twin_missing: String,
    pub ran: bool,
    pub next_href: String,
}

#[derive(Template)]
#[template(path = "wizard_submit.html")]
pub struct SubmitPage {
    pub layout: Layout,
    pub steps: Vec<StepLink>,
    pub csrf: String,
    pub org: Option<String>,
    pub id: String,
    pub name: String,
    pub oq: String,
    pub facts: Vec<(String, String)>,
    pub error: Option<String>,
}

// ---------------------------------------------------------------- plumbing

/// The signed-in person on a wizard step: `campaign.write` in the active
/// (or named) organisation.
struct Ctx {
    viewer: Viewer,
    range: Range,
    org: Option<OrgId>,
    default_tz: String,
}

impl Ctx {
    /// `?org=…` when an organisation is named, else empty.
    fn oq(&self) -> String {
        self.org
            .map(|o| format!("?org={}", o.0))
            .unwrap_or_default()
    }

    fn org_text(&self) -> Option<String> {
        self.org.map(|o| o.0.to_string())
    }

    fn layout(&self, title: &str) -> Layout {
        let mut layout = Layout::public(title);
        layout.chrome = Some(chrome(
            &self.viewer,
            "campaigns",
            &self.range,
            &self.default_tz,
        ));
        layout
    }

    fn steps(&self, current: usize, id: Option<Uuid>) -> Vec<StepLink> {
        let oq = self.oq();
        STEPS
            .iter()
            .enumerate()
            .map(|(i, (key, label))| {
                let number = i + 1;
                let href = match (number, id) {
                    (1, None) => Some(format!("/app/campaigns/new{oq}")),
                    (1, Some(_)) => None,
                    (_, Some(id)) => Some(format!("/app/campaigns/new/{id}/{key}{oq}")),
                    _ => None,
                };
                StepLink {
                    number,
                    label,
                    href: href.filter(|_| number != current),
                    current: number == current,
                }
            })
            .collect()
    }
}

fn org_of(field: Option<&str>) -> Result<Option<OrgId>, PageError> {
    match field.map(str::trim).unwrap_or("") {
        "" => Ok(None),
        s => Uuid::parse_str(s)
            .map(|u| Some(OrgId(u)))
            .map_err(|_| PageError::NotFound("The organisation")),
    }
}

async fn enter(
    app: &AppState,
    analytics: &AnalyticsService,
    headers: &HeaderMap,
    org: Option<OrgId>,
    csrf: Option<&str>,
) -> Result<Ctx, PageError> {
    let raw = org.map(|o| format!("org={}", o.0)).unwrap_or_default();
    let (viewer, range) = open(app, analytics, headers, Some(raw.as_str())).await?;
    if let Some(token) = csrf {
        viewer.check_csrf(token)?;
    }
    viewer.require(Permission::CampaignWrite)?;
    let default_tz = viewer.time_zone(&analytics.config().default_time_zone);
    Ok(Ctx {
        viewer,
        range,
        org,
        default_tz,
    })
}

/// A step's GET: the organisation from the query string.
async fn enter_get(
    app: &AppState,
    analytics: &AnalyticsService,
    headers: &HeaderMap,
    raw: Option<&str>,
) -> Result<(Ctx, BTreeMap<String, String>), PageError> {
    let q = query_map(raw);
    let org = org_of(q.get("org").map(String::as_str))?;
    Ok((enter(app, analytics, headers, org, None).await?, q))
}

/// A step's POST: the organisation and the CSRF token from the form.
async fn enter_post(
    app: &AppState,
    analytics: &AnalyticsService,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Ctx, PageError> {
    let org = org_of(Some(form.get("org")))?;
    enter(app, analytics, headers, org, Some(form.get("csrf"))).await
}

fn query_map(raw: Option<&str>) -> BTreeMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// A posted form: every pair, in order (checkboxes repeat their name).
struct Form(Vec<(String, String)>);

impl Form {
    fn read(body: &[u8]) -> Form {
        Form(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    /// The last value of `name`, or empty.
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// A field as typed, at most `max` characters (what is shown again).
    fn typed(&self, name: &str) -> String {
        self.get(name).chars().take(5_000).collect()
    }
}

/// A draft of the viewer's organisation (another's is not there).
async fn draft_of(
    campaigns: &CampaignsService,
    ctx: &Ctx,
    id: &str,
) -> Result<CampaignView, PageError> {
    let id = Uuid::parse_str(id).map_err(|_| PageError::NotFound("The campaign"))?;
    campaigns
        .get(&ctx.viewer.principal.scope, id)
        .await?
        .ok_or(PageError::NotFound("The campaign"))
}

/// A campaign that left `draft` is shown on its own page; one on safety
/// hold (a creative the policy rejected) is fixed on the creatives step.
fn if_not_draft(c: &CampaignView, ctx: &Ctx) -> Option<Response> {
    match c.status {
        CampaignStatus::Draft => None,
        CampaignStatus::SafetyHold => Some(redirect(&format!(
            "/app/campaigns/new/{}/creatives{}",
            c.id,
            ctx.oq()
        ))),
        _ => Some(redirect(&format!("/app/campaigns/{}{}", c.id, ctx.oq()))),
    }
}

/// Field errors by the form's name for them; the rest as sentences.
struct Errors {
    by_field: BTreeMap<String, String>,
    general: Vec<String>,
}

impl Errors {
    fn new() -> Errors {
        Errors {
            by_field: BTreeMap::new(),
            general: Vec::new(),
        }
    }

    fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        self.by_field
            .entry(form_name(field))
            .and_modify(|m| {
                m.push(' ');
                m.push_str(&message);
            })
            .or_insert(message);
    }

    fn extend(&mut self, fields: &[FieldError]) {
        for f in fields {
            self.add(&f.field, f.message.clone());
        }
    }

    fn is_empty(&self) -> bool {
        self.by_field.is_empty() && self.general.is_empty()
    }

    /// Attaches the errors to the fields shown; what no field shows becomes
    /// a sentence naming it.
    fn attach(mut self, fields: &mut [&mut Field]) -> Vec<String> {
        for f in fields.iter_mut() {
            if let Some(m) = self.by_field.remove(&f.name) {
                f.error = Some(m);
            }
        }
        let mut out = self.general;
        out.extend(self.by_field.into_iter().map(|(k, m)| format!("{k}: {m}")));
        out
    }
}

/// The form's name for a field the service names: list items go to their
/// list (`copy.headlines[1]` → `copy.headlines`), a share in basis points
/// to its percentage field.
fn form_name(field: &str) -> String {
    let mut f = field.replace(".budget_share_bps", ".share");
    for list in [
        "targeting.countries",
        "targeting.genders",
        "copy.headlines",
        "copy.descriptions",
        "copy.paths",
        "form.countries",
        "form.channels",
    ] {
        if let Some(at) = f.find(&format!("{list}[")) {
            f.truncate(at + list.len());
        }
    }
    f.replace("targeting.age_max", "targeting.age_min")
}

fn invalid(e: CampaignsError) -> Result<Vec<FieldError>, PageError> {
    match e {
        CampaignsError::Invalid(fields) => Ok(fields),
        other => Err(other.into()),
    }
}

fn parse_date(s: &str) -> Option<Date> {
    Date::parse(
        s.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

fn date_text(d: Date) -> String {
    crate::pages::overview::day(d)
}

fn iso(d: Date) -> String {
    d.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// A percentage typed with at most two decimals (`60`, `33.33`, `12.5 %`)
/// as basis points.
fn percent_bps(s: &str) -> Result<u32, String> {
    let t = s.trim().trim_end_matches('%').trim();
    let bad = || "A percentage from 0.01 to 100, for example 60 or 33.33.".to_owned();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 3
    {
        return Err(bad());
    }
    let w: u32 = whole.parse().map_err(|_| bad())?;
    let f: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let bps = w * 100 + f;
    if bps == 0 || bps > 10_000 {
        return Err(bad());
    }
    Ok(bps)
}

fn bps_text(bps: u32) -> String {
    if bps.is_multiple_of(100) {
        (bps / 100).to_string()
    } else {
        format!("{}.{:02}", bps / 100, bps % 100)
            .trim_end_matches('0')
            .to_owned()
    }
}

/// A decimal typed into a field (`3`, `2.5`).
fn decimal(s: &str) -> Option<f64> {
    let t = s.trim();
    (!t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .then(|| t.parse::<f64>().ok())
        .flatten()
        .filter(|v| v.is_finite())
}

/// Country codes typed as a list (`DE, AT fr`).
fn countries(s: &str) -> Vec<String> {
    s.split([',', ' ', ';'])
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect()
}

/// Lines of a text area, empty ones left out.
fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn opt_text(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn channel_of(s: &str) -> Option<Channel> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_owned())).ok()
}

fn choices(values: &[(String, String)], selected: &str) -> Vec<Opt> {
    values
        .iter()
        .map(|(v, l)| Opt {
            value: v.clone(),
            label: l.clone(),
            selected: v == selected,
        })
        .collect()
}

fn channel_choices() -> Vec<(String, String)> {
    Channel::ALL
        .iter()
        .map(|c| (wire(c), c.display_name().to_owned()))
        .collect()
}

fn kind_choices(with_blank: bool) -> Vec<(String, String)> {
    let mut v = Vec::new();
    if with_blank {
        v.push((String::new(), "Let the planner choose".to_owned()));
    }
    for k in [
        CampaignKind::Shopping,
        CampaignKind::Leads,
        CampaignKind::AppInstalls,
    ] {
        let w = wire(&k);
        v.push((w.clone(), words(&w)));
    }
    v
}

fn verdict_of(review: &CreativeReview) -> VerdictView {
    let mut reasons: Vec<String> = review
        .policy
        .findings
        .iter()
        .map(|f| {
            if f.text.is_empty() {
                format!("{} ({})", f.reason, f.field)
            } else {
                format!("{} ({}: “{}”)", f.reason, f.field, f.text)
            }
        })
        .collect();
    reasons.extend(
        review
            .limits
            .iter()
            .map(|l| format!("{} ({})", l.message, l.field)),
    );
    let verdict = wire(&review.verdict);
    VerdictView {
        label: words(&verdict),
        verdict,
        reasons,
    }
}

fn origin_text(o: &AssumptionOrigin) -> String {
    match o {
        AssumptionOrigin::Given => "You gave it".to_owned(),
        AssumptionOrigin::Extracted { text, .. } => format!("Read from your goal: “{text}”"),
        AssumptionOrigin::FromPage { what } => format!("Read from the landing page ({what})"),
        AssumptionOrigin::Inferred { from } => format!("Inferred from {from}"),
        AssumptionOrigin::Defaulted { rule } => format!("Default: {rule}"),
    }
}

// ---------------------------------------------------------------- step 1

/// What step 1's form holds, as typed.
#[derive(Debug, Default)]
struct GoalInput {
    goal: String,
    url: String,
    currency: String,
    total_budget: String,
    daily_budget: String,
    channels: Vec<String>,
    countries: String,
    target_roi: String,
    max_cpa: String,
    start: String,
    end: String,
    product: String,
    brand: String,
    kind: String,
}

impl GoalInput {
    fn read(f: &Form) -> GoalInput {
        GoalInput {
            goal: f.typed("goal"),
            url: f.typed("url"),
            currency: f.typed("form.currency"),
            total_budget: f.typed("form.total_budget"),
            daily_budget: f.typed("form.daily_budget"),
            channels: f.all("form.channels"),
            countries: f.typed("form.countries"),
            target_roi: f.typed("form.target_roi"),
            max_cpa: f.typed("form.max_cpa"),
            start: f.typed("form.start"),
            end: f.typed("form.end"),
            product: f.typed("form.product"),
            brand: f.typed("form.brand"),
            kind: f.typed("form.kind"),
        }
    }
}

fn goal_page(ctx: &Ctx, input: &GoalInput, errors: Errors) -> GoalPage {
    let mut goal = Field::new("goal", "Your goal in words", "textarea", &input.goal).hint(
        "For example: Sell 200 pairs of running shoes in Germany at a CPA under €25 with €5,000 a month.",
    );
    // The planner reads a landing page (the service fetches it): offered.
    let mut url = Field::new("url", "Landing page to read", "url", &input.url).hint(
        "The planner reads its title, description, brand, products and industry (public pages only).",
    );
    let mut fields = vec![
        Field::new("form.product", "Product or offer", "text", &input.product),
        Field::new("form.brand", "Brand", "text", &input.brand),
        Field::new("form.kind", "Kind of campaign", "select", "")
            .options(choices(&kind_choices(true), &input.kind)),
        Field::new("form.currency", "Currency", "text", &input.currency)
            .hint("A three-letter code such as USD or EUR; empty for USD."),
        Field::new(
            "form.total_budget",
            "Total budget",
            "text",
            &input.total_budget,
        )
        .amount(),
        Field::new(
            "form.daily_budget",
            "Daily budget",
            "text",
            &input.daily_budget,
        )
        .amount(),
        Field::new("form.channels", "Platforms", "checkboxes", "").options(
            channel_choices()
                .into_iter()
                .map(|(v, l)| Opt {
                    selected: input.channels.contains(&v),
                    value: v,
                    label: l,
                })
                .collect(),
        ),
        Field::new("form.countries", "Countries", "text", &input.countries)
            .hint("Two-letter codes separated by commas, such as DE, AT."),
        Field::new(
            "form.target_roi",
            "Target return on ad spend",
            "text",
            &input.target_roi,
        )
        .hint("Revenue per unit of spend, for example 3 for 3×.")
        .amount(),
        Field::new(
            "form.max_cpa",
            "Target cost per result",
            "text",
            &input.max_cpa,
        )
        .hint("The most one sale or lead may cost.")
        .amount(),
        Field::new("form.start", "Start", "date", &input.start),
        Field::new("form.end", "End", "date", &input.end),
    ];
    let mut refs: Vec<&mut Field> = vec![&mut goal, &mut url];
    refs.extend(fields.iter_mut());
    let errors = errors.attach(&mut refs);
    GoalPage {
        layout: ctx.layout("New campaign: goal"),
        steps: ctx.steps(1, None),
        csrf: ctx.viewer.csrf.clone(),
        org: ctx.org_text(),
        intro: vec![goal, url],
        fields,
        errors,
    }
}

/// `GET /app/campaigns/new`: step 1.
pub async fn goal(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (ctx, _) = enter_get(&app, &analytics, &headers, raw.as_deref()).await?;
    let page = goal_page(&ctx, &GoalInput::default(), Errors::new());
    Ok(html(StatusCode::OK, page.render()))
}

/// What step 1's form asks of the planner, and the values the plan takes
/// as typed (dates and the cost per result).
struct GoalAsk {
    request: PlanApiRequest,
    start: Option<Date>,
    end: Option<Date>,
    max_cpa: Option<Money>,
}

fn goal_ask(input: &GoalInput, errors: &mut Errors) -> Option<GoalAsk> {
    let typed_currency = !input.currency.trim().is_empty();
    let currency = match Currency::parse(input.currency.trim()) {
        Ok(c) => c,
        Err(_) if !typed_currency => Currency::USD,
        Err(_) => {
            errors.add(
                "form.currency",
                "A three-letter currency code such as USD or EUR.",
            );
            Currency::USD
        }
    };
    let mut amount = |name: &str, typed: &str| -> Option<Money> {
        if typed.trim().is_empty() {
            return None;
        }
        match positive_amount(typed, currency) {
            Ok(m) => Some(m),
            Err(m) => {
                errors.add(name, m);
                None
            }
        }
    };
    let total_budget = amount("form.total_budget", &input.total_budget);
    let daily_budget = amount("form.daily_budget", &input.daily_budget);
    let max_cpa = amount("form.max_cpa", &input.max_cpa);
    let target_roi = match input.target_roi.trim() {
        "" => None,
        t => match decimal(t).filter(|v| *v > 0.0 && *v <= 100.0) {
            Some(v) => Some(v),
            None => {
                errors.add(
                    "form.target_roi",
                    "A number above 0 and at most 100, such as 3.",
                );
                None
            }
        },
    };
    let mut date = |name: &str, typed: &str| -> Option<Date> {
        if typed.trim().is_empty() {
            return None;
        }
        let d = parse_date(typed);
        if d.is_none() {
            errors.add(name, "A date such as 2026-05-01.");
        }
        d
    };
    let start = date("form.start", &input.start);
    let end = date("form.end", &input.end);
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        errors.add("form.end", "Not before the start.");
    }
    let mut channels = Vec::new();
    for c in &input.channels {
        match channel_of(c) {
            Some(ch) => channels.push(ch),
            None => errors.add("form.channels", format!("“{c}” is not a platform.")),
        }
    }
    let kind = match input.kind.trim() {
        "" => None,
        k => {
            let parsed: Option<CampaignKind> =
                serde_json::from_value(serde_json::Value::String(k.to_owned())).ok();
            if parsed.is_none() {
                errors.add("form.kind", "Shopping, leads or app installs.");
            }
            parsed
        }
    };
    if !errors.is_empty() {
        return None;
    }
    let form = GoalForm {
        product: opt_text(&input.product),
        brand: opt_text(&input.brand),
        total_budget,
        daily_budget,
        duration_days: match (start, end) {
            (Some(s), Some(e)) => u32::try_from((e - s).whole_days() + 1).ok(),
            _ => None,
        },
        target_roi,
        countries: countries(&input.countries),
        kind,
        channels,
        ..GoalForm::default()
    };
    let form = (form != GoalForm::default()).then_some(form);
    let goal = opt_text(&input.goal);
    let url = opt_text(&input.url);
    if goal.is_none() && form.is_none() && url.is_none() {
        errors.add(
            "goal",
            "Write your goal, fill in some of the form or give a landing page to read.",
        );
        return None;
    }
    Some(GoalAsk {
        request: PlanApiRequest {
            goal,
            form,
            url,
            currency: typed_currency.then_some(currency),
        },
        start,
        end,
        max_cpa,
    })
}

/// `POST /app/campaigns/new/plan`: the planner's answer as step 2 (nothing
/// stored yet); a problem shows step 1 again with what was typed.
pub async fn plan(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let input = GoalInput::read(&f);
    let mut errors = Errors::new();
    let Some(ask) = goal_ask(&input, &mut errors) else {
        let page = goal_page(&ctx, &input, errors);
        return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()));
    };
    let view = match campaigns
        .plan(&ctx.viewer.principal, &meta, ask.request)
        .await
    {
        Ok(v) => v,
        Err(e) => {
            errors.extend(&invalid(e)?);
            let page = goal_page(&ctx, &input, errors);
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()));
        }
    };
    let mut plan = view.plan;
    // Dates and the cost per result typed on step 1 are the plan's.
    let given = |plan: &mut CampaignPlan, field: &str, value: String| {
        plan.assumptions.retain(|a| a.field != field);
        plan.assumptions.push(kiki_planner::Assumption {
            field: field.to_owned(),
            value,
            origin: AssumptionOrigin::Given,
        });
    };
    if let Some(s) = ask.start {
        plan.draft.schedule.start = s;
        given(&mut plan, "draft.schedule.start", iso(s));
    }
    if let Some(e) = ask.end {
        plan.draft.schedule.end = Some(e);
        given(&mut plan, "draft.schedule.end", iso(e));
    }
    if let Some(m) = ask.max_cpa
        && m.currency == plan.draft.currency
    {
        plan.draft.max_cpa = Some(m);
        given(&mut plan, "draft.max_cpa", m.text().to_string());
    }
    let carried = Carried {
        planner: PlannerInfo {
            kind: view.planner.kind.clone(),
            model: view.planner.model.clone(),
            fallback_reason: view.planner.fallback_reason.clone(),
            repaired: view.planner.repaired,
            page_url: view.page.as_ref().map(|p| p.url.clone()),
        },
        plan,
    };
    let form = PlanForm::of(&carried.plan.draft);
    let page = plan_page(&ctx, None, Some(&carried), &form, Errors::new());
    Ok(html(StatusCode::OK, page.render()))
}

// ---------------------------------------------------------------- step 2

/// The plan's fields as typed (strings, so a refused value is shown as it
/// was typed).
#[derive(Debug, Clone, Default)]
struct PlanForm {
    name: String,
    objective: String,
    kind: String,
    brand_name: String,
    landing_url: String,
    industry: String,
    currency: String,
    daily_budget: String,
    total_budget: String,
    start: String,
    end: String,
    time_zone: String,
    target_roi: String,
    max_cpa: String,
    asset_source: String,
    ad_sets: Vec<AdSetForm>,
}

#[derive(Debug, Clone, Default)]
struct AdSetForm {
    name: String,
    channel: String,
    share: String,
    countries: String,
    age_min: String,
    age_max: String,
    gender: String,
}

impl PlanForm {
    fn of(d: &CampaignDraft) -> PlanForm {
        PlanForm {
            name: d.name.clone(),
            objective: d.objective.clone(),
            kind: wire(&d.kind),
            brand_name: d.brand_name.clone(),
            landing_url: d.landing_url.clone(),
            industry: d.industry.clone(),
            currency: d.currency.as_str().to_owned(),
            daily_budget: if d.daily_budget.micros > 0 {
                plain_amount(d.daily_budget)
            } else {
                String::new()
            },
            total_budget: d.total_budget.map(plain_amount).unwrap_or_default(),
            start: iso(d.schedule.start),
            end: d.schedule.end.map(iso).unwrap_or_default(),
            time_zone: d.schedule.time_zone.clone(),
            target_roi: d.target_roi.map(|r| format!("{r}")).unwrap_or_default(),
            max_cpa: d.max_cpa.map(plain_amount).unwrap_or_default(),
            asset_source: wire(&d.asset_source),
            ad_sets: d
                .ad_sets
                .iter()
                .map(|a| AdSetForm {
                    name: a.name.clone(),
                    channel: wire(&a.channel),
                    share: bps_text(a.budget_share_bps),
                    countries: a.targeting.countries.join(", "),
                    age_min: a
                        .targeting
                        .age_min
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    age_max: a
                        .targeting
                        .age_max
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    gender: match a.targeting.genders.as_slice() {
                        [g] => g.clone(),
                        _ => String::new(),
                    },
                })
                .collect(),
        }
    }

    fn read(f: &Form, count: usize) -> PlanForm {
        PlanForm {
            name: f.typed("name"),
            objective: f.typed("objective"),
            kind: f.typed("kind"),
            brand_name: f.typed("brand_name"),
            landing_url: f.typed("landing_url"),
            industry: f.typed("industry"),
            currency: f.typed("currency"),
            daily_budget: f.typed("daily_budget"),
            total_budget: f.typed("total_budget"),
            start: f.typed("schedule.start"),
            end: f.typed("schedule.end"),
            time_zone: f.typed("schedule.time_zone"),
            target_roi: f.typed("target_roi"),
            max_cpa: f.typed("max_cpa"),
            asset_source: f.typed("asset_source"),
            ad_sets: (0..count)
                .map(|i| {
                    let at = |k: &str| f.typed(&format!("ad_sets[{i}].{k}"));
                    AdSetForm {
                        name: at("name"),
                        channel: at("channel"),
                        share: at("share"),
                        countries: at("targeting.countries"),
                        age_min: at("targeting.age_min"),
                        age_max: at("targeting.age_max"),
                        gender: at("targeting.genders"),
                    }
                })
                .collect(),
        }
    }

    /// The draft `base` with the form's values, or what is wrong with
    /// them (checked here: what the service cannot read; the rest is the
    /// service's to say).
    fn apply(&self, base: &CampaignDraft, errors: &mut Errors) -> Option<CampaignDraft> {
        let mut d = base.clone();
        d.name = self.name.trim().to_owned();
        d.objective = self.objective.trim().to_owned();
        d.brand_name = self.brand_name.trim().to_owned();
        d.landing_url = self.landing_url.trim().to_owned();
        d.industry = self.industry.trim().to_owned();
        match serde_json::from_value::<CampaignKind>(serde_json::Value::String(self.kind.clone())) {
            Ok(k) => d.kind = k,
            Err(_) => errors.add("kind", "Shopping, leads or app installs."),
        }
        match serde_json::from_value::<AssetSource>(serde_json::Value::String(
            self.asset_source.clone(),
        )) {
            Ok(a) => d.asset_source = a,
            Err(_) => errors.add("asset_source", "Generated, your own or both."),
        }
        let currency = match Currency::parse(self.currency.trim()) {
            Ok(c) => c,
            Err(_) => {
                errors.add(
                    "currency",
                    "A three-letter currency code such as USD or EUR.",
                );
                return None;
            }
        };
        d.currency = currency;
        match positive_amount(&self.daily_budget, currency) {
            Ok(m) => d.daily_budget = m,
            Err(m) => errors.add("daily_budget", m),
        }
        let optional = |name: &str, typed: &str, errors: &mut Errors| -> Option<Money> {
            if typed.trim().is_empty() {
                return None;
            }
            positive_amount(typed, currency)
                .map_err(|m| errors.add(name, m))
                .ok()
        };
        d.total_budget = optional("total_budget", &self.total_budget, errors);
        d.max_cpa = optional("max_cpa", &self.max_cpa, errors);
        d.target_roi = match self.target_roi.trim() {
            "" => None,
            t => match decimal(t) {
                Some(v) => Some(v),
                None => {
                    errors.add("target_roi", "A number such as 3 for 3×.");
                    None
                }
            },
        };
        match parse_date(&self.start) {
            Some(s) => d.schedule.start = s,
            None => errors.add("schedule.start", "A date such as 2026-05-01."),
        }
        d.schedule.end = match self.end.trim() {
            "" => None,
            e => match parse_date(e) {
                Some(e) => Some(e),
                None => {
                    errors.add(
                        "schedule.end",
                        "A date such as 2026-05-31, or empty for no end.",
                    );
                    None
                }
            },
        };
        d.schedule.time_zone = self.time_zone.trim().to_owned();
        for (i, (a, set)) in self.ad_sets.iter().zip(d.ad_sets.iter_mut()).enumerate() {
            let at = |k: &str| format!("ad_sets[{i}].{k}");
            set.name = a.name.trim().to_owned();
            match channel_of(&a.channel) {
                Some(c) => set.channel = c,
                None => errors.add(&at("channel"), "Choose a platform."),
            }
            match percent_bps(&a.share) {
                Ok(b) => set.budget_share_bps = b,
                Err(m) => errors.add(&at("share"), m),
            }
            set.targeting.countries = countries(&a.countries);
            let age = |s: &str| -> Result<Option<u8>, ()> {
                match s.trim() {
                    "" => Ok(None),
                    t => t.parse::<u8>().map(Some).map_err(|_| ()),
                }
            };
            match (age(&a.age_min), age(&a.age_max)) {
                (Ok(lo), Ok(hi)) => {
                    set.targeting.age_min = lo;
                    set.targeting.age_max = hi;
                }
                _ => errors.add(
                    &at("targeting.age_min"),
                    "Ages from 13 to 65, the minimum not above the maximum.",
                ),
            }
            set.targeting.genders = match a.gender.trim() {
                "" => Vec::new(),
                g => vec![g.to_owned()],
            };
            if let Some(cap) = set.bid_cap.as_mut() {
                cap.currency = currency;
            }
        }
        errors.is_empty().then_some(d)
    }
}

fn plan_page(
    ctx: &Ctx,
    id: Option<Uuid>,
    carried: Option<&Carried>,
    form: &PlanForm,
    errors: Errors,
) -> PlanPage {
    let industries: Vec<(String, String)> = INDUSTRIES
        .iter()
        .map(|i| ((*i).to_owned(), words(i)))
        .collect();
    let sources: Vec<(String, String)> = [
        (AssetSource::Generated, "Generated by KIKI"),
        (AssetSource::UserProvided, "Your own"),
        (AssetSource::Hybrid, "Both"),
    ]
    .iter()
    .map(|(a, l)| (wire(a), (*l).to_owned()))
    .collect();
    let mut fields = vec![
        Field::new("name", "Name", "text", &form.name),
        Field::new("objective", "Goal", "textarea", &form.objective),
        Field::new("kind", "Kind", "select", "").options(choices(&kind_choices(false), &form.kind)),
        Field::new("brand_name", "Brand", "text", &form.brand_name),
        Field::new("landing_url", "Landing page", "url", &form.landing_url),
        Field::new("industry", "Industry", "select", "")
            .options(choices(&industries, &form.industry)),
        Field::new("currency", "Currency", "text", &form.currency),
        Field::new("daily_budget", "Daily budget", "text", &form.daily_budget).amount(),
        Field::new("total_budget", "Total budget", "text", &form.total_budget)
            .hint("Optional: at least one day of the daily budget.")
            .amount(),
        Field::new("schedule.start", "Start", "date", &form.start),
        Field::new("schedule.end", "End", "date", &form.end).hint("Optional."),
        Field::new("schedule.time_zone", "Time zone", "text", &form.time_zone)
            .hint("UTC or a zone name such as Europe/Berlin."),
        Field::new(
            "target_roi",
            "Target return on ad spend",
            "text",
            &form.target_roi,
        )
        .hint("Optional: 3 for 3×.")
        .amount(),
        Field::new("max_cpa", "Most per result", "text", &form.max_cpa)
            .hint("Optional.")
            .amount(),
        Field::new("asset_source", "Creatives", "select", "")
            .options(choices(&sources, &form.asset_source)),
    ];
    let genders: [(String, String); 3] = [
        (String::new(), "Everyone".into()),
        ("female".into(), "Women".into()),
        ("male".into(), "Men".into()),
    ];
    let mut ad_sets: Vec<AdSetFields> = form
        .ad_sets
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let n = |k: &str| format!("ad_sets[{i}].{k}");
            AdSetFields {
                title: format!("Ad set {}", i + 1),
                fields: vec![
                    Field::new(&n("name"), "Name", "text", &a.name),
                    Field::new(&n("channel"), "Platform", "select", "")
                        .options(choices(&channel_choices(), &a.channel)),
                    Field::new(
                        &n("share"),
                        "Share of the daily budget (%)",
                        "text",
                        &a.share,
                    )
                    .amount(),
                    Field::new(&n("targeting.countries"), "Countries", "text", &a.countries)
                        .hint("Two-letter codes; empty for the platform's default."),
                    Field::new(&n("targeting.age_min"), "Youngest", "number", &a.age_min),
                    Field::new(&n("targeting.age_max"), "Oldest", "number", &a.age_max),
                    Field::new(&n("targeting.genders"), "Who", "select", "")
                        .options(choices(&genders, &a.gender)),
                ],
            }
        })
        .collect();
    let mut refs: Vec<&mut Field> = fields.iter_mut().collect();
    for s in ad_sets.iter_mut() {
        refs.extend(s.fields.iter_mut());
    }
    let errors = errors.attach(&mut refs);
    let (planner, assumptions, guardrails, notes, missing) = match carried {
        Some(c) => {
            let p = &c.plan;
            let mut notes = vec![
                format!("Customer value: {} ({}).", p.ltv.value.text(), p.ltv.source),
                format!(
                    "Contribution margin: {} % ({}).",
                    bps_text(p.margin_bps),
                    p.margin_source
                ),
            ];
            if let Some(m) = &p.max_cpa {
                notes.push(format!(
                    "Most per new customer: {} ({}).",
                    m.value.text(),
                    m.source
                ));
            }
            notes.extend(p.channel_mix.iter().map(|s| {
                format!(
                    "{}: {} % of the daily budget ({}).",
                    s.channel.display_name(),
                    bps_text(s.share_bps),
                    s.source
                )
            }));
            notes.extend(
                p.restricted
                    .iter()
                    .map(|r| format!("Restricted category: {}", r.requirement)),
            );
            (
                Some(c.planner.sentence()),
                p.assumptions
                    .iter()
                    .map(|a| AssumptionRow {
                        field: a.field.trim_start_matches("draft.").to_owned(),
                        value: a.value.clone(),
                        origin: origin_text(&a.origin),
                    })
                    .collect(),
                p.guardrails
                    .iter()
                    .map(|g| format!("{} ({}, {}).", g.reason, g.field, wire(&g.action)))
                    .collect(),
                notes,
                p.missing.clone(),
            )
        }
        None => (None, Vec::new(), Vec::new(), Vec::new(), Vec::new()),
    };
    let oq = ctx.oq();
    PlanPage {
        layout: ctx.layout("New campaign: plan"),
        steps: ctx.steps(2, id),
        csrf: ctx.viewer.csrf.clone(),
        org: ctx.org_text(),
        action: match id {
            Some(id) => format!("/app/campaigns/new/{id}/plan{oq}"),
            None => format!("/app/campaigns/new{oq}"),
        },
        carried: carried.and_then(|c| serde_json::to_string(c).ok()),
        planner,
        assumptions,
        guardrails,
        notes,
        missing,
        fields,
        ad_sets,
        errors,
    }
}

/// `POST /app/campaigns/new`: "Save draft" of the unsaved plan.
pub async fn save_new(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let carried: Carried = serde_json::from_str(f.get("plan")).map_err(|_| {
        PageError::BadRequest(
            "The plan did not come back with the form. Start again from the goal.".into(),
        )
    })?;
    let form = PlanForm::read(&f, carried.plan.draft.ad_sets.len());
    let mut errors = Errors::new();
    if let Some(draft) = form.apply(&carried.plan.draft, &mut errors) {
        match campaigns.create(&ctx.viewer.principal, &meta, draft).await {
            Ok(v) => {
                return Ok(redirect(&format!(
                    "/app/campaigns/new/{}/creatives{}",
                    v.id,
                    ctx.oq()
                )));
            }
            Err(e) => errors.extend(&invalid(e)?),
        }
    }
    let page = plan_page(&ctx, None, Some(&carried), &form, errors);
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
}

/// `GET /app/campaigns/new/{id}/plan`: the stored draft's plan.
pub async fn plan_saved(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (ctx, _) = enter_get(&app, &analytics, &headers, raw.as_deref()).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    if let Some(r) = if_not_draft(&c, &ctx) {
        return Ok(r);
    }
    let page = plan_page(
        &ctx,
        Some(c.id),
        None,
        &PlanForm::of(&c.draft),
        Errors::new(),
    );
    Ok(html(StatusCode::OK, page.render()))
}

/// `POST /app/campaigns/new/{id}/plan`: the stored draft rewritten.
pub async fn save_plan(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    let form = PlanForm::read(&f, c.draft.ad_sets.len());
    let mut errors = Errors::new();
    if let Some(draft) = form.apply(&c.draft, &mut errors) {
        match campaigns
            .rewrite(&ctx.viewer.principal, &meta, c.id, draft)
            .await
        {
            Ok(v) => {
                return Ok(redirect(&format!(
                    "/app/campaigns/new/{}/creatives{}",
                    v.id,
                    ctx.oq()
                )));
            }
            Err(e) => errors.extend(&invalid(e)?),
        }
    }
    let page = plan_page(&ctx, Some(c.id), None, &form, errors);
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
}

// ---------------------------------------------------------------- step 3

/// Copy typed into a creative's form.
#[derive(Debug, Clone, Default)]
struct CopyForm {
    channel: String,
    headlines: String,
    descriptions: String,
    primary_text: String,
    media_url: String,
}

impl CopyForm {
    fn read(f: &Form) -> CopyForm {
        CopyForm {
            channel: f.typed("channel"),
            headlines: f.typed("copy.headlines"),
            descriptions: f.typed("copy.descriptions"),
            primary_text: f.typed("copy.primary_text"),
            media_url: f.typed("media_url"),
        }
    }

    fn of(v: &CreativeView) -> CopyForm {
        CopyForm {
            channel: wire(&v.channel),
            headlines: v.copy.headlines.join("\n"),
            descriptions: v.copy.descriptions.join("\n"),
            primary_text: v.copy.primary_text.clone().unwrap_or_default(),
            media_url: v.media_url.clone().unwrap_or_default(),
        }
    }

    fn copy(&self) -> AdCopy {
        AdCopy {
            headlines: lines(&self.headlines),
            descriptions: lines(&self.descriptions),
            primary_text: opt_text(&self.primary_text),
            paths: Vec::new(),
        }
    }

    /// The fields, each reviewed as the person types (`target`: the
    /// verdict's element).
    fn fields(&self, prefix: &str, review_url: &str, target: &str) -> Vec<Field> {
        let id = |f: Field| Field {
            id: format!("{prefix}-{}", f.id),
            ..f
        };
        vec![
            id(
                Field::new("copy.headlines", "Headlines", "textarea", &self.headlines)
                    .hint("One a line.")
                    .live(review_url, target),
            ),
            id(Field::new(
                "copy.descriptions",
                "Descriptions",
                "textarea",
                &self.descriptions,
            )
            .hint("One a line.")
            .live(review_url, target)),
            id(Field::new(
                "copy.primary_text",
                "Primary text",
                "textarea",
                &self.primary_text,
            )
            .live(review_url, target)),
        ]
    }
}

/// The generate form as typed.
#[derive(Debug, Clone, Default)]
struct BriefForm {
    channel: String,
    product: String,
    key_message: String,
    audience: String,
    tone: String,
    count: String,
}

impl BriefForm {
    fn of(c: &CampaignView) -> BriefForm {
        let t = c.draft.ad_sets.first().map(|a| &a.targeting);
        let mut audience = String::from("People");
        if let Some(t) = t {
            match t.genders.as_slice() {
                [g] if g == "female" => audience = "Women".into(),
                [g] if g == "male" => audience = "Men".into(),
                _ => {}
            }
            if let (Some(lo), Some(hi)) = (t.age_min, t.age_max) {
                audience.push_str(&format!(" aged {lo}–{hi}"));
            }
            if !t.countries.is_empty() {
                audience.push_str(&format!(" in {}", t.countries.join(", ")));
            }
        }
        BriefForm {
            channel: c
                .draft
                .ad_sets
                .first()
                .map(|a| wire(&a.channel))
                .unwrap_or_default(),
            product: c.draft.name.clone(),
            key_message: c.draft.objective.chars().take(500).collect(),
            audience,
            tone: wire(&Tone::default()),
            count: "3".into(),
        }
    }

    fn read(f: &Form) -> BriefForm {
        BriefForm {
            channel: f.typed("channel"),
            product: f.typed("brief.product"),
            key_message: f.typed("brief.key_message"),
            audience: f.typed("brief.audience"),
            tone: f.typed("brief.tone"),
            count: f.typed("count"),
        }
    }
}

fn campaign_channels(c: &CampaignView) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for a in &c.draft.ad_sets {
        let w = wire(&a.channel);
        if !out.iter().any(|(v, _)| *v == w) {
            out.push((w, a.channel.display_name().to_owned()));
        }
    }
    out
}

/// What step 3 shows besides the stored creatives.
#[derive(Default)]
struct CreativesState {
    brief: Option<BriefForm>,
    brief_errors: Option<Errors>,
    own: Option<CopyForm>,
    own_errors: Option<Errors>,
    own_verdict: Option<VerdictView>,
    /// A creative whose edit was refused: its id, the copy typed, why.
    edited: Option<(Uuid, CopyForm, Errors)>,
}

async fn creatives_page(
    campaigns: &CampaignsService,
    ctx: &Ctx,
    c: &CampaignView,
    state: CreativesState,
) -> Result<CreativesPage, PageError> {
    let oq = ctx.oq();
    let base = format!("/app/campaigns/new/{}", c.id);
    let review_url = format!("{base}/review{oq}");
    let list = campaigns
        .creatives(
            &ctx.viewer.principal.scope,
            Some(c.id),
            &PageRequest {
                limit: Some(MAX_CREATIVES),
                cursor: None,
            },
        )
        .await?;
    let mut edited = state.edited;
    let creatives = list
        .items
        .iter()
        .rev()
        .map(|v| {
            let target = format!("verdict-{}", v.id);
            let (form, errors) = match edited.take() {
                Some((id, form, errors)) if id == v.id => (form, Some(errors)),
                other => {
                    edited = other;
                    (CopyForm::of(v), None)
                }
            };
            let mut fields = form.fields(&format!("c-{}", v.id.simple()), &review_url, &target);
            let errors = match errors {
                Some(e) => {
                    let mut refs: Vec<&mut Field> = fields.iter_mut().collect();
                    e.attach(&mut refs)
                }
                None => Vec::new(),
            };
            CreativeCard {
                target: target.clone(),
                id: v.id.to_string(),
                channel: wire(&v.channel),
                channel_label: v.channel.display_name().to_owned(),
                source: match wire(&v.source).as_str() {
                    "user" => "Your own".to_owned(),
                    _ => format!("Generated, variation {}", v.variation),
                },
                verdict: verdict_of(&v.review),
                fields,
                errors,
            }
        })
        .collect();
    let channels = campaign_channels(c);
    let brief = state.brief.unwrap_or_else(|| BriefForm::of(c));
    let tones: Vec<(String, String)> = Tone::ALL
        .iter()
        .map(|t| {
            let w = wire(t);
            (w.clone(), words(&w))
        })
        .collect();
    let mut generate = vec![
        Field::new("channel", "Platform", "select", "").options(choices(&channels, &brief.channel)),
        Field::new("brief.product", "Product or offer", "text", &brief.product),
        Field::new(
            "brief.key_message",
            "Key message",
            "textarea",
            &brief.key_message,
        ),
        Field::new("brief.audience", "Audience", "text", &brief.audience),
        Field::new("brief.tone", "Tone", "select", "").options(choices(&tones, &brief.tone)),
        Field::new("count", "How many variants", "number", &brief.count).hint("1 to 5."),
    ];
    let generate_errors = match state.brief_errors {
        Some(e) => {
            let mut refs: Vec<&mut Field> = generate.iter_mut().collect();
            e.attach(&mut refs)
        }
        None => Vec::new(),
    };
    let own_form = state.own.unwrap_or_else(|| CopyForm {
        channel: channels.first().map(|(v, _)| v.clone()).unwrap_or_default(),
        ..CopyForm::default()
    });
    let mut own = vec![
        Field::new("channel", "Platform", "select", "")
            .options(choices(&channels, &own_form.channel)),
    ];
    own.extend(own_form.fields("own", &review_url, "verdict-own"));
    own.push(
        Field::new(
            "media_url",
            "Image or video address",
            "url",
            &own_form.media_url,
        )
        .hint("Optional: an http or https address."),
    );
    let own_errors = match state.own_errors {
        Some(e) => {
            let mut refs: Vec<&mut Field> = own.iter_mut().collect();
            e.attach(&mut refs)
        }
        None => Vec::new(),
    };
    let held = c.status == CampaignStatus::SafetyHold;
    let mut layout = ctx.layout("New campaign: creatives");
    if held {
        layout.flash = Some(Flash {
            kind: "error",
            text:
                "A creative is rejected by the policy review, so the campaign is on safety hold. \
                   Change its copy until it passes, then release the campaign back to draft."
                    .into(),
        });
    }
    Ok(CreativesPage {
        held,
        layout,
        steps: ctx.steps(3, Some(c.id)),
        csrf: ctx.viewer.csrf.clone(),
        org: ctx.org_text(),
        id: c.id.to_string(),
        name: c.draft.name.clone(),
        oq: oq.clone(),
        creatives,
        generate,
        generate_errors,
        own,
        own_verdict: state.own_verdict,
        own_target: "verdict-own".to_owned(),
        own_errors,
        next_href: format!("{base}/simulation{oq}"),
    })
}

/// `GET /app/campaigns/new/{id}/creatives`: step 3.
pub async fn creatives(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (ctx, _) = enter_get(&app, &analytics, &headers, raw.as_deref()).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    if c.status != CampaignStatus::SafetyHold
        && let Some(r) = if_not_draft(&c, &ctx)
    {
        return Ok(r);
    }
    let page = creatives_page(&campaigns, &ctx, &c, CreativesState::default()).await?;
    Ok(html(StatusCode::OK, page.render()))
}

fn back_to_creatives(ctx: &Ctx, id: Uuid, anchor: &str) -> Response {
    redirect(&format!(
        "/app/campaigns/new/{id}/creatives{}#{anchor}",
        ctx.oq()
    ))
}

/// `POST /app/campaigns/new/{id}/creatives/generate`: variants from the
/// brief, reviewed and stored.
pub async fn generate(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    let brief = BriefForm::read(&f);
    let mut errors = Errors::new();
    let channel = channel_of(&brief.channel);
    if channel.is_none() {
        errors.add("channel", "Choose a platform.");
    }
    let count = match brief.count.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_GENERATE).contains(&n) => n,
        _ => {
            errors.add("count", format!("A whole number from 1 to {MAX_GENERATE}."));
            0
        }
    };
    let tone: Option<Tone> =
        serde_json::from_value(serde_json::Value::String(brief.tone.clone())).ok();
    if tone.is_none() {
        errors.add("brief.tone", "Choose a tone.");
    }
    if let (Some(channel), Some(tone), true) = (channel, tone, errors.is_empty()) {
        let req = GenerateRequest {
            campaign_id: Some(c.id),
            brief: CreativeBrief {
                brand: c.draft.brand_name.clone(),
                product: brief.product.trim().to_owned(),
                key_message: brief.key_message.trim().to_owned(),
                audience: brief.audience.trim().to_owned(),
                tone,
                industry: c.draft.industry.clone(),
                landing_url: c.draft.landing_url.clone(),
                call_to_action: None,
                visual_guidelines: Vec::new(),
            },
            channel,
            count,
        };
        match campaigns.generate(&ctx.viewer.principal, &meta, req).await {
            Ok(_) => return Ok(back_to_creatives(&ctx, c.id, "creatives")),
            Err(e) => errors.extend(&invalid(e)?),
        }
    }
    let page = creatives_page(
        &campaigns,
        &ctx,
        &c,
        CreativesState {
            brief: Some(brief),
            brief_errors: Some(errors),
            ..CreativesState::default()
        },
    )
    .await?;
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
}

/// `POST /app/campaigns/new/{id}/creatives`: the person's own creative.
pub async fn add_creative(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    let own = CopyForm::read(&f);
    let mut errors = Errors::new();
    let mut own_verdict = None;
    match channel_of(&own.channel) {
        None => errors.add("channel", "Choose a platform."),
        Some(channel) => {
            let req = NewCreative {
                campaign_id: Some(c.id),
                channel,
                copy: own.copy(),
                media_url: opt_text(&own.media_url),
            };
            match campaigns
                .create_creative(&ctx.viewer.principal, &meta, req)
                .await
            {
                Ok(v) => {
                    return Ok(back_to_creatives(&ctx, c.id, &format!("creative-{}", v.id)));
                }
                Err(e) => {
                    errors.extend(&invalid(e)?);
                    own_verdict = campaigns
                        .review(
                            &ctx.viewer.principal.scope,
                            ReviewRequest {
                                channel,
                                copy: own.copy(),
                            },
                        )
                        .await
                        .ok()
                        .map(|r| verdict_of(&r));
                }
            }
        }
    }
    let page = creatives_page(
        &campaigns,
        &ctx,
        &c,
        CreativesState {
            own: Some(own),
            own_errors: Some(errors),
            own_verdict,
            ..CreativesState::default()
        },
    )
    .await?;
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
}

/// `POST /app/campaigns/new/{id}/creatives/{creative}`: new copy for one
/// of the draft's creatives, reviewed again.
pub async fn edit_creative(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    Path((id, creative)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    let creative = Uuid::parse_str(&creative).map_err(|_| PageError::NotFound("The creative"))?;
    let v = campaigns
        .creative(&ctx.viewer.principal.scope, creative)
        .await?
        .filter(|v| v.campaign_id == Some(c.id))
        .ok_or(PageError::NotFound("The creative"))?;
    let form = CopyForm {
        channel: wire(&v.channel),
        media_url: v.media_url.clone().unwrap_or_default(),
        ..CopyForm::read(&f)
    };
    let req = CreativeUpdate {
        copy: form.copy(),
        media_url: v.media_url.clone(),
    };
    match campaigns
        .update_creative(&ctx.viewer.principal, &meta, v.id, req)
        .await
    {
        Ok(_) => Ok(back_to_creatives(&ctx, c.id, &format!("creative-{}", v.id))),
        Err(e) => {
            let mut errors = Errors::new();
            errors.extend(&invalid(e)?);
            let page = creatives_page(
                &campaigns,
                &ctx,
                &c,
                CreativesState {
                    edited: Some((v.id, form, errors)),
                    ..CreativesState::default()
                },
            )
            .await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
        }
    }
}

/// `POST /app/campaigns/new/{id}/review`: the policy verdict of the typed
/// copy, stored nowhere: the fragment htmx swaps in as the person types.
pub async fn review(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    let typed = CopyForm::read(&f);
    let channel = channel_of(&typed.channel)
        .or_else(|| c.draft.ad_sets.first().map(|a| a.channel))
        .ok_or_else(|| PageError::BadRequest("`channel`: choose a platform.".into()))?;
    let target = match f.get("target") {
        t if t.starts_with("verdict-")
            && t.len() <= 60
            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            t.to_owned()
        }
        _ => "verdict-own".to_owned(),
    };
    let copy = typed.copy();
    let verdict = if copy.fields().is_empty() {
        VerdictView {
            verdict: "needs_review".into(),
            label: "Nothing to review yet".into(),
            reasons: Vec::new(),
        }
    } else {
        let r = campaigns
            .review(&ctx.viewer.principal.scope, ReviewRequest { channel, copy })
            .await?;
        verdict_of(&r)
    };
    Ok(html(
        StatusCode::OK,
        VerdictFragment { target, verdict }.render(),
    ))
}

/// `POST /app/campaigns/new/{id}/release`: a draft on safety hold whose
/// creatives were fixed goes back to draft.
pub async fn release(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    let req = ActionRequest {
        action: Action::Release,
        reason: Some("Creatives fixed in the create-campaign wizard.".into()),
    };
    campaigns
        .act(&ctx.viewer.principal, &meta, c.id, req)
        .await?;
    Ok(back_to_creatives(&ctx, c.id, "creatives"))
}

// ---------------------------------------------------------------- step 4

fn facts(c: &CampaignView) -> Vec<(String, String)> {
    let d = &c.draft;
    let mut out = vec![
        ("Name".to_owned(), d.name.clone()),
        ("Goal".to_owned(), d.objective.clone()),
        ("Daily budget".to_owned(), d.daily_budget.text().to_string()),
    ];
    if let Some(t) = d.total_budget {
        out.push(("Total budget".to_owned(), t.text().to_string()));
    }
    out.push((
        "Schedule".to_owned(),
        format!(
            "{} to {} ({})",
            date_text(d.schedule.start),
            d.schedule
                .end
                .map(date_text)
                .unwrap_or_else(|| "no end date".into()),
            d.schedule.time_zone
        ),
    ));
    out.push((
        "Ad sets".to_owned(),
        c.ad_sets
            .iter()
            .map(|s| {
                format!(
                    "{} on {}: {} a day",
                    s.name,
                    s.channel.display_name(),
                    s.daily_budget.text()
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    ));
    out.push((
        "Creatives".to_owned(),
        match c.brand_safety.status.as_str() {
            "no_creatives" => "None yet.".to_owned(),
            s => format!(
                "{}: {} approved, {} waiting for review, {} rejected.",
                words(s),
                c.brand_safety.approved,
                c.brand_safety.needs_review,
                c.brand_safety.rejected
            ),
        },
    ));
    out
}

/// `GET /app/campaigns/new/{id}/simulation[?sim=…]`: step 4, with the
/// result of the simulation named in the URL.
pub async fn simulation(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Service(twin): Service<TwinService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (ctx, q) = enter_get(&app, &analytics, &headers, raw.as_deref()).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    if let Some(r) = if_not_draft(&c, &ctx) {
        return Ok(r);
    }
    let mut twin_missing =
        "Not run yet: run the simulation to see what the twin expects of this plan.".to_owned();
    let mut result = None;
    let mut ran = false;
    if let Some(sim) = q.get("sim").filter(|s| !s.is_empty()) {
        let sim = Uuid::parse_str(sim).map_err(|_| PageError::NotFound("The simulation"))?;
        let s = twin
            .get_simulation(&ctx.viewer.principal.scope, sim)
            .await?
            .ok_or(PageError::NotFound("The simulation"))?;
        // A simulation of another plan (or of this draft before its ad sets
        // changed) is not this draft's.
        let ids: Vec<String> = c.ad_sets.iter().map(|a| a.id.to_string()).collect();
        let of_this = s.plan.allocations.len() == ids.len()
            && s.plan
                .allocations
                .iter()
                .all(|a| a.ad_set_id.as_ref().is_some_and(|i| ids.contains(i)));
        if !of_this {
            twin_missing =
                "That simulation is of an earlier version of the plan: run it again.".to_owned();
        } else {
            ran = true;
            let verdict = s.gate.as_ref().map(|g| g.reason.clone());
            let approved = s.gate.as_ref().map(|g| g.approved);
            let status = words(&wire(&s.status));
            result = twin_view(s, verdict, approved);
            if result.is_none() {
                twin_missing = format!(
                    "The simulation is {}: its result is not ready yet; reload in a moment.",
                    status.to_lowercase()
                );
            }
        }
    }
    let oq = ctx.oq();
    let page = SimulationPage {
        layout: ctx.layout("New campaign: simulation"),
        steps: ctx.steps(4, Some(c.id)),
        csrf: ctx.viewer.csrf.clone(),
        org: ctx.org_text(),
        id: c.id.to_string(),
        name: c.draft.name.clone(),
        oq: oq.clone(),
        facts: facts(&c),
        twin: result,
        twin_missing,
        ran,
        next_href: format!("/app/campaigns/new/{}/submit{oq}", c.id),
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// `POST /app/campaigns/new/{id}/simulation`: the twin simulates the
/// draft's plan as the launch gate will (same plan, runs and seed).
#[allow(clippy::too_many_arguments)]
pub async fn simulate(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Service(twin): Service<TwinService>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    let ids: Vec<Uuid> = c.ad_sets.iter().map(|a| a.id).collect();
    let plan = kiki_campaigns_service::domain::gate_plan(&c.draft, &ids);
    let seed = u64::from_be_bytes(c.id.as_bytes()[8..16].try_into().unwrap_or([0; 8]));
    let request = kiki_twin_service::domain::SimulationRequest {
        plan,
        options: kiki_twin::SimulationOptions {
            runs: campaigns.config().gate_runs,
            seed,
            ..Default::default()
        },
        ltv: Vec::new(),
    };
    let (sim, _queued) = match twin
        .create_simulation(&ctx.viewer.principal, &meta, request)
        .await
    {
        Ok(v) => v,
        Err(kiki_twin_service::TwinServiceError::Invalid(fields)) => {
            return Err(PageError::BadRequest(format!(
                "The twin cannot simulate this plan: {}",
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let mut p: Vec<(&str, String)> = Vec::new();
    if let Some(o) = ctx.org {
        p.push(("org", o.0.to_string()));
    }
    p.push(("sim", sim.id.to_string()));
    Ok(redirect(&format!(
        "/app/campaigns/new/{}/simulation?{}#result",
        c.id,
        serde_urlencoded::to_string(&p).unwrap_or_default()
    )))
}

// ---------------------------------------------------------------- step 5

fn submit_page(ctx: &Ctx, c: &CampaignView, error: Option<String>) -> SubmitPage {
    let mut layout = ctx.layout("New campaign: submit");
    if error.is_some() {
        layout.flash = Some(Flash {
            kind: "error",
            text: "The campaign was not submitted: see the message below.".into(),
        });
    }
    SubmitPage {
        layout,
        steps: ctx.steps(5, Some(c.id)),
        csrf: ctx.viewer.csrf.clone(),
        org: ctx.org_text(),
        id: c.id.to_string(),
        name: c.draft.name.clone(),
        oq: ctx.oq(),
        facts: facts(c),
        error,
    }
}

/// `GET /app/campaigns/new/{id}/submit`: step 5.
pub async fn submit_step(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (ctx, _) = enter_get(&app, &analytics, &headers, raw.as_deref()).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    if let Some(r) = if_not_draft(&c, &ctx) {
        return Ok(r);
    }
    Ok(html(StatusCode::OK, submit_page(&ctx, &c, None).render()))
}

/// `POST /app/campaigns/new/{id}/submit`: the draft goes to the launch gate
/// and waits for approval; then its page, with the message.
pub async fn submit(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::read(&body);
    let ctx = enter_post(&app, &analytics, &headers, &f).await?;
    let c = draft_of(&campaigns, &ctx, &id).await?;
    let req = ActionRequest {
        action: Action::Submit,
        reason: Some("Submitted from the create-campaign wizard.".into()),
    };
    match campaigns.act(&ctx.viewer.principal, &meta, c.id, req).await {
        Ok(_) => {
            let mut p: Vec<(&str, String)> = Vec::new();
            if let Some(o) = ctx.org {
                p.push(("org", o.0.to_string()));
            }
            p.push(("done", "submitted".to_owned()));
            Ok(redirect(&format!(
                "/app/campaigns/{}?{}",
                c.id,
                serde_urlencoded::to_string(&p).unwrap_or_default()
            )))
        }
        Err(CampaignsError::Conflict(m)) => Ok(html(
            StatusCode::CONFLICT,
            submit_page(&ctx, &c, Some(m)).render(),
        )),
        Err(CampaignsError::IllegalMove(m)) => Ok(html(
            StatusCode::CONFLICT,
            submit_page(&ctx, &c, Some(m.to_string())).render(),
        )),
        Err(CampaignsError::Invalid(fields)) => Ok(html(
            StatusCode::UNPROCESSABLE_ENTITY,
            submit_page(
                &ctx,
                &c,
                Some(
                    fields
                        .iter()
                        .map(|f| format!("{}: {}", f.field, f.message))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            )
            .render(),
        )),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_become_basis_points() {
        assert_eq!(percent_bps("60"), Ok(6000));
        assert_eq!(percent_bps("33.33"), Ok(3333));
        assert_eq!(percent_bps("12.5 %"), Ok(1250));
        assert_eq!(percent_bps("100"), Ok(10_000));
        for bad in ["", "0", "100.01", "1.234", "-5", "abc", "1000"] {
            assert!(percent_bps(bad).is_err(), "{bad}");
        }
        assert_eq!(bps_text(6000), "60");
        assert_eq!(bps_text(3333), "33.33");
        assert_eq!(bps_text(1250), "12.5");
    }

    #[test]
    fn the_services_field_names_land_on_the_forms_fields() {
        assert_eq!(form_name("ad_sets[1].budget_share_bps"), "ad_sets[1].share");
        assert_eq!(
            form_name("ad_sets[0].targeting.countries[2]"),
            "ad_sets[0].targeting.countries"
        );
        assert_eq!(form_name("copy.headlines[3]"), "copy.headlines");
        assert_eq!(form_name("daily_budget"), "daily_budget");
        assert_eq!(field_id("ad_sets[0].name"), "f-ad_sets-0--name");
    }

    #[test]
    fn countries_and_lines_are_read_as_typed() {
        assert_eq!(countries("de, at;fr "), vec!["DE", "AT", "FR"]);
        assert_eq!(lines(" a \n\n b\r\n"), vec!["a", "b"]);
    }
}
