//! The developer token's daily operations, counted per account and UTC day,
//! and the waits Google asked for. Google counts "for any mutate request,
//! each mutated item" as one operation and "a single query or report" as one
//! operation whether its rows are streamed or paged (Google Ads API, "Rate
//! sheet", <https://developers.google.com/google-ads/api/docs/rate-sheet>);
//! the book counts the same way. The day comes from an injectable
//! [`Clock`], so tests can move through days.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kiki_platforms::{PlatformError, QuotaState};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// Where the connector reads the time from.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(OffsetDateTime::now_utc)
}

#[derive(Debug, Clone)]
struct AccountQuota {
    day: Date,
    operations: u64,
    wait_until: Option<OffsetDateTime>,
}

/// Operations and waits per account.
pub(crate) struct QuotaBook {
    limit: u64,
    clock: Clock,
    accounts: Mutex<HashMap<String, AccountQuota>>,
}

impl QuotaBook {
    pub(crate) fn new(limit: u64, clock: Clock) -> Self {
        QuotaBook {
            limit: limit.max(1),
            clock,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    fn now(&self) -> OffsetDateTime {
        (self.clock)().to_offset(UtcOffset::UTC)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccountQuota>> {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The account's quota as the connector last saw it.
    pub(crate) fn state(&self, account_id: &str) -> QuotaState {
        let now = self.now();
        let accounts = self.lock();
        let Some(q) = accounts.get(account_id) else {
            return QuotaState {
                used_pct: 0.0,
                wait_secs: 0,
            };
        };
        let operations = if q.day == now.date() { q.operations } else { 0 };
        QuotaState {
            used_pct: (operations as f64 / self.limit as f64 * 100.0).min(100.0),
            wait_secs: wait_secs(q.wait_until, now),
        }
    }

    /// Refuses a call of `operations` operations when the account must wait:
    /// Google asked for a pause that has not passed, or the day's operations
    /// are at the back-off mark; counts them otherwise.
    pub(crate) fn admit(&self, account_id: &str, operations: u64) -> Result<(), PlatformError> {
        let now = self.now();
        let mut accounts = self.lock();
        let q = accounts
            .entry(account_id.to_owned())
            .or_insert(AccountQuota {
                day: now.date(),
                operations: 0,
                wait_until: None,
            });
        if q.day != now.date() {
            q.day = now.date();
            q.operations = 0;
        }
        let wait = wait_secs(q.wait_until, now);
        if wait > 0 {
            return Err(PlatformError::RateLimited {
                retry_after_secs: wait,
                message: format!(
                    "Google Ads asked KIKI to wait before calling account {account_id} again"
                ),
            });
        }
        let used_pct = q.operations as f64 / self.limit as f64 * 100.0;
        if used_pct >= QuotaState::BACK_OFF_AT_PCT {
            let midnight = now.date().next_day().map(|d| d.midnight().assume_utc());
            let until_midnight = midnight
                .map(|m| (m - now).whole_seconds().max(1) as u64)
                .unwrap_or(86_400);
            return Err(PlatformError::RateLimited {
                retry_after_secs: until_midnight,
                message: format!(
                    "{} of the developer token's {} daily operations are used today (UTC); \
                     KIKI keeps the rest in reserve until the day turns",
                    q.operations, self.limit
                ),
            });
        }
        q.operations += operations;
        Ok(())
    }

    /// Records Google's request to wait.
    pub(crate) fn throttled(&self, account_id: &str, wait_secs: u64) {
        let now = self.now();
        let mut accounts = self.lock();
        let q = accounts
            .entry(account_id.to_owned())
            .or_insert(AccountQuota {
                day: now.date(),
                operations: 0,
                wait_until: None,
            });
        let until = now + Duration::seconds(wait_secs.min(i64::MAX as u64) as i64);
        q.wait_until = Some(q.wait_until.map_or(until, |w| w.max(until)));
    }
}

fn wait_secs(until: Option<OffsetDateTime>, now: OffsetDateTime) -> u64 {
    match until {
        Some(u) if u > now => {
            let d = u - now;
            let secs = d.whole_seconds() as u64;
            if d.subsec_nanoseconds() > 0 {
                secs + 1
            } else {
                secs
            }
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};
    use time::macros::datetime;

    fn clock_at(start: OffsetDateTime) -> (Clock, Arc<AtomicI64>) {
        let offset = Arc::new(AtomicI64::new(0));
        let o = offset.clone();
        (
            Arc::new(move || start + Duration::seconds(o.load(Ordering::SeqCst))),
            offset,
        )
    }

    #[test]
    fn operations_count_per_utc_day_and_back_off_at_ninety_percent() {
        let (clock, offset) = clock_at(datetime!(2025-03-01 23:00 UTC));
        let book = QuotaBook::new(10, clock);
        book.admit("1", 5).unwrap();
        book.admit("1", 4).unwrap();
        assert_eq!(book.state("1").used_pct, 90.0);
        assert!(book.state("1").should_back_off());
        match book.admit("1", 1) {
            Err(PlatformError::RateLimited {
                retry_after_secs, ..
            }) => {
                assert_eq!(retry_after_secs, 3600)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(book.state("2").used_pct, 0.0);
        offset.store(3600, Ordering::SeqCst);
        assert_eq!(book.state("1").used_pct, 0.0);
        book.admit("1", 1).unwrap();
        assert_eq!(book.state("1").used_pct, 10.0);
    }

    #[test]
    fn a_requested_wait_blocks_until_it_passes() {
        let (clock, offset) = clock_at(datetime!(2025-03-01 12:00 UTC));
        let book = QuotaBook::new(100, clock);
        book.throttled("1", 30);
        assert_eq!(book.state("1").wait_secs, 30);
        assert!(matches!(
            book.admit("1", 1),
            Err(PlatformError::RateLimited {
                retry_after_secs: 30,
                ..
            })
        ));
        offset.store(30, Ordering::SeqCst);
        assert_eq!(book.state("1").wait_secs, 0);
        book.admit("1", 1).unwrap();
    }
}
