//! The bidder: turns a bid request into a decision and a response, applies
//! notices, and runs the periodic maintenance (pacing steps, shading updates,
//! hold expiry, lease refills). Time is always an argument.
//!
//! The decision for one impression:
//! 1. the index narrows the snapshot to line items with a matching format/size,
//!    country and device type;
//! 2. each candidate is checked for schedule (flight, daypart), inventory, OS,
//!    categories, domains and deals, and a creative is picked that fits and is
//!    not blocked by `bcat`/`badv`/`bapp`/`battr`;
//! 3. the pacing throttle draws (deterministically from request id and line item);
//! 4. value: pCTR × pCVR × LTV × 1000 × bid share (or the strategy's price);
//!    MarginGuardian caps or refuses it; the floor (converted through the FX
//!    table, rounded up) must be met; the pacing ceiling must allow it;
//! 5. the best candidate by price that passes its frequency cap, is shaded (first
//!    price only, never below the floor) and obtains a budget hold wins the impression.

mod decide;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use kiki_core::{Currency, Money, OrgId};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::budget::{AccountView, BudgetLedger, BudgetLimits, InMemoryLedger};
use crate::config::BidderConfig;
use crate::error::BidderError;
use crate::freq::{FreqKey, FrequencyStore, InMemoryFrequency, mix64, user_hash};
use crate::fx::{Rounding, cpm_to_micros_ceil};
use crate::lineitem::{InventoryKind, LineItem, LineItemId};
use crate::margin::{GuardianVerdict, check_cpm, guarded_cpm};
use crate::notice::{
    BidId, Effect, IssuedBid, Notice, NoticeKind, NoticeLedger, NoticeOutcome, NoticeParams,
    NoticeStatus, NoticeUrls, cost_of_cpm, parse_cpm_micros,
};
use crate::openrtb::request::{BidRequest, Imp};
use crate::openrtb::response::{
    Bid, BidResponse, CpmMicros, NoBidResponse, SeatBid, write_cpm, write_json_str,
};
use crate::openrtb::{NoBidReason, parse_bid_request};
use crate::pacing::{DAY_MS, HOUR_MS, day_of};
use crate::shading::shade;
use crate::snapshot::{
    CompileReport, CompiledCreative, CompiledItem, MediaKind, Registry, Snapshot, country_code,
    gate, norm_domain, parent_category,
};
use crate::striped::StripedCounter;
use crate::tracker::{TAG_BYTES, TrackerKey};
use crate::valuation::{PerformanceTotals, RateEstimate, SegmentLookup, SegmentTable};

/// When the request arrived and what time it is now (unix millis). The decision
/// uses the difference against `tmax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestContext {
    pub now_ms: i64,
    pub received_at_ms: i64,
}

impl RequestContext {
    /// A request received just now.
    pub fn at(now_ms: i64) -> Self {
        RequestContext {
            now_ms,
            received_at_ms: now_ms,
        }
    }
}

/// The shared state the bidder works against.
#[derive(Debug, Clone)]
pub struct BidderDeps {
    pub ledger: Arc<dyn BudgetLedger>,
    pub frequency: Arc<dyn FrequencyStore>,
    pub segments: Arc<dyn SegmentLookup>,
    /// Seed of the bid ids: 64 random bits per process start (replicas must not share one).
    pub id_seed: u64,
    /// Signs the impression and click tracker URLs; without it they are
    /// written unsigned (and never count).
    pub tracker_key: Option<TrackerKey>,
}

impl BidderDeps {
    /// In-memory ledger, frequency store and segment table.
    pub fn in_memory(id_seed: u64) -> Self {
        BidderDeps {
            ledger: Arc::new(InMemoryLedger::new()),
            frequency: Arc::new(InMemoryFrequency::default()),
            segments: Arc::new(SegmentTable::default()),
            id_seed,
            tracker_key: None,
        }
    }
}

/// One bid placed on one impression.
#[derive(Debug, Clone)]
pub struct ChosenBid {
    pub bid_id: BidId,
    /// The id's hex digits, as the response and notice URLs write it.
    bid_id_hex: [u8; 16],
    pub imp_index: usize,
    pub line_item: LineItemId,
    pub org: OrgId,
    /// Bid CPM in the bidder currency.
    pub price_micros: i64,
    /// Bid CPM in the response currency.
    pub response_price_micros: i64,
    /// Floor in the bidder currency (rounded up).
    pub floor_micros: i64,
    /// The shading factor applied (first-price auctions only).
    pub shading_factor: Option<f64>,
    /// MarginGuardian's verdict on the unshaded price.
    pub verdict: GuardianVerdict,
    pub deal_index: Option<usize>,
    /// Budget held for the bid (0 for test requests).
    pub hold_micros: i64,
    pub urls: NoticeUrls,
    /// When the bid was made (unix seconds), as its tracker URLs carry it.
    pub issued_s: i64,
    /// The tracker tag, when the creative has tracker macros and a key is set.
    pub tracker_tag: Option<[u8; TAG_BYTES]>,
    item_index: usize,
    creative_index: usize,
}

impl ChosenBid {
    /// The bid id as the response writes it (16 lower-case hex digits).
    pub fn bid_id_text(&self) -> &str {
        std::str::from_utf8(&self.bid_id_hex).unwrap_or_default()
    }

    fn tracker_stamp(&self) -> Option<(i64, [u8; TAG_BYTES])> {
        self.tracker_tag.map(|t| (self.issued_s, t))
    }
}

/// The decision for one impression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImpOutcome {
    /// Index into [`Decision::bids`].
    Bid(usize),
    NoBid(NoBidReason),
}

/// The decision for a whole request.
#[derive(Debug)]
pub struct Decision {
    pub bids: SmallVec<[ChosenBid; 1]>,
    pub imps: SmallVec<[ImpOutcome; 2]>,
    /// Set when there is no bid at all: the reason furthest down the pipeline.
    pub no_bid: Option<NoBidReason>,
    /// Currency of the response.
    pub currency: Currency,
    pub test: bool,
    /// The snapshot decided on, held through `arc_swap`'s per-thread slot:
    /// no reference count taken per request (a count every core increments
    /// and decrements on every request moves one cache line between them).
    snapshot: arc_swap::Guard<Arc<Snapshot>>,
}

impl Decision {
    pub fn is_bid(&self) -> bool {
        !self.bids.is_empty()
    }

    /// The OpenRTB `nbr` of a no-bid.
    pub fn nbr(&self) -> Option<u16> {
        self.no_bid.map(NoBidReason::nbr)
    }

    /// One explanation per bid (MarginGuardian's verdict).
    pub fn explanations(&self) -> Vec<String> {
        self.bids.iter().map(|b| b.verdict.explanation()).collect()
    }

    /// The response, borrowing ids from the request and markup from the snapshot.
    pub fn response<'a>(
        &'a self,
        req: &'a BidRequest<'_>,
        seat: &'a str,
    ) -> Option<BidResponse<'a>> {
        if self.bids.is_empty() {
            return None;
        }
        let mut bids = Vec::with_capacity(self.bids.len());
        for b in &self.bids {
            let item = self.snapshot.items.get(b.item_index)?;
            let c = item.creatives.get(b.creative_index)?;
            let imp = req.imp.get(b.imp_index)?;
            let mut creative = c.bid_fields(&item.campaign);
            if let Some(t) = &c.trackers {
                creative.adm = t
                    .substitute(&c.markup, &b.bid_id_hex, b.tracker_stamp())
                    .into();
            }
            bids.push(Bid {
                id: b.bid_id_text(),
                impid: imp.id.as_deref().unwrap_or(""),
                price: CpmMicros(b.response_price_micros),
                nurl: b.urls.nurl(),
                burl: b.urls.burl(),
                lurl: b.urls.lurl(),
                dealid: Self::deal_id(b, imp),
                creative,
            });
        }
        Some(BidResponse {
            id: req.id.as_deref().unwrap_or(""),
            seatbid: vec![SeatBid { bid: bids, seat }],
            bidid: None,
            cur: self.currency.as_str(),
        })
    }

    /// The response as JSON, written by hand: the same document as
    /// serialising [`Decision::response`] (a test holds them equal), with each
    /// creative's fields copied from the snapshot already escaped.
    pub fn write_response(&self, req: &BidRequest<'_>, seat: &str) -> Option<Vec<u8>> {
        if self.bids.is_empty() {
            return None;
        }
        let mut parts = SmallVec::<[(&ChosenBid, &CompiledCreative, &Imp<'_>); 1]>::new();
        let mut size = 64 + seat.len() + req.id.as_deref().map_or(0, str::len);
        for b in &self.bids {
            let item = self.snapshot.items.get(b.item_index)?;
            let c = item.creatives.get(b.creative_index)?;
            let imp = req.imp.get(b.imp_index)?;
            size += 128
                + c.bid_json.len()
                + c.trackers.as_ref().map_or(0, |t| t.slots.len() * 256)
                + b.urls.nurl().len()
                + b.urls.burl().len()
                + b.urls.lurl().len();
            parts.push((b, c, imp));
        }
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(b"{\"id\":");
        write_json_str(&mut out, req.id.as_deref().unwrap_or(""));
        out.extend_from_slice(b",\"seatbid\":[{\"bid\":[");
        for (k, (b, c, imp)) in parts.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":");
            write_json_str(&mut out, b.bid_id_text());
            out.extend_from_slice(b",\"impid\":");
            write_json_str(&mut out, imp.id.as_deref().unwrap_or(""));
            out.extend_from_slice(b",\"price\":");
            write_cpm(&mut out, b.response_price_micros);
            out.extend_from_slice(b",\"nurl\":");
            write_json_str(&mut out, b.urls.nurl());
            out.extend_from_slice(b",\"burl\":");
            write_json_str(&mut out, b.urls.burl());
            out.extend_from_slice(b",\"lurl\":");
            write_json_str(&mut out, b.urls.lurl());
            if let Some(deal) = Self::deal_id(b, imp) {
                out.extend_from_slice(b",\"dealid\":");
                write_json_str(&mut out, deal);
            }
            out.push(b',');
            match &c.trackers {
                None => out.extend_from_slice(c.bid_json.as_bytes()),
                Some(t) => {
                    let json = c.bid_json.as_bytes();
                    let mut from = 0;
                    for slot in &t.slots {
                        out.extend_from_slice(&json[from..slot.at]);
                        t.push_url(&mut out, slot.kind, &b.bid_id_hex, b.tracker_stamp(), true);
                        from = slot.at + slot.kind.macro_text().len();
                    }
                    out.extend_from_slice(&json[from..]);
                }
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"seat\":");
        write_json_str(&mut out, seat);
        out.extend_from_slice(b"}],\"cur\":");
        write_json_str(&mut out, self.currency.as_str());
        out.push(b'}');
        Some(out)
    }

    fn deal_id<'a>(b: &ChosenBid, imp: &'a Imp<'_>) -> Option<&'a str> {
        b.deal_index.and_then(|i| {
            imp.pmp
                .as_ref()
                .and_then(|p| p.deals.get(i))
                .and_then(|d| d.id.as_deref())
        })
    }
}

/// What the HTTP layer sends back.
#[derive(Debug)]
pub enum BidReply {
    /// 200 with this JSON body.
    Bid {
        body: Vec<u8>,
        decision: Box<Decision>,
    },
    /// 204 with no body, or 200 with `{"id","nbr"}` when configured.
    NoBid {
        reason: NoBidReason,
        body: Option<Vec<u8>>,
    },
    /// 400 or 413 with a one-line reason.
    Rejected { status: u16, reason: String },
}

impl BidReply {
    pub fn status(&self) -> u16 {
        match self {
            BidReply::Bid { .. } => 200,
            BidReply::NoBid { body: Some(_), .. } => 200,
            BidReply::NoBid { body: None, .. } => 204,
            BidReply::Rejected { status, .. } => *status,
        }
    }

    pub fn body(&self) -> &[u8] {
        match self {
            BidReply::Bid { body, .. } => body,
            BidReply::NoBid { body: Some(b), .. } => b,
            BidReply::NoBid { body: None, .. } => &[],
            BidReply::Rejected { reason, .. } => reason.as_bytes(),
        }
    }
}

/// Counters for metrics.
#[derive(Debug, Default)]
struct Counters {
    requests: StripedCounter,
    bid_responses: StripedCounter,
    bids: StripedCounter,
    no_bid: [StripedCounter; NoBidReason::ALL.len()],
    notices: [[AtomicU64; STATUSES.len()]; KINDS.len()],
}

/// A count of no-bids for one reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoBidCount {
    pub reason: NoBidReason,
    pub nbr: u16,
    pub count: u64,
}

/// A count of notices of one kind taken with one status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeCount {
    pub kind: NoticeKind,
    pub status: NoticeStatus,
    pub count: u64,
}

/// Counters since start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BidderStats {
    pub requests: u64,
    pub bid_responses: u64,
    pub bids: u64,
    pub no_bids: Vec<NoBidCount>,
    pub notices: Vec<NoticeCount>,
}

const STATUSES: [NoticeStatus; 7] = [
    NoticeStatus::Applied,
    NoticeStatus::Duplicate,
    NoticeStatus::Unmatched,
    NoticeStatus::Late,
    NoticeStatus::Conflicting,
    NoticeStatus::Test,
    NoticeStatus::Refused,
];
const KINDS: [NoticeKind; 3] = [NoticeKind::Win, NoticeKind::Billing, NoticeKind::Loss];

/// Live figures of one line item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineItemStatus {
    pub id: LineItemId,
    pub day: u32,
    /// Today's spend across replicas (ledger), in the bidder currency.
    pub spent_today: Money,
    pub spent_total: Money,
    pub account: AccountView,
    pub throttle: f64,
    pub shading_factor: f64,
    pub performance: PerformanceTotals,
    pub rates: RateEstimate,
}

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MaintenanceReport {
    /// Expired holds given back: one release per line item and day.
    pub expired_holds: usize,
    pub pacing_steps: usize,
    pub shading_updates: usize,
    pub refills: usize,
    pub freq_purged: usize,
    pub runtimes_pruned: usize,
}

/// The bidder. Cheap to share (`Arc<Bidder>`); every method takes `&self`.
#[derive(Debug)]
pub struct Bidder {
    cfg: BidderConfig,
    snapshot: ArcSwap<Snapshot>,
    registry: Registry,
    deps: BidderDeps,
    notices: NoticeLedger,
    counters: Counters,
    version: AtomicU64,
    last_freq_purge_ms: AtomicI64,
    compile_lock: Mutex<()>,
}

impl Bidder {
    /// A bidder with the given configuration and shared state.
    pub fn new(cfg: BidderConfig, deps: BidderDeps) -> Result<Self, BidderError> {
        cfg.validate()?;
        let notices = NoticeLedger::new(cfg.notices, deps.id_seed);
        Ok(Bidder {
            cfg,
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
            registry: Registry::default(),
            deps,
            notices,
            counters: Counters::default(),
            version: AtomicU64::new(0),
            last_freq_purge_ms: AtomicI64::new(0),
            compile_lock: Mutex::new(()),
        })
    }

    /// A bidder with in-memory counters.
    pub fn in_memory(cfg: BidderConfig, id_seed: u64) -> Result<Self, BidderError> {
        Self::new(cfg, BidderDeps::in_memory(id_seed))
    }

    pub fn config(&self) -> &BidderConfig {
        &self.cfg
    }

    pub fn deps(&self) -> &BidderDeps {
        &self.deps
    }

    /// The snapshot the bid path reads now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Compiles the line items and swaps the new snapshot in atomically. Requests in
    /// flight finish on the old one. Invalid line items are reported and left out.
    pub fn load_line_items(&self, items: &[LineItem], now_ms: i64) -> CompileReport {
        let _g = self.compile_lock.lock();
        let version = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        let (snap, report) = Snapshot::compile(items, &self.cfg, &self.registry, version, now_ms);
        self.snapshot.store(Arc::new(snap));
        report
    }

    /// Parses, decides and serialises: everything between the HTTP body and the HTTP answer.
    pub fn handle_bid_request(&self, body: &[u8], ctx: RequestContext) -> BidReply {
        let req = match parse_bid_request(body, self.cfg.max_body_bytes) {
            Ok(r) => r,
            Err(e) => {
                self.counters.requests.add(1);
                self.count_no_bid(NoBidReason::InvalidRequest);
                return BidReply::Rejected {
                    status: e.http_status(),
                    reason: e.to_string(),
                };
            }
        };
        let decision = self.decide(&req, ctx);
        if let Some(body) = decision.write_response(&req, &self.cfg.seat) {
            return BidReply::Bid {
                body,
                decision: Box::new(decision),
            };
        }
        let reason = decision.no_bid.unwrap_or(NoBidReason::NoMatchingLineItem);
        let body = self.cfg.no_bid_body.then(|| {
            serde_json::to_vec(&NoBidResponse {
                id: req.id.as_deref().unwrap_or(""),
                nbr: reason.nbr(),
            })
            .unwrap_or_default()
        });
        BidReply::NoBid { reason, body }
    }

    fn count_no_bid(&self, r: NoBidReason) {
        self.counters.no_bid[r.index()].add(1);
    }

    /// Takes a win, billing or loss notice: `query` is the URL's query string with
    /// the exchange's macros substituted.
    pub fn handle_notice(
        &self,
        kind: NoticeKind,
        query: &str,
        now_ms: i64,
    ) -> Result<NoticeOutcome, BidderError> {
        let notice = self.prepare_notice(kind, query)?;
        Ok(self.apply_notice(notice, now_ms))
    }

    /// Parses and validates a notice without applying it: the bid id resolved
    /// to its ledger key, the clearing price converted to the bidder currency.
    /// A service that de-duplicates notices across replicas claims
    /// [`Notice::key`] between this and [`Bidder::apply_notice`].
    pub fn prepare_notice(&self, kind: NoticeKind, query: &str) -> Result<Notice, BidderError> {
        let p = NoticeParams::parse_query(query)?;
        let cur = p.currency.unwrap_or(self.cfg.currency);
        let price_micros = match (&p.price, kind) {
            (Some(s), NoticeKind::Win | NoticeKind::Billing) => {
                let m = parse_cpm_micros(s)?;
                Some(
                    self.cfg
                        .fx
                        .convert(m, cur, self.cfg.currency, Rounding::Nearest)?,
                )
            }
            _ => None,
        };
        Ok(Notice {
            kind,
            key: BidId::key_of(&p.bid_id),
            line_item: p.line_item,
            price_micros,
            test: p.test,
        })
    }

    /// Applies a prepared notice: the ledger's state machine, then its effects
    /// on budget, frequency and shading.
    pub fn apply_notice(&self, notice: Notice, now_ms: i64) -> NoticeOutcome {
        let out = self.record_notice(notice, now_ms);
        self.finish_notice(out, now_ms)
    }

    /// The ledger's half of [`Bidder::apply_notice`]: the bid's state moves on
    /// and the outcome lists its effects, none carried out yet. A service with
    /// several replicas claims the outcome's spend and impression
    /// ([`NoticeOutcome::claims`]), drops what another replica already counted
    /// ([`NoticeOutcome::counted_elsewhere`]) and then calls
    /// [`Bidder::finish_notice`].
    pub fn record_notice(&self, notice: Notice, now_ms: i64) -> NoticeOutcome {
        self.notices.apply(notice, now_ms)
    }

    /// Carries out a recorded notice's effects and counts it.
    pub fn finish_notice(&self, out: NoticeOutcome, now_ms: i64) -> NoticeOutcome {
        self.apply_effects(&out.effects, now_ms);
        self.count_notice(&out);
        out
    }

    fn count_notice(&self, out: &NoticeOutcome) {
        let (k, s) = (
            KINDS.iter().position(|x| *x == out.kind).unwrap_or(0),
            STATUSES.iter().position(|x| *x == out.status).unwrap_or(0),
        );
        self.counters.notices[k][s].fetch_add(1, Ordering::Relaxed);
    }

    fn apply_effects(&self, effects: &[Effect], now_ms: i64) {
        let ledger = self.deps.ledger.as_ref();
        for e in effects {
            match *e {
                Effect::Settle {
                    line_item,
                    hold_day,
                    hold_micros,
                    spend_micros,
                } => match self.registry.get(line_item) {
                    Some(rt) => {
                        rt.account
                            .settle(ledger, line_item, hold_day, hold_micros, spend_micros)
                    }
                    None => ledger.record_spend(line_item, hold_day, spend_micros),
                },
                Effect::Release {
                    line_item,
                    hold_day,
                    hold_micros,
                } => {
                    if let Some(rt) = self.registry.get(line_item) {
                        rt.account.release(ledger, line_item, hold_day, hold_micros);
                    }
                }
                Effect::SpendUnheld {
                    line_item,
                    spend_micros,
                } => match self.registry.get(line_item) {
                    Some(rt) => {
                        rt.account
                            .spend_unheld(ledger, line_item, day_of(now_ms), spend_micros)
                    }
                    None => ledger.record_spend(line_item, day_of(now_ms), spend_micros),
                },
                Effect::CountImpression { line_item, freq } => {
                    if let Some(rt) = self.registry.get(line_item) {
                        rt.perf.add(PerformanceTotals {
                            impressions: 1,
                            ..PerformanceTotals::default()
                        });
                    }
                    if let Some((key, window)) = freq {
                        self.deps.frequency.record(key, window, now_ms);
                    }
                }
                Effect::WinFeedback { line_item } => {
                    if let Some(rt) = self.registry.get(line_item) {
                        rt.shade.on_win();
                    }
                }
            }
        }
    }

    /// Periodic work; call it about once a second (the service runs it on a timer;
    /// the simulated exchange calls it as simulated time passes).
    pub fn maintain(&self, now_ms: i64) -> MaintenanceReport {
        let mut r = MaintenanceReport::default();
        let expired = self.notices.expire(now_ms);
        r.expired_holds = expired.len();
        self.apply_effects(&expired, now_ms);
        let snap = self.snapshot.load_full();
        let ledger = self.deps.ledger.as_ref();
        let day = day_of(now_ms);
        for item in &snap.items {
            let rt = &item.runtime;
            rt.account.roll_to(ledger, item.id, day);
            let global = ledger.spent(item.id, day).day_micros;
            let local = rt.account.spent_on(day);
            if rt
                .pacing
                .tick(
                    &self.cfg.pacing,
                    &item.curve,
                    item.daily_micros,
                    now_ms,
                    global,
                    local,
                )
                .is_some()
            {
                r.pacing_steps += 1;
            }
            if rt.shade.update(&self.cfg.shading).is_some() {
                r.shading_updates += 1;
            }
            let chunk = (item.daily_micros as f64 * self.cfg.lease_fraction) as i64;
            if !ledger.is_local()
                && (rt.account.wants_refill() || rt.account.view().lease_micros < chunk / 2)
            {
                let limits = BudgetLimits {
                    daily_micros: item.daily_micros,
                    total_micros: item.total_micros,
                };
                if rt.account.refill(ledger, item.id, limits, day, chunk) > 0 {
                    r.refills += 1;
                }
            }
        }
        let last = self.last_freq_purge_ms.load(Ordering::Relaxed);
        if now_ms - last >= self.cfg.freq_purge_interval_ms
            && self
                .last_freq_purge_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            r.freq_purged = self.deps.frequency.purge(now_ms);
            let listed: std::collections::HashSet<LineItemId> =
                snap.items.iter().map(|i| i.id).collect();
            r.runtimes_pruned = self.registry.prune(
                |id| listed.contains(&id),
                now_ms - self.cfg.notices.retention_ms,
            );
        }
        r
    }

    /// Gives every line item's unused lease back to the ledger, so a replica
    /// that stops strands no budget. Call it after the bid endpoint stopped.
    /// Returns the total given back.
    pub fn return_leases(&self) -> i64 {
        let snap = self.snapshot.load_full();
        let ledger = self.deps.ledger.as_ref();
        snap.items
            .iter()
            .map(|item| item.runtime.account.return_lease(ledger, item.id))
            .sum()
    }

    /// Adds observed clicks, conversions (and impressions from other sources) to a line item.
    pub fn record_performance(&self, line_item: LineItemId, delta: PerformanceTotals) -> bool {
        match self.registry.get(line_item) {
            Some(rt) => {
                rt.perf.add(delta);
                true
            }
            None => false,
        }
    }

    /// Sets a line item's totals (e.g. restored from storage at start-up).
    pub fn set_performance(&self, line_item: LineItemId, totals: PerformanceTotals) -> bool {
        match self.registry.get(line_item) {
            Some(rt) => {
                rt.perf.set(totals);
                true
            }
            None => false,
        }
    }

    /// Sets a line item's conversion count (the stored total), keeping its
    /// impressions and clicks; false when the line item is not loaded.
    pub fn set_conversions(&self, line_item: LineItemId, conversions: u64) -> bool {
        match self.registry.get(line_item) {
            Some(rt) => {
                rt.perf.set_conversions(conversions);
                true
            }
            None => false,
        }
    }

    /// Live figures of a line item in the current snapshot.
    pub fn line_item_status(&self, id: LineItemId, now_ms: i64) -> Option<LineItemStatus> {
        let snap = self.snapshot.load();
        let item = snap.items.iter().find(|i| i.id == id)?;
        let rt = &item.runtime;
        let day = day_of(now_ms);
        let spent = self.deps.ledger.spent(id, day);
        let perf = rt.perf.totals();
        Some(LineItemStatus {
            id,
            day,
            spent_today: Money::from_micros(spent.day_micros, self.cfg.currency),
            spent_total: Money::from_micros(spent.total_micros, self.cfg.currency),
            account: rt.account.view().in_currency(self.cfg.currency),
            throttle: rt.pacing.throttle(),
            shading_factor: rt.shade.factor(),
            performance: perf,
            rates: RateEstimate::from_totals(&item.ctr, &item.cvr, perf),
        })
    }

    /// Counters since start, for metrics.
    pub fn stats(&self) -> BidderStats {
        let c = &self.counters;
        BidderStats {
            requests: c.requests.get(),
            bid_responses: c.bid_responses.get(),
            bids: c.bids.get(),
            no_bids: NoBidReason::ALL
                .iter()
                .map(|r| NoBidCount {
                    reason: *r,
                    nbr: r.nbr(),
                    count: c.no_bid[r.index()].get(),
                })
                .filter(|n| n.count > 0)
                .collect(),
            notices: KINDS
                .iter()
                .enumerate()
                .flat_map(|(k, kind)| {
                    STATUSES
                        .iter()
                        .enumerate()
                        .map(move |(s, status)| NoticeCount {
                            kind: *kind,
                            status: *status,
                            count: c.notices[k][s].load(Ordering::Relaxed),
                        })
                })
                .filter(|n| n.count > 0)
                .collect(),
        }
    }

    /// Bid ids remembered by the notice ledger.
    pub fn open_bids(&self) -> usize {
        self.notices.len()
    }
}

#[cfg(test)]
mod tests {
    use super::decide::draw;
    use super::*;

    fn shared_across_threads<T: Send + Sync>() {}

    #[test]
    fn the_bidder_and_its_answers_can_be_shared_across_threads() {
        shared_across_threads::<Bidder>();
        shared_across_threads::<BidReply>();
        shared_across_threads::<Decision>();
    }

    #[test]
    fn draws_are_uniform_enough_for_a_throttle() {
        let n = 100_000u64;
        let below = (0..n)
            .filter(|i| draw(user_hash(&format!("req-{i}")), 42) < 0.25)
            .count();
        let share = below as f64 / n as f64;
        assert!((share - 0.25).abs() < 0.01, "{share}");
    }

    #[test]
    fn concurrent_bids_never_hold_more_than_the_budget() {
        let mut li = crate::lineitem::tests::banner_item();
        li.budget.daily = kiki_core::Money::from_micros(100_000, kiki_core::Currency::USD);
        li.pacing = crate::lineitem::PacingMode::Asap;
        let id = li.id;
        let b = Arc::new(Bidder::in_memory(BidderConfig::default(), 1).unwrap());
        let now = 1_772_452_800_000;
        b.load_line_items(&[li], now);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let b = b.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        let body = format!(
                            r#"{{"id":"t{t}-{i}","imp":[{{"id":"1","banner":{{"w":300,"h":250}}}}]}}"#
                        );
                        b.handle_bid_request(body.as_bytes(), RequestContext::at(now));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = b.line_item_status(id, now).unwrap();
        assert!(s.account.held.micros <= 100_000, "{s:?}");
        assert!(
            s.account.held.micros + 2_400 > 100_000,
            "the budget was used up: {s:?}"
        );
        assert_eq!(b.stats().bids as i64 * 2_400, s.account.held.micros);
    }
}
