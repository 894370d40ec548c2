//! Frequency caps: at most N impressions per user per line item in a window.
//!
//! The window opens at the user's first counted impression and lasts
//! `window_secs`; a new window opens at the first impression after it ends.
//! Impressions are counted when a win notice arrives (that is when an impression
//! happened), so bids in flight for the same user can overshoot a cap by the
//! number of concurrent auctions, as in every bidder that counts on wins.
//!
//! The in-memory store keeps 16 bytes per (user, line item): a 64-bit key and
//! the window start and count, in sharded maps. A shared store for several
//! replicas implements [`FrequencyStore`] over a local mirror that a background
//! task keeps in sync with Redis, so the bid path stays in memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use parking_lot::Mutex;

/// Identifies one (user, line item) pair: a 64-bit hash, so keys are small and
/// a user id is never stored in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FreqKey(pub u64);

impl FreqKey {
    pub fn new(user_hash: u64, line_item_key: u64) -> Self {
        FreqKey(mix64(user_hash ^ line_item_key.rotate_left(29)))
    }
}

/// Hashes a user id with a fixed seed so that every replica derives the same key.
pub fn user_hash(user_key: &str) -> u64 {
    let mut h = foldhash::quality::FixedState::with_seed(0x6b69_6b69_6672_6571).build_hasher();
    h.write(user_key.as_bytes());
    h.finish()
}

/// SplitMix64 finaliser: spreads bits so shard selection and hashing are uniform.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The inverse of [`mix64`]: undoes each xor-shift and multiplies by the
/// multiplicative inverse of each odd constant modulo 2^64.
pub fn unmix64(mut z: u64) -> u64 {
    const fn inverse(a: u64) -> u64 {
        // Newton's iteration doubles the correct low bits each step: 3 → 96.
        let mut x = a;
        let mut i = 0;
        while i < 5 {
            x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
            i += 1;
        }
        x
    }
    fn unshift(y: u64, k: u32) -> u64 {
        let (mut x, mut t) = (y, y >> k);
        while t != 0 {
            x ^= t;
            t >>= k;
        }
        x
    }
    const I2: u64 = inverse(0x94d0_49bb_1331_11eb);
    const I1: u64 = inverse(0xbf58_476d_1ce4_e5b9);
    z = unshift(z, 31).wrapping_mul(I2);
    z = unshift(z, 27).wrapping_mul(I1);
    unshift(z, 30)
}

/// The store of impression counts.
pub trait FrequencyStore: Send + Sync + std::fmt::Debug + 'static {
    /// Impressions counted in the window that is open at `now_ms` (0 if none).
    fn count(&self, key: FreqKey, window_secs: u32, now_ms: i64) -> u32;
    /// Counts one impression at `now_ms`.
    fn record(&self, key: FreqKey, window_secs: u32, now_ms: i64);
    /// Drops windows that ended before `now_ms`; returns how many were dropped.
    fn purge(&self, now_ms: i64) -> usize;
    /// Number of (user, line item) windows held.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Seconds since the unix epoch when the window opened.
    start_s: u32,
    /// Window length in seconds is needed to purge without knowing the line item.
    window_s: u32,
    count: u32,
}

type Shard = HashMap<u64, Slot, NoHash>;

/// Keys are already uniform 64-bit hashes; hashing them again would waste time.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHash;

#[derive(Debug, Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl BuildHasher for NoHash {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher::default()
    }
}

/// The single-process store.
#[derive(Debug)]
pub struct InMemoryFrequency {
    shards: Box<[Mutex<Shard>]>,
}

impl Default for InMemoryFrequency {
    fn default() -> Self {
        Self::with_shards(64)
    }
}

impl InMemoryFrequency {
    pub fn with_shards(n: usize) -> Self {
        let n = n.clamp(1, 4096).next_power_of_two();
        InMemoryFrequency {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, key: FreqKey) -> &Mutex<Shard> {
        // High bits pick the shard; the map uses the low bits, so both stay uniform.
        let i = (key.0 >> 48) as usize & (self.shards.len() - 1);
        &self.shards[i]
    }
}

fn secs(now_ms: i64) -> u32 {
    (now_ms.div_euclid(1000)).clamp(0, i64::from(u32::MAX)) as u32
}

impl FrequencyStore for InMemoryFrequency {
    fn count(&self, key: FreqKey, window_secs: u32, now_ms: i64) -> u32 {
        let now = secs(now_ms);
        let shard = self.shard(key).lock();
        match shard.get(&key.0) {
            Some(s) if now < s.start_s.saturating_add(window_secs) => s.count,
            _ => 0,
        }
    }

    fn record(&self, key: FreqKey, window_secs: u32, now_ms: i64) {
        let now = secs(now_ms);
        let mut shard = self.shard(key).lock();
        let s = shard.entry(key.0).or_insert(Slot {
            start_s: now,
            window_s: window_secs,
            count: 0,
        });
        if now >= s.start_s.saturating_add(s.window_s.min(window_secs)) {
            *s = Slot {
                start_s: now,
                window_s: window_secs,
                count: 0,
            };
        }
        s.count = s.count.saturating_add(1);
    }

    fn purge(&self, now_ms: i64) -> usize {
        let now = secs(now_ms);
        let mut dropped = 0;
        for shard in self.shards.iter() {
            let mut m = shard.lock();
            let before = m.len();
            m.retain(|_, s| now < s.start_s.saturating_add(s.window_s));
            dropped += before - m.len();
        }
        dropped
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }
}

impl InMemoryFrequency {
    /// Sets a window from a shared store's view of it: `count` impressions
    /// in a `window_secs` window with `remaining_secs` left at `now_ms` (a
    /// replica's mirror of Redis). A count of zero or no time left forgets it.
    pub fn restore(
        &self,
        key: FreqKey,
        window_secs: u32,
        remaining_secs: u32,
        count: u32,
        now_ms: i64,
    ) {
        let mut shard = self.shard(key).lock();
        if count == 0 || remaining_secs == 0 {
            shard.remove(&key.0);
            return;
        }
        let remaining = remaining_secs.min(window_secs);
        shard.insert(
            key.0,
            Slot {
                start_s: secs(now_ms).saturating_sub(window_secs - remaining),
                window_s: window_secs,
                count,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_window_counts_like_a_recorded_one_and_ends_on_time() {
        let f = InMemoryFrequency::default();
        let k = FreqKey(7);
        let t0 = 1_000_000_000;
        // Three impressions, 40 of 60 seconds left: opened 20 s ago.
        f.restore(k, 60, 40, 3, t0);
        assert_eq!(f.count(k, 60, t0), 3);
        f.record(k, 60, t0 + 1000);
        assert_eq!(f.count(k, 60, t0 + 1000), 4);
        assert_eq!(f.count(k, 60, t0 + 39_999), 4);
        assert_eq!(f.count(k, 60, t0 + 40_000), 0);
        f.restore(k, 60, 0, 5, t0);
        assert_eq!(f.len(), 0);
        f.restore(k, 60, 30, 0, t0);
        assert_eq!(f.len(), 0);
    }

    #[test]
    fn a_cap_counts_impressions_inside_the_window_and_resets_after_it() {
        let f = InMemoryFrequency::default();
        let k = FreqKey::new(user_hash("u1"), 7);
        let t0 = 1_700_000_000_000;
        for i in 0..3 {
            f.record(k, 60, t0 + i * 1000);
        }
        assert_eq!(f.count(k, 60, t0 + 59_000), 3);
        assert_eq!(f.count(k, 60, t0 + 60_000), 0, "the window ended");
        f.record(k, 60, t0 + 61_000);
        assert_eq!(f.count(k, 60, t0 + 61_500), 1);
    }

    #[test]
    fn keys_separate_users_and_line_items() {
        let f = InMemoryFrequency::default();
        let t = 1_700_000_000_000;
        f.record(FreqKey::new(user_hash("u1"), 1), 60, t);
        assert_eq!(f.count(FreqKey::new(user_hash("u2"), 1), 60, t), 0);
        assert_eq!(f.count(FreqKey::new(user_hash("u1"), 2), 60, t), 0);
        assert_eq!(f.count(FreqKey::new(user_hash("u1"), 1), 60, t), 1);
    }

    #[test]
    fn purge_drops_only_ended_windows() {
        let f = InMemoryFrequency::with_shards(4);
        let t = 1_700_000_000_000;
        f.record(FreqKey(1), 10, t);
        f.record(FreqKey(2), 1000, t);
        assert_eq!(f.purge(t + 20_000), 1);
        assert_eq!(f.len(), 1);
    }
}
