//! Win, billing and loss notices: the URL templates the bidder puts in its bids,
//! parsing what the exchange calls back (`${AUCTION_PRICE}` and friends), and a
//! state machine per bid id that makes every notice idempotent.
//!
//! The [`NoticeLedger`] does no accounting itself: applying a notice returns
//! [`Effect`]s (settle a hold, release it, count an impression…) that the bidder
//! carries out on its budget, frequency and shading state. A notice for a bid
//! id the ledger does not know (issued before a restart, or by another replica)
//! is recorded and flagged `unmatched`; its spend is still counted once, from
//! the line item and price the URL carries, because the exchange bills it.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt;

use kiki_core::Currency;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::error::BidderError;
use crate::freq::{FreqKey, mix64, unmix64};
use crate::lineitem::LineItemId;
use crate::open_queue::{Open, OpenQueue};

/// Which notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// `nurl`: the bid won the auction.
    Win,
    /// `burl`: the impression became billable.
    Billing,
    /// `lurl`: the bid lost.
    Loss,
}

impl NoticeKind {
    pub fn path(self) -> &'static str {
        match self {
            NoticeKind::Win => "win",
            NoticeKind::Billing => "billing",
            NoticeKind::Loss => "loss",
        }
    }
}

/// Which notice turns a hold into spend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpendTrigger {
    /// The win notice (most exchanges fire only `nurl`).
    #[default]
    Win,
    /// The billing notice (OpenRTB 2.5+: billable means rendered); a win only counts the impression.
    Billing,
}

/// A bid id: 64 bits, written as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BidId(pub u64);

impl fmt::Display for BidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl BidId {
    /// The 16 lower-case hex digits, without the formatting machinery (the bid
    /// path writes every id twice: in the bid and in its notice URLs).
    pub fn hex(self) -> String {
        let mut out = String::with_capacity(16);
        self.push_hex(&mut out);
        out
    }

    /// Appends the 16 lower-case hex digits of the id.
    pub fn push_hex(self, out: &mut String) {
        for b in self.hex_bytes() {
            out.push(char::from(b));
        }
    }

    /// The 16 lower-case hex digits of the id, without allocating.
    pub fn hex_bytes(self) -> [u8; 16] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = HEX[((self.0 >> ((15 - i) * 4)) & 15) as usize];
        }
        out
    }

    pub fn parse(s: &str) -> Option<BidId> {
        if s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            u64::from_str_radix(s, 16).ok().map(BidId)
        } else {
            None
        }
    }

    /// The ledger key of any id string: ours parse back exactly; foreign ids are hashed.
    pub fn key_of(s: &str) -> u64 {
        match BidId::parse(s) {
            Some(b) => b.0,
            None => crate::freq::user_hash(s) ^ 0x8000_0000_0000_0000,
        }
    }
}

/// The three notice URLs of one bid, kept in one string (one allocation per
/// bid instead of four).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeUrls {
    text: String,
    /// Where `nurl` ends and `burl` begins, and where `burl` ends.
    win_end: usize,
    billing_end: usize,
}

impl NoticeUrls {
    /// Builds the URLs under `base` (e.g. `https://bid.example.com`). The bid id,
    /// impression id, line item and currency are written literally (not every
    /// exchange substitutes every macro); the price and loss code are macros.
    pub fn build(
        base: &str,
        bid: BidId,
        imp_id: &str,
        line_item: LineItemId,
        cur: Currency,
        test: bool,
    ) -> NoticeUrls {
        let base = base.trim_end_matches('/');
        let mut text = String::with_capacity(3 * (base.len() + 150) + 3 * imp_id.len());
        let push = |text: &mut String, kind: NoticeKind| {
            text.push_str(base);
            text.push_str("/openrtb2/");
            text.push_str(kind.path());
        };
        push(&mut text, NoticeKind::Win);
        let query_start = text.len();
        text.push_str("?bid=");
        bid.push_hex(&mut text);
        text.push_str("&imp=");
        percent_encode_into(imp_id, &mut text);
        text.push_str("&li=");
        text.push_str(
            line_item
                .0
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        );
        text.push_str("&cur=");
        text.push_str(cur.as_str());
        if test {
            text.push_str("&test=1");
        }
        text.push_str("&price=${AUCTION_PRICE}");
        let win_end = text.len();
        push(&mut text, NoticeKind::Billing);
        text.extend_from_within(query_start..win_end);
        let billing_end = text.len();
        push(&mut text, NoticeKind::Loss);
        text.extend_from_within(query_start..win_end);
        text.push_str("&loss=${AUCTION_LOSS}");
        NoticeUrls {
            text,
            win_end,
            billing_end,
        }
    }

    /// The win notice URL (`nurl`).
    pub fn nurl(&self) -> &str {
        &self.text[..self.win_end]
    }

    /// The billing notice URL (`burl`).
    pub fn burl(&self) -> &str {
        &self.text[self.win_end..self.billing_end]
    }

    /// The loss notice URL (`lurl`).
    pub fn lurl(&self) -> &str {
        &self.text[self.billing_end..]
    }
}

pub(crate) fn percent_encode_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The query string of a notice URL, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeParams<'a> {
    pub bid_id: Cow<'a, str>,
    pub imp_id: Option<Cow<'a, str>>,
    pub line_item: Option<LineItemId>,
    pub currency: Option<Currency>,
    /// `${AUCTION_PRICE}` as substituted: a CPM in `currency`.
    pub price: Option<Cow<'a, str>>,
    /// `${AUCTION_LOSS}` as substituted.
    pub loss_code: Option<i64>,
    pub test: bool,
}

impl<'a> NoticeParams<'a> {
    /// Parses `bid=…&imp=…&li=…&cur=…&price=…[&loss=…][&test=1]` (a leading `?` is allowed).
    pub fn parse_query(query: &'a str) -> Result<NoticeParams<'a>, BidderError> {
        let q = query.strip_prefix('?').unwrap_or(query);
        let mut p = NoticeParams {
            bid_id: Cow::Borrowed(""),
            imp_id: None,
            line_item: None,
            currency: None,
            price: None,
            loss_code: None,
            test: false,
        };
        for pair in q.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "bid" => p.bid_id = v,
                "imp" => p.imp_id = Some(v),
                "li" => {
                    p.line_item = Some(v.parse().map_err(|_| {
                        BidderError::InvalidNotice(format!(
                            "the line item `{}` is not a UUID",
                            clip(&v)
                        ))
                    })?)
                }
                "cur" => {
                    p.currency = Some(Currency::parse(&v).map_err(|_| {
                        BidderError::InvalidNotice(format!(
                            "the currency `{}` is not a currency code",
                            clip(&v)
                        ))
                    })?)
                }
                "price" => p.price = Some(v),
                "loss" => p.loss_code = v.trim().parse().ok(),
                "test" => p.test = v == "1",
                _ => {}
            }
        }
        if p.bid_id.is_empty() {
            return Err(BidderError::InvalidNotice(
                "the `bid` parameter is missing".into(),
            ));
        }
        if p.bid_id.len() > 256 {
            return Err(BidderError::InvalidNotice(
                "the `bid` parameter is longer than 256 bytes".into(),
            ));
        }
        Ok(p)
    }
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// The largest CPM accepted from a notice: one million units. Anything above is a
/// corrupted or hostile value, not a price.
pub const MAX_NOTICE_CPM_MICROS: i64 = 1_000_000 * 1_000_000;

/// Parses a substituted `${AUCTION_PRICE}` (a decimal CPM such as `1.25`, `0.5e1`)
/// into micros, exactly, rounding half up beyond the sixth decimal.
pub fn parse_cpm_micros(s: &str) -> Result<i64, BidderError> {
    let t = s.trim();
    if t.contains("${") || t.contains("AUCTION_PRICE") {
        return Err(BidderError::PriceMacroNotSubstituted);
    }
    let bad = || BidderError::InvalidPrice(clip(t));
    let t = t.strip_prefix('+').unwrap_or(t);
    let (num, exp) = match t.find(['e', 'E']) {
        Some(i) => {
            let e: i32 = t[i + 1..].parse().map_err(|_| bad())?;
            (&t[..i], e)
        }
        None => (t, 0),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // Significant digits beyond 30 cannot change a micro of a plausible price.
    let mut mant: u128 = 0;
    let mut scale: i64 = 0;
    let mut used = 0;
    for b in int.bytes().chain(frac.bytes()) {
        if used < 30 {
            mant = mant * 10 + u128::from(b - b'0');
            if mant > 0 {
                used += 1;
            }
        } else {
            scale += 1;
        }
    }
    scale -= frac.len() as i64;
    let shift = scale + i64::from(exp) + 6;
    let micros: u128 = if mant == 0 {
        0
    } else if shift >= 0 {
        if shift > 30 {
            return Err(bad());
        }
        mant.checked_mul(10u128.pow(shift as u32)).ok_or_else(bad)?
    } else if shift < -38 {
        0
    } else {
        let d = 10u128.pow((-shift) as u32);
        (mant + d / 2) / d
    };
    if micros > MAX_NOTICE_CPM_MICROS as u128 {
        return Err(bad());
    }
    Ok(micros as i64)
}

/// What the ledger remembers about a bid it issued.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IssuedBid {
    pub bid_id: BidId,
    pub line_item: LineItemId,
    /// Budget held for the bid (its maximum cost), bidder currency micros.
    pub hold_micros: i64,
    pub hold_day: u32,
    /// Bid CPM in bidder currency micros.
    pub price_micros: i64,
    /// Frequency key and window when the line item is capped and the user known.
    pub freq: Option<(FreqKey, u32)>,
    pub issued_ms: i64,
    pub test: bool,
}

/// A notice in engine terms: key resolved, price converted to the bidder currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub key: u64,
    pub line_item: Option<LineItemId>,
    /// Clearing CPM in bidder currency micros, if the notice carried one.
    pub price_micros: Option<i64>,
    pub test: bool,
}

/// How a notice was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    /// First notice of its kind for a known bid; effects applied.
    Applied,
    /// Already seen; nothing changes.
    Duplicate,
    /// For a bid id this ledger does not know; recorded and flagged.
    Unmatched,
    /// For a bid whose hold had expired; spend counted without a hold.
    Late,
    /// Contradicts an earlier notice (a loss after a win, a win after a loss).
    Conflicting,
    /// For a test bid (`test = 1`): recorded, never spent.
    Test,
    /// Reports a clearing price above the bid's own price, which no auction
    /// (first or second price) can produce: nothing is booked and the bid's
    /// state does not move, so a corrected notice is still taken.
    Refused,
}

/// Why a notice was refused as impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyReason {
    /// The clearing price is above the price we bid.
    PriceAboveBid,
}

impl AnomalyReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyReason::PriceAboveBid => "price_above_bid",
        }
    }
}

/// A notice that contradicts the bid it names, with what the service needs
/// to record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeAnomaly {
    pub reason: AnomalyReason,
    pub bid_id: BidId,
    pub line_item: LineItemId,
    /// Our bid CPM, bidder currency micros.
    pub bid_price_micros: i64,
    /// The CPM the exchange reported, converted to bidder currency micros.
    pub reported_price_micros: i64,
}

/// An action the bidder must take because of a notice or an expiry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// Turn a hold into spend.
    Settle {
        line_item: LineItemId,
        hold_day: u32,
        hold_micros: i64,
        spend_micros: i64,
    },
    /// Return a hold unspent.
    Release {
        line_item: LineItemId,
        hold_day: u32,
        hold_micros: i64,
    },
    /// Spend with no hold behind it.
    SpendUnheld {
        line_item: LineItemId,
        spend_micros: i64,
    },
    /// One impression served (performance and frequency counting).
    CountImpression {
        line_item: LineItemId,
        freq: Option<(FreqKey, u32)>,
    },
    /// A win, for the shading feedback.
    WinFeedback { line_item: LineItemId },
}

/// The answer to one notice.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeOutcome {
    pub kind: NoticeKind,
    pub status: NoticeStatus,
    pub line_item: Option<LineItemId>,
    /// Clearing CPM in bidder currency micros (win/billing).
    pub clearing_micros: Option<i64>,
    /// Cost of the impression (clearing CPM / 1000) when spend was counted.
    pub spend_micros: Option<i64>,
    pub effects: SmallVec<[Effect; 4]>,
    /// Set when the notice was refused ([`NoticeStatus::Refused`]).
    pub anomaly: Option<NoticeAnomaly>,
}

/// What a notice's effects would count once per bid across replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Claims {
    /// The outcome counts the bid's spend (settled or unheld).
    pub spend: bool,
    /// The outcome counts the bid's impression (and its win feedback).
    pub impression: bool,
}

impl NoticeOutcome {
    /// Which once-per-bid counts this outcome would make.
    pub fn claims(&self) -> Claims {
        let mut c = Claims::default();
        for e in &self.effects {
            match e {
                Effect::Settle { .. } | Effect::SpendUnheld { .. } => c.spend = true,
                Effect::CountImpression { .. } => c.impression = true,
                Effect::Release { .. } | Effect::WinFeedback { .. } => {}
            }
        }
        c
    }

    /// Drops the counts another replica already made for this bid (`lost` = the
    /// claims this replica did not get): a hold whose spend was counted
    /// elsewhere is released instead of settled, unheld spend and the
    /// impression are not counted again. An outcome left with nothing to count
    /// that would have counted something is a duplicate.
    pub fn counted_elsewhere(&mut self, lost: Claims) {
        if !lost.spend && !lost.impression {
            return;
        }
        let before = self.claims();
        let mut kept: SmallVec<[Effect; 4]> = SmallVec::new();
        for e in self.effects.drain(..) {
            match e {
                Effect::Settle {
                    line_item,
                    hold_day,
                    hold_micros,
                    ..
                } if lost.spend => kept.push(Effect::Release {
                    line_item,
                    hold_day,
                    hold_micros,
                }),
                Effect::SpendUnheld { .. } if lost.spend => {}
                Effect::CountImpression { .. } | Effect::WinFeedback { .. } if lost.impression => {}
                other => kept.push(other),
            }
        }
        self.effects = kept;
        if lost.spend {
            self.spend_micros = None;
        }
        let after = self.claims();
        if (before.spend || before.impression) && !after.spend && !after.impression {
            self.status = NoticeStatus::Duplicate;
        }
    }
}

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

const SHARDS: u64 = 32;

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
    fn locate(&self, key: u64) -> (usize, u64) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auction_prices_parse_exactly_to_micros() {
        let cases: &[(&str, i64)] = &[
            ("1.25", 1_250_000),
            ("0.000001", 1),
            ("0.0000005", 1),
            ("0.0000004", 0),
            ("2", 2_000_000),
            (".5", 500_000),
            ("5.", 5_000_000),
            ("1.5e1", 15_000_000),
            ("125E-2", 1_250_000),
            ("+3.1", 3_100_000),
            (" 7.000000 ", 7_000_000),
            ("0", 0),
            ("0.123456789012345678901234567890123", 123_457),
        ];
        for (s, want) in cases {
            assert_eq!(parse_cpm_micros(s), Ok(*want), "{s}");
        }
    }

    #[test]
    fn bad_auction_prices_are_refused_with_a_reason() {
        assert_eq!(
            parse_cpm_micros("${AUCTION_PRICE}"),
            Err(BidderError::PriceMacroNotSubstituted)
        );
        for bad in [
            "", "-1", "abc", "1.2.3", "1e", "1e999", "NaN", "inf", "0x10", "1,5", "1e7", ".",
        ] {
            assert!(
                matches!(parse_cpm_micros(bad), Err(BidderError::InvalidPrice(_))),
                "{bad}: {:?}",
                parse_cpm_micros(bad)
            );
        }
    }

    #[test]
    fn notice_urls_carry_the_bid_and_parse_back() {
        let li = LineItemId::new();
        let urls = NoticeUrls::build(
            "https://bid.example/",
            BidId(0xabc),
            "imp 1&x",
            li,
            Currency::EUR,
            true,
        );
        assert!(
            urls.nurl().starts_with(
                "https://bid.example/openrtb2/win?bid=0000000000000abc&imp=imp%201%26x"
            )
        );
        assert!(urls.lurl().contains("&loss=${AUCTION_LOSS}"));
        assert!(urls.burl().contains("/openrtb2/billing?"));
        // The three share the query; only the loss URL adds the loss code.
        assert_eq!(
            urls.burl().split_once('?').unwrap().1,
            urls.nurl().split_once('?').unwrap().1
        );
        assert_eq!(
            urls.lurl().split_once('?').unwrap().1,
            format!(
                "{}&loss=${{AUCTION_LOSS}}",
                urls.nurl().split_once('?').unwrap().1
            )
        );
        let query = urls
            .nurl()
            .split_once('?')
            .unwrap()
            .1
            .replace("${AUCTION_PRICE}", "1.5");
        let p = NoticeParams::parse_query(&query).unwrap();
        assert_eq!(p.bid_id, "0000000000000abc");
        assert_eq!(p.imp_id.as_deref(), Some("imp 1&x"));
        assert_eq!(p.line_item, Some(li));
        assert_eq!(p.currency, Some(Currency::EUR));
        assert_eq!(p.price.as_deref(), Some("1.5"));
        assert!(p.test);
    }

    #[test]
    fn malformed_notice_queries_are_refused() {
        assert!(NoticeParams::parse_query("price=1").is_err());
        assert!(NoticeParams::parse_query("bid=1&li=not-a-uuid").is_err());
        assert!(NoticeParams::parse_query("bid=1&cur=dollars").is_err());
        assert!(NoticeParams::parse_query("bid=%zz&price=%").is_ok());
    }

    #[test]
    fn bid_ids_are_unique_and_lead_back_to_their_open_bid() {
        for z in [0u64, 1, 42, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(unmix64(mix64(z)), z);
        }
        let l = NoticeLedger::new(NoticeConfig::default(), 0xfeed);
        let ids: Vec<BidId> = (0..10_000)
            .map(|k| l.issue(k, |id| bid(id, false)))
            .collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 10_000);
        for (k, id) in ids.iter().enumerate() {
            let (shard, seq) = l.locate(id.0);
            assert_eq!(seq * SHARDS + shard as u64, k as u64);
        }
        let id = ids[7];
        assert_eq!(BidId::parse(&id.to_string()), Some(id));
        assert_eq!(BidId::key_of(&id.to_string()), id.0);
        assert_ne!(BidId::key_of("foreign-id"), BidId::key_of("foreign-id2"));
        // Another replica's ids (another seed) are not found here.
        let other = NoticeLedger::new(NoticeConfig::default(), 0xbeef);
        let foreign = other.issue(0, |id| bid(id, false));
        let mut n = notice(NoticeKind::Win, foreign.0, Some(1_000_000));
        n.line_item = Some(LineItemId::from(uuid::Uuid::from_u128(7)));
        assert_eq!(l.apply(n, 2_000).status, NoticeStatus::Unmatched);
    }

    #[test]
    fn a_bid_nobody_answers_is_let_go_at_its_hold_timeout() {
        let l = NoticeLedger::new(NoticeConfig::default(), 0);
        for k in 0..1_000 {
            l.issue(k, |id| bid(id, false));
        }
        assert_eq!(l.len(), 1_000);
        let released = l.expire(1_000 + 60_000);
        // Every hold goes back, as one release for the line item and day.
        assert_eq!(
            released,
            vec![Effect::Release {
                line_item: LineItemId::from(uuid::Uuid::from_u128(7)),
                hold_day: 1,
                hold_micros: 1_000 * 3_000
            }]
        );
        assert_eq!(l.len(), 0, "and no id stays for the retention period");
    }

    fn bid(id: BidId, test: bool) -> IssuedBid {
        IssuedBid {
            bid_id: id,
            line_item: LineItemId::from(uuid::Uuid::from_u128(7)),
            hold_micros: 3_000,
            hold_day: 1,
            price_micros: 3_000_000,
            freq: None,
            issued_ms: 1_000,
            test,
        }
    }

    /// The key of the `label`-th bid a ledger with seed 0 issues (labels from 1).
    fn key(label: u64) -> u64 {
        mix64(label - 1)
    }

    fn issued(ledger: &NoticeLedger, label: u64, test: bool) -> IssuedBid {
        let b = bid(BidId(key(label)), test);
        let id = ledger.issue(label - 1, |_| b);
        assert_eq!(id, b.bid_id, "bids are issued in label order");
        b
    }

    fn notice(kind: NoticeKind, key: u64, price: Option<i64>) -> Notice {
        Notice {
            kind,
            key,
            line_item: None,
            price_micros: price,
            test: false,
        }
    }

    #[test]
    fn counts_another_replica_made_are_dropped_and_the_hold_released() {
        let l = NoticeLedger::new(NoticeConfig::default(), 0);
        let b = issued(&l, 1, false);
        let mut o = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
        assert_eq!(
            o.claims(),
            Claims {
                spend: true,
                impression: true
            }
        );
        // Nothing lost: unchanged.
        let kept = o.clone();
        o.counted_elsewhere(Claims::default());
        assert_eq!(o, kept);
        // Another replica counted both: the hold goes back, nothing is counted.
        o.counted_elsewhere(Claims {
            spend: true,
            impression: true,
        });
        assert_eq!(o.status, NoticeStatus::Duplicate);
        assert_eq!(o.spend_micros, None);
        assert_eq!(
            o.effects.as_slice(),
            &[Effect::Release {
                line_item: b.line_item,
                hold_day: 1,
                hold_micros: 3_000
            }]
        );
        assert_eq!(o.claims(), Claims::default());

        // Only the spend was counted elsewhere: the impression still counts here.
        let l = NoticeLedger::new(NoticeConfig::default(), 0);
        issued(&l, 1, false);
        let mut o = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
        o.counted_elsewhere(Claims {
            spend: true,
            impression: false,
        });
        assert_eq!(o.status, NoticeStatus::Applied);
        assert_eq!(
            o.claims(),
            Claims {
                spend: false,
                impression: true
            }
        );
        assert!(
            o.effects
                .iter()
                .any(|e| matches!(e, Effect::Release { .. }))
        );

        // An unmatched win whose spend another replica counted has nothing left.
        let l = NoticeLedger::new(NoticeConfig::default(), 0);
        let mut n = notice(NoticeKind::Win, key(9), Some(1_000_000));
        n.line_item = Some(b.line_item);
        let mut o = l.apply(n, 2_000);
        assert_eq!(o.status, NoticeStatus::Unmatched);
        o.counted_elsewhere(Claims {
            spend: true,
            impression: true,
        });
        assert_eq!((o.status, o.effects.len()), (NoticeStatus::Duplicate, 0));
    }

    #[test]
    fn a_win_settles_the_hold_once_and_repeats_are_duplicates() {
        let l = NoticeLedger::new(NoticeConfig::default(), 0);
        let b = issued(&l, 1, false);
        let o = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
        assert_eq!(o.status, NoticeStatus::Applied);
        assert_eq!(o.spend_micros, Some(2_000));
        assert!(o.effects.contains(&Effect::Settle {
            line_item: b.line_item,
            hold_day: 1,
            hold_micros: 3_000,
            spend_micros: 2_000
        }));
        let again = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_100);
        assert_eq!(
            (again.status, again.effects.len()),
            (NoticeStatus::Duplicate, 0)
        );
        let bill = l.apply(notice(NoticeKind::Billing, key(1), Some(2_000_000)), 2_200);
        assert!(
            bill.effects.is_empty(),
            "billing after a win settled on win adds nothing"
        );
        let loss = l.apply(notice(NoticeKind::Loss, key(1), None), 2_300);
        assert_eq!(loss.status, NoticeStatus::Conflicting);
    }

    #[test]
    fn clearing_price_above_the_bid_is_refused() {
        // The bid is 3.00 CPM; the exchange reports 1,000,000.
        let l = NoticeLedger::new(NoticeConfig::default(), 0);
        let b = issued(&l, 1, false);
        let o = l.apply(
            notice(NoticeKind::Win, key(1), Some(1_000_000_000_000)),
            2_000,
        );
        assert_eq!(o.status, NoticeStatus::Refused);
        assert!(o.effects.is_empty(), "nothing is booked: {:?}", o.effects);
        assert_eq!(o.spend_micros, None);
        assert_eq!(
            o.anomaly,
            Some(NoticeAnomaly {
                reason: AnomalyReason::PriceAboveBid,
                bid_id: b.bid_id,
                line_item: b.line_item,
                bid_price_micros: 3_000_000,
                reported_price_micros: 1_000_000_000_000,
            })
        );
        // One micro above the bid is refused as well, a billing notice too.
        let o = l.apply(notice(NoticeKind::Billing, key(1), Some(3_000_001)), 2_001);
        assert_eq!(o.status, NoticeStatus::Refused);
        // The bid kept its state: a win at exactly the bid price settles it.
        let o = l.apply(notice(NoticeKind::Win, key(1), Some(3_000_000)), 2_002);
        assert_eq!(o.status, NoticeStatus::Applied);
        assert_eq!(o.spend_micros, Some(3_000));
        assert!(o.effects.contains(&Effect::Settle {
            line_item: b.line_item,
            hold_day: 1,
            hold_micros: 3_000,
            spend_micros: 3_000
        }));
        assert_eq!(o.anomaly, None);
    }

    #[test]
    fn with_the_billing_trigger_spend_waits_for_the_billing_notice() {
        let l = NoticeLedger::new(
            NoticeConfig {
                spend_trigger: SpendTrigger::Billing,
                ..NoticeConfig::default()
            },
            0,
        );
        issued(&l, 1, false);
        let win = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
        assert!(
            win.effects
                .iter()
                .all(|e| !matches!(e, Effect::Settle { .. }))
        );
        assert!(
            win.effects
                .iter()
                .any(|e| matches!(e, Effect::CountImpression { .. }))
        );
        let bill = l.apply(notice(NoticeKind::Billing, key(1), None), 3_000);
        assert_eq!(
            bill.spend_micros,
            Some(2_000),
            "billing without a price uses the win price"
        );
        // A won bid never billed is released after the billing timeout.
        issued(&l, 2, false);
        l.apply(notice(NoticeKind::Win, key(2), Some(1_000_000)), 2_000);
        assert!(l.expire(1_000 + 60_000).is_empty());
        let released = l.expire(1_000 + 60_000 + 600_000);
        assert!(matches!(
            released[..],
            [Effect::Release {
                hold_micros: 3_000,
                ..
            }]
        ));
    }

    #[test]
    fn a_loss_releases_the_hold_and_an_expired_hold_is_released_once() {
        let l = NoticeLedger::new(NoticeConfig::default(), 0);
        issued(&l, 1, false);
        let o = l.apply(notice(NoticeKind::Loss, key(1), None), 1_500);
        assert!(matches!(
            o.effects[..],
            [Effect::Release {
                hold_micros: 3_000,
                ..
            }]
        ));
        issued(&l, 2, false);
        let expired = l.expire(61_000);
        assert_eq!(expired.len(), 1, "only bid 2 was still holding");
        assert!(l.expire(62_000).is_empty());
        // The bid was let go at its timeout; the URL's line item and price count.
        let mut n = notice(NoticeKind::Win, key(2), Some(1_000_000));
        n.line_item = Some(LineItemId::from(uuid::Uuid::from_u128(7)));
        let late = l.apply(n, 70_000);
        assert_eq!(late.status, NoticeStatus::Late);
        let again = l.apply(n, 70_001);
        assert_eq!(
            (again.status, again.effects.len()),
            (NoticeStatus::Duplicate, 0)
        );
        assert!(late.effects.iter().any(|e| matches!(
            e,
            Effect::SpendUnheld {
                spend_micros: 1_000,
                ..
            }
        )));
    }

    #[test]
    fn a_win_for_an_unknown_bid_is_flagged_counted_once_and_remembered() {
        let l = NoticeLedger::new(NoticeConfig::default(), 0);
        let li = LineItemId::new();
        let n = Notice {
            kind: NoticeKind::Win,
            key: 99,
            line_item: Some(li),
            price_micros: Some(4_000_000),
            test: false,
        };
        let o = l.apply(n, 1_000);
        assert_eq!(o.status, NoticeStatus::Unmatched);
        assert!(o.effects.contains(&Effect::SpendUnheld {
            line_item: li,
            spend_micros: 4_000
        }));
        let again = l.apply(n, 1_001);
        assert_eq!(
            (again.status, again.effects.len()),
            (NoticeStatus::Duplicate, 0)
        );
        assert_eq!(l.len(), 1);
        l.expire(1_000 + 3_600_000);
        assert_eq!(l.len(), 0, "forgotten after the retention period");
    }

    #[test]
    fn test_bids_are_recorded_but_never_spend() {
        let l = NoticeLedger::new(NoticeConfig::default(), 0);
        issued(&l, 1, true);
        let o = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
        assert_eq!((o.status, o.effects.len()), (NoticeStatus::Test, 0));
        assert!(l.expire(100_000).is_empty());
    }
}
