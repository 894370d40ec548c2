//! The demo's clock: the wall clock moved by an offset. The demo builds its
//! history by acting 90 days in the past (campaigns created, gated,
//! approved and launched then, so every record of them agrees on when it
//! happened) and then sets the offset back to zero; from then on it is the
//! wall clock.

use std::sync::atomic::{AtomicI64, Ordering};

use kiki_core::Clock;
use time::{Duration, OffsetDateTime};

/// The wall clock plus an offset (zero unless the demo is writing its
/// history). Share it as `Arc<DemoClock>`; the application takes it as its
/// `Arc<dyn Clock>`.
#[derive(Debug, Default)]
pub struct DemoClock {
    offset_micros: AtomicI64,
}

impl DemoClock {
    /// The wall clock.
    pub fn new() -> DemoClock {
        DemoClock::default()
    }

    /// Moves the clock to the wall clock plus `offset` (negative: the past).
    pub fn set_offset(&self, offset: Duration) {
        let micros = i64::try_from(offset.whole_microseconds()).unwrap_or(0);
        self.offset_micros.store(micros, Ordering::SeqCst);
    }

    /// The current offset from the wall clock.
    pub fn offset(&self) -> Duration {
        Duration::microseconds(self.offset_micros.load(Ordering::SeqCst))
    }
}

impl Clock for DemoClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_the_wall_clock_until_moved_and_after_it_is_moved_back() {
        let c = DemoClock::new();
        let wall = OffsetDateTime::now_utc();
        assert!((c.now() - wall).abs() < Duration::seconds(5));
        c.set_offset(Duration::days(-90));
        let past = c.now();
        assert!((wall - Duration::days(90) - past).abs() < Duration::seconds(5));
        c.set_offset(Duration::ZERO);
        assert!((c.now() - OffsetDateTime::now_utc()).abs() < Duration::seconds(5));
    }
}
