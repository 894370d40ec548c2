//! Country and device breakdowns in the performance sync: for the days a
//! sync reads, each platform is asked for its campaign days broken down by
//! country and by device (`AdPlatform::fetch_breakdown_insights`); the rows
//! replace those days in `platform_daily_breakdowns` in the transaction that
//! upserts the metrics, and `platform_breakdown_coverage` records per day
//! whether the platform reported the dimension (a platform that does not
//! says so; that is not a failed sync). [`PlatformsService::breakdown_metrics`]
//! is the read other contexts (analytics) use.

use std::collections::HashMap;

use kiki_core::{Currency, Money, TenantScope};
use kiki_platforms::{BreakdownAnswer, BreakdownDimension, BreakdownQuery, PlatformError};
use kiki_store::Tx;
use kiki_twin::Platform;
use time::{Date, OffsetDateTime};

use super::{PlatformsService, Reached, platform_of};
use crate::domain::{BreakdownCoverage, BreakdownMetrics, DailyBreakdown};
use crate::error::{PlatformsError, Result};
use crate::store::breakdowns::BreakdownRecord;
use crate::store::{self, day_text};

/// The most rows [`PlatformsService::breakdown_metrics`] returns at once.
pub const MAX_BREAKDOWN_ROWS: u64 = 20_000;

/// One dimension's answer for the days a sync read.
#[derive(Debug, Clone)]
pub(crate) struct PulledBreakdown {
    pub dimension: BreakdownDimension,
    pub rows: Vec<BreakdownRecord>,
    /// `None` when reported; else why not.
    pub not_reported: Option<String>,
}

impl PlatformsService {
    /// Asks the platform for both dimensions between two days; campaign ids
    /// are mapped to KIKI's. A request the platform refuses for the
    /// breakdown alone (an invalid request) counts as not reported, with
    /// the platform's message; other failures fail the sync, so the days
    /// are read again next time.
    pub(crate) async fn pull_breakdowns(
        &self,
        org: kiki_core::OrgId,
        platform: Platform,
        r: &Reached,
        since: Date,
        until: Date,
    ) -> std::result::Result<Vec<PulledBreakdown>, PlatformError> {
        let p = platform.as_str();
        let objects =
            store::objects::all(&self.db, org, p)
                .await
                .map_err(|e| PlatformError::Transient {
                    message: format!("reading the id map: {e}"),
                })?;
        let campaigns: HashMap<&str, &str> = objects
            .iter()
            .filter(|o| o.kind == "campaign")
            .map(|o| (o.external_id.as_str(), o.kiki_id.as_str()))
            .collect();
        let mut out = Vec::new();
        for dimension in BreakdownDimension::ALL {
            let q = BreakdownQuery {
                dimension,
                since,
                until,
                campaign_ids: Vec::new(),
            };
            let answer = match r.api.fetch_breakdown_insights(&r.account, &q).await {
                Ok(a) => a,
                Err(e @ PlatformError::InvalidRequest { .. }) => BreakdownAnswer::NotReported {
                    reason: format!("{} refused the breakdown: {e}", platform.display_name()),
                },
                Err(e) => return Err(e),
            };
            match answer {
                BreakdownAnswer::Reported { rows } => out.push(PulledBreakdown {
                    dimension,
                    rows: rows
                        .into_iter()
                        .filter(|b| since <= b.day && b.day <= until)
                        .map(|b| BreakdownRecord {
                            platform: p.into(),
                            dimension: dimension.as_str().into(),
                            campaign_id: campaigns
                                .get(b.campaign_id.as_str())
                                .map(|k| (*k).to_owned()),
                            external_id: b.campaign_id,
                            day: day_text(b.day),
                            value: b.value,
                            currency: r.conn.currency.clone(),
                            spend_micros: b.spend_micros,
                            impressions: i64::try_from(b.impressions).unwrap_or(i64::MAX),
                            clicks: i64::try_from(b.clicks).unwrap_or(i64::MAX),
                            conversions: b.conversions,
                            conversion_value_micros: b.conversion_value_micros,
                        })
                        .collect(),
                    not_reported: None,
                }),
                BreakdownAnswer::NotReported { reason } => out.push(PulledBreakdown {
                    dimension,
                    rows: Vec::new(),
                    not_reported: Some(reason),
                }),
            }
        }
        Ok(out)
    }

    /// Writes what [`pull_breakdowns`](Self::pull_breakdowns) read for the
    /// days `since..=until`, replacing those days. Returns the rows written.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn store_breakdowns(
        tx: &mut Tx<'_>,
        org: kiki_core::OrgId,
        platform: Platform,
        since: Date,
        until: Date,
        pulled: &[PulledBreakdown],
        now: OffsetDateTime,
    ) -> Result<u64> {
        let mut days = Vec::new();
        let mut d = since;
        while d <= until {
            days.push(day_text(d));
            match d.next_day() {
                Some(n) => d = n,
                None => break,
            }
        }
        let mut n = 0;
        for b in pulled {
            n += store::breakdowns::replace(
                tx,
                org,
                platform.as_str(),
                b.dimension.as_str(),
                &days,
                &b.rows,
                b.not_reported.as_deref(),
                now,
            )
            .await?;
        }
        Ok(n)
    }

    /// The organisation's campaign days broken down by `dimension` between
    /// two days (inclusive; every platform), at most `limit` rows (capped at
    /// [`MAX_BREAKDOWN_ROWS`]), and per platform and synced day whether the
    /// platform reported the dimension. What the analytics ingest reads.
    pub async fn breakdown_metrics(
        &self,
        scope: &TenantScope,
        dimension: BreakdownDimension,
        since: Date,
        until: Date,
        limit: u64,
    ) -> Result<BreakdownMetrics> {
        if until < since {
            return Ok(BreakdownMetrics {
                rows: Vec::new(),
                coverage: Vec::new(),
            });
        }
        let org = scope.org_id();
        let (s, u) = (day_text(since), day_text(until));
        let rows = store::breakdowns::list(
            &self.db,
            org,
            dimension.as_str(),
            &s,
            &u,
            limit.min(MAX_BREAKDOWN_ROWS),
        )
        .await?
        .into_iter()
        .map(|b| {
            let currency = Currency::parse(&b.currency)
                .map_err(|e| PlatformsError::Internal(format!("stored currency: {e}")))?;
            Ok(DailyBreakdown {
                platform: platform_of(&b.platform)?,
                dimension,
                day: b.day,
                external_id: b.external_id,
                campaign_id: b.campaign_id,
                value: b.value,
                spend: Money::from_micros(b.spend_micros, currency),
                impressions: b.impressions,
                clicks: b.clicks,
                conversions: b.conversions,
                conversion_value: Money::from_micros(b.conversion_value_micros, currency),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let coverage = store::breakdowns::coverage(&self.db, org, dimension.as_str(), &s, &u)
            .await?
            .into_iter()
            .map(|c| {
                Ok(BreakdownCoverage {
                    platform: platform_of(&c.platform)?,
                    day: c.day,
                    reported: c.reported,
                    reason: c.reason,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(BreakdownMetrics { rows, coverage })
    }
}
