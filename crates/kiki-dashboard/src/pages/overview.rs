//! `/app`, the overview: KPI tiles per currency with their change from the
//! comparison period, a revenue-vs-spend chart per currency (SVG from the
//! server, uPlot when scripts run) and the platform breakdown, for the
//! range in the URL; and `/app/platforms.csv`, the breakdown as a file for
//! roles that may export. Figures come from the analytics service,
//! called in-process.
//!
//! An organisation that reaches clients (an agency) sees the **all-clients
//! roll-up** by default (`view=clients`: its own figures plus every
//! client's, each client's profit at its own margin, with a breakdown by
//! organisation), or its own figures alone with `view=organisation`.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiki_analytics::Granularity;
use kiki_analytics_service::AnalyticsService;
use kiki_analytics_service::domain::{Dimension, Filters, Format, PeriodView, ScopeKind};
use kiki_identity::Permission;
use kiki_server::auth::Meta;
use kiki_server::{AppState, Service};
use time::Date;

use crate::chart::DailySeries;
use crate::error::PageError;
use crate::kpi::{self, conversions, grouped, multiple, percent};
use crate::pages::chrome;
use crate::range::{PRESETS, Range};
use crate::session::Viewer;
use crate::views::{
    CurrencyView, Layout, Link, OrganisationRow, OverviewPage, PlatformRow, PresetLink, RangeView,
    html,
};

/// The most platform rows the overview lists.
const PLATFORM_ROWS: usize = 100;

pub(crate) fn day(d: Date) -> String {
    let f = time::macros::format_description!("[day padding:none] [month repr:short] [year]");
    d.format(&f).unwrap_or_default()
}

pub(crate) fn period_text(p: &PeriodView) -> String {
    format!("{} – {}", day(p.since), day(p.until))
}

/// Whose figures the overview shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// The active organisation's own.
    Organisation,
    /// The active organisation's and every client's it reaches.
    Clients,
}

impl View {
    fn as_str(self) -> &'static str {
        match self {
            View::Organisation => "organisation",
            View::Clients => "clients",
        }
    }
}

/// The `view` parameter: `clients` or `organisation`; by default the
/// roll-up where the organisation reaches clients.
pub(crate) fn view_of(raw: Option<&str>, viewer: &Viewer) -> Result<View, PageError> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Q {
        view: Option<String>,
    }
    let q: Q = serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let reaches_clients = viewer.principal.scope.reachable().len() > 1;
    match q.view.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None if reaches_clients => Ok(View::Clients),
        None | Some("organisation") => Ok(View::Organisation),
        Some("clients") => Ok(View::Clients),
        Some(other) => Err(PageError::BadRequest(format!(
            "`view`: `{other}` is not a view; use `clients` or `organisation`."
        ))),
    }
}

fn scoped(range: &Range, view: View) -> Filters {
    let mut f = filters(range);
    if view == View::Clients {
        f.scope = Some(ScopeKind::Clients);
    }
    f
}

/// The session and range of a report request.
pub(crate) async fn open(
    app: &AppState,
    svc: &AnalyticsService,
    headers: &HeaderMap,
    raw: Option<&str>,
) -> Result<(Viewer, Range), PageError> {
    let (mut viewer, range, _) =
        super::open_range(app, headers, raw, &svc.config().default_time_zone).await?;
    viewer.require(Permission::CampaignRead)?;
    viewer.unread = super::notifications::unread(app, &viewer).await;
    Ok((viewer, range))
}

pub(crate) fn filters(range: &Range) -> Filters {
    Filters {
        since: Some(range.since),
        until: Some(range.until),
        tz: Some(range.tz.clone()),
        ..Filters::default()
    }
}

/// `GET /app`.
pub async fn overview(
    State(app): State<AppState>,
    Service(svc): Service<AnalyticsService>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (viewer, range) = open(&app, &svc, &headers, raw.as_deref()).await?;
    let view = view_of(raw.as_deref(), &viewer)?;
    let org = range.org;
    let mut page = build(&svc, &viewer, range, view).await?;
    if viewer.unread.is_some() {
        page.notifications = Some(super::notifications::panel(&app, &viewer, org).await);
        page.notifications_href = match org {
            Some(o) => format!("/app/notifications?org={o}"),
            None => "/app/notifications".to_owned(),
        };
    }
    Ok(html(StatusCode::OK, page.render()))
}

async fn build(
    svc: &Arc<AnalyticsService>,
    viewer: &Viewer,
    range: Range,
    view: View,
) -> Result<OverviewPage, PageError> {
    let scope = &viewer.principal.scope;
    let default_tz = viewer.time_zone(&svc.config().default_time_zone);
    let f = scoped(&range, view);
    let reaches_clients = scope.reachable().len() > 1;
    let (summary, series, breakdown) = futures::try_join!(
        svc.summary(scope, &f, range.compare),
        svc.timeseries(scope, &f, Granularity::Day),
        svc.breakdown(scope, &f, Dimension::Platform, PLATFORM_ROWS),
    )?;
    // The roll-up tells its organisations apart.
    let by_org = if view == View::Clients && reaches_clients {
        Some(
            svc.breakdown(scope, &f, Dimension::Organisation, PLATFORM_ROWS)
                .await?,
        )
    } else {
        None
    };

    let mut daily: BTreeMap<String, DailySeries> = BTreeMap::new();
    for p in &series.points {
        let c = p.metrics.currency;
        daily
            .entry(c.as_str().to_owned())
            .or_insert_with(|| DailySeries::new(c))
            .push(p.start, p.metrics.revenue.micros, p.metrics.spend.micros);
    }
    let currencies = summary
        .currencies
        .iter()
        .map(|c| {
            let code = c.currency.as_str().to_owned();
            let chart = daily
                .remove(&code)
                .unwrap_or_else(|| DailySeries::new(c.currency));
            CurrencyView {
                tiles: kpi::tiles(c, &summary.margins),
                chart_svg: chart.svg(&format!("Revenue and ad spend per day, {code}")),
                chart_json: chart.json(),
                currency: code,
            }
        })
        .collect();
    let na = || "—".to_owned();
    let platforms = breakdown
        .rows
        .iter()
        .map(|r| {
            let m = &r.metrics;
            PlatformRow {
                platform: r.platform.clone().unwrap_or_default(),
                currency: m.currency.as_str().to_owned(),
                spend: m.spend.text().to_string(),
                revenue: m.revenue.text().to_string(),
                roas: m.roas.map(multiple).unwrap_or_else(na),
                conversions: conversions(m.conversions),
                cpa: m.cpa.map(|v| v.text().to_string()).unwrap_or_else(na),
                clicks: grouped(m.clicks),
                ctr: m.ctr.map(percent).unwrap_or_else(na),
            }
        })
        .collect();

    let names: BTreeMap<uuid::Uuid, String> = viewer
        .me
        .organisations
        .iter()
        .map(|o| (o.org.id.0, o.org.name.clone()))
        .collect();
    let organisations = by_org
        .map(|b| {
            b.rows
                .iter()
                .map(|r| {
                    let m = &r.metrics;
                    let id = r.organisation_id.unwrap_or_default();
                    OrganisationRow {
                        name: names.get(&id).cloned().unwrap_or_else(|| id.to_string()),
                        currency: m.currency.as_str().to_owned(),
                        spend: m.spend.text().to_string(),
                        revenue: m.revenue.text().to_string(),
                        roas: m.roas.map(multiple).unwrap_or_else(na),
                        conversions: conversions(m.conversions),
                        cpa: m.cpa.map(|v| v.text().to_string()).unwrap_or_else(na),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    // Links keep the view where there is a choice.
    let view_param = if reaches_clients {
        format!("&view={}", view.as_str())
    } else {
        String::new()
    };
    let presets = PRESETS
        .iter()
        .map(|(key, label)| PresetLink {
            href: format!("/app?{}{view_param}", range.with_preset(key, &default_tz)),
            label,
            current: range.preset == *key,
        })
        .collect();
    let views = if reaches_clients {
        let others = scope.reachable().len() - 1;
        [
            (
                View::Clients,
                format!("With its {others} client organisations"),
            ),
            (View::Organisation, "This organisation only".to_owned()),
        ]
        .into_iter()
        .map(|(v, label)| Link {
            href: format!("/app?{}&view={}", range.query(&default_tz), v.as_str()),
            label,
            current: v == view,
        })
        .collect()
    } else {
        Vec::new()
    };
    let range_view = RangeView {
        action: "/app".to_owned(),
        hidden: if reaches_clients {
            vec![("view".to_owned(), view.as_str().to_owned())]
        } else {
            Vec::new()
        },
        presets,
        period_text: period_text(&summary.period),
        comparison_text: match &summary.comparison {
            Some(p) => format!("compared with {}", period_text(p)),
            None => "no comparison".to_owned(),
        },
        time_zone: summary.time_zone.clone(),
        range: range.clone(),
    };
    let export_href = viewer.can(Permission::Export).then(|| {
        format!(
            "/app/platforms.csv?{}{view_param}",
            range.query(&default_tz)
        )
    });
    let mut layout = Layout::public("Overview");
    layout.chrome = Some(chrome(viewer, "overview", &range, &default_tz));
    Ok(OverviewPage {
        layout,
        range_view,
        currencies,
        platforms,
        export_href,
        views,
        organisations,
        notifications: None,
        notifications_href: String::new(),
    })
}

/// `GET /app/platforms.csv`: the platform breakdown of the range, for
/// roles with `export` (audited like every export).
pub async fn platforms_csv(
    State(app): State<AppState>,
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let (viewer, range) = open(&app, &svc, &headers, raw.as_deref()).await?;
    viewer.require(Permission::Export)?;
    let view = view_of(raw.as_deref(), &viewer)?;
    let b = svc
        .breakdown(
            &viewer.principal.scope,
            &scoped(&range, view),
            Dimension::Platform,
            svc.config().max_rows as usize,
        )
        .await?;
    svc.audit_export(
        &viewer.principal,
        &meta,
        "breakdown",
        Format::Csv,
        &b.period,
        b.rows.len(),
    )
    .await?;
    let body: Vec<u8> = b
        .tables()
        .iter()
        .flat_map(|t| kiki_analytics_service::domain::export::csv_chunks(t, 1_000))
        .flatten()
        .collect();
    let name = format!(
        "attachment; filename=\"kiki-platforms-{}-{}.csv\"",
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
