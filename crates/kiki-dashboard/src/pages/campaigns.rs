//! `/app/campaigns`: the organisation's campaigns with filters, sort and
//! pages kept in the URL, and the same rows as CSV; `/app/campaigns/{id}`:
//! one campaign (goal, budget, plan, status history, creatives with their
//! policy verdicts, the twin's result) with its figures drilled down from
//! the campaign to an ad set and to an ad, and its creative variants side
//! by side with their rates' intervals, for the range in the URL; and
//! its actions (pause, resume, a new daily budget) as form POSTs with the
//! session's CSRF token, each answered by a redirect back with a message.
//! Campaigns, approvals and figures come from the campaigns, twin and
//! analytics services, called in-process with the viewer's tenant scope.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiki_analytics_service::AnalyticsService;
use kiki_analytics_service::domain::export::{Cell, Kind, Table};
use kiki_analytics_service::domain::{DrillDown, DrillLevel, Format, PeriodView};
use kiki_campaigns::{Action, CampaignStatus};
use kiki_campaigns_service::CampaignsService;
use kiki_campaigns_service::domain::{ActionRequest, BudgetRequest, CampaignView, CreativeView};
use kiki_core::{OrgId, PageRequest};
use kiki_creative::Channel;
use kiki_identity::Permission;
use kiki_server::auth::Meta;
use kiki_server::{AppState, Service};
use kiki_twin_service::TwinService;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::chart::DailySeries;
use crate::error::PageError;
use crate::forms::positive_amount;
use crate::kpi::{conversions, grouped, multiple, percent};
use crate::listing::{ListQuery, ListView, Row, SORTS};
use crate::pages::overview::{filters, open, period_text};
use crate::pages::{chrome, read_form};
use crate::range::{PRESETS, Range};
use crate::session::{Viewer, redirect};
use crate::views::{
    ActionButton, AdSetRow, CampaignPage, CampaignRow, CampaignsPage, ChartView, ChildRow, Choice,
    CreativeRow, DayRow, Flash, GradeRow, Layout, Link, ListForm, PresetLink, RangeView, StressRow,
    TransitionRow, TwinView, html,
};

/// The most campaigns the list reads (pages of 500 from the service).
const MAX_CAMPAIGNS: usize = 5_000;
/// The most creatives the detail page lists.
const MAX_CREATIVES: u32 = 100;
/// The most rows of the level below in a drill-down.
const CHILD_ROWS: usize = 200;

/// A value's wire name (its serde string).
pub(crate) fn wire<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `pending_approval` → `Pending approval`.
pub(crate) fn words(wire: &str) -> String {
    let s = wire.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

fn when(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// Who did something, as the page shows it: "you" for the viewer.
pub(crate) fn actor_label(viewer: &Viewer, actor: &str) -> String {
    if actor == kiki_campaigns_service::service::actor_text(&viewer.principal.actor()) {
        "you".to_owned()
    } else if actor == "engine" {
        "KIKI (automatic)".to_owned()
    } else {
        actor.to_owned()
    }
}

fn statuses() -> Vec<&'static str> {
    CampaignStatus::ALL.iter().map(|s| s.as_str()).collect()
}

fn platform_names() -> Vec<String> {
    Channel::ALL.iter().map(wire).collect()
}

/// Every campaign of the viewer's organisation, newest first.
async fn all_campaigns(
    svc: &CampaignsService,
    viewer: &Viewer,
) -> Result<Vec<CampaignView>, PageError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = svc
            .list(
                &viewer.principal.scope,
                None,
                &PageRequest {
                    limit: Some(500),
                    cursor,
                },
            )
            .await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) if out.len() < MAX_CAMPAIGNS => cursor = Some(c),
            _ => break,
        }
    }
    Ok(out)
}

/// Spend per campaign over the range, in the campaign's currency (the
/// analytics drill-down of the organisation: its campaigns).
async fn spend_by_campaign(
    analytics: &AnalyticsService,
    viewer: &Viewer,
    range: &Range,
) -> Result<BTreeMap<(String, String), i64>, PageError> {
    let d = analytics
        .drilldown(
            &viewer.principal.scope,
            &filters(range),
            None,
            analytics.config().max_rows as usize,
        )
        .await?;
    let mut out = BTreeMap::new();
    for c in d.children {
        if let Some(id) = c.campaign_id {
            *out.entry((id, c.metrics.currency.as_str().to_owned()))
                .or_insert(0) += c.metrics.spend.micros;
        }
    }
    Ok(out)
}

/// The list's rows: what filtering and sorting need, and what is shown.
struct Listed {
    rows: Vec<Row>,
    views: Vec<CampaignRow>,
}

async fn listed(
    campaigns: &CampaignsService,
    analytics: &AnalyticsService,
    viewer: &Viewer,
    range: &Range,
    default_tz: &str,
) -> Result<Listed, PageError> {
    let list = all_campaigns(campaigns, viewer).await?;
    let spend = spend_by_campaign(analytics, viewer, range).await?;
    let mut rows = Vec::with_capacity(list.len());
    let mut views = Vec::with_capacity(list.len());
    for c in list {
        let cur = c.draft.currency;
        let spent = spend
            .get(&(c.id.to_string(), cur.as_str().to_owned()))
            .copied()
            .unwrap_or(0);
        let mut channels: Vec<String> = Vec::new();
        for s in &c.ad_sets {
            let w = wire(&s.channel);
            if !channels.contains(&w) {
                channels.push(w);
            }
        }
        let created = c
            .created_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        views.push(CampaignRow {
            id: c.id.to_string(),
            href: format!("/app/campaigns/{}?{}", c.id, range.query(default_tz)),
            name: c.draft.name.clone(),
            status: c.status.as_str().to_owned(),
            status_label: words(c.status.as_str()),
            platforms: c
                .ad_sets
                .iter()
                .map(|s| s.channel.display_name())
                .fold(Vec::<&str>::new(), |mut v, n| {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                    v
                })
                .join(", "),
            budget: c.draft.daily_budget.text().to_string(),
            spend: kiki_core::Money::from_micros(spent, cur).text().to_string(),
            created: crate::pages::overview::day(c.created_at.date()),
        });
        rows.push(Row {
            name: c.draft.name,
            objective: c.draft.objective,
            status: c.status.as_str().to_owned(),
            platforms: channels,
            created,
            budget: (cur.as_str().to_owned(), c.draft.daily_budget.micros),
            spend: (cur.as_str().to_owned(), spent),
        });
    }
    Ok(Listed { rows, views })
}

fn list_view(raw: Option<&str>) -> Result<ListView, PageError> {
    let q: ListQuery = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| PageError::BadRequest(format!("The address is not valid: {e}.")))?;
    let platforms = platform_names();
    let platforms: Vec<&str> = platforms.iter().map(String::as_str).collect();
    q.resolve(&statuses(), &platforms)
        .map_err(PageError::BadRequest)
}

/// `?a&b` of two query strings, either possibly empty.
fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}&{b}"),
    }
}

/// The range's query as hidden form fields.
fn hidden_of(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

/// `GET /app/campaigns`.
pub async fn list(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (viewer, range) = open(&app, &analytics, &headers, raw.as_deref()).await?;
    let view = list_view(raw.as_deref())?;
    let default_tz = viewer.time_zone(&analytics.config().default_time_zone);
    let Listed { rows, views } =
        listed(&campaigns, &analytics, &viewer, &range, &default_tz).await?;
    let selected = view.select(&rows);
    let pages = view.pages(selected.len());
    let rq = range.query(&default_tz);
    let href = |v: &ListView| format!("/app/campaigns?{}", join(&rq, &v.query()));
    let shown = view
        .page_of(&selected)
        .iter()
        .map(|i| views[*i].clone())
        .collect();
    let prev_href = (view.page > 1).then(|| {
        href(&ListView {
            page: (view.page - 1).min(pages),
            ..view.clone()
        })
    });
    let next_href = (view.page < pages).then(|| {
        href(&ListView {
            page: view.page + 1,
            ..view.clone()
        })
    });
    let sort_links = SORTS
        .iter()
        .map(|(key, label)| {
            let current = view.sort == *key;
            let mut next = view.clone();
            next.page = 1;
            next.sort = (*key).to_owned();
            // A second click on the current column turns its order round.
            next.ascending = if current {
                !view.ascending
            } else {
                *key == "name"
            };
            Link {
                href: href(&next),
                label: (*label).to_owned(),
                current,
            }
        })
        .collect();
    let choice = |value: &str, label: String, selected: bool| Choice {
        value: value.to_owned(),
        label,
        selected,
    };
    let mut status_choices = vec![choice("", "Every status".into(), view.status.is_empty())];
    status_choices.extend(
        CampaignStatus::ALL
            .iter()
            .map(|s| choice(s.as_str(), words(s.as_str()), view.status == s.as_str())),
    );
    let mut platform_choices = vec![choice(
        "",
        "Every platform".into(),
        view.platform.is_empty(),
    )];
    platform_choices.extend(Channel::ALL.iter().map(|c| {
        let w = wire(c);
        let selected = view.platform == w;
        choice(&w, c.display_name().to_owned(), selected)
    }));
    let sorts = SORTS
        .iter()
        .map(|(k, l)| choice(k, (*l).to_owned(), view.sort == *k))
        .collect();
    let export_href = viewer.can(Permission::Export).then(|| {
        format!(
            "/app/campaigns.csv?{}",
            join(&rq, &view.query_with(|v| v.page = 1))
        )
    });
    let mut layout = Layout::public("Campaigns");
    layout.chrome = Some(chrome(&viewer, "campaigns", &range, &default_tz));
    let page = CampaignsPage {
        layout,
        range_view: range_view(
            &range,
            "/app/campaigns".to_owned(),
            &view.query_with(|v| v.page = 1),
            &default_tz,
            period_text(&period(&range)),
        ),
        form: ListForm {
            statuses: status_choices,
            platforms: platform_choices,
            sorts,
            text: view.text.clone(),
            ascending: view.ascending,
            per_page: view.per_page,
            hidden: hidden_of(&rq),
            reset_href: format!("/app/campaigns?{rq}"),
        },
        rows: shown,
        total: selected.len(),
        all: rows.len(),
        page_text: format!("Page {} of {pages}", view.page.min(pages)),
        prev_href,
        next_href,
        sort_links,
        export_href,
        new_href: viewer
            .can(Permission::CampaignWrite)
            .then(|| match range.org {
                Some(o) => format!("/app/campaigns/new?org={o}"),
                None => "/app/campaigns/new".to_owned(),
            }),
    };
    Ok(html(StatusCode::OK, page.render()))
}

fn period(range: &Range) -> PeriodView {
    PeriodView {
        since: range.since,
        until: range.until,
        days: (range.until - range.since).whole_days() + 1,
    }
}

/// The date-range component of a page at `action` whose own parameters
/// (`own`, a query string) the links and the form keep.
fn range_view(
    range: &Range,
    action: String,
    own: &str,
    default_tz: &str,
    period_text: String,
) -> RangeView {
    let presets = PRESETS
        .iter()
        .map(|(key, label)| PresetLink {
            href: format!(
                "{action}?{}",
                join(&range.with_preset(key, default_tz), own)
            ),
            label,
            current: range.preset == *key,
        })
        .collect();
    RangeView {
        action,
        hidden: hidden_of(own),
        presets,
        period_text,
        comparison_text: "spend and figures of these days".to_owned(),
        time_zone: range.tz.clone(),
        range: range.clone(),
    }
}

/// `GET /app/campaigns.csv`: the listed rows (every page) as CSV, for
/// roles with `export` (audited like every export).
pub async fn list_csv(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (viewer, range) = open(&app, &analytics, &headers, raw.as_deref()).await?;
    viewer.require(Permission::Export)?;
    let view = list_view(raw.as_deref())?;
    let default_tz = viewer.time_zone(&analytics.config().default_time_zone);
    let Listed { rows, views } =
        listed(&campaigns, &analytics, &viewer, &range, &default_tz).await?;
    let selected = view.select(&rows);
    // A spreadsheet runs a cell that starts like a formula: names are
    // people's text, so such a cell starts with an apostrophe instead.
    let text = |s: &str| {
        if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            Cell::Text(format!("'{s}"))
        } else {
            Cell::Text(s.to_owned())
        }
    };
    let table = Table {
        name: "Campaigns".into(),
        columns: [
            ("id", Kind::Text),
            ("name", Kind::Text),
            ("status", Kind::Text),
            ("platforms", Kind::Text),
            ("currency", Kind::Text),
            ("daily_budget", Kind::Amount),
            ("spend", Kind::Amount),
            ("created_at", Kind::Text),
        ]
        .iter()
        .map(|(n, k)| ((*n).to_owned(), *k))
        .collect(),
        rows: selected
            .iter()
            .map(|i| {
                let (r, v) = (&rows[*i], &views[*i]);
                vec![
                    text(&v.id),
                    text(&r.name),
                    text(&r.status),
                    text(&r.platforms.join(" ")),
                    text(&r.budget.0),
                    Cell::Micros(r.budget.1),
                    Cell::Micros(r.spend.1),
                    text(&r.created),
                ]
            })
            .collect(),
    };
    let period_view = period(&range);
    analytics
        .audit_export(
            &viewer.principal,
            &meta,
            "campaigns",
            Format::Csv,
            &period_view,
            table.rows.len(),
        )
        .await?;
    let body: Vec<u8> = kiki_analytics_service::domain::export::csv_chunks(&table, 1_000)
        .into_iter()
        .flatten()
        .collect();
    let name = format!(
        "attachment; filename=\"kiki-campaigns-{}-{}.csv\"",
        range.since_text(),
        range.until_text()
    );
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The detail page's own parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DetailQuery {
    /// An ad set of the campaign.
    adset: Option<String>,
    /// An ad of that ad set (its id on the platform).
    ad: Option<String>,
    /// What the last action did (a key, never text).
    done: Option<String>,
}

/// Where the drill-down stands.
#[derive(Debug, Clone, Default)]
struct Level {
    ad_set: Option<Uuid>,
    ad: Option<String>,
}

impl Level {
    fn query(&self) -> String {
        let mut p: Vec<(&str, String)> = Vec::new();
        if let Some(s) = self.ad_set {
            p.push(("adset", s.to_string()));
            if let Some(a) = &self.ad {
                p.push(("ad", a.clone()));
            }
        }
        serde_urlencoded::to_string(&p).unwrap_or_default()
    }
}

/// The message of a finished action, by its key (the URL never puts text
/// on the page).
fn done_flash(key: Option<&str>) -> Option<Flash> {
    let text = match key? {
        "paused" => "The campaign is paused.",
        "resumed" => "The campaign runs again.",
        "budget" => "The daily budget is changed.",
        "submitted" => {
            "The campaign is submitted: the twin's launch gate ran and it waits for approval."
        }
        "budget_pending" => {
            "The new daily budget waits for approval: it is a raise above the organisation's threshold."
        }
        _ => return None,
    };
    Some(Flash {
        kind: "info",
        text: text.to_owned(),
    })
}

/// What the detail page needs besides the campaign.
struct DetailInput<'a> {
    analytics: &'a AnalyticsService,
    campaigns: &'a CampaignsService,
    twin: &'a TwinService,
    viewer: &'a Viewer,
    range: Range,
    level: Level,
    flash: Option<Flash>,
    budget_input: Option<String>,
    budget_error: Option<String>,
}

/// `GET /app/campaigns/{id}`.
pub async fn detail(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Service(twin): Service<TwinService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (viewer, range) = open(&app, &analytics, &headers, raw.as_deref()).await?;
    let id = Uuid::parse_str(&id).map_err(|_| PageError::NotFound("The campaign"))?;
    let q: DetailQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| PageError::BadRequest(format!("The address is not valid: {e}.")))?;
    let ad_set = match q.adset.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Uuid::parse_str(s).map_err(|_| PageError::NotFound("The ad set"))?),
    };
    let ad =
        q.ad.filter(|s| !s.trim().is_empty() && ad_set.is_some())
            .map(|s| s.chars().take(200).collect());
    let page = build_detail(
        id,
        DetailInput {
            analytics: &analytics,
            campaigns: &campaigns,
            twin: &twin,
            viewer: &viewer,
            range,
            level: Level { ad_set, ad },
            flash: done_flash(q.done.as_deref()),
            budget_input: None,
            budget_error: None,
        },
    )
    .await?;
    Ok(html(StatusCode::OK, page.render()))
}

async fn build_detail(id: Uuid, d: DetailInput<'_>) -> Result<CampaignPage, PageError> {
    let viewer = d.viewer;
    let scope = &viewer.principal.scope;
    let default_tz = viewer.time_zone(&d.analytics.config().default_time_zone);
    // Another organisation's campaign is not there for this viewer.
    let c = d
        .campaigns
        .get(scope, id)
        .await?
        .ok_or(PageError::NotFound("The campaign"))?;
    let ad_set_name = |sid: &str| {
        c.ad_sets
            .iter()
            .find(|s| s.id.to_string() == sid)
            .map(|s| s.name.clone())
    };
    if let Some(s) = d.level.ad_set
        && !c.ad_sets.iter().any(|a| a.id == s)
    {
        return Err(PageError::NotFound("The ad set"));
    }
    let transitions = d.campaigns.transitions(scope, id).await?;
    let creatives = d
        .campaigns
        .creatives(
            scope,
            Some(id),
            &PageRequest {
                limit: Some(MAX_CREATIVES),
                cursor: None,
            },
        )
        .await?;
    let twin = match c.gate.as_ref().map(|g| g.simulation_id) {
        Some(sim) => d.twin.get_simulation(scope, sim).await?,
        None => None,
    };
    let mut f = filters(&d.range);
    f.campaign_id = Some(id);
    let drill = match (&d.level.ad_set, &d.level.ad) {
        (Some(s), Some(a)) => d.analytics.drilldown_ad(scope, &f, *s, a).await?,
        (s, _) => d.analytics.drilldown(scope, &f, *s, CHILD_ROWS).await?,
    };
    let variants = crate::pages::variants::view(&d.analytics.variants(scope, &f).await?);

    let rq = d.range.query(&default_tz);
    let base = format!("/app/campaigns/{id}");
    let at = |level: &Level| format!("{base}?{}", join(&rq, &level.query()));
    let mut crumbs = vec![Link {
        href: at(&Level::default()),
        label: c.draft.name.clone(),
        current: d.level.ad_set.is_none(),
    }];
    if let Some(s) = d.level.ad_set {
        crumbs.push(Link {
            href: at(&Level {
                ad_set: Some(s),
                ad: None,
            }),
            label: format!(
                "Ad set {}",
                ad_set_name(&s.to_string()).unwrap_or_else(|| s.to_string())
            ),
            current: d.level.ad.is_none(),
        });
        if let Some(a) = &d.level.ad {
            crumbs.push(Link {
                href: at(&d.level),
                label: format!("Ad {a}"),
                current: true,
            });
        }
    }
    let level_title = crumbs.last().map(|l| l.label.clone()).unwrap_or_default();
    let (children_title, children) = children(&drill, &d.level, &at, &ad_set_name);
    let (charts, daily) = days(&drill);

    let can_write = viewer.can(Permission::CampaignWrite);
    let actions = [(Action::Pause, "Pause"), (Action::Resume, "Resume")]
        .into_iter()
        .filter(|(a, _)| can_write && c.allowed_actions.contains(a))
        .map(|(a, label)| ActionButton {
            action: a.as_str(),
            label,
        })
        .collect();
    let can_budget = can_write
        && !matches!(
            c.status,
            CampaignStatus::PendingApproval | CampaignStatus::Completed | CampaignStatus::Archived
        );
    let cur = c.draft.currency;
    let budget_now = crate::forms::plain_amount(c.draft.daily_budget);

    let mut layout = Layout::public(&c.draft.name);
    layout.chrome = Some(chrome(viewer, "campaigns", &d.range, &default_tz));
    layout.flash = d.flash;
    if d.budget_error.is_some() {
        layout.flash = Some(Flash {
            kind: "error",
            text: "The daily budget was not changed: see the message below.".into(),
        });
    }
    Ok(CampaignPage {
        layout,
        range_view: range_view(
            &d.range,
            base.clone(),
            &d.level.query(),
            &default_tz,
            period_text(&drill.period),
        ),
        id: id.to_string(),
        org: d.range.org.map(|o| o.to_string()),
        csrf: viewer.csrf.clone(),
        name: c.draft.name.clone(),
        status: c.status.as_str().to_owned(),
        status_label: words(c.status.as_str()),
        objective: c.draft.objective.clone(),
        kind: words(&wire(&c.draft.kind)),
        brand: c.draft.brand_name.clone(),
        landing_url: c.draft.landing_url.clone(),
        currency: cur.as_str().to_owned(),
        daily_budget: c.draft.daily_budget.text().to_string(),
        total_budget: c.draft.total_budget.map(|m| m.text().to_string()),
        schedule: format!(
            "{} to {} ({})",
            crate::pages::overview::day(c.draft.schedule.start),
            c.draft
                .schedule
                .end
                .map(crate::pages::overview::day)
                .unwrap_or_else(|| "no end date".into()),
            c.draft.schedule.time_zone
        ),
        target_roi: c.draft.target_roi.map(multiple),
        max_cpa: c.draft.max_cpa.map(|m| m.text().to_string()),
        ltv: format!(
            "{} ({})",
            c.ltv_baseline.value.text(),
            c.ltv_baseline.source
        ),
        brand_safety: match c.brand_safety.status.as_str() {
            "no_creatives" => "No creatives yet.".to_owned(),
            s => format!(
                "{}: {} approved, {} waiting for review, {} rejected.",
                words(s),
                c.brand_safety.approved,
                c.brand_safety.needs_review,
                c.brand_safety.rejected
            ),
        },
        ad_sets: c
            .ad_sets
            .iter()
            .map(|s| AdSetRow {
                name: s.name.clone(),
                channel: s.channel.display_name().to_owned(),
                share: format!("{:.1} %", f64::from(s.budget_share_bps) / 100.0),
                daily_budget: s.daily_budget.text().to_string(),
                deployment: words(s.deployment.status.as_str()),
                href: at(&Level {
                    ad_set: Some(s.id),
                    ad: None,
                }),
            })
            .collect(),
        transitions: transitions
            .iter()
            .rev()
            .map(|t| TransitionRow {
                at: when(t.at),
                action: words(t.action.as_str()),
                from: words(t.from.as_str()),
                to: words(t.to.as_str()),
                actor: actor_label(viewer, &t.actor),
                reason: t.reason.clone().unwrap_or_default(),
            })
            .collect(),
        creatives: creatives.items.iter().map(creative_row).collect(),
        twin_missing: match (&c.gate, &twin) {
            (None, _) => {
                "No twin result yet: the campaign has not been submitted to the launch gate.".into()
            }
            (Some(_), None) => "The twin's simulation of this campaign is not available.".into(),
            (Some(_), Some(s)) if s.report.is_none() => format!(
                "The twin's simulation is {}: its result is not ready.",
                words(&wire(&s.status))
            ),
            _ => String::new(),
        },
        twin: twin.and_then(|s| {
            twin_view(
                s,
                c.gate.as_ref().and_then(|g| g.reason.clone()),
                c.gate.as_ref().and_then(|g| g.approved),
            )
        }),
        crumbs,
        level_title,
        charts,
        daily,
        children_title,
        children,
        variants,
        actions,
        can_budget,
        budget_input: d.budget_input.unwrap_or(budget_now),
        budget_error: d.budget_error,
        list_href: format!("/app/campaigns?{rq}"),
    })
}

/// The twin's result of a simulation as the pages show it (the campaign
/// page and the wizard's simulation step share it), with the gate's
/// verdict; `None` while the simulation has no report.
pub(crate) fn twin_view(
    s: kiki_twin_service::domain::SimulationView,
    verdict: Option<String>,
    approved: Option<bool>,
) -> Option<TwinView> {
    let r = s.report?;
    let res = &r.result;
    Some(TwinView {
        p10: res.uplift.p10.text().to_string(),
        p50: res.uplift.p50.text().to_string(),
        p90: res.uplift.p90.text().to_string(),
        expected: res.expected_uplift.text().to_string(),
        confidence: percent(res.confidence),
        confidence_basis: words(&wire(&res.confidence_basis)),
        risk: words(&r.risk_level.as_str().to_lowercase()),
        grades: res
            .data_quality
            .iter()
            .map(|l| GradeRow {
                platform: l.platform.display_name().to_owned(),
                grade: words(&wire(&l.grade)),
                note: l.note.clone(),
            })
            .collect(),
        stress: r
            .stress
            .iter()
            .map(|st| StressRow {
                name: words(&st.scenario.name),
                confidence: percent(st.confidence),
                p50: st.uplift.p50.text().to_string(),
                risk: words(&st.risk_level.as_str().to_lowercase()),
            })
            .collect(),
        verdict,
        approved,
    })
}

pub(crate) fn creative_row(v: &CreativeView) -> CreativeRow {
    let mut reasons: Vec<String> = v
        .review
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
        v.review
            .limits
            .iter()
            .map(|l| format!("{} ({})", l.message, l.field)),
    );
    let verdict = wire(&v.verdict);
    CreativeRow {
        channel: v.channel.display_name().to_owned(),
        headline: v
            .copy
            .headlines
            .first()
            .cloned()
            .or_else(|| v.copy.primary_text.clone())
            .unwrap_or_default(),
        verdict_label: words(&verdict),
        verdict,
        reasons,
    }
}

type ChildRows = (Option<String>, Vec<ChildRow>);

fn children(
    drill: &DrillDown,
    level: &Level,
    at: &dyn Fn(&Level) -> String,
    ad_set_name: &dyn Fn(&str) -> Option<String>,
) -> ChildRows {
    let title = match drill.level {
        DrillLevel::Campaign => "Ad sets",
        DrillLevel::AdSet => "Ads",
        _ => return (None, Vec::new()),
    };
    let rows = drill
        .children
        .iter()
        .map(|g| {
            let m = &g.metrics;
            let (href, label) = match drill.level {
                DrillLevel::Campaign => {
                    match g.ad_set_id.as_deref().and_then(|s| Uuid::parse_str(s).ok()) {
                        Some(s) => (
                            Some(at(&Level {
                                ad_set: Some(s),
                                ad: None,
                            })),
                            ad_set_name(&s.to_string()).unwrap_or_else(|| s.to_string()),
                        ),
                        None => (None, g.external_id.clone().unwrap_or_default()),
                    }
                }
                _ => {
                    let ext = g.external_id.clone().unwrap_or_default();
                    (
                        (!ext.is_empty()).then(|| {
                            at(&Level {
                                ad_set: level.ad_set,
                                ad: Some(ext.clone()),
                            })
                        }),
                        format!("Ad {ext}"),
                    )
                }
            };
            ChildRow {
                href,
                label,
                platform: g.platform.clone().unwrap_or_default(),
                currency: m.currency.as_str().to_owned(),
                spend: m.spend.text().to_string(),
                revenue: m.revenue.text().to_string(),
                conversions: conversions(m.conversions),
                clicks: grouped(m.clicks),
            }
        })
        .collect();
    (Some(title.to_owned()), rows)
}

fn days(drill: &DrillDown) -> (Vec<ChartView>, Vec<DayRow>) {
    let mut series: BTreeMap<String, DailySeries> = BTreeMap::new();
    let na = || "—".to_owned();
    let rows = drill
        .daily
        .iter()
        .map(|p| {
            let m = &p.metrics;
            series
                .entry(m.currency.as_str().to_owned())
                .or_insert_with(|| DailySeries::new(m.currency))
                .push(p.day, m.revenue.micros, m.spend.micros);
            DayRow {
                day: kiki_analytics_service::domain::day_text(p.day),
                currency: m.currency.as_str().to_owned(),
                spend: m.spend.text().to_string(),
                revenue: m.revenue.text().to_string(),
                roas: m.roas.map(multiple).unwrap_or_else(na),
                conversions: conversions(m.conversions),
                clicks: grouped(m.clicks),
                ctr: m.ctr.map(percent).unwrap_or_else(na),
            }
        })
        .collect();
    let charts = series
        .into_iter()
        .map(|(code, s)| ChartView {
            svg: s.svg(&format!("Revenue and ad spend per day, {code}")),
            json: s.json(),
            currency: code,
        })
        .collect();
    (charts, rows)
}

/// The action form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    csrf: String,
    org: String,
    action: String,
}

/// The budget form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BudgetForm {
    csrf: String,
    org: String,
    daily_budget: String,
}

fn org_of(field: &str) -> Result<Option<OrgId>, PageError> {
    match field.trim() {
        "" => Ok(None),
        s => Uuid::parse_str(s)
            .map(|u| Some(OrgId(u)))
            .map_err(|_| PageError::NotFound("The organisation")),
    }
}

/// Where a form goes back to, with the key of its message.
fn back(id: Uuid, org: Option<OrgId>, done: &str) -> Response {
    let mut p: Vec<(&str, String)> = Vec::new();
    if let Some(o) = org {
        p.push(("org", o.0.to_string()));
    }
    p.push(("done", done.to_owned()));
    redirect(&format!(
        "/app/campaigns/{id}?{}",
        serde_urlencoded::to_string(&p).unwrap_or_default()
    ))
}

/// A signed-in form POST on a campaign: the session, its CSRF token, the
/// permission, the campaign id.
async fn form_viewer(
    app: &AppState,
    headers: &HeaderMap,
    org: &str,
    csrf: &str,
    id: &str,
) -> Result<(Viewer, Option<OrgId>, Uuid), PageError> {
    let org = org_of(org)?;
    let viewer = Viewer::load(&app.identity, headers, org).await?;
    viewer.check_csrf(csrf)?;
    viewer.require(Permission::CampaignWrite)?;
    let id = Uuid::parse_str(id).map_err(|_| PageError::NotFound("The campaign"))?;
    Ok((viewer, org, id))
}

/// `POST /app/campaigns/{id}/actions`: pause or resume.
pub async fn act(
    State(app): State<AppState>,
    Service(campaigns): Service<CampaignsService>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: ActionForm = read_form(&body);
    let (viewer, org, id) = form_viewer(&app, &headers, &f.org, &f.csrf, &id).await?;
    let (action, done) = match f.action.as_str() {
        "pause" => (Action::Pause, "paused"),
        "resume" => (Action::Resume, "resumed"),
        _ => {
            return Err(PageError::BadRequest(
                "`action` must be pause or resume.".into(),
            ));
        }
    };
    campaigns
        .act(
            &viewer.principal,
            &meta,
            id,
            ActionRequest {
                action,
                reason: Some(format!("{} from the dashboard.", words(action.as_str()))),
            },
        )
        .await?;
    Ok(back(id, org, done))
}

/// `POST /app/campaigns/{id}/budget`: a new daily budget in the campaign's
/// currency. Input that is not an amount, or that the organisation's rules
/// refuse, shows the page again with the message and changes nothing.
#[allow(clippy::too_many_arguments)]
pub async fn budget(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    Service(campaigns): Service<CampaignsService>,
    Service(twin): Service<TwinService>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: BudgetForm = read_form(&body);
    let (viewer, org, id) = form_viewer(&app, &headers, &f.org, &f.csrf, &id).await?;
    let c = campaigns
        .get(&viewer.principal.scope, id)
        .await?
        .ok_or(PageError::NotFound("The campaign"))?;
    let refused = match positive_amount(&f.daily_budget, c.draft.currency) {
        Err(message) => Some(message),
        Ok(amount) => {
            let req = BudgetRequest {
                daily_budget: amount,
                total_budget: c.draft.total_budget,
                reason: Some("Changed on the dashboard.".into()),
            };
            match campaigns
                .change_budget(&viewer.principal, &meta, id, req)
                .await
            {
                Ok(v) => {
                    return Ok(back(
                        id,
                        org,
                        if v.applied {
                            "budget"
                        } else {
                            "budget_pending"
                        },
                    ));
                }
                Err(kiki_campaigns_service::CampaignsError::Invalid(fields)) => Some(
                    fields
                        .iter()
                        .map(|f| f.message.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                Err(e) => return Err(e.into()),
            }
        }
    };
    // Shown again, with the range of the overview's default.
    let mut raw = String::new();
    if let Some(o) = org {
        raw = format!("org={}", o.0);
    }
    let (_, range) = open(&app, &analytics, &headers, Some(raw.as_str())).await?;
    let page = build_detail(
        id,
        DetailInput {
            analytics: &analytics,
            campaigns: &campaigns,
            twin: &twin,
            viewer: &viewer,
            range,
            level: Level::default(),
            flash: None,
            budget_input: Some(f.daily_budget.chars().take(64).collect()),
            budget_error: refused,
        },
    )
    .await?;
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()))
}
