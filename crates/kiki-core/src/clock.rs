//! Time is read through a `Clock` so that tests can set it. Everything is UTC.

use std::sync::Arc;

use parking_lot::Mutex;
use time::{Duration, OffsetDateTime};

pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock, in UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when a test moves it. Clones share the same time.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl TestClock {
    pub fn at(t: OffsetDateTime) -> Self {
        TestClock(Arc::new(Mutex::new(t)))
    }

    pub fn set(&self, t: OffsetDateTime) {
        *self.0.lock() = t;
    }

    pub fn advance(&self, d: Duration) {
        let mut g = self.0.lock();
        *g += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_clock_moves_only_when_told_and_clones_share_it() {
        let t0 = time::macros::datetime!(2026-01-01 00:00 UTC);
        let c = TestClock::at(t0);
        let c2 = c.clone();
        c.advance(Duration::hours(2));
        assert_eq!(c2.now(), t0 + Duration::hours(2));
    }
}
