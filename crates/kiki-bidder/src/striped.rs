//! Counters split over cache lines. On the bid path every request bumps a few
//! shared counters; one `AtomicU64` written from two cores moves its cache line
//! back and forth on each add. A striped counter gives each thread its own line
//! (threads are spread over the stripes in the order they first count), and a
//! read sums the stripes.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Number of stripes: enough for the cores of a bidder host to rarely share one.
pub const STRIPES: usize = 8;

/// This thread's stripe, in `0..STRIPES`.
pub fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    MINE.with(|m| {
        let mut s = m.get();
        if s == usize::MAX {
            s = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
            m.set(s);
        }
        s
    })
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct Line(AtomicU64);

/// A monotonically increasing counter with one cache line per stripe.
#[derive(Debug, Default)]
pub struct StripedCounter {
    lines: [Line; STRIPES],
}

impl StripedCounter {
    pub fn add(&self, n: u64) {
        self.lines[stripe()].0.fetch_add(n, Ordering::Relaxed);
    }

    /// Takes the count, leaving zero (an add racing with it lands in this
    /// count or the next, never in neither).
    pub fn take(&self) -> u64 {
        self.lines
            .iter()
            .map(|l| l.0.swap(0, Ordering::Relaxed))
            .sum()
    }

    /// The sum over all stripes (each read is relaxed; concurrent adds may or
    /// may not be included).
    pub fn get(&self) -> u64 {
        self.lines.iter().map(|l| l.0.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_from_many_threads_all_count() {
        let c = std::sync::Arc::new(StripedCounter::default());
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1_000 {
                        c.add(2);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(c.get(), 12 * 1_000 * 2);
        assert_eq!(c.take(), 12 * 1_000 * 2);
        assert_eq!(c.get(), 0);
        assert!(stripe() < STRIPES);
    }
}
