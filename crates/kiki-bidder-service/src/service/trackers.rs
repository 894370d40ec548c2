//! Which impression and click tracker calls count: the URL's HMAC tag must
//! match (key derived from `security.secret_key`), the URL must be younger
//! than its lifetime, and the bid must not have been counted for that tracker
//! before (a bounded in-process seen-set, and Redis across replicas). A call
//! that does not count still gets its answer (204, or the redirect when the
//! landing page is safe); it is only left out of the report and of pCTR.
//!
//! The click id appended to the landing page (`kiki_click`, see
//! `kiki_bidder::click_id`) is signed with a second key derived from the
//! same secret under its own label.

use std::collections::{HashSet, VecDeque};

use hkdf::Hkdf;
use kiki_bidder::LineItemId;
use kiki_bidder::click_id::ClickKey;
use kiki_bidder::notice::BidId;
use kiki_bidder::tracker::{TrackerKey, TrackerKind, TrackerQuery, TrackerRefusal};
use parking_lot::Mutex;
use sha2::Sha256;

use crate::config::TrackerConfig;
use crate::service::shared::SharedCounters;

/// The HKDF label of the tracker key: changing it invalidates every URL issued.
const KEY_LABEL: &[u8] = b"kiki.bidder.tracker.v1";
/// The HKDF label of the click-id key: changing it invalidates every click id.
const CLICK_KEY_LABEL: &[u8] = b"kiki.bidder.click_id.v1";

fn derive(master_secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut okm = [0u8; 32];
    let hk = Hkdf::<Sha256>::new(None, master_secret);
    // 32 bytes is far below HKDF's 255 × 32 limit.
    let _ = hk.expand(label, &mut okm);
    okm
}

/// The tracker key derived from the server's master secret (HKDF-SHA256 with
/// a fixed label, so it is independent of every other key derived from it).
pub fn derive_key(master_secret: &[u8]) -> TrackerKey {
    TrackerKey::new(&derive(master_secret, KEY_LABEL))
}

/// The click-id key derived from the server's master secret: every replica
/// and every role (the API role verifies what the bidder role issued)
/// derives the same one.
pub fn derive_click_key(master_secret: &[u8]) -> ClickKey {
    ClickKey::new(&derive(master_secret, CLICK_KEY_LABEL))
}

/// How a tracker call was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackerVerdict {
    Counted(BidId),
    Refused(TrackerRefusal),
    /// Signed and fresh, but this bid's tracker was counted before.
    Repeated(BidId),
}

impl TrackerVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackerVerdict::Counted(_) => "counted",
            TrackerVerdict::Refused(r) => r.as_str(),
            TrackerVerdict::Repeated(_) => "repeated",
        }
    }

    pub fn counts(self) -> bool {
        matches!(self, TrackerVerdict::Counted(_))
    }

    /// The bid of a signed, fresh call, counted or not (a repeated click
    /// still gets a click id: conversions are deduplicated by order).
    pub fn signed_bid(self) -> Option<BidId> {
        match self {
            TrackerVerdict::Counted(b) | TrackerVerdict::Repeated(b) => Some(b),
            TrackerVerdict::Refused(_) => None,
        }
    }
}

/// (tracker, bid) pairs already counted, oldest first; bounded.
#[derive(Debug, Default)]
struct Seen {
    set: HashSet<(bool, u64), foldhash::fast::FixedState>,
    /// (forget after, unix s; is click; bid).
    order: VecDeque<(i64, bool, u64)>,
}

/// The trackers' verifier and seen-set.
#[derive(Debug)]
pub struct Trackers {
    key: TrackerKey,
    cfg: TrackerConfig,
    seen: Mutex<Seen>,
}

impl Trackers {
    pub fn new(key: TrackerKey, cfg: TrackerConfig) -> Trackers {
        Trackers {
            key,
            cfg,
            seen: Mutex::new(Seen::default()),
        }
    }

    pub fn key(&self) -> &TrackerKey {
        &self.key
    }

    fn lifetime_s(&self, kind: TrackerKind) -> i64 {
        let secs = match kind {
            TrackerKind::Impression => self.cfg.impression_lifetime_secs,
            TrackerKind::Click => self.cfg.click_lifetime_secs,
        };
        i64::try_from(secs).unwrap_or(i64::MAX)
    }

    /// Whether this call counts: a valid, fresh tag, and the first call of
    /// this tracker for this bid (here and, with `shared`, on every replica).
    pub async fn check(
        &self,
        kind: TrackerKind,
        query: &TrackerQuery<'_>,
        now_s: i64,
        shared: Option<&SharedCounters>,
    ) -> TrackerVerdict {
        let lifetime = self.lifetime_s(kind);
        let bid = match self.key.verify(query, now_s, lifetime) {
            Ok(b) => b,
            Err(r) => return TrackerVerdict::Refused(r),
        };
        // Remembered until the URL expires; after that its tag is refused anyway.
        let issued = query
            .issued
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(now_s);
        if !self.first_here(kind, bid, issued.saturating_add(lifetime), now_s) {
            return TrackerVerdict::Repeated(bid);
        }
        if let Some(shared) = shared {
            let ttl_ms = (issued.saturating_add(lifetime) - now_s).max(1) * 1000;
            match shared.first_seen(kind.path(), bid.0, ttl_ms).await {
                Ok(true) => {}
                Ok(false) => return TrackerVerdict::Repeated(bid),
                Err(e) => {
                    // Redis unreachable: this replica's seen-set still refuses
                    // repeats that reach it.
                    tracing::warn!(error = %e, "bidder: tracker seen-set in Redis unreachable; checked locally");
                }
            }
        }
        TrackerVerdict::Counted(bid)
    }

    fn first_here(&self, kind: TrackerKind, bid: BidId, forget_at: i64, now_s: i64) -> bool {
        let click = kind == TrackerKind::Click;
        let mut s = self.seen.lock();
        while let Some(&(at, c, b)) = s.order.front() {
            if at > now_s && s.order.len() < self.cfg.seen_capacity {
                break;
            }
            s.order.pop_front();
            s.set.remove(&(c, b));
        }
        if !s.set.insert((click, bid.0)) {
            return false;
        }
        s.order.push_back((forget_at, click, bid.0));
        true
    }
}

/// The tracker parameters of a query (`bid`, `li`, `cr`, `t`, `sig`).
pub fn query_of<'a>(pairs: &'a [(String, String)], line_item: LineItemId) -> TrackerQuery<'a> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    TrackerQuery {
        bid: get("bid"),
        line_item: Some(line_item),
        creative: get("cr"),
        issued: get("t"),
        sig: get("sig"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(t: &Trackers, bid: u64, issued: i64) -> (String, String, String) {
        let li = LineItemId::from(uuid::Uuid::from_u128(1));
        let tag = t.key.sign(BidId(bid), li, "cr", issued);
        (
            BidId(bid).hex(),
            issued.to_string(),
            tag.iter().map(|b| format!("{b:02x}")).collect(),
        )
    }

    async fn check(
        t: &Trackers,
        kind: TrackerKind,
        bid: u64,
        issued: i64,
        now: i64,
    ) -> TrackerVerdict {
        let (b, i, s) = signed(t, bid, issued);
        let q = TrackerQuery {
            bid: Some(&b),
            line_item: Some(LineItemId::from(uuid::Uuid::from_u128(1))),
            creative: Some("cr"),
            issued: Some(&i),
            sig: Some(&s),
        };
        t.check(kind, &q, now, None).await
    }

    #[tokio::test]
    async fn each_tracker_of_a_bid_counts_once_and_the_set_stays_bounded() {
        let t = Trackers::new(
            derive_key(b"master"),
            TrackerConfig {
                seen_capacity: 2,
                ..TrackerConfig::default()
            },
        );
        assert!(
            check(&t, TrackerKind::Click, 1, 1_000, 1_001)
                .await
                .counts()
        );
        assert_eq!(
            check(&t, TrackerKind::Click, 1, 1_000, 1_002).await,
            TrackerVerdict::Repeated(BidId(1))
        );
        // The impression of the same bid is another tracker.
        assert!(
            check(&t, TrackerKind::Impression, 1, 1_000, 1_002)
                .await
                .counts()
        );
        // A third pair pushes the oldest out: the set never passes its capacity.
        assert!(
            check(&t, TrackerKind::Click, 2, 1_000, 1_003)
                .await
                .counts()
        );
        assert!(t.seen.lock().set.len() <= 2);
        assert_eq!(
            check(&t, TrackerKind::Click, 3, 1_000, 1_000 + 86_401).await,
            TrackerVerdict::Refused(TrackerRefusal::Expired)
        );
    }

    #[test]
    fn the_key_depends_on_the_master_secret() {
        let li = LineItemId::from(uuid::Uuid::from_u128(1));
        let a = derive_key(b"one secret").sign(BidId(1), li, "cr", 5);
        let b = derive_key(b"another secret").sign(BidId(1), li, "cr", 5);
        assert_ne!(a, b);
        assert_eq!(a, derive_key(b"one secret").sign(BidId(1), li, "cr", 5));
    }
}
