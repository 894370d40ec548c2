//! The analytics use cases ([`AnalyticsService`]): feeding the roll-ups
//! (`record_daily`, and `ingest_from_platforms` behind the ingest job, with
//! the country and device roll-up of `dimensions.rs`), and
//! the reads — summary, time series, breakdown, performers, drill-down —
//! each for the caller's organisation or, with `scope=clients`, for every
//! organisation the caller's scope reaches. Exports are audited here.

pub mod dimensions;
pub mod exports;
pub mod fx;
pub mod kiki_source;
pub mod listen;
pub mod rows;
pub mod schedules;
mod summary;
pub mod variants;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kiki_analytics::{Direction, Granularity, Metric, MinVolume, Period, Profit, Sums};
use kiki_core::{Clock, Currency, FieldError, OrgId, TenantScope};
use kiki_explain::Recorder;
use kiki_identity::{Identity, Principal, RequestMeta};
use kiki_platforms_service::PlatformsService;
use kiki_platforms_service::domain::MetricLevel;
use kiki_shield::AuditEvent;
use kiki_store::Db;
use serde_json::json;
use time::{Date, Duration};
use uuid::Uuid;

use crate::config::AnalyticsConfig;
use crate::domain::{
    Breakdown, CompareMode, CurrencySummary, DailyRow, DayPoint, Dimension, DrillDown, DrillLevel,
    Filters, Format, GroupRow, Level, MarginView, MetricSet, Performers, RankLevel, RankedRow,
    Report, ScopeKind, SeriesPoint, Summary, SummaryChange, SummaryFigures, TimeSeries, day_text,
    parse_day,
};
use crate::error::{AnalyticsError, Result};
use crate::events::RolledUp;
use crate::store::{self, DailyInsert, Grain, Selection, TotalsInsert};

/// The analytics service: the roll-ups and the reads over them.
pub struct AnalyticsService {
    pub(crate) db: Db,
    clock: Arc<dyn Clock>,
    record: Recorder,
    pub(crate) jobs: kiki_store::Jobs,
    identity: Identity,
    platforms: Option<Arc<PlatformsService>>,
    /// Labels creative variants (their variation and headline), when wired.
    pub(crate) campaigns: Option<Arc<kiki_campaigns_service::CampaignsService>>,
    /// New customers and their predicted LTV (`summary.rs`).
    ltv: Option<Arc<kiki_ltv_service::LtvService>>,
    /// Launched plans' baselines and the fee rate (`summary.rs`).
    twin: Option<Arc<kiki_twin_service::TwinService>>,
    /// The bidder's delivery and its conversions (`kiki_source.rs`).
    pub(crate) kiki: Option<kiki_source::KikiSource>,
    cache: kiki_store::Cache,
    config: AnalyticsConfig,
    /// Scheduled reports go out through it.
    mail: kiki_notify::Mail,
    /// The base URL in mail links (`http.public_url`).
    public_url: String,
    /// Reads the ECB's reference rates (`fx.rs`).
    outbound: kiki_outbound::OutboundClient,
}

impl std::fmt::Debug for AnalyticsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A checked query: the period, the organisations, the selection.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub period: Period,
    pub scope: ScopeKind,
    pub orgs: Vec<OrgId>,
    pub time_zone: String,
    pub(crate) sel: Selection,
    /// Convert every amount into this currency (`fx.rs`).
    pub convert_to: Option<String>,
}

/// The organisations a read may cover: a scope's active organisation and
/// those it reaches. Taken from a [`TenantScope`] when a request comes in,
/// and stored with an export job so the job reads what its requester could
/// read when it was queued (never built from anything else).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Reach {
    pub active: OrgId,
    pub reachable: Vec<OrgId>,
}

impl Reach {
    pub(crate) fn of(scope: &TenantScope) -> Reach {
        Reach {
            active: scope.org_id(),
            reachable: scope.reachable().to_vec(),
        }
    }
}

/// A table report asked for: what the report routes and export jobs run.
#[derive(Debug, Clone)]
pub enum ReportRequest {
    TimeSeries(Filters, Granularity),
    Breakdown(Filters, Dimension, usize),
    Performers(Filters, RankRequest),
    DrillDown(Filters, Option<Uuid>, usize),
    /// A campaign's creative variants (`campaign_id` is set).
    Variants(Filters),
    /// The summary with its comparison period.
    Summary(Filters, Comparison),
}

impl ReportRequest {
    pub fn filters(&self) -> &Filters {
        match self {
            ReportRequest::TimeSeries(f, _)
            | ReportRequest::Breakdown(f, _, _)
            | ReportRequest::Performers(f, _)
            | ReportRequest::DrillDown(f, _, _)
            | ReportRequest::Variants(f)
            | ReportRequest::Summary(f, _) => f,
        }
    }
}

/// The summary's comparison choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    pub mode: CompareMode,
    pub since: Option<Date>,
    pub until: Option<Date>,
}

/// The ranking's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RankRequest {
    pub level: RankLevel,
    pub metric: Metric,
    pub direction: Direction,
    pub min: MinVolume,
    pub limit: usize,
}

impl AnalyticsService {
    pub fn new(
        platform: &kiki_server::Platform,
        identity: Identity,
        platforms: Option<Arc<PlatformsService>>,
        config: AnalyticsConfig,
    ) -> AnalyticsService {
        AnalyticsService {
            db: platform.db.clone(),
            clock: platform.clock.clone(),
            record: platform.recorder(),
            jobs: platform.jobs.clone(),
            identity,
            platforms,
            campaigns: None,
            ltv: None,
            twin: None,
            kiki: None,
            cache: platform.cache.clone(),
            config,
            mail: platform.mail.clone(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            outbound: platform.outbound.clone(),
        }
    }

    /// The base URL people reach this server at, for links in mail.
    pub fn with_public_url(mut self, url: impl Into<String>) -> AnalyticsService {
        self.public_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    pub fn config(&self) -> &AnalyticsConfig {
        &self.config
    }

    // ------------------------------------------------------------------
    // Feeding the roll-ups.

    /// Replaces the organisation's rows of `platform` for every day of
    /// `period` with `rows` (all of that platform, inside the period), and
    /// the per-platform daily totals computed from their campaign level, in
    /// one transaction; publishes `analytics.rolled_up`. Feeding the same
    /// days again replaces them: nothing is counted twice.
    pub async fn record_daily(
        &self,
        scope: &TenantScope,
        platform: &str,
        period: Period,
        rows: &[DailyRow],
    ) -> Result<u64> {
        let org = scope.org_id();
        let mut inserts = Vec::with_capacity(rows.len());
        let mut totals: BTreeMap<(String, String), (Sums, i64)> = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            if r.platform != platform || !period.contains(r.day) {
                return Err(AnalyticsError::field(
                    format!("rows[{i}]"),
                    format!(
                        "Must be a row of {platform} between {} and {}.",
                        day_text(period.since),
                        day_text(period.until)
                    ),
                ));
            }
            if r.spend.currency != r.revenue.currency {
                return Err(AnalyticsError::field(
                    format!("rows[{i}].revenue"),
                    "Must be in the currency of the spend.",
                ));
            }
            let day = day_text(r.day);
            let currency = r.spend.currency.as_str().to_owned();
            if r.level == Level::Campaign {
                let t = totals.entry((day.clone(), currency.clone())).or_default();
                t.0.add(&r.sums());
                if r.spend.micros > 0 {
                    t.1 += 1;
                }
            }
            inserts.push(DailyInsert {
                level: r.level.as_str(),
                platform: platform.to_owned(),
                external_id: r.external_id.clone(),
                day,
                campaign_id: r.campaign_id.clone(),
                ad_set_id: r.ad_set_id.clone(),
                ad_id: r.ad_id.clone(),
                currency,
                spend_micros: r.spend.micros,
                revenue_micros: r.revenue.micros,
                conversions_micros: r.conversions_micros,
                impressions: r.impressions,
                clicks: r.clicks,
            });
        }
        let totals: Vec<TotalsInsert> = totals
            .into_iter()
            .map(|((day, currency), (s, campaigns))| TotalsInsert {
                day,
                platform: platform.to_owned(),
                currency,
                spend_micros: s.spend_micros,
                revenue_micros: s.revenue_micros,
                conversions_micros: s.conversions_micros,
                impressions: s.impressions,
                clicks: s.clicks,
                campaigns,
            })
            .collect();
        let (since, until) = (day_text(period.since), day_text(period.until));
        let mut change = self.record.begin().await?;
        let n = store::replace_days(
            change.tx(),
            org,
            platform,
            &since,
            &until,
            &inserts,
            &totals,
            self.clock.now(),
        )
        .await?;
        change.publish(
            Some(org),
            &RolledUp {
                platform: platform.to_owned(),
                since,
                until,
                rows: i64::try_from(n).unwrap_or(i64::MAX),
            },
        );
        change.commit().await?;
        self.invalidate(scope).await;
        Ok(n)
    }

    /// Reads one platform's synced days from the platforms service (every
    /// level, day by day) and replaces them in the roll-ups: what the
    /// `analytics.ingest` job runs after a metrics sync.
    pub async fn ingest_from_platforms(
        &self,
        scope: &TenantScope,
        platform: &str,
        period: Period,
    ) -> Result<u64> {
        let Some(platforms) = &self.platforms else {
            return Err(AnalyticsError::Internal(
                "the analytics module is not wired to the platforms module".into(),
            ));
        };
        let cap = kiki_platforms_service::service::sync::MAX_METRICS;
        let mut rows = Vec::new();
        for day in period.each_day() {
            for (level, ours) in [
                (MetricLevel::Campaign, Level::Campaign),
                (MetricLevel::AdSet, Level::AdSet),
                (MetricLevel::Ad, Level::Ad),
            ] {
                let got = platforms
                    .metrics(scope, level, Some(day), Some(day), None, cap as u32)
                    .await
                    .map_err(|e| AnalyticsError::Internal(format!("reading metrics: {e}")))?;
                if got.len() as u64 >= cap {
                    return Err(AnalyticsError::Internal(format!(
                        "the platforms service returned its maximum of {cap} {} rows for {}; the day cannot be read whole",
                        level.as_str(),
                        day_text(day)
                    )));
                }
                for m in got.into_iter().filter(|m| m.platform.as_str() == platform) {
                    let day = parse_day(&m.day).ok_or_else(|| {
                        AnalyticsError::Internal(format!("a metric's day `{}`", m.day))
                    })?;
                    rows.push(DailyRow {
                        level: ours,
                        platform: platform.to_owned(),
                        external_id: m.external_id,
                        day,
                        campaign_id: m.campaign_id,
                        ad_set_id: m.ad_set_id,
                        ad_id: m.ad_id,
                        spend: m.spend,
                        revenue: m.conversion_value,
                        conversions_micros: crate::domain::conversions_micros(m.conversions),
                        impressions: m.impressions,
                        clicks: m.clicks,
                    });
                }
            }
        }
        let n = self.record_daily(scope, platform, period, &rows).await?;
        self.ingest_dimensions(scope, platform, period).await?;
        Ok(n)
    }

    // ------------------------------------------------------------------
    // Reads.

    /// An answer from the shared cache, or computed and cached for
    /// `analytics.cache_ttl_secs`. The key holds the active organisation
    /// first, then the route and the resolved query (the days, not "the last
    /// 30 days"), so [`AnalyticsService::invalidate`] drops an
    /// organisation's answers by prefix.
    async fn cached<T, F, Fut>(
        &self,
        q: &Resolved,
        route: &str,
        extra: serde_json::Value,
        f: F,
    ) -> Result<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let ttl = self.config.cache_ttl_secs;
        let Some(active) = q.orgs.first().filter(|_| ttl > 0) else {
            return f().await;
        };
        let s = &q.sel;
        let key = format!(
            "{}{route}:{}",
            cache_prefix(*active),
            json!({
                "orgs": q.orgs.iter().map(|o| o.0).collect::<Vec<_>>(),
                "since": s.since, "until": s.until, "tz": q.time_zone,
                "platform": s.platform, "currency": s.currency,
                "campaign": s.campaign_id, "ad_set": s.ad_set_id, "ad": s.ad, "extra": extra,
                "convert_to": q.convert_to,
            })
        );
        self.cache
            .get_or_compute(&key, Some(std::time::Duration::from_secs(ttl)), f)
            .await
    }

    /// Drops the cached answers that include the organisation's rows: its
    /// own, and its agency's (whose `scope=clients` answers include them).
    async fn invalidate(&self, scope: &TenantScope) {
        let org = scope.org_id();
        self.cache.invalidate_prefix(&cache_prefix(org)).await;
        match self.identity.organisation(scope, org).await {
            Ok(o) => {
                if let Some(parent) = o.parent_id {
                    self.cache.invalidate_prefix(&cache_prefix(parent)).await;
                }
            }
            Err(e) => tracing::warn!(
                error = %e,
                org_id = %org,
                "analytics: the organisation's agency is unknown; its cached roll-up answers expire with their time to live"
            ),
        }
    }

    /// Checks the filters: the time zone, the range (defaults from today
    /// in the zone), the organisations, the currency.
    /// Without `tz` the days are the active organisation's time zone's
    /// (`PATCH /v1/organisations/{id}`), else the configured default's.
    pub async fn resolve(&self, scope: &TenantScope, f: &Filters) -> Result<Resolved> {
        self.resolve_in(scope, &Reach::of(scope), f).await
    }

    /// [`resolve`](Self::resolve) for a reach taken from a scope, now or
    /// when an export job was queued.
    pub(crate) async fn resolve_in(
        &self,
        scope: &TenantScope,
        reach: &Reach,
        f: &Filters,
    ) -> Result<Resolved> {
        let time_zone = match &f.tz {
            Some(z) => z.clone(),
            None => self.time_zone_of(scope, reach.active).await,
        };
        self.resolve_with(reach, f, time_zone)
    }

    /// The organisation's time zone, or the configured default when it has
    /// none (or cannot be read: the answer states the zone it used).
    pub async fn time_zone_of(&self, scope: &TenantScope, org: OrgId) -> String {
        match self.identity.organisation(scope, org).await {
            Ok(o) => o
                .time_zone
                .unwrap_or_else(|| self.config.default_time_zone.clone()),
            Err(e) => {
                tracing::warn!(error = %e, org_id = %org, "analytics: the organisation's time zone is unknown; using the default");
                self.config.default_time_zone.clone()
            }
        }
    }

    fn resolve_with(&self, reach: &Reach, f: &Filters, time_zone: String) -> Result<Resolved> {
        let mut problems = Vec::new();
        let today = kiki_analytics::today_in(self.clock.now(), &time_zone);
        if today.is_none() {
            problems.push(FieldError::new(
                "tz",
                format!("`{time_zone}` is not in the time zone database."),
            ));
        }
        let today = today.unwrap_or_else(|| self.clock.now().date());
        let span = Duration::days(i64::from(self.config.default_range_days) - 1);
        let (since, until) = match (f.since, f.until) {
            (Some(s), Some(u)) => (s, u),
            (Some(s), None) => (s, today),
            (None, Some(u)) => (u - span, u),
            (None, None) => (today - span, today),
        };
        let period = match Period::new(since, until) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(FieldError::new("until", e.sentence()));
                None
            }
        };
        let currency = match &f.currency {
            Some(c) => match Currency::parse_exact(c) {
                Ok(c) => Some(c.as_str().to_owned()),
                Err(_) => {
                    problems.push(FieldError::new(
                        "currency",
                        "Must be a three-letter ISO 4217 code.",
                    ));
                    None
                }
            },
            None => None,
        };
        let convert_to = match &f.convert_to {
            Some(c) => match Currency::parse_exact(c) {
                Ok(c) => Some(c.as_str().to_owned()),
                Err(_) => {
                    problems.push(FieldError::new(
                        "convert_to",
                        "Must be a three-letter ISO 4217 code.",
                    ));
                    None
                }
            },
            None => None,
        };
        if !problems.is_empty() {
            return Err(AnalyticsError::Invalid(problems));
        }
        let Some(period) = period else {
            return Err(AnalyticsError::Internal("a range without its days".into()));
        };
        let kind = f.scope.unwrap_or(ScopeKind::Organisation);
        let orgs = match kind {
            ScopeKind::Organisation => vec![reach.active],
            ScopeKind::Clients => {
                let mut v = vec![reach.active];
                v.extend(
                    reach
                        .reachable
                        .iter()
                        .copied()
                        .filter(|o| *o != reach.active),
                );
                v
            }
        };
        let sel = Selection {
            orgs: orgs.clone(),
            since: day_text(period.since),
            until: day_text(period.until),
            platform: f.platform.clone(),
            currency,
            campaign_id: f.campaign_id.map(|c| c.to_string()),
            ad_set_id: None,
            ad: None,
        };
        Ok(Resolved {
            period,
            scope: kind,
            orgs,
            time_zone,
            sel,
            convert_to,
        })
    }

    /// The margin each organisation's profit figures use.
    async fn margins(
        &self,
        scope: &TenantScope,
        orgs: &[OrgId],
    ) -> Result<BTreeMap<OrgId, Profit>> {
        let mut out = BTreeMap::new();
        for org in orgs {
            let o =
                self.identity.organisation(scope, *org).await.map_err(|e| {
                    AnalyticsError::Internal(format!("reading the organisation: {e}"))
                })?;
            let bps = match o.profit_basis {
                kiki_identity::ProfitBasis::Revenue => None,
                kiki_identity::ProfitBasis::ContributionMargin => {
                    o.contribution_margin_bps.map(|b| b.min(10_000))
                }
            };
            out.insert(*org, Profit { margin_bps: bps });
        }
        Ok(out)
    }

    /// Figures per currency of one period.
    async fn figures(
        &self,
        sel: &Selection,
        margins: &BTreeMap<OrgId, Profit>,
        fx: &mut Option<kiki_analytics::fx::Converter>,
    ) -> Result<BTreeMap<String, SummaryFigures>> {
        let mut per: BTreeMap<String, BTreeMap<OrgId, Sums>> = BTreeMap::new();
        for r in self.day_rows(sel, fx, Grain::ORG).await? {
            per.entry(r.currency.clone())
                .or_default()
                .entry(OrgId(r.org_id))
                .or_default()
                .add(&row_sums(
                    r.spend_micros,
                    r.revenue_micros,
                    r.conversions_micros,
                    r.impressions,
                    r.clicks,
                ));
        }
        let mut active: BTreeMap<String, i64> = BTreeMap::new();
        for r in store::active_campaigns(&self.db, sel).await? {
            let currency = fx.as_ref().map_or(r.currency, |c| c.target().to_owned());
            *active.entry(currency).or_default() += 1;
        }
        let mut out = BTreeMap::new();
        let currencies: BTreeSet<String> = per.keys().chain(active.keys()).cloned().collect();
        for c in currencies {
            let currency = stored_currency(&c)?;
            let by_org: Vec<(Profit, Sums)> = per
                .get(&c)
                .map(|m| {
                    m.iter()
                        .map(|(org, s)| {
                            (
                                margins
                                    .get(org)
                                    .copied()
                                    .unwrap_or(Profit { margin_bps: None }),
                                *s,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let n = active.get(&c).copied().unwrap_or(0);
            out.insert(c, SummaryFigures::of(currency, &by_org, n));
        }
        Ok(out)
    }

    /// `GET /v1/analytics/summary`.
    pub async fn summary(
        &self,
        scope: &TenantScope,
        f: &Filters,
        cmp: Comparison,
    ) -> Result<Summary> {
        let q = self.resolve(scope, f).await?;
        self.cached(&q, "summary", json!(cmp), || {
            self.summary_now(scope, &q, cmp)
        })
        .await
    }

    async fn summary_now(
        &self,
        scope: &TenantScope,
        q: &Resolved,
        cmp: Comparison,
    ) -> Result<Summary> {
        let comparison = match cmp.mode {
            CompareMode::None => None,
            CompareMode::Previous => Some(q.period.previous()),
            CompareMode::Custom => {
                let (Some(s), Some(u)) = (cmp.since, cmp.until) else {
                    let mut fields = Vec::new();
                    for (name, v) in [("compare_since", cmp.since), ("compare_until", cmp.until)] {
                        if v.is_none() {
                            fields.push(FieldError::new(name, "Required with `compare=custom`."));
                        }
                    }
                    return Err(AnalyticsError::Invalid(fields));
                };
                Some(
                    Period::new(s, u)
                        .map_err(|e| AnalyticsError::field("compare_until", e.sentence()))?,
                )
            }
        };
        let margins = self.margins(scope, &q.orgs).await?;
        let mut fx = self.converter(scope, q, comparison).await?;
        let current = self.figures(&q.sel, &margins, &mut fx).await?;
        let previous = match comparison {
            Some(p) => {
                let mut sel = q.sel.clone();
                sel.since = day_text(p.since);
                sel.until = day_text(p.until);
                Some(self.figures(&sel, &margins, &mut fx).await?)
            }
            None => None,
        };
        let mut currencies: BTreeSet<&String> = current.keys().collect();
        if let Some(p) = &previous {
            currencies.extend(p.keys());
        }
        let mut out = Vec::new();
        for c in currencies {
            let currency = stored_currency(c)?;
            let zero = || SummaryFigures::of(currency, &[], 0);
            let cur = current.get(c).cloned().unwrap_or_else(zero);
            let prev = previous
                .as_ref()
                .map(|p| p.get(c).cloned().unwrap_or_else(zero));
            let change = prev.as_ref().map(|p| SummaryChange::between(&cur, p));
            out.push(CurrencySummary {
                currency,
                current: cur,
                previous: prev,
                change,
            });
        }
        self.add_outcomes(scope, q, comparison, &margins, &mut fx, &mut out)
            .await?;
        fx::mark_converted(&mut out, &fx);
        Ok(Summary {
            period: q.period.into(),
            comparison: comparison.map(Into::into),
            scope: q.scope,
            organisations: q.orgs.iter().map(|o| o.0).collect(),
            time_zone: q.time_zone.clone(),
            currencies: out,
            margins: margins
                .iter()
                .map(|(org, p)| MarginView {
                    organisation_id: org.0,
                    margin_bps: u32::try_from(p.effective_bps()).unwrap_or(10_000),
                    assumed: p.margin_bps.is_none(),
                })
                .collect(),
            fx: fx::fx_view(&fx),
        })
    }

    /// `GET /v1/analytics/timeseries`.
    pub async fn timeseries(
        &self,
        scope: &TenantScope,
        f: &Filters,
        granularity: Granularity,
    ) -> Result<TimeSeries> {
        let q = self.resolve(scope, f).await?;
        self.cached(&q, "timeseries", json!(granularity), || {
            self.timeseries_now(scope, &q, granularity)
        })
        .await
    }

    async fn timeseries_now(
        &self,
        scope: &TenantScope,
        q: &Resolved,
        granularity: Granularity,
    ) -> Result<TimeSeries> {
        let mut fx = self.converter(scope, q, None).await?;
        let mut sums: BTreeMap<(Date, String), Sums> = BTreeMap::new();
        let mut currencies = BTreeSet::new();
        for r in self.day_rows(&q.sel, &mut fx, Grain::DAY).await? {
            let day = parse_day(&r.day)
                .ok_or_else(|| AnalyticsError::Internal(format!("a stored day `{}`", r.day)))?;
            currencies.insert(r.currency.clone());
            sums.entry((granularity.start_of(day), r.currency.clone()))
                .or_default()
                .add(&row_sums(
                    r.spend_micros,
                    r.revenue_micros,
                    r.conversions_micros,
                    r.impressions,
                    r.clicks,
                ));
        }
        let mut points = Vec::new();
        for b in kiki_analytics::buckets(&q.period, granularity) {
            for c in &currencies {
                let s = sums.get(&(b.start, c.clone())).copied().unwrap_or_default();
                points.push(SeriesPoint {
                    start: b.start,
                    first_day: b.first_day,
                    last_day: b.last_day,
                    metrics: MetricSet::of(stored_currency(c)?, &s),
                });
            }
        }
        Ok(TimeSeries {
            period: q.period.into(),
            granularity,
            time_zone: q.time_zone.clone(),
            points,
            fx: fx::fx_view(&fx),
        })
    }

    /// Object rows of a level, summed over the range per object and
    /// currency.
    async fn group_rows(&self, sel: &Selection, level: Level) -> Result<Vec<(GroupRow, Sums)>> {
        store::objects(&self.db, sel, level.as_str())
            .await?
            .into_iter()
            .map(|r| {
                let s = row_sums(
                    r.spend_micros,
                    r.revenue_micros,
                    r.conversions_micros,
                    r.impressions,
                    r.clicks,
                );
                let currency = stored_currency(&r.currency)?;
                Ok((
                    GroupRow {
                        platform: Some(r.platform),
                        organisation_id: Some(r.org_id),
                        external_id: Some(r.external_id),
                        campaign_id: r.campaign_id,
                        ad_set_id: r.ad_set_id,
                        ad_id: r.ad_id,
                        creative: None,
                        country: None,
                        device: None,
                        metrics: MetricSet::of(currency, &s),
                    },
                    s,
                ))
            })
            .collect()
    }

    /// `GET /v1/analytics/breakdown`.
    pub async fn breakdown(
        &self,
        scope: &TenantScope,
        f: &Filters,
        by: Dimension,
        limit: usize,
    ) -> Result<Breakdown> {
        let q = self.resolve(scope, f).await?;
        let limit = limit.min(self.config.max_rows as usize);
        self.cached(&q, "breakdown", json!([by, limit]), || {
            self.breakdown_now(scope, &q, by, limit)
        })
        .await
    }

    async fn breakdown_now(
        &self,
        scope: &TenantScope,
        q: &Resolved,
        by: Dimension,
        limit: usize,
    ) -> Result<Breakdown> {
        let mut fx = self.converter(scope, q, None).await?;
        if fx.is_some()
            && matches!(
                by,
                Dimension::Variant | Dimension::Country | Dimension::Device
            )
        {
            return Err(AnalyticsError::field(
                "convert_to",
                format!(
                    "Converting is available by platform, organisation, campaign, ad set and ad, not by {}.",
                    by.as_str()
                ),
            ));
        }
        let mut rows: Vec<GroupRow> = match by {
            Dimension::Variant => self.variant_breakdown_rows(scope, q).await?,
            Dimension::Platform | Dimension::Organisation => {
                let mut sums: BTreeMap<(Option<String>, Option<Uuid>, String), Sums> =
                    BTreeMap::new();
                let grain = match by {
                    Dimension::Platform => Grain::PLATFORM,
                    _ => Grain::ORG,
                };
                for r in self.day_rows(&q.sel, &mut fx, grain).await? {
                    let key = match by {
                        Dimension::Platform => (Some(r.platform.clone()), None, r.currency.clone()),
                        _ => (None, Some(r.org_id), r.currency.clone()),
                    };
                    sums.entry(key).or_default().add(&row_sums(
                        r.spend_micros,
                        r.revenue_micros,
                        r.conversions_micros,
                        r.impressions,
                        r.clicks,
                    ));
                }
                sums.into_iter()
                    .map(|((platform, org, c), s)| {
                        Ok(GroupRow {
                            platform,
                            organisation_id: org,
                            external_id: None,
                            campaign_id: None,
                            ad_set_id: None,
                            ad_id: None,
                            creative: None,
                            country: None,
                            device: None,
                            metrics: MetricSet::of(stored_currency(&c)?, &s),
                        })
                    })
                    .collect::<Result<_>>()?
            }
            Dimension::Country | Dimension::Device => {
                return self.dimension_breakdown(q, by, limit).await;
            }
            Dimension::Campaign | Dimension::AdSet | Dimension::Ad => match fx.as_mut() {
                Some(conv) => self.converted_group_rows(&q.sel, by.level(), conv).await?,
                None => self.group_rows(&q.sel, by.level()).await?,
            }
            .into_iter()
            .map(|(r, _)| r)
            .collect(),
        };
        sort_by_spend(&mut rows);
        let total_rows = rows.len();
        rows.truncate(limit);
        Ok(Breakdown {
            period: q.period.into(),
            by,
            rows,
            total_rows,
            truncated: total_rows > limit,
            not_reported_by: Vec::new(),
            fx: fx::fx_view(&fx),
        })
    }

    /// `GET /v1/analytics/performers`.
    pub async fn performers(
        &self,
        scope: &TenantScope,
        f: &Filters,
        mut r: RankRequest,
    ) -> Result<Performers> {
        let q = self.resolve(scope, f).await?;
        r.limit = r.limit.min(self.config.max_rows as usize);
        self.cached(&q, "performers", json!(r), || {
            self.performers_now(scope, &q, r)
        })
        .await
    }

    async fn performers_now(
        &self,
        scope: &TenantScope,
        q: &Resolved,
        r: RankRequest,
    ) -> Result<Performers> {
        let mut fx = self.converter(scope, q, None).await?;
        let rows = match fx.as_mut() {
            Some(conv) => {
                self.converted_group_rows(&q.sel, r.level.level(), conv)
                    .await?
            }
            None => self.group_rows(&q.sel, r.level.level()).await?,
        };
        if r.metric.is_money() && q.sel.currency.is_none() {
            let currencies: BTreeSet<&str> = rows
                .iter()
                .map(|(g, _)| g.metrics.currency.as_str())
                .collect();
            if currencies.len() > 1 {
                return Err(AnalyticsError::field(
                    "currency",
                    format!(
                        "The rows are in several currencies ({}); name one to rank by {}, an amount.",
                        currencies.into_iter().collect::<Vec<_>>().join(", "),
                        r.metric.as_str()
                    ),
                ));
            }
        }
        let keyed: Vec<(GroupKey, Sums)> =
            rows.into_iter().map(|(g, s)| (GroupKey(g), s)).collect();
        let ranking = kiki_analytics::rank(keyed, r.metric, r.direction, &r.min, r.limit);
        Ok(Performers {
            period: q.period.into(),
            level: r.level,
            metric: r.metric,
            direction: r.direction,
            rows: ranking
                .rows
                .into_iter()
                .enumerate()
                .map(|(i, x)| RankedRow {
                    rank: i + 1,
                    value: x.value,
                    row: x.key.0,
                })
                .collect(),
            eligible: ranking.eligible,
            below_minimum: ranking.below_minimum,
            undefined: ranking.undefined,
            fx: fx::fx_view(&fx),
        })
    }

    /// `GET /v1/analytics/drilldown`: the organisation, a campaign or an ad
    /// set: its totals, the next level down, and its days.
    pub async fn drilldown(
        &self,
        scope: &TenantScope,
        f: &Filters,
        ad_set_id: Option<Uuid>,
        limit: usize,
    ) -> Result<DrillDown> {
        let mut q = self.resolve(scope, f).await?;
        q.sel.ad_set_id = ad_set_id.map(|a| a.to_string());
        let limit = limit.min(self.config.max_rows as usize);
        self.cached(&q, "drilldown", json!(limit), || {
            self.drilldown_now(&q, limit)
        })
        .await
    }

    /// One ad of an ad set (by its id on the platform): its totals and its
    /// days, with no level below. The dashboard's last drill-down step.
    pub async fn drilldown_ad(
        &self,
        scope: &TenantScope,
        f: &Filters,
        ad_set_id: Uuid,
        ad: &str,
    ) -> Result<DrillDown> {
        let mut q = self.resolve(scope, f).await?;
        q.sel.ad_set_id = Some(ad_set_id.to_string());
        q.sel.ad = Some(ad.to_owned());
        self.cached(&q, "drilldown", json!(0), || self.drilldown_now(&q, 0))
            .await
    }

    async fn drilldown_now(&self, q: &Resolved, limit: usize) -> Result<DrillDown> {
        let (level, own, child) = match (&q.sel.campaign_id, &q.sel.ad_set_id, &q.sel.ad) {
            (_, _, Some(_)) => (DrillLevel::Ad, Level::Ad, None),
            (None, None, None) => (
                DrillLevel::Organisation,
                Level::Campaign,
                Some(Level::Campaign),
            ),
            (Some(_), None, None) => (DrillLevel::Campaign, Level::Campaign, Some(Level::AdSet)),
            (_, Some(_), None) => (DrillLevel::AdSet, Level::AdSet, Some(Level::Ad)),
        };
        let mut totals: BTreeMap<String, Sums> = BTreeMap::new();
        for (g, s) in self.group_rows(&q.sel, own).await? {
            totals
                .entry(g.metrics.currency.as_str().to_owned())
                .or_default()
                .add(&s);
        }
        let mut children: Vec<GroupRow> = match child {
            Some(child) => self
                .group_rows(&q.sel, child)
                .await?
                .into_iter()
                .map(|(g, _)| g)
                .collect(),
            None => Vec::new(),
        };
        sort_by_spend(&mut children);
        let truncated = children.len() > limit;
        children.truncate(limit);
        let mut daily: BTreeMap<(Date, String), Sums> = BTreeMap::new();
        for r in store::days(&self.db, &q.sel, Grain::DAY).await? {
            let day = parse_day(&r.day)
                .ok_or_else(|| AnalyticsError::Internal(format!("a stored day `{}`", r.day)))?;
            daily.entry((day, r.currency)).or_default().add(&row_sums(
                r.spend_micros,
                r.revenue_micros,
                r.conversions_micros,
                r.impressions,
                r.clicks,
            ));
        }
        Ok(DrillDown {
            period: q.period.into(),
            level,
            campaign_id: q.sel.campaign_id.clone(),
            ad_set_id: q.sel.ad_set_id.clone(),
            totals: totals
                .iter()
                .map(|(c, s)| Ok(MetricSet::of(stored_currency(c)?, s)))
                .collect::<Result<_>>()?,
            children,
            children_truncated: truncated,
            daily: daily
                .into_iter()
                .map(|((day, c), s)| {
                    Ok(DayPoint {
                        day,
                        metrics: MetricSet::of(stored_currency(&c)?, &s),
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    /// The current time, from the service's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// Refuses a caller without the `export` permission.
    pub fn check_export(&self, p: &Principal) -> Result<()> {
        let needed = kiki_identity::Permission::Export;
        if !p.has(needed) {
            return Err(AnalyticsError::Forbidden(format!(
                "Exporting needs the permission `{}`, which your role in this organisation does not have.",
                needed.as_str()
            )));
        }
        Ok(())
    }

    /// Runs a table report for an export job: the reach stored with the
    /// job, rows up to `cap`, never from the cache.
    pub(crate) async fn report_in(
        &self,
        scope: &TenantScope,
        reach: &Reach,
        req: &ReportRequest,
        cap: usize,
    ) -> Result<Report> {
        let mut q = self.resolve_in(scope, reach, req.filters()).await?;
        Ok(match req {
            ReportRequest::TimeSeries(_, g) => {
                Report::TimeSeries(self.timeseries_now(scope, &q, *g).await?)
            }
            ReportRequest::Breakdown(_, by, limit) => Report::Breakdown(
                self.breakdown_now(scope, &q, *by, (*limit).min(cap))
                    .await?,
            ),
            ReportRequest::Performers(_, r) => {
                let mut r = *r;
                r.limit = r.limit.min(cap);
                Report::Performers(self.performers_now(scope, &q, r).await?)
            }
            ReportRequest::DrillDown(_, ad_set, limit) => {
                q.sel.ad_set_id = ad_set.map(|a| a.to_string());
                Report::DrillDown(self.drilldown_now(&q, (*limit).min(cap)).await?)
            }
            ReportRequest::Variants(_) => Report::Variants(self.variants_now(scope, &q).await?),
            ReportRequest::Summary(_, cmp) => {
                Report::Summary(Box::new(self.summary_now(scope, &q, *cmp).await?))
            }
        })
    }

    /// The name of the scope's organisation, as a PDF prints it.
    pub async fn organisation_name(&self, scope: &TenantScope) -> Result<String> {
        self.identity
            .organisation(scope, scope.org_id())
            .await
            .map(|o| o.name)
            .map_err(|e| AnalyticsError::Internal(format!("reading the organisation: {e}")))
    }

    /// Checks that the caller may export, and writes the export's audit
    /// entry (`analytics.exported`: the report, the format, the range, the
    /// rows) before the file is sent.
    pub async fn audit_export(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        report: &str,
        format: Format,
        period: &crate::domain::PeriodView,
        rows: usize,
    ) -> Result<()> {
        self.check_export(p)?;
        let org = p.scope.org_id();
        let mut change = self.record.begin().await?;
        change
            .audit(
                AuditEvent::new(Some(org), p.actor(), "analytics.exported")
                    .target("report", report)
                    .details(json!({
                        "format": format.as_str(),
                        "since": day_text(period.since),
                        "until": day_text(period.until),
                        "rows": rows,
                    }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        change.commit().await?;
        Ok(())
    }
}

/// A ranked row's key: ordered by organisation, platform, object and
/// currency (ties in a ranking are broken by it).
#[derive(Debug, Clone, PartialEq)]
struct GroupKey(GroupRow);

fn group_key(r: &GroupRow) -> (Option<Uuid>, Option<&str>, Option<&str>, &str) {
    (
        r.organisation_id,
        r.platform.as_deref(),
        r.external_id.as_deref(),
        r.metrics.currency.as_str(),
    )
}

impl Eq for GroupKey {}

impl PartialOrd for GroupKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GroupKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        group_key(&self.0).cmp(&group_key(&other.0))
    }
}

/// Largest spend first, then by organisation, platform, object, currency.
fn sort_by_spend(rows: &mut [GroupRow]) {
    rows.sort_by(|a, b| {
        b.metrics
            .spend
            .micros
            .cmp(&a.metrics.spend.micros)
            .then_with(|| group_key(a).cmp(&group_key(b)))
    });
}

fn row_sums(
    spend: Option<i64>,
    revenue: Option<i64>,
    conversions: Option<i64>,
    impressions: Option<i64>,
    clicks: Option<i64>,
) -> Sums {
    Sums {
        spend_micros: spend.unwrap_or(0),
        revenue_micros: revenue.unwrap_or(0),
        conversions_micros: conversions.unwrap_or(0),
        impressions: impressions.unwrap_or(0),
        clicks: clicks.unwrap_or(0),
    }
}

fn cache_prefix(org: OrgId) -> String {
    format!("analytics:{}:", org.0)
}

fn stored_currency(c: &str) -> Result<Currency> {
    Currency::parse(c).map_err(|_| AnalyticsError::Internal(format!("a stored currency `{c}`")))
}
