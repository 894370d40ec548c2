//! The listener: every event a notification follows from (see
//! `evaluate.rs`), from this process or another replica through the shared
//! event bus, becomes a `notifications.evaluate` job for its organisation —
//! for the kill switch, for every organisation it covers. It runs in worker
//! processes; with several workers each queues its job, and evaluating the
//! same event twice updates the same open notification (de-duplicated by
//! kind and subject), so the result is the same.

use std::sync::Arc;

use kiki_campaigns_service::events::KillSwitchEngaged;
use kiki_core::OrgId;
use kiki_store::{DomainEvent, EnqueueOptions, Event};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::NotificationsService;
use super::evaluate::KINDS;
use crate::jobs::{EVALUATE_KIND, EvaluatePayload};

/// Starts the listener; it stops when `cancel` fires.
pub fn spawn(
    svc: Arc<NotificationsService>,
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
                        "notifications: the event listener fell behind; the next event of the same kind raises what was missed"
                    );
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    rx = state.events.subscribe();
                    continue;
                }
            };
            if !KINDS.contains(&ev.kind.as_str()) {
                continue;
            }
            for org in orgs_of(&ev) {
                enqueue(&svc, org, &ev).await;
            }
        }
    })
}

/// The organisations an event raises notifications in.
fn orgs_of(ev: &DomainEvent) -> Vec<OrgId> {
    if ev.kind == KillSwitchEngaged::KIND
        && let Ok(k) = serde_json::from_value::<KillSwitchEngaged>(ev.payload.clone())
        && !k.orgs.is_empty()
    {
        let mut orgs: Vec<OrgId> = k.orgs.into_iter().map(OrgId).collect();
        orgs.sort_by_key(|o| o.0);
        orgs.dedup();
        return orgs;
    }
    ev.org_id.into_iter().collect()
}

async fn enqueue(svc: &NotificationsService, org: OrgId, ev: &DomainEvent) {
    let payload = EvaluatePayload {
        kind: ev.kind.clone(),
        payload: ev.payload.clone(),
    };
    let Ok(payload) = serde_json::to_value(&payload) else {
        return;
    };
    if let Err(e) = svc
        .jobs
        .enqueue(Some(org), EVALUATE_KIND, payload, EnqueueOptions::default())
        .await
    {
        tracing::error!(error = %e, org.id = %org.0, "notifications: queueing an evaluation failed");
    }
}
