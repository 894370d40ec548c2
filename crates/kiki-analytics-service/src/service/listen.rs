//! The listener that keeps the roll-ups current: every
//! `platforms.metrics_synced` event (from this process or, through the
//! shared event bus, another replica) queues an `analytics.ingest` job for
//! the organisation and the synced days. It runs in worker processes; with
//! several workers each queues the job, and the ingest replaces the same
//! days, so the result is the same.

use std::sync::Arc;

use kiki_platforms_service::events::MetricsSynced;
use kiki_store::{EnqueueOptions, Event};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::AnalyticsService;
use crate::jobs::{INGEST_KIND, IngestPayload};

/// Starts the listener; it stops when `cancel` fires.
pub fn spawn(
    svc: Arc<AnalyticsService>,
    state: kiki_server::AppState,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let mut rx = state.events.subscribe();
    tokio::spawn(async move {
        loop {
            let ev = tokio::select! {
                _ = cancel.cancelled() => break,
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
            if ev.kind != MetricsSynced::KIND {
                continue;
            }
            let Some(org) = ev.org_id else { continue };
            let synced: MetricsSynced = match serde_json::from_value(ev.payload.clone()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "analytics: an unreadable metrics_synced event");
                    continue;
                }
            };
            let payload = IngestPayload {
                platform: synced.platform,
                since: synced.since,
                until: synced.until,
            };
            let payload = match serde_json::to_value(&payload) {
                Ok(v) => v,
                Err(_) => continue,
            };
            if let Err(e) = svc
                .jobs
                .enqueue(Some(org), INGEST_KIND, payload, EnqueueOptions::default())
                .await
            {
                tracing::error!(error = %e, org_id = %org, "analytics: queueing an ingest failed");
            }
        }
    })
}
