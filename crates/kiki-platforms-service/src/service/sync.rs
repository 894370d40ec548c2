//! The performance sync: for one organisation's connection to one platform,
//! daily insights since the last synced day (minus an overlap for
//! conversions attributed late) are upserted into `platform_daily_metrics`
//! per campaign, ad set and ad, mapped to KIKI's ids (and the campaign days
//! broken down by country and device, `breakdowns.rs`); the ad-set rows feed
//! the twin's performance history (so the mirror and the rebalancer work on
//! what the platform reported); on the sandbox, the orders of the synthetic
//! customers it acquired are ingested as LTV transactions with their
//! acquisition platform. Every run is recorded with its outcome. A failed
//! run does not move the last synced day, so the next one reads the same
//! days again; upserts make that safe (nothing is counted twice).

use std::collections::HashMap;

use kiki_core::Money;
use kiki_platforms::{InsightLevel, InsightRow, InsightsQuery, PlatformError};
use kiki_twin::Platform;
use time::Date;

use super::*;
use crate::domain::{DailyMetric, MetricLevel, SyncRunView, SyncStatus};
use crate::events::MetricsSynced;
use crate::store::metrics::{MetricRow, RunRow};
use crate::store::{day_text, parse_day};

/// The largest page of metrics a read returns.
pub const MAX_METRICS: u64 = 5_000;

impl PlatformsService {
    /// Syncs one platform of the organisation; `trigger` is `schedule`,
    /// `manual` or `launch`. A platform failure is recorded as a failed run
    /// (and returned as such), not as an error.
    pub async fn sync_platform(
        &self,
        scope: &TenantScope,
        platform: Platform,
        trigger: &str,
    ) -> Result<SyncRunView> {
        let org = scope.org_id();
        let started = self.now();
        if store::connections::get(&self.db, org, platform.as_str())
            .await?
            .is_none()
        {
            return Err(PlatformsError::NotFound("The connection"));
        }
        let Some(r) = self.reach(org, platform).await? else {
            return Err(PlatformsError::Conflict(format!(
                "{} is not connected to this organisation.",
                platform.display_name()
            )));
        };
        // A sandbox connection's days are the market's (accelerated or not).
        let today = match &r.sandbox {
            Some(_) => self.market_clock.now().date(),
            None => started.date(),
        };
        let since = match r.conn.last_synced_day.as_deref().and_then(parse_day) {
            Some(last) => last - Duration::days(i64::from(self.config.sync_overlap_days)),
            None => today - Duration::days(i64::from(self.config.first_sync_days)),
        }
        // A market clock set back (accelerated time ended) leaves the last
        // synced day ahead of today: the window still ends today.
        .min(today);
        let mut run = RunRow {
            id: Uuid::now_v7(),
            platform: platform.as_str().into(),
            trigger: trigger.into(),
            since: day_text(since),
            until: day_text(today),
            status: SyncStatus::Succeeded.as_str().into(),
            rows_upserted: 0,
            error: None,
            started_at: started,
            finished_at: started,
        };
        let outcome = match r.api.quota(&r.account.account_id) {
            Some(q) if q.should_back_off() => Err(PlatformError::RateLimited {
                retry_after_secs: q.wait_secs,
                message: format!(
                    "{:.0} % of the platform's quota is used; the sync waits",
                    q.used_pct
                ),
            }),
            _ => match self.pull(org, platform, &r, since, today).await {
                Ok((rows, twin_rows)) => self
                    .pull_breakdowns(org, platform, &r, since, today)
                    .await
                    .map(|b| (rows, twin_rows, b)),
                Err(e) => Err(e),
            },
        };
        let mut orders_ingested = 0;
        match outcome {
            Ok((rows, twin_rows, breakdowns)) => {
                let mut tx = self.record.begin().await?;
                run.rows_upserted =
                    store::metrics::upsert(tx.tx(), org, &rows, self.now()).await? as i64;
                let breakdown_rows = Self::store_breakdowns(
                    tx.tx(),
                    org,
                    platform,
                    since,
                    today,
                    &breakdowns,
                    self.now(),
                )
                .await?;
                tracing::debug!(
                    org = %org.0, platform = platform.as_str(), rows = breakdown_rows,
                    "country and device breakdowns stored"
                );
                store::connections::set_synced_day(tx.tx(), org, r.conn.id, &day_text(today))
                    .await?;
                run.finished_at = self.now();
                store::metrics::insert_run(tx.tx(), org, &run).await?;
                tx.publish(
                    Some(org),
                    &MetricsSynced {
                        platform: platform.as_str().into(),
                        since: run.since.clone(),
                        until: run.until.clone(),
                        rows: run.rows_upserted,
                    },
                );
                tx.commit().await?;
                if let Some(twin) = &self.twin {
                    // In requests the twin accepts (`twin.max_performance_rows`).
                    let per_call = twin.config().max_performance_rows.clamp(1, 5_000);
                    for chunk in twin_rows.chunks(per_call) {
                        twin.record_performance(org, chunk).await.map_err(|e| {
                            PlatformsError::Internal(format!("feeding the twin: {e}"))
                        })?;
                    }
                }
                if let Some(sb) = &r.sandbox {
                    orders_ingested = self
                        .ingest_sandbox_orders(scope, platform, sb, &r, since, today)
                        .await?;
                }
            }
            Err(e) => {
                if !matches!(e, PlatformError::RateLimited { .. }) {
                    self.note_failure(org, &r.conn, &e).await?;
                }
                run.status = match e {
                    PlatformError::RateLimited { .. } => SyncStatus::BackedOff,
                    _ => SyncStatus::Failed,
                }
                .as_str()
                .into();
                run.error = Some(e.to_string());
                run.finished_at = self.now();
                let mut tx = self.record.begin().await?;
                store::metrics::insert_run(tx.tx(), org, &run).await?;
                tx.commit().await?;
            }
        }
        tracing::info!(
            org = %org.0, platform = platform.as_str(), status = %run.status,
            rows = run.rows_upserted, orders = orders_ingested, "platform sync"
        );
        run_view(run)
    }

    /// Insights at the three levels, mapped to KIKI's ids, plus the twin's
    /// rows (ad-set level).
    async fn pull(
        &self,
        org: OrgId,
        platform: Platform,
        r: &Reached,
        since: Date,
        until: Date,
    ) -> std::result::Result<
        (
            Vec<MetricRow>,
            Vec<kiki_twin_service::domain::PerformanceRow>,
        ),
        PlatformError,
    > {
        let p = platform.as_str();
        let objects =
            store::objects::all(&self.db, org, p)
                .await
                .map_err(|e| PlatformError::Transient {
                    message: format!("reading the id map: {e}"),
                })?;
        let kiki: HashMap<(&str, &str), &str> = objects
            .iter()
            .map(|o| {
                (
                    (o.kind.as_str(), o.external_id.as_str()),
                    o.kiki_id.as_str(),
                )
            })
            .collect();
        let currency = r.conn.currency.clone();
        let mut rows = Vec::new();
        let mut twin_rows = Vec::new();
        for level in [
            InsightLevel::Campaign,
            InsightLevel::AdSet,
            InsightLevel::Ad,
        ] {
            let q = InsightsQuery {
                level,
                since,
                until,
                campaign_ids: Vec::new(),
            };
            let found = r.api.insights(&r.account, &q).await?;
            for i in found {
                let map = |kind: &str, ext: Option<&String>| {
                    ext.and_then(|e| kiki.get(&(kind, e.as_str())).map(|k| (*k).to_owned()))
                };
                let (level_name, external_id) = match level {
                    InsightLevel::Campaign => ("campaign", i.campaign_id.clone()),
                    InsightLevel::AdSet => ("ad_set", i.ad_set_id.clone().unwrap_or_default()),
                    InsightLevel::Ad => ("ad", i.ad_id.clone().unwrap_or_default()),
                };
                if external_id.is_empty() {
                    continue;
                }
                let row = metric_row(p, level_name, external_id, &i, &currency, |kind, ext| {
                    map(kind, ext)
                });
                if level == InsightLevel::AdSet {
                    let cur =
                        Currency::parse(&currency).map_err(|e| PlatformError::InvalidRequest {
                            field: Some("currency".into()),
                            message: e.to_string(),
                        })?;
                    twin_rows.push(kiki_twin_service::domain::PerformanceRow {
                        platform: p.into(),
                        ad_set_id: Some(
                            row.ad_set_id
                                .clone()
                                .unwrap_or_else(|| format!("{p}:{}", row.external_id)),
                        ),
                        day: i.day,
                        currency: cur,
                        spend: Money::from_micros(i.spend_micros.max(0), cur),
                        impressions: i.impressions as i64,
                        clicks: (i.clicks.min(i.impressions)) as i64,
                        conversions: i.conversions.max(0.0),
                        revenue: Money::from_micros(i.conversion_value_micros.max(0), cur),
                    });
                }
                rows.push(row);
            }
        }
        Ok((rows, twin_rows))
    }

    /// The sandbox's customers' orders in the window, as LTV transactions
    /// (idempotent by order id). Orders dated after what the LTV model
    /// accepts (`ltv.max_future_days` after the calendar's today: accelerated
    /// time runs ahead of it) are left out: the LTV model is fitted on the
    /// calendar, where those purchases have not happened yet.
    async fn ingest_sandbox_orders(
        &self,
        scope: &TenantScope,
        platform: Platform,
        sb: &SandboxPlatform,
        r: &Reached,
        since: Date,
        until: Date,
    ) -> Result<u64> {
        let Some(ltv) = &self.ltv else {
            return Ok(0);
        };
        let currency = Currency::parse(&r.conn.currency)
            .map_err(|e| PlatformsError::Internal(format!("stored currency: {e}")))?;
        let orders = sb
            .orders(&r.account, since, until - Duration::days(1))
            .await
            .map_err(|source| PlatformsError::Platform {
                platform: platform.as_str(),
                source,
            })?;
        let window = ltv.date_window();
        let at = |day: Date| {
            day.with_hms(12, 0, 0)
                .unwrap_or_else(|_| day.midnight())
                .assume_utc()
        };
        let (orders, ahead): (Vec<_>, Vec<_>) =
            orders.into_iter().partition(|o| window.contains(at(o.day)));
        if !ahead.is_empty() {
            tracing::info!(
                org = %scope.org_id().0, platform = platform.as_str(), orders = ahead.len(),
                "sandbox orders dated ahead of the calendar are not LTV transactions yet"
            );
        }
        let mut n = 0;
        for chunk in orders.chunks(5_000) {
            let rows: Vec<kiki_ltv_service::NewTransaction> = chunk
                .iter()
                .map(|o| kiki_ltv_service::NewTransaction {
                    customer_id: o.customer_id.clone(),
                    at: at(o.day),
                    amount_micros: o.value_micros,
                    currency,
                    order_id: Some(o.order_id.clone()),
                    segment: None,
                    platform: Some(platform.as_str().into()),
                    kind: kiki_ltv_service::domain::TransactionKind::Order,
                })
                .collect();
            let report = ltv
                .ingest_transactions(scope, &rows, None)
                .await
                .map_err(|e| PlatformsError::Internal(format!("ingesting sandbox orders: {e}")))?;
            n += report.inserted;
        }
        Ok(n)
    }

    /// `GET /v1/platforms/sync-runs`: the newest first.
    pub async fn sync_runs(&self, scope: &TenantScope, limit: u32) -> Result<Vec<SyncRunView>> {
        store::metrics::runs(&self.db, scope.org_id(), u64::from(limit))
            .await?
            .into_iter()
            .map(run_view)
            .collect()
    }

    /// `GET /v1/platforms/metrics`: rows of a level between two days.
    pub async fn metrics(
        &self,
        scope: &TenantScope,
        level: MetricLevel,
        since: Option<Date>,
        until: Option<Date>,
        campaign_id: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<DailyMetric>> {
        // By default up to today, or the sandbox market's today when it
        // runs ahead of the calendar.
        let until = until.unwrap_or_else(|| self.now().date().max(self.market_clock.now().date()));
        let since = since.unwrap_or(until - Duration::days(30));
        if until < since {
            // An empty range holds no day.
            return Ok(Vec::new());
        }
        let campaign = campaign_id.map(|c| c.to_string());
        store::metrics::list(
            &self.db,
            scope.org_id(),
            level.as_str(),
            &day_text(since),
            &day_text(until),
            campaign.as_deref(),
            u64::from(limit).min(MAX_METRICS),
        )
        .await?
        .into_iter()
        .map(|m| {
            let currency = Currency::parse(&m.currency)
                .map_err(|e| PlatformsError::Internal(format!("stored currency: {e}")))?;
            Ok(DailyMetric {
                platform: platform_of(&m.platform)?,
                level,
                day: m.day,
                external_id: m.external_id,
                campaign_id: m.campaign_id,
                ad_set_id: m.ad_set_id,
                ad_id: m.ad_id,
                spend: Money::from_micros(m.spend_micros, currency),
                impressions: m.impressions,
                clicks: m.clicks,
                conversions: m.conversions,
                conversion_value: Money::from_micros(m.conversion_value_micros, currency),
                reach: m.reach,
                frequency: m.frequency,
            })
        })
        .collect()
    }
}

fn metric_row(
    platform: &str,
    level: &str,
    external_id: String,
    i: &InsightRow,
    currency: &str,
    map: impl Fn(&str, Option<&String>) -> Option<String>,
) -> MetricRow {
    MetricRow {
        platform: platform.into(),
        level: level.into(),
        day: day_text(i.day),
        campaign_id: map("campaign", Some(&i.campaign_id)),
        ad_set_id: map("ad_set", i.ad_set_id.as_ref()),
        ad_id: map("ad", i.ad_id.as_ref()),
        external_id,
        currency: currency.into(),
        spend_micros: i.spend_micros,
        impressions: i.impressions as i64,
        clicks: i.clicks as i64,
        conversions: i.conversions,
        conversion_value_micros: i.conversion_value_micros,
        reach: i.reach.map(|v| v as i64),
        frequency: i.frequency,
    }
}

fn run_view(r: RunRow) -> Result<SyncRunView> {
    Ok(SyncRunView {
        id: r.id,
        platform: platform_of(&r.platform)?,
        status: SyncStatus::parse(&r.status)
            .ok_or_else(|| PlatformsError::Internal(format!("stored run status `{}`", r.status)))?,
        trigger: r.trigger,
        since: r.since,
        until: r.until,
        rows_upserted: r.rows_upserted,
        error: r.error,
        started_at: r.started_at,
        finished_at: r.finished_at,
    })
}
