//! The [`NoticeLedger`]: per-bid notice state, sharded, which issues bid ids,
//! applies notices idempotently, expires holds nobody answered and forgets
//! finished bids after the retention period.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::outcome::{
    AnomalyReason, Effect, IssuedBid, Notice, NoticeAnomaly, NoticeOutcome, NoticeStatus,
};
use super::{BidId, NoticeKind, SpendTrigger};
use crate::freq::{mix64, unmix64};
use crate::lineitem::LineItemId;
use crate::open_queue::{Open, OpenQueue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Issued,
    Won,
    Billed,
    Lost,
    Expired,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    bid: Option<IssuedBid>,
    state: State,
    clearing: Option<i64>,
    /// Spend was counted (settled or unheld) for this bid.
    spent: bool,
    /// Impression and win feedback were counted.
    counted: bool,
    /// Hold still outstanding.
    holding: bool,
}

#[derive(Debug, Default)]
struct Shard {
    /// Bids that had a notice, and ids the ledger did not issue.
    entries: HashMap<u64, Entry, crate::freq::NoHash>,
    /// Open bids by in-shard sequence: `open[i]` has sequence `base + i`. Issuing
    /// a bid is a push here, not a hash-map insert; a bid nobody sends a notice
    /// for leaves at its hold timeout and is not remembered beyond it.
    open: OpenQueue,
    base: u64,
    next: u64,
    billing_queue: VecDeque<(i64, u64)>,
    purge_queue: VecDeque<(i64, u64)>,
}

/// Ledger timings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NoticeConfig {
    pub spend_trigger: SpendTrigger,
    /// A bid with no win or loss notice after this long is presumed lost and its hold released. Default 60 000 ms.
    pub hold_timeout_ms: i64,
    /// With the billing trigger: a won bid with no billing notice after this long is released. Default 600 000 ms.
    pub billing_timeout_ms: i64,
    /// How long a finished bid id is remembered for idempotency. Default 3 600 000 ms.
    pub retention_ms: i64,
    /// Count the spend of wins for unknown bid ids (from the URL's line item and price). Default true.
    pub count_unmatched_spend: bool,
}

impl Default for NoticeConfig {
    fn default() -> Self {
        NoticeConfig {
            spend_trigger: SpendTrigger::Win,
            hold_timeout_ms: 60_000,
            billing_timeout_ms: 600_000,
            retention_ms: 3_600_000,
            count_unmatched_spend: true,
        }
    }
}

/// Per-bid state machine for notices, sharded for concurrency. The ledger also
/// issues the bid ids: id = `mix64(seed + n)` with `n = sequence × SHARDS +
/// shard`, so a notice's id leads straight back to its open bid.
#[derive(Debug)]
pub struct NoticeLedger {
    cfg: NoticeConfig,
    seed: u64,
    shards: Box<[Mutex<Shard>]>,
}

pub(super) const SHARDS: u64 = 32;

/// Impression cost of a CPM: CPM / 1000, rounded half up.
pub fn cost_of_cpm(cpm_micros: i64) -> i64 {
    (cpm_micros.max(0) + 500) / 1000
}

impl NoticeLedger {
    /// A ledger whose bid ids derive from `seed` (one random seed per process).
    pub fn new(cfg: NoticeConfig, seed: u64) -> Self {
        NoticeLedger {
            cfg,
            seed,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    pub fn config(&self) -> &NoticeConfig {
        &self.cfg
    }

    /// Shard and in-shard sequence a key would have if this ledger issued it.
    pub(super) fn locate(&self, key: u64) -> (usize, u64) {
        let n = unmix64(key).wrapping_sub(self.seed);
        ((n % SHARDS) as usize, n / SHARDS)
    }

    /// Records a bid about to be sent and returns its id; `make` fills in the
    /// bid from the id. `hint` picks the shard (`hint % 32`): callers spread it
    /// per thread, so two cores rarely take the same shard's lock and no
    /// counter is shared between them.
    pub fn issue(&self, hint: u64, make: impl FnOnce(BidId) -> IssuedBid) -> BidId {
        let shard = (hint % SHARDS) as usize;
        let mut s = self.shards[shard].lock();
        let n = s.next * SHARDS + shard as u64;
        let id = BidId(mix64(self.seed.wrapping_add(n)));
        let mut bid = make(id);
        bid.bid_id = id;
        s.next += 1;
        s.open.push_back(Open {
            bid,
            noticed: false,
        });
        id
    }

    /// Number of bid ids remembered (open bids and bids with notices).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock();
                s.entries.len() + s.open.iter().filter(|o| !o.noticed).count()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies one notice.
    pub fn apply(&self, n: Notice, now_ms: i64) -> NoticeOutcome {
        let trigger = self.cfg.spend_trigger;
        let (shard, seq) = self.locate(n.key);
        let mut guard = self.shards[shard].lock();
        let s = &mut *guard;
        if !s.entries.contains_key(&n.key) {
            // First notice for one of our bids: its state moves to `entries`.
            let slot = seq
                .checked_sub(s.base)
                .filter(|_| seq < s.next)
                .and_then(|i| s.open.get_mut(i as usize))
                .filter(|o| o.bid.bid_id.0 == n.key && !o.noticed);
            if let Some(o) = slot {
                o.noticed = true;
                let bid = o.bid;
                s.entries.insert(
                    n.key,
                    Entry {
                        bid: Some(bid),
                        state: State::Issued,
                        clearing: None,
                        spent: false,
                        counted: false,
                        holding: !bid.test && bid.hold_micros > 0,
                    },
                );
            } else if seq < s.base && !n.test {
                // Ours, but its hold timed out with no notice and it was let go:
                // what the URL says is all there is (a late notice).
                s.entries.insert(
                    n.key,
                    Entry {
                        bid: None,
                        state: State::Expired,
                        clearing: None,
                        spent: false,
                        counted: false,
                        holding: false,
                    },
                );
                s.purge_queue
                    .push_back((now_ms + self.cfg.retention_ms, n.key));
            }
        }
        let mut out = NoticeOutcome {
            kind: n.kind,
            status: NoticeStatus::Applied,
            line_item: n.line_item,
            clearing_micros: n.price_micros,
            spend_micros: None,
            effects: SmallVec::new(),
            anomaly: None,
        };
        let Some(e) = s.entries.get_mut(&n.key) else {
            // Unknown bid: remember it so repeats are duplicates, and count its spend once.
            let state = match n.kind {
                NoticeKind::Win => State::Won,
                NoticeKind::Billing => State::Billed,
                NoticeKind::Loss => State::Lost,
            };
            let mut entry = Entry {
                bid: None,
                state,
                clearing: n.price_micros,
                spent: false,
                counted: false,
                holding: false,
            };
            out.status = NoticeStatus::Unmatched;
            if n.test {
                out.status = NoticeStatus::Test;
            } else if let (Some(li), Some(price), true) =
                (n.line_item, n.price_micros, n.kind != NoticeKind::Loss)
            {
                let counts_spend = trigger == SpendTrigger::Win || n.kind == NoticeKind::Billing;
                if self.cfg.count_unmatched_spend && counts_spend {
                    let cost = cost_of_cpm(price);
                    out.effects.push(Effect::SpendUnheld {
                        line_item: li,
                        spend_micros: cost,
                    });
                    out.spend_micros = Some(cost);
                    entry.spent = true;
                }
                out.effects.push(Effect::CountImpression {
                    line_item: li,
                    freq: None,
                });
                entry.counted = true;
            }
            s.entries.insert(n.key, entry);
            s.purge_queue
                .push_back((now_ms + self.cfg.retention_ms, n.key));
            return out;
        };
        if let Some(b) = e.bid {
            out.line_item = Some(b.line_item);
            if b.test {
                out.status = NoticeStatus::Test;
                e.state = next_state(e.state, n.kind);
                return out;
            }
            // The clearing price never exceeds the bid, in a first-price
            // auction (we pay our bid) as in a second-price one (we pay at
            // most our bid). A higher price is a corrupt or hostile notice:
            // nothing is booked and the bid keeps its state.
            if let Some(p) = n.price_micros
                && n.kind != NoticeKind::Loss
                && p > b.price_micros
            {
                out.status = NoticeStatus::Refused;
                out.anomaly = Some(NoticeAnomaly {
                    reason: AnomalyReason::PriceAboveBid,
                    bid_id: b.bid_id,
                    line_item: b.line_item,
                    bid_price_micros: b.price_micros,
                    reported_price_micros: p,
                });
                return out;
            }
        }
        let line_item = out.line_item;
        // The win notice's price is the fallback for a billing notice that has none.
        let price = n.price_micros.or(e.clearing);
        out.clearing_micros = price;
        match (e.state, n.kind) {
            (State::Issued, NoticeKind::Loss) => {
                e.state = State::Lost;
                release(e, &mut out);
            }
            (
                State::Issued | State::Won | State::Expired | State::Lost,
                NoticeKind::Win | NoticeKind::Billing,
            ) => {
                let was = e.state;
                if n.kind == NoticeKind::Win && matches!(was, State::Won) {
                    out.status = NoticeStatus::Duplicate;
                    return out;
                }
                e.state = next_state(was, n.kind);
                e.clearing = price;
                out.status = match was {
                    State::Expired => NoticeStatus::Late,
                    State::Lost => NoticeStatus::Conflicting,
                    _ => NoticeStatus::Applied,
                };
                if let Some(li) = line_item {
                    if !e.counted {
                        e.counted = true;
                        out.effects.push(Effect::CountImpression {
                            line_item: li,
                            freq: e.bid.and_then(|b| b.freq),
                        });
                        out.effects.push(Effect::WinFeedback { line_item: li });
                    }
                    let spend_now = trigger == SpendTrigger::Win || n.kind == NoticeKind::Billing;
                    if spend_now && !e.spent {
                        match price {
                            Some(p) => {
                                let cost = cost_of_cpm(p);
                                e.spent = true;
                                out.spend_micros = Some(cost);
                                match (e.holding, e.bid) {
                                    (true, Some(b)) => {
                                        e.holding = false;
                                        out.effects.push(Effect::Settle {
                                            line_item: li,
                                            hold_day: b.hold_day,
                                            hold_micros: b.hold_micros,
                                            spend_micros: cost,
                                        });
                                    }
                                    _ => out.effects.push(Effect::SpendUnheld {
                                        line_item: li,
                                        spend_micros: cost,
                                    }),
                                }
                            }
                            None => {
                                // No price: settle at our own bid, the most a bid can cost.
                                if let Some(b) = e.bid {
                                    let cost = cost_of_cpm(b.price_micros);
                                    e.spent = true;
                                    out.spend_micros = Some(cost);
                                    if e.holding {
                                        e.holding = false;
                                        out.effects.push(Effect::Settle {
                                            line_item: li,
                                            hold_day: b.hold_day,
                                            hold_micros: b.hold_micros,
                                            spend_micros: cost,
                                        });
                                    } else {
                                        out.effects.push(Effect::SpendUnheld {
                                            line_item: li,
                                            spend_micros: cost,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (State::Billed, NoticeKind::Win | NoticeKind::Billing) => {
                out.status = NoticeStatus::Duplicate;
            }
            (State::Lost, NoticeKind::Loss) => out.status = NoticeStatus::Duplicate,
            (State::Expired, NoticeKind::Loss) => {
                e.state = State::Lost;
            }
            (State::Won | State::Billed, NoticeKind::Loss) => {
                out.status = NoticeStatus::Conflicting
            }
        }
        out
    }

    /// Expires holds whose notices did not come, and forgets old bid ids.
    /// Returns the releases to carry out, one per line item and day.
    pub fn expire(&self, now_ms: i64) -> Vec<Effect> {
        let mut releases = Releases::default();
        let extra_billing = (self.cfg.billing_timeout_ms - self.cfg.hold_timeout_ms).max(0);
        for shard in self.shards.iter() {
            let mut guard = shard.lock();
            let s = &mut *guard;
            while let Some(&o) = s.open.front() {
                if o.bid.issued_ms + self.cfg.hold_timeout_ms > now_ms {
                    break;
                }
                s.open.pop_front();
                s.base += 1;
                let key = o.bid.bid_id.0;
                if !o.noticed {
                    // No notice at all: presumed lost; the id is let go.
                    if !o.bid.test && o.bid.hold_micros > 0 {
                        releases.add(o.bid.line_item, o.bid.hold_day, o.bid.hold_micros);
                    }
                    continue;
                }
                let Some(e) = s.entries.get_mut(&key) else {
                    continue;
                };
                match e.state {
                    State::Issued => {
                        e.state = State::Expired;
                        releases.entry(e);
                        s.purge_queue
                            .push_back((now_ms + self.cfg.retention_ms, key));
                    }
                    State::Won if e.holding => {
                        s.billing_queue.push_back((now_ms + extra_billing, key));
                    }
                    _ => s
                        .purge_queue
                        .push_back((now_ms + self.cfg.retention_ms, key)),
                }
            }
            while let Some(&(deadline, key)) = s.billing_queue.front() {
                if deadline > now_ms {
                    break;
                }
                s.billing_queue.pop_front();
                if let Some(e) = s.entries.get_mut(&key)
                    && e.holding
                {
                    // Won but never billable: the impression was not delivered.
                    releases.entry(e);
                }
                s.purge_queue
                    .push_back((now_ms + self.cfg.retention_ms, key));
            }
            while let Some(&(deadline, key)) = s.purge_queue.front() {
                if deadline > now_ms {
                    break;
                }
                s.purge_queue.pop_front();
                if s.entries.get(&key).is_some_and(|e| !e.holding) {
                    s.entries.remove(&key);
                }
            }
        }
        releases.into_effects()
    }
}

/// One release per line item and day, summed as holds expire: at a high bid
/// rate a second of expiry holds tens of thousands of holds, which the bidder
/// would otherwise give back one by one (and list one by one first: a list
/// of megabytes built and freed every second).
#[derive(Default)]
struct Releases {
    sums: HashMap<(LineItemId, u32), i64, foldhash::fast::FixedState>,
    order: Vec<(LineItemId, u32)>,
}

impl Releases {
    fn add(&mut self, line_item: LineItemId, hold_day: u32, hold_micros: i64) {
        let order = &mut self.order;
        *self.sums.entry((line_item, hold_day)).or_insert_with(|| {
            order.push((line_item, hold_day));
            0
        }) += hold_micros;
    }

    /// Releases the entry's hold, if it still has one.
    fn entry(&mut self, e: &mut Entry) {
        if let (true, Some(b)) = (e.holding, e.bid) {
            e.holding = false;
            self.add(b.line_item, b.hold_day, b.hold_micros);
        }
    }

    /// The releases in the order their line item and day first expired.
    fn into_effects(self) -> Vec<Effect> {
        let Releases { sums, order } = self;
        order
            .into_iter()
            .map(|(line_item, hold_day)| Effect::Release {
                line_item,
                hold_day,
                hold_micros: sums[&(line_item, hold_day)],
            })
            .collect()
    }
}

fn next_state(s: State, kind: NoticeKind) -> State {
    match (s, kind) {
        (_, NoticeKind::Billing) => State::Billed,
        (State::Billed, _) => State::Billed,
        (_, NoticeKind::Win) => State::Won,
        (State::Won, NoticeKind::Loss) => State::Won,
        (_, NoticeKind::Loss) => State::Lost,
    }
}

fn release(e: &mut Entry, out: &mut NoticeOutcome) {
    if let (true, Some(b)) = (e.holding, e.bid) {
        e.holding = false;
        out.effects.push(Effect::Release {
            line_item: b.line_item,
            hold_day: b.hold_day,
            hold_micros: b.hold_micros,
        });
    }
}
