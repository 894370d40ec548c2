//! One pass of the sandbox over an account: its objects read at once (the
//! whole account, one campaign's tree or one ad set's), the days since the
//! last delivered one computed by the market for every live ad set and
//! stored in one transaction, and delivered days rolled up to the level
//! insights ask for. A pass costs a fixed number of queries whatever the
//! number of campaigns: at 2,000 campaigns and 90 days it is one read of the
//! objects, one of the last delivered days and one bulk insert (reading per
//! ad set and day would be one query per ad set and day, 180,000 there).
//! The sync at that size is measured in docs/benchmarks.md, "Ad platforms".

use std::collections::{BTreeMap, HashMap};

use kiki_platforms::breakdown::{DayTotals, base_mix, split_day};
use kiki_platforms::{
    AdSetDay, AdSetSpec, AdSpec, BreakdownDimension, BreakdownRow, CreativeQuality, CreativeSpec,
    InsightLevel, InsightRow, PlatformError,
};
use kiki_twin::Industry;
use time::{Date, Duration};

use super::{DEFAULT_AUDIENCE, MAX_BACKFILL_DAYS, SandboxPlatform, is_active, transient};
use crate::store::sandbox::{DayRow, SandboxObject};
use crate::store::{self, day_text, parse_day};

/// The objects a pass works on, by kind.
#[derive(Debug, Default)]
pub(super) struct Book {
    /// The whole account (else one campaign's or one ad set's tree).
    pub whole: bool,
    pub campaigns: HashMap<String, SandboxObject>,
    /// Ad sets by id.
    pub sets: Vec<SandboxObject>,
    /// Each ad set's ads, by id.
    pub ads: HashMap<String, Vec<SandboxObject>>,
    pub creatives: HashMap<String, SandboxObject>,
}

impl Book {
    fn of(objects: Vec<SandboxObject>, whole: bool) -> Book {
        let mut b = Book {
            whole,
            ..Book::default()
        };
        for o in objects {
            match o.kind.as_str() {
                "campaign" => {
                    b.campaigns.insert(o.id.clone(), o);
                }
                "ad_set" => b.sets.push(o),
                "ad" => {
                    if let Some(parent) = o.parent_id.clone() {
                        b.ads.entry(parent).or_default().push(o);
                    }
                }
                "creative" => {
                    b.creatives.insert(o.id.clone(), o);
                }
                _ => {}
            }
        }
        b.sets.sort_by(|x, y| x.id.cmp(&y.id));
        for ads in b.ads.values_mut() {
            ads.sort_by(|x, y| x.id.cmp(&y.id));
        }
        b
    }

    /// The campaign an ad set belongs to.
    pub fn campaign_of(&self, s: &SandboxObject) -> Option<&SandboxObject> {
        s.parent_id.as_ref().and_then(|p| self.campaigns.get(p))
    }

    /// Whether an ad set delivers: it and its campaign are active and it
    /// has started.
    pub fn delivers(&self, s: &SandboxObject) -> bool {
        is_active(s) && s.first_live_day.is_some() && self.campaign_of(s).is_some_and(is_active)
    }

    /// An ad set's active ads, by id.
    pub fn active_ads(&self, set_id: &str) -> impl Iterator<Item = &SandboxObject> {
        self.ads
            .get(set_id)
            .into_iter()
            .flatten()
            .filter(|a| is_active(a))
    }

    /// The creatives of an ad set's active ads, as the market sees them.
    fn creatives_of(
        &self,
        sb: &SandboxPlatform,
        set_id: &str,
    ) -> Result<Vec<CreativeQuality>, PlatformError> {
        let mut out = Vec::new();
        for ad in self.active_ads(set_id) {
            let a: AdSpec = serde_json::from_str(&ad.spec).map_err(transient)?;
            if let Some(c) = self.creatives.get(&a.creative_external_id) {
                let cs: CreativeSpec = serde_json::from_str(&c.spec).map_err(transient)?;
                out.push(CreativeQuality {
                    seed: sb.object_seed(&c.id),
                    approved: cs.approved,
                });
            }
        }
        Ok(out)
    }
}

/// What the market needs of an ad set for any of its days.
pub(super) struct SetDays {
    spec: AdSetSpec,
    live_from: Date,
    creatives: Vec<CreativeQuality>,
}

impl SetDays {
    pub fn new(
        sb: &SandboxPlatform,
        book: &Book,
        s: &SandboxObject,
    ) -> Result<Option<SetDays>, PlatformError> {
        let Some(live_from) = s.first_live_day.as_deref().and_then(parse_day) else {
            return Ok(None);
        };
        Ok(Some(SetDays {
            spec: serde_json::from_str(&s.spec).map_err(transient)?,
            live_from,
            creatives: book.creatives_of(sb, &s.id)?,
        }))
    }

    /// Whether the day is within the ad set's flight.
    pub fn in_flight(&self, d: Date) -> bool {
        !(self.spec.start.is_some_and(|st| d < st) || self.spec.end.is_some_and(|e| d > e))
    }

    /// The market's input for one day.
    pub fn day(&self, sb: &SandboxPlatform, industry: Industry, id: &str, day: Date) -> AdSetDay {
        AdSetDay {
            platform: sb.platform,
            industry,
            seed: sb.object_seed(id),
            day,
            days_live: (day - self.live_from).whole_days().max(0) as u32,
            daily_budget_micros: self.spec.daily_budget_micros,
            audience_size: self.spec.audience_size.unwrap_or(DEFAULT_AUDIENCE),
            creatives: self.creatives.clone(),
        }
    }
}

impl SandboxPlatform {
    /// The whole account, in one read.
    pub(super) async fn book_all(&self) -> Result<Book, PlatformError> {
        let objects = store::sandbox::all(&self.db, self.org, self.p())
            .await
            .map_err(transient)?;
        Ok(Book::of(objects, true))
    }

    /// Some ad sets with their campaigns, ads and the ads' creatives.
    pub(super) async fn book_of(
        &self,
        campaigns: Vec<SandboxObject>,
        sets: Vec<SandboxObject>,
    ) -> Result<Book, PlatformError> {
        let ids: Vec<String> = sets.iter().map(|s| s.id.clone()).collect();
        let ads = store::sandbox::children(&self.db, self.org, self.p(), "ad", &ids)
            .await
            .map_err(transient)?;
        let mut creative_ids = Vec::new();
        for ad in &ads {
            let a: AdSpec = serde_json::from_str(&ad.spec).map_err(transient)?;
            creative_ids.push(a.creative_external_id);
        }
        creative_ids.sort();
        creative_ids.dedup();
        let creatives = store::sandbox::by_ids(&self.db, self.org, self.p(), &creative_ids)
            .await
            .map_err(transient)?;
        let objects = campaigns
            .into_iter()
            .chain(sets)
            .chain(ads)
            .chain(creatives.into_iter().filter(|c| c.kind == "creative"))
            .collect();
        Ok(Book::of(objects, false))
    }

    /// Delivers every completed day, up to yesterday, of the book's ad sets
    /// that deliver, in one transaction. Returns the last day each ad set
    /// had delivered before (all of the account's when the book is whole).
    pub(super) async fn deliver_book(
        &self,
        industry: Industry,
        book: &Book,
    ) -> Result<HashMap<String, Date>, PlatformError> {
        let today = self.today();
        let live: Vec<&SandboxObject> = book.sets.iter().filter(|s| book.delivers(s)).collect();
        let ids: Vec<String> = live.iter().map(|s| s.id.clone()).collect();
        let named = (!book.whole).then_some(ids.as_slice());
        if named.is_some_and(<[String]>::is_empty) {
            return Ok(HashMap::new());
        }
        let last: HashMap<String, Date> =
            store::sandbox::last_days(&self.db, self.org, self.p(), named)
                .await
                .map_err(transient)?
                .into_iter()
                .filter_map(|(id, d)| parse_day(&d).map(|d| (id, d)))
                .collect();
        let mut rows = Vec::new();
        for s in live {
            let Some(set) = SetDays::new(self, book, s)? else {
                continue;
            };
            let mut d = match last.get(&s.id) {
                Some(l) if *l >= set.live_from => *l + Duration::days(1),
                _ => set.live_from,
            };
            d = d.max(today - Duration::days(MAX_BACKFILL_DAYS));
            while d < today {
                // Outside the ad set's flight nothing is delivered or recorded.
                if set.in_flight(d) {
                    let (o, _) = self
                        .market
                        .day_with_customers(&set.day(self, industry, &s.id, d));
                    rows.push(DayRow {
                        ad_set_id: s.id.clone(),
                        day: day_text(d),
                        spend_micros: o.spend_micros,
                        impressions: o.impressions as i64,
                        reach: o.reach as i64,
                        clicks: o.clicks as i64,
                        conversions: o.conversions as i64,
                        conversion_value_micros: o.conversion_value_micros,
                        frequency: o.frequency,
                    });
                }
                d += Duration::days(1);
            }
        }
        store::sandbox::insert_days(&self.db, self.org, self.p(), &rows)
            .await
            .map_err(transient)?;
        Ok(last)
    }

    /// Today so far for an ad set that delivers: the day's delivery paced
    /// over the share of the market's day elapsed.
    pub(super) fn today_so_far(
        &self,
        industry: Industry,
        book: &Book,
        s: &SandboxObject,
    ) -> Result<Option<DayRow>, PlatformError> {
        let today = self.today();
        let Some(set) = SetDays::new(self, book, s)? else {
            return Ok(None);
        };
        if !set.in_flight(today) {
            return Ok(None);
        }
        let now = self.clock.now();
        let elapsed = (now - today.midnight().assume_utc()).as_seconds_f64() / 86_400.0;
        let (o, _) = self
            .market
            .day_with_customers(&set.day(self, industry, &s.id, today));
        let f = elapsed.clamp(0.0, 1.0);
        let part = |v: u64| (v as f64 * f).floor() as i64;
        let conversions = part(o.conversions);
        let value = if o.conversions > 0 {
            (o.conversion_value_micros as f64 * conversions as f64 / o.conversions as f64).round()
                as i64
        } else {
            0
        };
        Ok(Some(DayRow {
            ad_set_id: s.id.clone(),
            day: day_text(today),
            spend_micros: (o.spend_micros as f64 * f).round() as i64,
            impressions: part(o.impressions),
            reach: part(o.reach),
            clicks: part(o.clicks),
            conversions,
            conversion_value_micros: value,
            frequency: o.frequency,
        }))
    }
}

/// Rolls delivered ad-set days up to the level asked for. Ads split their
/// ad set's day evenly (the market models the ad set's creatives together).
pub(super) fn roll_up(level: InsightLevel, book: &Book, days: &[DayRow]) -> Vec<InsightRow> {
    let campaign_of: HashMap<&str, &str> = book
        .sets
        .iter()
        .filter_map(|s| s.parent_id.as_deref().map(|c| (s.id.as_str(), c)))
        .collect();
    let row = |d: &DayRow, day: Date, campaign: &str| InsightRow {
        day,
        campaign_id: campaign.to_owned(),
        ad_set_id: None,
        ad_id: None,
        spend_micros: d.spend_micros,
        impressions: d.impressions.max(0) as u64,
        clicks: d.clicks.max(0) as u64,
        conversions: d.conversions as f64,
        conversion_value_micros: d.conversion_value_micros,
        reach: Some(d.reach.max(0) as u64),
        frequency: Some(d.frequency),
    };
    let dated = days.iter().filter_map(|d| {
        let day = parse_day(&d.day)?;
        let campaign = *campaign_of.get(d.ad_set_id.as_str())?;
        Some((d, day, campaign))
    });
    let mut out = Vec::new();
    match level {
        InsightLevel::Campaign => {
            let mut by_day: BTreeMap<(Date, &str), InsightRow> = BTreeMap::new();
            for (d, day, campaign) in dated {
                let r = row(d, day, campaign);
                by_day
                    .entry((day, campaign))
                    .and_modify(|t| {
                        t.spend_micros += r.spend_micros;
                        t.impressions += r.impressions;
                        t.clicks += r.clicks;
                        t.conversions += r.conversions;
                        t.conversion_value_micros += r.conversion_value_micros;
                        t.reach = Some(t.reach.unwrap_or(0) + r.reach.unwrap_or(0));
                    })
                    .or_insert(r);
            }
            for (_, mut r) in by_day {
                r.frequency = match r.reach {
                    Some(reach) if reach > 0 => Some(r.impressions as f64 / reach as f64),
                    _ => None,
                };
                out.push(r);
            }
        }
        InsightLevel::AdSet => {
            for (d, day, campaign) in dated {
                let mut r = row(d, day, campaign);
                r.ad_set_id = Some(d.ad_set_id.clone());
                out.push(r);
            }
        }
        InsightLevel::Ad => {
            for (d, day, campaign) in dated {
                let ads: Vec<&SandboxObject> = book.active_ads(&d.ad_set_id).collect();
                let n = ads.len() as i64;
                for (k, ad) in ads.iter().enumerate() {
                    let k = k as i64;
                    // Integer shares that add up to the ad set's day.
                    let share = |v: i64| v / n + i64::from(k < v % n);
                    let share_u = |v: u64| share(v as i64).max(0) as u64;
                    let base = row(d, day, campaign);
                    out.push(InsightRow {
                        ad_set_id: Some(d.ad_set_id.clone()),
                        ad_id: Some(ad.id.clone()),
                        spend_micros: share(d.spend_micros),
                        impressions: share_u(base.impressions),
                        clicks: share_u(base.clicks),
                        conversions: share(d.conversions) as f64,
                        conversion_value_micros: share(d.conversion_value_micros),
                        reach: None,
                        frequency: None,
                        ..base
                    });
                }
            }
        }
    }
    out
}

/// A dimension's values with their base shares (parts per million).
type Mix = Vec<(String, u64)>;

/// Splits delivered ad-set days across a dimension's values (each ad set
/// by its own targeting and the platform's device mix) and sums the parts
/// per campaign, day and value, sorted by day, campaign and value.
pub(super) fn split_up(
    sb: &SandboxPlatform,
    dimension: BreakdownDimension,
    book: &Book,
    days: &[DayRow],
) -> Result<Vec<BreakdownRow>, PlatformError> {
    // Each ad set's campaign and base mix.
    let mut bases: HashMap<&str, (&str, Mix)> = HashMap::new();
    for s in &book.sets {
        let Some(campaign) = s.parent_id.as_deref() else {
            continue;
        };
        let spec: AdSetSpec = serde_json::from_str(&s.spec).map_err(transient)?;
        bases.insert(
            s.id.as_str(),
            (
                campaign,
                base_mix(dimension, sb.platform, &spec.targeting.countries),
            ),
        );
    }
    let mut sums: BTreeMap<(Date, &str, String), BreakdownRow> = BTreeMap::new();
    for d in days {
        let (Some(day), Some((campaign, base))) =
            (parse_day(&d.day), bases.get(d.ad_set_id.as_str()))
        else {
            continue;
        };
        let totals = DayTotals {
            spend_micros: d.spend_micros,
            impressions: d.impressions.max(0) as u64,
            clicks: d.clicks.max(0) as u64,
            conversions: d.conversions.max(0) as u64,
            conversion_value_micros: d.conversion_value_micros,
        };
        let parts = split_day(
            sb.market.seed,
            sb.object_seed(&d.ad_set_id),
            day,
            dimension,
            base,
            totals,
        );
        for p in parts {
            let t = p.totals;
            sums.entry((day, *campaign, p.value.clone()))
                .and_modify(|r| {
                    r.spend_micros += t.spend_micros;
                    r.impressions += t.impressions;
                    r.clicks += t.clicks;
                    r.conversions += t.conversions as f64;
                    r.conversion_value_micros += t.conversion_value_micros;
                })
                .or_insert_with(|| BreakdownRow {
                    day,
                    campaign_id: (*campaign).to_owned(),
                    value: p.value,
                    spend_micros: t.spend_micros,
                    impressions: t.impressions,
                    clicks: t.clicks,
                    conversions: t.conversions as f64,
                    conversion_value_micros: t.conversion_value_micros,
                });
        }
    }
    Ok(sums.into_values().collect())
}
