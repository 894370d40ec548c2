//! Every query on the analytics tables (`analytics_daily`,
//! `analytics_daily_totals`). Each takes the organisations of the caller's
//! scope (one, or an agency's reachable clients) and never reads another
//! context's tables.

pub(crate) mod dimensions;
pub(crate) mod exports;
pub(crate) mod fx;
pub(crate) mod rows;
pub(crate) mod schedules;
pub(crate) mod schema;

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Query, SelectStatement, SimpleExpr};
use time::OffsetDateTime;
use uuid::Uuid;

use schema::{AnalyticsCampaignSpans as S, AnalyticsDaily as D, AnalyticsDailyTotals as T};

/// One object's numbers on one day, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DailyInsert {
    pub level: &'static str,
    pub platform: String,
    pub external_id: String,
    pub day: String,
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    pub currency: String,
    pub spend_micros: i64,
    pub revenue_micros: i64,
    pub conversions_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

/// One platform's totals on one day in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TotalsInsert {
    pub day: String,
    pub platform: String,
    pub currency: String,
    pub spend_micros: i64,
    pub revenue_micros: i64,
    pub conversions_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
    pub campaigns: i64,
}

/// Replaces one platform's days `since..=until` of an organisation: the
/// stored rows of those days are deleted and `rows` and `totals` written,
/// in the caller's transaction (a re-synced day is replaced, never added).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn replace_days(
    tx: &mut Tx<'_>,
    org: OrgId,
    platform: &str,
    since: &str,
    until: &str,
    rows: &[DailyInsert],
    totals: &[TotalsInsert],
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let del = Query::delete()
        .from_table(D::Table)
        .and_where(Expr::col(D::OrgId).eq(org.0))
        .and_where(Expr::col(D::Platform).eq(platform))
        .and_where(Expr::col(D::Day).gte(since))
        .and_where(Expr::col(D::Day).lte(until))
        .to_owned();
    tx.execute(&del).await?;
    let del = Query::delete()
        .from_table(T::Table)
        .and_where(Expr::col(T::OrgId).eq(org.0))
        .and_where(Expr::col(T::Platform).eq(platform))
        .and_where(Expr::col(T::Day).gte(since))
        .and_where(Expr::col(T::Day).lte(until))
        .to_owned();
    tx.execute(&del).await?;
    let mut n = 0;
    for chunk in rows.chunks(500) {
        let mut stmt = Query::insert()
            .into_table(D::Table)
            .columns([
                D::OrgId,
                D::Level,
                D::Platform,
                D::ExternalId,
                D::Day,
                D::CampaignId,
                D::AdSetId,
                D::AdId,
                D::Currency,
                D::SpendMicros,
                D::RevenueMicros,
                D::ConversionsMicros,
                D::Impressions,
                D::Clicks,
                D::UpdatedAt,
            ])
            .to_owned();
        for r in chunk {
            stmt.values_panic([
                org.0.into(),
                r.level.into(),
                r.platform.as_str().into(),
                r.external_id.as_str().into(),
                r.day.as_str().into(),
                r.campaign_id.clone().into(),
                r.ad_set_id.clone().into(),
                r.ad_id.clone().into(),
                r.currency.as_str().into(),
                r.spend_micros.into(),
                r.revenue_micros.into(),
                r.conversions_micros.into(),
                r.impressions.into(),
                r.clicks.into(),
                now.into(),
            ]);
        }
        n += tx.execute(&stmt).await?;
    }
    for chunk in totals.chunks(500) {
        let mut stmt = Query::insert()
            .into_table(T::Table)
            .columns([
                T::OrgId,
                T::Day,
                T::Platform,
                T::Currency,
                T::SpendMicros,
                T::RevenueMicros,
                T::ConversionsMicros,
                T::Impressions,
                T::Clicks,
                T::Campaigns,
                T::UpdatedAt,
            ])
            .to_owned();
        for r in chunk {
            stmt.values_panic([
                org.0.into(),
                r.day.as_str().into(),
                r.platform.as_str().into(),
                r.currency.as_str().into(),
                r.spend_micros.into(),
                r.revenue_micros.into(),
                r.conversions_micros.into(),
                r.impressions.into(),
                r.clicks.into(),
                r.campaigns.into(),
                now.into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    widen_spans(tx, org, rows).await?;
    Ok(n)
}

/// Widens the campaigns' spend spans (`analytics_campaign_spans`) to the
/// days of `rows` with spend, in the caller's transaction.
async fn widen_spans(tx: &mut Tx<'_>, org: OrgId, rows: &[DailyInsert]) -> Result<(), StoreError> {
    // (platform, external id, currency) → (campaign id, first day, last day).
    type Key<'a> = (&'a str, &'a str, &'a str);
    type Span<'a> = (Option<&'a str>, &'a str, &'a str);
    let mut spans: std::collections::BTreeMap<Key<'_>, Span<'_>> =
        std::collections::BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| r.level == "campaign" && r.spend_micros > 0)
    {
        let key = (
            r.platform.as_str(),
            r.external_id.as_str(),
            r.currency.as_str(),
        );
        let day = r.day.as_str();
        let e = spans
            .entry(key)
            .or_insert((r.campaign_id.as_deref(), day, day));
        e.0 = e.0.or(r.campaign_id.as_deref());
        e.1 = std::cmp::min(e.1, day);
        e.2 = std::cmp::max(e.2, day);
    }
    let spans: Vec<_> = spans.into_iter().collect();
    for chunk in spans.chunks(500) {
        let mut stmt = Query::insert()
            .into_table(S::Table)
            .columns([
                S::OrgId,
                S::Platform,
                S::ExternalId,
                S::Currency,
                S::CampaignId,
                S::FirstDay,
                S::LastDay,
            ])
            .on_conflict(
                OnConflict::columns([S::OrgId, S::Platform, S::ExternalId, S::Currency])
                    .value(
                        S::CampaignId,
                        Expr::cust(
                            "COALESCE(excluded.campaign_id, analytics_campaign_spans.campaign_id)",
                        ),
                    )
                    .value(
                        S::FirstDay,
                        Expr::cust(
                            "CASE WHEN excluded.first_day < analytics_campaign_spans.first_day \
                             THEN excluded.first_day ELSE analytics_campaign_spans.first_day END",
                        ),
                    )
                    .value(
                        S::LastDay,
                        Expr::cust(
                            "CASE WHEN excluded.last_day > analytics_campaign_spans.last_day \
                             THEN excluded.last_day ELSE analytics_campaign_spans.last_day END",
                        ),
                    )
                    .to_owned(),
            )
            .to_owned();
        for ((platform, external_id, currency), (campaign_id, first, last)) in chunk {
            stmt.values_panic([
                org.0.into(),
                (*platform).into(),
                (*external_id).into(),
                (*currency).into(),
                campaign_id.map(str::to_owned).into(),
                (*first).into(),
                (*last).into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    Ok(())
}

/// What a read selects: the organisations (always), the days, and optional
/// equalities.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    pub orgs: Vec<OrgId>,
    pub since: String,
    pub until: String,
    pub platform: Option<String>,
    pub currency: Option<String>,
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    /// One ad, by its id on the platform (ad rows only).
    pub ad: Option<String>,
}

impl Selection {
    /// True when the per-platform totals can answer (no object filter).
    pub fn totals_suffice(&self) -> bool {
        self.campaign_id.is_none() && self.ad_set_id.is_none() && self.ad.is_none()
    }

    fn apply_daily(&self, stmt: &mut SelectStatement, level: &str) {
        stmt.and_where(Expr::col(D::OrgId).is_in(self.orgs.iter().map(|o| o.0)))
            .and_where(Expr::col(D::Level).eq(level))
            .and_where(Expr::col(D::Day).gte(self.since.as_str()))
            .and_where(Expr::col(D::Day).lte(self.until.as_str()));
        if let Some(p) = &self.platform {
            stmt.and_where(Expr::col(D::Platform).eq(p.as_str()));
        }
        if let Some(c) = &self.currency {
            stmt.and_where(Expr::col(D::Currency).eq(c.as_str()));
        }
        if let Some(c) = &self.campaign_id {
            stmt.and_where(Expr::col(D::CampaignId).eq(c.as_str()));
        }
        if let Some(a) = &self.ad_set_id {
            stmt.and_where(Expr::col(D::AdSetId).eq(a.as_str()));
        }
        if let Some(a) = &self.ad {
            stmt.and_where(Expr::col(D::ExternalId).eq(a.as_str()));
        }
    }

    fn apply_totals(&self, stmt: &mut SelectStatement) {
        stmt.and_where(Expr::col(T::OrgId).is_in(self.orgs.iter().map(|o| o.0)))
            .and_where(Expr::col(T::Day).gte(self.since.as_str()))
            .and_where(Expr::col(T::Day).lte(self.until.as_str()));
        if let Some(p) = &self.platform {
            stmt.and_where(Expr::col(T::Platform).eq(p.as_str()));
        }
        if let Some(c) = &self.currency {
            stmt.and_where(Expr::col(T::Currency).eq(c.as_str()));
        }
    }
}

/// PostgreSQL sums BIGINT as NUMERIC; cast back so both backends decode i64.
fn sum_of(col: impl sea_query::IntoColumnRef) -> SimpleExpr {
    Func::cast_as(Func::sum(Expr::col(col)), Alias::new("BIGINT")).into()
}

fn sums(stmt: &mut SelectStatement, cols: [Alias; 5]) {
    let [spend, revenue, conversions, impressions, clicks] = cols;
    stmt.expr_as(sum_of(spend), Alias::new("spend_micros"))
        .expr_as(sum_of(revenue), Alias::new("revenue_micros"))
        .expr_as(sum_of(conversions), Alias::new("conversions_micros"))
        .expr_as(sum_of(impressions), Alias::new("impressions"))
        .expr_as(sum_of(clicks), Alias::new("clicks"));
}

fn sum_columns() -> [Alias; 5] {
    [
        Alias::new("spend_micros"),
        Alias::new("revenue_micros"),
        Alias::new("conversions_micros"),
        Alias::new("impressions"),
        Alias::new("clicks"),
    ]
}

/// Sums of one organisation's platform on one day in one currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct DayRow {
    pub org_id: Uuid,
    pub day: String,
    pub platform: String,
    pub currency: String,
    pub spend_micros: Option<i64>,
    pub revenue_micros: Option<i64>,
    pub conversions_micros: Option<i64>,
    pub impressions: Option<i64>,
    pub clicks: Option<i64>,
}

/// Which keys a read of daily sums groups by besides the currency; a key
/// left out is summed over and comes back as a placeholder (the nil id,
/// an empty day or platform), so a summary returns one row per
/// organisation and currency instead of one per day and platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grain {
    pub org: bool,
    pub day: bool,
    pub platform: bool,
}

impl Grain {
    /// Per organisation, day and platform (what conversion reads: each row
    /// is converted at its day's rate).
    pub const FULL: Grain = Grain {
        org: true,
        day: true,
        platform: true,
    };
    pub const ORG: Grain = Grain {
        org: true,
        day: false,
        platform: false,
    };
    pub const DAY: Grain = Grain {
        org: false,
        day: true,
        platform: false,
    };
    pub const PLATFORM: Grain = Grain {
        org: false,
        day: false,
        platform: true,
    };
}

/// Sums per currency and the keys of `grain` (organisation, day,
/// platform): from the totals table when no object is named, else from
/// the campaign-level rows (or the ad-set level when an ad set is named).
pub(crate) async fn days(
    db: &Db,
    sel: &Selection,
    grain: Grain,
) -> Result<Vec<DayRow>, StoreError> {
    let mut stmt = Query::select();
    let totals = sel.totals_suffice();
    let key =
        |stmt: &mut SelectStatement, on: bool, col: SimpleExpr, name: &str, blank: SimpleExpr| {
            if on {
                stmt.expr_as(col.clone(), Alias::new(name))
                    .add_group_by([col]);
            } else {
                stmt.expr_as(blank, Alias::new(name));
            }
        };
    let (org, day, platform, currency): (SimpleExpr, SimpleExpr, SimpleExpr, SimpleExpr) = if totals
    {
        (
            Expr::col(T::OrgId),
            Expr::col(T::Day),
            Expr::col(T::Platform),
            Expr::col(T::Currency),
        )
    } else {
        (
            Expr::col(D::OrgId),
            Expr::col(D::Day),
            Expr::col(D::Platform),
            Expr::col(D::Currency),
        )
    };
    key(&mut stmt, grain.org, org, "org_id", Expr::val(Uuid::nil()));
    key(&mut stmt, grain.day, day, "day", Expr::val(""));
    key(
        &mut stmt,
        grain.platform,
        platform,
        "platform",
        Expr::val(""),
    );
    key(&mut stmt, true, currency, "currency", Expr::val(""));
    sums(&mut stmt, sum_columns());
    if totals {
        stmt.from(T::Table);
        sel.apply_totals(&mut stmt);
    } else {
        let level = if sel.ad.is_some() {
            "ad"
        } else if sel.ad_set_id.is_some() {
            "ad_set"
        } else {
            "campaign"
        };
        stmt.from(D::Table);
        sel.apply_daily(&mut stmt, level);
    }
    db.fetch_all(&stmt).await
}

/// One object's sums over the range.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ObjectRow {
    pub org_id: Uuid,
    pub platform: String,
    pub external_id: String,
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    pub currency: String,
    pub spend_micros: Option<i64>,
    pub revenue_micros: Option<i64>,
    pub conversions_micros: Option<i64>,
    pub impressions: Option<i64>,
    pub clicks: Option<i64>,
}

/// Sums per object of a level (and currency) over the range.
pub(crate) async fn objects(
    db: &Db,
    sel: &Selection,
    level: &str,
) -> Result<Vec<ObjectRow>, StoreError> {
    let mut stmt = Query::select()
        .columns([
            D::OrgId,
            D::Platform,
            D::ExternalId,
            D::CampaignId,
            D::AdSetId,
            D::AdId,
            D::Currency,
        ])
        .from(D::Table)
        .group_by_col(D::OrgId)
        .group_by_col(D::Platform)
        .group_by_col(D::ExternalId)
        .group_by_col(D::CampaignId)
        .group_by_col(D::AdSetId)
        .group_by_col(D::AdId)
        .group_by_col(D::Currency)
        .to_owned();
    sums(&mut stmt, sum_columns());
    sel.apply_daily(&mut stmt, level);
    db.fetch_all(&stmt).await
}

/// A campaign that spent in the range, in a currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ActiveRow {
    pub currency: String,
}

/// The campaigns with spend in the range, once per organisation, platform,
/// campaign and currency. The candidates are the campaigns whose spend span
/// (`analytics_campaign_spans`) overlaps the range; each is confirmed by one
/// probe of `analytics_daily`'s primary key for a day of the range with
/// spend, so the cost follows the number of campaigns, not of campaign-days.
pub(crate) async fn active_campaigns(
    db: &Db,
    sel: &Selection,
) -> Result<Vec<ActiveRow>, StoreError> {
    if sel.ad_set_id.is_some() || sel.ad.is_some() {
        // Campaign rows carry no ad set or ad: nothing matches.
        return Ok(Vec::new());
    }
    let spans = Alias::new("s");
    let daily = Alias::new("d");
    let probe = Query::select()
        .expr(Expr::val(1))
        .from_as(D::Table, daily.clone())
        .and_where(Expr::col((daily.clone(), D::OrgId)).equals((spans.clone(), S::OrgId)))
        .and_where(Expr::col((daily.clone(), D::Level)).eq("campaign"))
        .and_where(Expr::col((daily.clone(), D::Platform)).equals((spans.clone(), S::Platform)))
        .and_where(Expr::col((daily.clone(), D::ExternalId)).equals((spans.clone(), S::ExternalId)))
        .and_where(Expr::col((daily.clone(), D::Day)).gte(sel.since.as_str()))
        .and_where(Expr::col((daily.clone(), D::Day)).lte(sel.until.as_str()))
        .and_where(Expr::col((daily.clone(), D::Currency)).equals((spans.clone(), S::Currency)))
        .and_where(Expr::col((daily, D::SpendMicros)).gt(0))
        .to_owned();
    let mut stmt = Query::select()
        .column((spans.clone(), S::Currency))
        .from_as(S::Table, spans.clone())
        .and_where(Expr::col((spans.clone(), S::OrgId)).is_in(sel.orgs.iter().map(|o| o.0)))
        .and_where(Expr::col((spans.clone(), S::FirstDay)).lte(sel.until.as_str()))
        .and_where(Expr::col((spans.clone(), S::LastDay)).gte(sel.since.as_str()))
        .and_where(Expr::exists(probe))
        .to_owned();
    if let Some(p) = &sel.platform {
        stmt.and_where(Expr::col((spans.clone(), S::Platform)).eq(p.as_str()));
    }
    if let Some(c) = &sel.currency {
        stmt.and_where(Expr::col((spans.clone(), S::Currency)).eq(c.as_str()));
    }
    if let Some(c) = &sel.campaign_id {
        stmt.and_where(Expr::col((spans, S::CampaignId)).eq(c.as_str()));
    }
    db.fetch_all(&stmt).await
}
