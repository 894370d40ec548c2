//! The background loops of a bidder process: snapshot refresh, shared
//! counters, the one-second maintenance, and the reporting flush.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::BidderService;

/// Starts the background loops. `bidding` is false in processes without the
/// `bidder` role: they keep the snapshot for status pages but never lease budget.
pub fn spawn_loops(
    svc: Arc<BidderService>,
    state: kiki_server::AppState,
    bidding: bool,
    cancel: CancellationToken,
) -> Vec<JoinHandle<()>> {
    let mut out = Vec::new();
    // Snapshot refresh: on change events and on a timer.
    {
        let svc = svc.clone();
        let cancel = cancel.clone();
        let state = state.clone();
        let mut rx = state.events.subscribe();
        out.push(tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(Duration::from_secs(svc.cfg.snapshot_refresh_secs));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                    ev = rx.recv() => match ev {
                        // Delivery flushes change no line item or segment.
                        Ok(e) if e.kind == <crate::events::DeliveryFlushed as kiki_store::Event>::KIND => continue,
                        Ok(e) if e.kind.starts_with("bidder.") => {}
                        Ok(_) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            rx = state.events.subscribe();
                            continue;
                        }
                    },
                }
                if let Err(e) = svc.refresh().await {
                    tracing::warn!(error = %e, "bidder: snapshot refresh failed; keeping the last one");
                }
            }
        }));
    }
    if !bidding {
        return out;
    }
    // Shared counters: flush queued increments, refresh caches.
    if let Some(shared) = svc.shared.clone() {
        out.push(tokio::spawn(shared.run(svc.clock.clone(), cancel.clone())));
    }
    // Maintenance every second; leases given back at shutdown.
    {
        let svc = svc.clone();
        let cancel = cancel.clone();
        out.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let s = svc.clone();
                // Blocking thread: a shared ledger's grant waits for Redis.
                let res = tokio::task::spawn_blocking(move || {
                    let now = s.now_ms();
                    let r = s.bidder.maintain(now);
                    s.update_gauges(now);
                    r
                })
                .await;
                if let Err(e) = res {
                    tracing::error!(error = %e, "bidder: maintenance panicked");
                }
            }
            let returned = svc.bidder.return_leases();
            if let Some(shared) = &svc.shared {
                shared.final_flush().await;
            }
            tracing::info!(
                budget.returned_micros = returned,
                "bidder stopped; unused budget leases given back"
            );
        }));
    }
    // Reporting flush and delivery-status decisions.
    {
        let svc = svc.clone();
        out.push(tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(Duration::from_secs(svc.cfg.reporting_flush_secs));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                let stop = tokio::select! {
                    _ = cancel.cancelled() => true,
                    _ = tick.tick() => false,
                };
                if let Err(e) = svc.flush_reporting().await {
                    tracing::warn!(error = %e, "bidder: cannot write the hourly report; kept for the next flush");
                }
                if let Err(e) = svc.record_notice_anomalies().await {
                    tracing::warn!(error = %e, "bidder: cannot record refused notices; kept for the next flush");
                }
                if stop {
                    break;
                }
                if let Err(e) = svc.record_status_changes().await {
                    tracing::warn!(error = %e, "bidder: cannot record delivery status changes");
                }
            }
        }));
    }
    out
}
