//! Country and device breakdowns: feeding the dimension roll-up
//! ([`AnalyticsService::record_dimensions`], and the ingest reading the
//! platforms service's breakdowns after each metrics sync) and answering
//! `GET /v1/analytics/breakdown?by=country|device` from it: one row per
//! value and currency with the metrics from sums, and the platforms that did
//! not report the dimension in the range listed by name.

use std::collections::BTreeMap;

use kiki_analytics::{Period, Sums};
use kiki_core::{Currency, TenantScope};
use kiki_platforms_service::service::breakdowns::MAX_BREAKDOWN_ROWS;
use time::Date;

use super::{AnalyticsService, Resolved, row_sums, stored_currency};
use crate::domain::dimensions::{DimensionCoverage, DimensionRow, is_reported_dimension};
use crate::domain::{Breakdown, Dimension, GroupRow, MetricSet, day_text, parse_day};
use crate::error::{AnalyticsError, Result};
use crate::store::dimensions::{self as dims, CoverageInsert, DimInsert};

/// The platforms service's name of a dimension.
fn platform_dimension(d: Dimension) -> Option<kiki_platforms_service::BreakdownDimension> {
    match d {
        Dimension::Country => Some(kiki_platforms_service::BreakdownDimension::Country),
        Dimension::Device => Some(kiki_platforms_service::BreakdownDimension::Device),
        _ => None,
    }
}

impl AnalyticsService {
    /// Replaces the organisation's `dimension` rows of `platform` for every
    /// day of `period` with `rows`, and records per day whether the platform
    /// reported the dimension (`coverage`), in one transaction. Feeding the
    /// same days again replaces them.
    pub async fn record_dimensions(
        &self,
        scope: &TenantScope,
        platform: &str,
        dimension: Dimension,
        period: Period,
        rows: &[DimensionRow],
        coverage: &[DimensionCoverage],
    ) -> Result<u64> {
        if !is_reported_dimension(dimension) {
            return Err(AnalyticsError::field(
                "dimension",
                "Must be `country` or `device`.",
            ));
        }
        let mut inserts = Vec::with_capacity(rows.len());
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
            inserts.push(DimInsert {
                external_id: r.external_id.clone(),
                day: day_text(r.day),
                value: r.value.clone(),
                campaign_id: r.campaign_id.clone(),
                currency: r.spend.currency.as_str().to_owned(),
                spend_micros: r.spend.micros,
                revenue_micros: r.revenue.micros,
                conversions_micros: r.conversions_micros,
                impressions: r.impressions,
                clicks: r.clicks,
            });
        }
        let coverage: Vec<CoverageInsert> = coverage
            .iter()
            .filter(|c| period.contains(c.day))
            .map(|c| CoverageInsert {
                day: day_text(c.day),
                reported: c.reported,
                reason: c.reason.clone(),
            })
            .collect();
        let mut change = self.record.begin().await?;
        let n = dims::replace_days(
            change.tx(),
            scope.org_id(),
            dimension.as_str(),
            platform,
            &day_text(period.since),
            &day_text(period.until),
            &inserts,
            &coverage,
            self.clock.now(),
        )
        .await?;
        change.commit().await?;
        self.invalidate(scope).await;
        Ok(n)
    }

    /// Reads one platform's country and device rows of `period` from the
    /// platforms service (day by day) and replaces them in the dimension
    /// roll-up: the second half of the `analytics.ingest` job.
    pub(crate) async fn ingest_dimensions(
        &self,
        scope: &TenantScope,
        platform: &str,
        period: Period,
    ) -> Result<u64> {
        let Some(platforms) = &self.platforms else {
            return Ok(0);
        };
        let mut n = 0;
        for dimension in [Dimension::Country, Dimension::Device] {
            let Some(pd) = platform_dimension(dimension) else {
                continue;
            };
            let mut rows = Vec::new();
            let mut coverage = Vec::new();
            for day in period.each_day() {
                let got = platforms
                    .breakdown_metrics(scope, pd, day, day, MAX_BREAKDOWN_ROWS)
                    .await
                    .map_err(|e| AnalyticsError::Internal(format!("reading breakdowns: {e}")))?;
                if got.rows.len() as u64 >= MAX_BREAKDOWN_ROWS {
                    return Err(AnalyticsError::Internal(format!(
                        "the platforms service returned its maximum of {MAX_BREAKDOWN_ROWS} {} rows for {}; the day cannot be read whole",
                        dimension.as_str(),
                        day_text(day)
                    )));
                }
                for c in got
                    .coverage
                    .into_iter()
                    .filter(|c| c.platform.as_str() == platform)
                {
                    coverage.push(DimensionCoverage {
                        day: parse_stored(&c.day)?,
                        reported: c.reported,
                        reason: c.reason,
                    });
                }
                for m in got
                    .rows
                    .into_iter()
                    .filter(|m| m.platform.as_str() == platform)
                {
                    rows.push(DimensionRow {
                        platform: platform.to_owned(),
                        external_id: m.external_id,
                        day: parse_stored(&m.day)?,
                        value: m.value,
                        campaign_id: m.campaign_id,
                        spend: m.spend,
                        revenue: m.conversion_value,
                        conversions_micros: crate::domain::conversions_micros(m.conversions),
                        impressions: m.impressions,
                        clicks: m.clicks,
                    });
                }
            }
            n += self
                .record_dimensions(scope, platform, dimension, period, &rows, &coverage)
                .await?;
        }
        Ok(n)
    }

    /// A `country` or `device` breakdown: rows per value and currency,
    /// largest spend first, at most `limit`; the platforms that did not
    /// report the dimension on a day of the range.
    pub(crate) async fn dimension_breakdown(
        &self,
        q: &Resolved,
        by: Dimension,
        limit: usize,
    ) -> Result<Breakdown> {
        let mut sums: BTreeMap<(String, String), Sums> = BTreeMap::new();
        for r in dims::values(&self.db, &q.sel, by.as_str()).await? {
            sums.entry((r.value, r.currency))
                .or_default()
                .add(&row_sums(
                    r.spend_micros,
                    r.revenue_micros,
                    r.conversions_micros,
                    r.impressions,
                    r.clicks,
                ));
        }
        let mut rows = sums
            .into_iter()
            .map(|((value, c), s)| {
                let currency: Currency = stored_currency(&c)?;
                Ok(GroupRow {
                    platform: q.sel.platform.clone(),
                    organisation_id: None,
                    external_id: None,
                    campaign_id: q.sel.campaign_id.clone(),
                    ad_set_id: None,
                    ad_id: None,
                    creative: None,
                    country: (by == Dimension::Country).then(|| value.clone()),
                    device: (by == Dimension::Device).then_some(value),
                    metrics: MetricSet::of(currency, &s),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        sort_by_spend_then_value(&mut rows);
        let total_rows = rows.len();
        rows.truncate(limit);
        Ok(Breakdown {
            period: q.period.into(),
            by,
            rows,
            total_rows,
            truncated: total_rows > limit,
            not_reported_by: dims::not_reported(&self.db, &q.sel, by.as_str()).await?,
            fx: None,
        })
    }
}

/// Largest spend first; equal spends by value, then currency.
fn sort_by_spend_then_value(rows: &mut [GroupRow]) {
    rows.sort_by(|a, b| {
        b.metrics
            .spend
            .micros
            .cmp(&a.metrics.spend.micros)
            .then_with(|| a.country.cmp(&b.country))
            .then_with(|| a.device.cmp(&b.device))
            .then_with(|| a.metrics.currency.as_str().cmp(b.metrics.currency.as_str()))
    });
}

fn parse_stored(day: &str) -> Result<Date> {
    parse_day(day).ok_or_else(|| AnalyticsError::Internal(format!("a breakdown's day `{day}`")))
}
