//! The `kiki` source of the roll-ups: KIKI's own programmatic buying. The
//! bidder's daily delivery per line item (`BidderService::daily_delivery`:
//! spend, impressions, clicks) and the conversions credited to those line
//! items (`ConversionsService::daily_by_line_item`: count and value) become
//! daily rows of platform `kiki` — level `campaign` (the KIKI campaign) and
//! level `ad_set` (the line item) — which replace those days in the
//! roll-ups through [`AnalyticsService::record_daily`]. What the
//! `analytics.ingest` job runs for `platform: "kiki"`, queued by the
//! listener after a bidder flush (`bidder.delivery_flushed`) or a recorded
//! conversion (`conversions.recorded`).
//!
//! Currencies: the hourly report keeps spend in the bidder currency
//! (`bidder.engine.currency`), so a line item's and a campaign's rows are in
//! that currency, with the object's id as `external_id`. A conversion
//! reported in another currency is not converted: it gets its own row in its
//! own currency (the roll-ups keep one currency per row) whose `external_id`
//! is the object's id followed by `/` and the currency (`<id>/EUR`), since
//! a row is keyed by its object and day.

use std::collections::BTreeMap;
use std::sync::Arc;

use kiki_analytics::{Period, Sums};
use kiki_bidder_service::BidderService;
use kiki_conversions_service::ConversionsService;
use kiki_core::{Currency, Money, TenantScope};
use time::{Date, Duration};
use uuid::Uuid;

use super::AnalyticsService;
use crate::domain::{DailyRow, Level};
use crate::error::{AnalyticsError, Result};

/// The platform's wire name of KIKI's own buying.
pub const PLATFORM: &str = "kiki";

/// The most days one ingest reads from the bidder and conversions services
/// at once; a longer period is read and replaced in slices of this size.
pub const SLICE_DAYS: i64 = 31;

/// The services the `kiki` source reads.
pub struct KikiSource {
    pub(crate) bidder: Arc<BidderService>,
    /// Without it the rows carry no conversions or revenue.
    pub(crate) conversions: Option<Arc<ConversionsService>>,
}

/// A row's key: day, campaign, line item, currency.
type Key = (Date, Uuid, Uuid, Currency);

impl AnalyticsService {
    /// Reads the bidder's delivery (and, when wired, the conversions)
    /// through their services: the `kiki` source is on.
    pub fn with_kiki_source(
        mut self,
        bidder: Arc<BidderService>,
        conversions: Option<Arc<ConversionsService>>,
    ) -> AnalyticsService {
        self.kiki = Some(KikiSource {
            bidder,
            conversions,
        });
        self
    }

    /// Whether the `kiki` source is on (the bidder module is wired).
    pub fn kiki_source_on(&self) -> bool {
        self.kiki.is_some()
    }

    /// Replaces the organisation's `kiki` rows of every day of `period` with
    /// what the bidder and conversions services report for them, in slices
    /// of [`SLICE_DAYS`] days; returns the rows written. Idempotent: running
    /// it twice writes the same rows.
    pub async fn ingest_kiki(&self, scope: &TenantScope, period: Period) -> Result<u64> {
        let Some(src) = &self.kiki else {
            return Err(AnalyticsError::Internal(
                "the analytics module is not wired to the bidder module".into(),
            ));
        };
        let mut written = 0;
        let mut since = period.since;
        while since <= period.until {
            let until = (since + Duration::days(SLICE_DAYS - 1)).min(period.until);
            let slice =
                Period::new(since, until).map_err(|e| AnalyticsError::Internal(e.sentence()))?;
            let rows = src.rows(scope, slice).await?;
            written += self.record_daily(scope, PLATFORM, slice, &rows).await?;
            since = until + Duration::days(1);
        }
        Ok(written)
    }
}

impl KikiSource {
    /// The `kiki` rows of `period` (at most [`SLICE_DAYS`] days).
    async fn rows(&self, scope: &TenantScope, period: Period) -> Result<Vec<DailyRow>> {
        let delivery = self
            .bidder
            .daily_delivery(scope, period.since, period.until)
            .await
            .map_err(|e| AnalyticsError::Internal(format!("reading the bidder's delivery: {e}")))?;
        let mut sums: BTreeMap<Key, Sums> = BTreeMap::new();
        for d in delivery {
            let s = sums
                .entry((d.day, d.campaign_id, d.line_item_id, d.spend.currency))
                .or_default();
            s.spend_micros += d.spend.micros;
            s.impressions += d.impressions;
            s.clicks += d.clicks;
        }
        if let Some(conv) = &self.conversions {
            let credited = conv
                .daily_by_line_item(scope, period.since, period.until)
                .await
                .map_err(|e| AnalyticsError::Internal(format!("reading conversions: {e}")))?;
            for c in credited {
                let s = sums
                    .entry((c.day, c.campaign_id, c.line_item_id, c.value.currency))
                    .or_default();
                s.revenue_micros += c.value.micros;
                s.conversions_micros += c
                    .conversions
                    .saturating_mul(kiki_analytics::metrics::CONVERSION_SCALE);
            }
        }
        Ok(build_rows(&sums, self.bidder.cfg.engine.currency))
    }
}

/// The ad set (line item) rows and their campaign rows. A row in `main`,
/// the bidder currency (the currency of all delivery), keeps the object's
/// plain id; a row in another currency (conversions only) gets `/CUR`.
fn build_rows(sums: &BTreeMap<Key, Sums>, main: Currency) -> Vec<DailyRow> {
    let id = |object: Uuid, currency: Currency| {
        if currency == main {
            object.to_string()
        } else {
            format!("{object}/{}", currency.as_str())
        }
    };
    let mut campaigns: BTreeMap<(Date, Uuid, Currency), Sums> = BTreeMap::new();
    let mut out = Vec::with_capacity(sums.len() * 2);
    for ((day, campaign, li, cur), s) in sums {
        campaigns.entry((*day, *campaign, *cur)).or_default().add(s);
        out.push(row(
            Level::AdSet,
            *day,
            id(*li, *cur),
            *campaign,
            Some(*li),
            *cur,
            s,
        ));
    }
    for ((day, campaign, cur), s) in &campaigns {
        out.push(row(
            Level::Campaign,
            *day,
            id(*campaign, *cur),
            *campaign,
            None,
            *cur,
            s,
        ));
    }
    out
}

fn row(
    level: Level,
    day: Date,
    external_id: String,
    campaign: Uuid,
    line_item: Option<Uuid>,
    currency: Currency,
    s: &Sums,
) -> DailyRow {
    DailyRow {
        level,
        platform: PLATFORM.to_owned(),
        external_id,
        day,
        campaign_id: Some(campaign.to_string()),
        ad_set_id: line_item.map(|l| l.to_string()),
        ad_id: None,
        spend: Money::from_micros(s.spend_micros, currency),
        revenue: Money::from_micros(s.revenue_micros, currency),
        conversions_micros: s.conversions_micros,
        impressions: s.impressions,
        clicks: s.clicks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn sums(spend: i64, revenue: i64, conversions: i64, impressions: i64, clicks: i64) -> Sums {
        Sums {
            spend_micros: spend,
            revenue_micros: revenue,
            conversions_micros: conversions,
            impressions,
            clicks,
        }
    }

    #[test]
    fn line_items_roll_up_to_their_campaign_and_a_foreign_currency_gets_its_own_row() {
        let (c, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let d = date!(2026 - 03 - 02);
        let mut s = BTreeMap::new();
        s.insert(
            (d, c, a, Currency::USD),
            sums(5_000_000, 40_000_000, 1_000_000, 900, 7),
        );
        s.insert((d, c, b, Currency::USD), sums(2_000_000, 0, 0, 300, 2));
        s.insert(
            (d, c, a, Currency::EUR),
            sums(0, 9_500_000, 1_000_000, 0, 0),
        );
        let rows = build_rows(&s, Currency::USD);
        assert_eq!(rows.len(), 5, "{rows:#?}");
        let find = |level: Level, id: String| {
            rows.iter()
                .find(|r| r.level == level && r.external_id == id)
                .unwrap_or_else(|| panic!("no {level:?} row {id}"))
        };
        let usd = find(Level::Campaign, c.to_string());
        assert_eq!(usd.spend, Money::from_micros(7_000_000, Currency::USD));
        assert_eq!(usd.revenue.micros, 40_000_000);
        assert_eq!((usd.impressions, usd.clicks), (1_200, 9));
        assert_eq!(usd.ad_set_id, None);
        let eur = find(Level::Campaign, format!("{c}/EUR"));
        assert_eq!(eur.revenue, Money::from_micros(9_500_000, Currency::EUR));
        assert_eq!(eur.spend, Money::from_micros(0, Currency::EUR));
        let li = find(Level::AdSet, a.to_string());
        assert_eq!(li.ad_set_id, Some(a.to_string()));
        assert_eq!(li.campaign_id, Some(c.to_string()));
        assert_eq!(li.conversions_micros, 1_000_000);
        assert_eq!(
            find(Level::AdSet, format!("{a}/EUR")).conversions_micros,
            1_000_000
        );
        assert!(rows.iter().all(|r| r.platform == PLATFORM && r.day == d));
    }
}
