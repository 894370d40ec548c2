//! The listener that keeps the roll-ups current. Every
//! `platforms.metrics_synced` event (from this process or, through the
//! shared event bus, another replica) queues an `analytics.ingest` job for
//! the organisation and the synced days, at once. With the `kiki` source on,
//! `bidder.delivery_flushed` (the bidder wrote hourly counts) and
//! `conversions.recorded` (a conversion's UTC day) queue an ingest of
//! platform `kiki` — coalesced: the days an organisation's events touch are
//! gathered for `analytics.kiki_ingest_delay_secs` after its first event,
//! then one job covers them all (from the first to the last day), so a
//! bidder flushing every few seconds queues one job per organisation per
//! delay, not one per flush. The job queue has no unique key, hence the
//! gathering here. It runs in worker processes; with several workers each
//! queues its jobs, and the ingest replaces the same days, so the result is
//! the same.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kiki_bidder_service::events::DeliveryFlushed;
use kiki_conversions_service::events::ConversionRecorded;
use kiki_core::OrgId;
use kiki_platforms_service::events::MetricsSynced;
use kiki_store::{DomainEvent, EnqueueOptions, Event};
use time::Date;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::AnalyticsService;
use super::kiki_source::PLATFORM as KIKI;
use crate::domain::{day_text, parse_day};
use crate::jobs::{INGEST_KIND, IngestPayload};

/// The `kiki` days waiting per organisation: the first and the last.
type Pending = BTreeMap<OrgId, (Date, Date)>;

/// Starts the listener; it stops when `cancel` fires (queueing the `kiki`
/// days it gathered first).
pub fn spawn(
    svc: Arc<AnalyticsService>,
    state: kiki_server::AppState,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let mut rx = state.events.subscribe();
    let delay = Duration::from_secs(svc.config().kiki_ingest_delay_secs);
    tokio::spawn(async move {
        let mut pending = Pending::new();
        // When the gathered `kiki` days are queued (set by the first event).
        let mut due: Option<Instant> = None;
        loop {
            let at = due.unwrap_or_else(|| Instant::now() + Duration::from_secs(3_600));
            let ev = tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep_until(at), if due.is_some() => {
                    due = None;
                    queue_kiki(&svc, std::mem::take(&mut pending)).await;
                    continue;
                }
                ev = rx.recv() => ev,
            };
            let ev = match ev {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "analytics: the event listener fell behind; syncs missed here are ingested by the next sync of their platform"
                    );
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    rx = state.events.subscribe();
                    continue;
                }
            };
            let Some(org) = ev.org_id else { continue };
            if ev.kind == MetricsSynced::KIND {
                if svc.platforms.is_none() {
                    continue;
                }
                let Some(synced) = read::<MetricsSynced>(&ev) else {
                    continue;
                };
                let payload = IngestPayload {
                    platform: synced.platform,
                    since: synced.since,
                    until: synced.until,
                };
                enqueue(&svc, org, &payload).await;
                continue;
            }
            if !svc.kiki_source_on() {
                continue;
            }
            let days = if ev.kind == DeliveryFlushed::KIND {
                read::<DeliveryFlushed>(&ev)
                    .and_then(|f| Some((parse_day(&f.since)?, parse_day(&f.until)?)))
            } else if ev.kind == ConversionRecorded::KIND {
                read::<ConversionRecorded>(&ev).map(|c| {
                    let day = c.occurred_at.to_offset(time::UtcOffset::UTC).date();
                    (day, day)
                })
            } else {
                continue;
            };
            let Some((since, until)) = days.filter(|(s, u)| s <= u) else {
                tracing::warn!(event.kind = %ev.kind, "analytics: an event without readable days");
                continue;
            };
            let range = pending.entry(org).or_insert((since, until));
            range.0 = range.0.min(since);
            range.1 = range.1.max(until);
            if delay.is_zero() {
                queue_kiki(&svc, std::mem::take(&mut pending)).await;
            } else if due.is_none() {
                due = Some(Instant::now() + delay);
            }
        }
        queue_kiki(&svc, pending).await;
    })
}

/// An event's payload, or `None` (logged) when it does not read.
fn read<E: Event + serde::de::DeserializeOwned>(ev: &DomainEvent) -> Option<E> {
    match serde_json::from_value(ev.payload.clone()) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(error = %e, event.kind = %ev.kind, "analytics: an unreadable event");
            None
        }
    }
}

/// Queues one `kiki` ingest per organisation for its gathered days.
async fn queue_kiki(svc: &AnalyticsService, pending: Pending) {
    for (org, (since, until)) in pending {
        let payload = IngestPayload {
            platform: KIKI.to_owned(),
            since: day_text(since),
            until: day_text(until),
        };
        enqueue(svc, org, &payload).await;
    }
}

async fn enqueue(svc: &AnalyticsService, org: OrgId, payload: &IngestPayload) {
    let Ok(payload) = serde_json::to_value(payload) else {
        return;
    };
    if let Err(e) = svc
        .jobs
        .enqueue(Some(org), INGEST_KIND, payload, EnqueueOptions::default())
        .await
    {
        tracing::error!(error = %e, org_id = %org, "analytics: queueing an ingest failed");
    }
}
