//! The sandbox market's clock: the server's clock in real time, or, with
//! `platforms.sandbox_seconds_per_day = N`, accelerated — a simulated day
//! every `N` real seconds (`kiki_platforms::MarketTime`). The sandbox reads
//! it for delivery and for today's elapsed share, the sync for a sandbox
//! connection's days, the API for the market date it shows.
//!
//! **Anchor.** The anchor is stored once per database
//! (`platform_market_clock`): the first process started accelerated anchors
//! the market at the real time of its start, every other process (an API
//! replica, a worker) reads the same anchor, so they agree on the market's
//! time. A new rate re-anchors where the market stands (it never jumps); a
//! start after the installation was stopped resumes the market where it was
//! last seen running (the worker's sweeps show it), so it pauses while
//! nothing runs; a process started in real time forgets the anchor, so the
//! next accelerated start begins again at the calendar. Until the stored
//! anchor could be read (a schema another process migrates), the process's
//! own start is the anchor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use kiki_core::Clock;
use kiki_platforms::MarketTime;
use kiki_store::{Db, StoreError};
use time::{Duration, OffsetDateTime};

use crate::store;

/// The sandbox market's clock (see the module documentation).
#[derive(Debug)]
pub struct SandboxClock {
    real: Arc<dyn Clock>,
    /// `None`: real time.
    seconds_per_day: Option<u32>,
    time: RwLock<Option<MarketTime>>,
    /// The anchor is the stored one (not this process's provisional one).
    shared: AtomicBool,
}

impl SandboxClock {
    /// The market on the calendar: the server's own clock.
    pub fn real_time(real: Arc<dyn Clock>) -> SandboxClock {
        SandboxClock {
            real,
            seconds_per_day: None,
            time: RwLock::new(None),
            shared: AtomicBool::new(true),
        }
    }

    /// An accelerated market, provisionally anchored now; [`Self::anchor`]
    /// replaces that with the stored anchor.
    pub fn accelerated(real: Arc<dyn Clock>, seconds_per_day: u32) -> SandboxClock {
        let now = real.now();
        SandboxClock {
            real,
            seconds_per_day: Some(seconds_per_day),
            time: RwLock::new(Some(MarketTime {
                real_anchor: now,
                market_anchor: now,
                seconds_per_day,
            })),
            shared: AtomicBool::new(false),
        }
    }

    /// Real seconds per simulated day; `None` in real time.
    pub fn seconds_per_day(&self) -> Option<u32> {
        self.seconds_per_day
    }

    /// The market's anchor in accelerated time.
    pub fn market_time(&self) -> Option<MarketTime> {
        *self.time.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The server's own clock.
    pub fn real(&self) -> &Arc<dyn Clock> {
        &self.real
    }

    /// Reads (or, first, stores) the installation's anchor; in real time,
    /// forgets a stored one. Done once per process; a failure (no schema
    /// yet) is retried by the next call.
    pub async fn anchor(&self, db: &Db) -> Result<(), StoreError> {
        if self.shared.load(Ordering::Acquire) {
            return Ok(());
        }
        let now = self.real.now();
        let stored = store::clock::get(db).await?;
        let Some(n) = self.seconds_per_day else {
            if stored.is_some() {
                store::clock::delete(db).await?;
            }
            self.shared.store(true, Ordering::Release);
            return Ok(());
        };
        let time = match stored {
            Some(s) => match restart(s, now, n) {
                None => Some(s.time),
                Some(fresh) => {
                    store::clock::replace(db, &s.time, &fresh, now).await?;
                    store::clock::get(db).await?.map(|s| s.time)
                }
            },
            None => {
                let m = MarketTime {
                    real_anchor: now,
                    market_anchor: now,
                    seconds_per_day: n,
                };
                store::clock::insert(db, &m, now).await?;
                store::clock::get(db).await?.map(|s| s.time)
            }
        };
        if let Some(m) = time {
            *self.time.write().unwrap_or_else(|e| e.into_inner()) = Some(m);
            tracing::info!(
                seconds_per_day = m.seconds_per_day,
                market_now = %m.at(now),
                "the sandbox market runs in accelerated time"
            );
        }
        // (None: a process in real time deleted it meanwhile; ours stays.)
        self.shared.store(true, Ordering::Release);
        Ok(())
    }
}

/// How long no process may have run the market before a start counts as
/// the market's restart: ten sweeps, at least a minute.
pub fn pause_after(seconds_per_day: u32) -> Duration {
    let sweep = MarketTime::sweep_every_secs(seconds_per_day) as i64;
    Duration::seconds((10 * sweep).max(60))
}

/// The anchor a process starting at `now` at `n` seconds a day sets, when
/// the stored one will not do: a new rate re-anchors where the market
/// stands; a market nobody ran for longer than [`pause_after`] (the
/// installation was stopped) resumes where it stood when last seen, so it
/// pauses while nothing runs instead of leaping ahead by the downtime times
/// the rate. `None`: keep the stored anchor.
pub(crate) fn restart(s: store::clock::Stored, now: OffsetDateTime, n: u32) -> Option<MarketTime> {
    let paused = now - s.last_seen > pause_after(s.time.seconds_per_day);
    if !paused && s.time.seconds_per_day == n {
        return None;
    }
    let stood_at = if paused { s.last_seen } else { now };
    Some(MarketTime {
        real_anchor: now,
        market_anchor: s.time.at(stood_at),
        seconds_per_day: n,
    })
}

impl Clock for SandboxClock {
    fn now(&self) -> OffsetDateTime {
        let real = self.real.now();
        match self.market_time() {
            Some(m) => m.at(real),
            None => real,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::TestClock;
    use time::macros::datetime;

    #[test]
    fn real_time_is_the_server_clock_and_accelerated_time_runs_n_times_faster() {
        let t0 = datetime!(2026-12-01 06:00 UTC);
        let real = TestClock::at(t0);
        let calendar = SandboxClock::real_time(Arc::new(real.clone()));
        let fast = SandboxClock::accelerated(Arc::new(real.clone()), 60);
        real.advance(Duration::seconds(90));
        assert_eq!(calendar.now(), t0 + Duration::seconds(90));
        assert_eq!(fast.now(), t0 + Duration::hours(36));
        assert_eq!(fast.seconds_per_day(), Some(60));
        assert_eq!(calendar.seconds_per_day(), None);
    }
}

#[cfg(test)]
mod restart_tests {
    use super::*;
    use crate::store::clock::Stored;
    use time::macros::datetime;

    fn stored(last_seen_after: i64) -> Stored {
        let t0 = datetime!(2026-12-01 06:00 UTC);
        Stored {
            time: MarketTime {
                real_anchor: t0,
                market_anchor: t0,
                seconds_per_day: 10,
            },
            last_seen: t0 + Duration::seconds(last_seen_after),
        }
    }

    #[test]
    fn a_running_market_keeps_its_anchor() {
        let s = stored(100);
        assert_eq!(restart(s, s.last_seen + Duration::seconds(5), 10), None);
    }

    #[test]
    fn a_new_rate_re_anchors_where_the_market_stands() {
        let s = stored(100);
        let now = s.last_seen + Duration::seconds(5);
        let m = restart(s, now, 20).unwrap();
        assert_eq!(m.at(now), s.time.at(now));
        assert_eq!(m.seconds_per_day, 20);
    }

    #[test]
    fn a_market_nobody_ran_resumes_where_it_was_last_seen() {
        let s = stored(100);
        // Stopped for a day: the market paused at its last sweep (day 10).
        let now = s.last_seen + Duration::days(1);
        let m = restart(s, now, 10).unwrap();
        assert_eq!(m.at(now), s.time.market_anchor + Duration::days(10));
        assert_eq!(m.real_anchor, now);
    }
}
