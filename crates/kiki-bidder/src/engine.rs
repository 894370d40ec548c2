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

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use kiki_core::{Currency, OrgId};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::budget::{AccountView, BudgetLedger, BudgetLimits, InMemoryLedger};
use crate::config::BidderConfig;
use crate::error::BidderError;
use crate::freq::{FreqKey, FrequencyStore, InMemoryFrequency, mix64, user_hash};
use crate::fx::{Rounding, cpm_to_micros_ceil};
use crate::lineitem::{InventoryKind, LineItem, LineItemId};
use crate::margin::{GuardianVerdict, check_cpm};
use crate::notice::{
    BidId, BidIdGen, Effect, IssuedBid, Notice, NoticeKind, NoticeLedger, NoticeOutcome,
    NoticeParams, NoticeStatus, NoticeUrls, cost_of_cpm, parse_cpm_micros,
};
use crate::openrtb::request::{BidRequest, Imp};
use crate::openrtb::response::{Bid, BidResponse, CpmMicros, NoBidResponse, SeatBid};
use crate::openrtb::{NoBidReason, parse_bid_request};
use crate::pacing::{DAY_MS, HOUR_MS, day_of};
use crate::shading::shade;
use crate::snapshot::{
    CompileReport, CompiledCreative, CompiledItem, CompiledStrategy, MediaKind, Registry, Snapshot,
    country_code, norm_domain, parent_category,
};
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
    /// Seed of the bid ids; use a different one per process start (e.g. start time in ms).
    pub id_seed: u64,
}

impl BidderDeps {
    /// In-memory ledger, frequency store and segment table.
    pub fn in_memory(id_seed: u64) -> Self {
        BidderDeps {
            ledger: Arc::new(InMemoryLedger::new()),
            frequency: Arc::new(InMemoryFrequency::default()),
            segments: Arc::new(SegmentTable::default()),
            id_seed,
        }
    }
}

/// One bid placed on one impression.
#[derive(Debug, Clone)]
pub struct ChosenBid {
    pub bid_id: BidId,
    pub bid_id_text: String,
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
    item_index: usize,
    creative_index: usize,
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
    snapshot: Arc<Snapshot>,
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
            let dealid = b.deal_index.and_then(|i| {
                imp.pmp
                    .as_ref()
                    .and_then(|p| p.deals.get(i))
                    .and_then(|d| d.id.as_deref())
            });
            let sized = c.kind == MediaKind::Banner;
            bids.push(Bid {
                id: &b.bid_id_text,
                impid: imp.id.as_deref().unwrap_or(""),
                price: CpmMicros(b.response_price_micros),
                adm: Some(&c.markup),
                nurl: &b.urls.nurl,
                burl: &b.urls.burl,
                lurl: &b.urls.lurl,
                adomain: &c.adomain,
                bundle: c.bundle.as_deref(),
                cid: &item.campaign,
                crid: &c.crid,
                cat: &c.categories,
                attr: &c.attributes,
                dealid,
                w: sized.then_some(c.w),
                h: sized.then_some(c.h),
                mtype: c.kind.mtype(),
            });
        }
        Some(BidResponse {
            id: req.id.as_deref().unwrap_or(""),
            seatbid: vec![SeatBid { bid: bids, seat }],
            bidid: None,
            cur: self.currency.as_str(),
        })
    }

    /// The response serialised as JSON.
    pub fn write_response(&self, req: &BidRequest<'_>, seat: &str) -> Option<Vec<u8>> {
        let r = self.response(req, seat)?;
        serde_json::to_vec(&r).ok()
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
    requests: AtomicU64,
    bid_responses: AtomicU64,
    bids: AtomicU64,
    no_bid: [AtomicU64; NoBidReason::ALL.len()],
    notices: [[AtomicU64; 6]; 3],
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

const STATUSES: [NoticeStatus; 6] = [
    NoticeStatus::Applied,
    NoticeStatus::Duplicate,
    NoticeStatus::Unmatched,
    NoticeStatus::Late,
    NoticeStatus::Conflicting,
    NoticeStatus::Test,
];
const KINDS: [NoticeKind; 3] = [NoticeKind::Win, NoticeKind::Billing, NoticeKind::Loss];

/// Live figures of one line item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineItemStatus {
    pub id: LineItemId,
    pub day: u32,
    /// Today's spend across replicas (ledger).
    pub spent_today_micros: i64,
    pub spent_total_micros: i64,
    pub account: AccountView,
    pub throttle: f64,
    pub shading_factor: f64,
    pub performance: PerformanceTotals,
    pub rates: RateEstimate,
}

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MaintenanceReport {
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
    ids: BidIdGen,
    counters: Counters,
    version: AtomicU64,
    last_freq_purge_ms: AtomicI64,
    compile_lock: Mutex<()>,
}

/// Facts of the request computed once, in the snapshot's terms.
struct Facts<'r> {
    now_ms: i64,
    day: u32,
    country: Option<[u8; 3]>,
    devicetype: Option<usize>,
    os: Option<u32>,
    is_site: bool,
    is_app: bool,
    inv_cats: SmallVec<[u32; 8]>,
    domain: Option<u32>,
    bcat: SmallVec<[u32; 16]>,
    badv: SmallVec<[u32; 8]>,
    bapp: SmallVec<[u32; 8]>,
    req_hash: u64,
    first_price: bool,
    test: bool,
    user_key: Option<&'r str>,
    user_hash: Option<u64>,
    response_currency: Currency,
}

/// Facts of one impression.
struct ImpFacts<'r> {
    imp: &'r Imp<'r>,
    sizes: SmallVec<[(u32, u32); 8]>,
    floor: i64,
    deal_floors: SmallVec<[Option<i64>; 2]>,
    private_auction: bool,
    battr_banner: u64,
    battr_video: u64,
    battr_audio: u64,
    battr_native: u64,
}

#[derive(Debug, Clone, Copy)]
struct Cand {
    item: usize,
    creative: usize,
    price: i64,
    floor: i64,
    deal: Option<usize>,
    verdict: GuardianVerdict,
    first_price: bool,
}

fn mask_of(attrs: &[i64]) -> u64 {
    attrs
        .iter()
        .filter(|a| (1..64).contains(*a))
        .fold(0, |m, a| m | (1u64 << a))
}

fn intern_sorted<'a, const N: usize>(
    snap: &Snapshot,
    it: impl Iterator<Item = &'a str>,
    domain: bool,
) -> SmallVec<[u32; N]> {
    let mut v: SmallVec<[u32; N]> = SmallVec::new();
    if snap.interner.is_empty() {
        return v;
    }
    for s in it {
        let s = if domain { norm_domain(s) } else { s };
        if let Some(id) = snap.interner.lookup(s) {
            v.push(id);
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

fn contains_any(sorted: &[u32], probe: &[u32]) -> bool {
    probe.iter().any(|p| sorted.binary_search(p).is_ok())
}

/// A uniform draw in [0, 1) from the request and the line item.
fn draw(req_hash: u64, item_key: u64) -> f64 {
    (mix64(req_hash ^ item_key) >> 11) as f64 / (1u64 << 53) as f64
}

impl Bidder {
    /// A bidder with the given configuration and shared state.
    pub fn new(cfg: BidderConfig, deps: BidderDeps) -> Result<Self, BidderError> {
        cfg.validate()?;
        let notices = NoticeLedger::new(cfg.notices);
        Ok(Bidder {
            ids: BidIdGen::new(deps.id_seed),
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
                self.counters.requests.fetch_add(1, Ordering::Relaxed);
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
        self.counters.no_bid[r.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Decides on a parsed request. Never panics, whatever the request holds.
    pub fn decide(&self, req: &BidRequest<'_>, ctx: RequestContext) -> Decision {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let snap = self.snapshot.load_full();
        let mut d = Decision {
            bids: SmallVec::new(),
            imps: SmallVec::new(),
            no_bid: None,
            currency: self.cfg.currency,
            test: req.test == 1,
            snapshot: snap.clone(),
        };
        let outcome = match self.gate(req, ctx, &snap) {
            Err(reason) => Err(reason),
            Ok(facts) => {
                d.currency = facts.response_currency;
                for (i, imp) in req.imp.iter().enumerate() {
                    let o = self.decide_imp(&snap, imp, i, &facts, &mut d.bids);
                    d.imps.push(o);
                }
                if d.bids.is_empty() {
                    let worst = d
                        .imps
                        .iter()
                        .filter_map(|o| match o {
                            ImpOutcome::NoBid(r) => Some(*r),
                            ImpOutcome::Bid(_) => None,
                        })
                        .max()
                        .unwrap_or(NoBidReason::NoMatchingLineItem);
                    Err(worst)
                } else {
                    Ok(())
                }
            }
        };
        match outcome {
            Ok(()) => {
                self.counters.bid_responses.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .bids
                    .fetch_add(d.bids.len() as u64, Ordering::Relaxed);
            }
            Err(reason) => {
                if d.imps.is_empty() {
                    d.imps = req.imp.iter().map(|_| ImpOutcome::NoBid(reason)).collect();
                }
                d.no_bid = Some(reason);
                self.count_no_bid(reason);
            }
        }
        d
    }

    /// Request-level rules, then the request facts.
    fn gate<'r>(
        &self,
        req: &'r BidRequest<'r>,
        ctx: RequestContext,
        snap: &Snapshot,
    ) -> Result<Facts<'r>, NoBidReason> {
        let cfg = &self.cfg;
        let tmax = req.tmax.filter(|t| *t > 0).unwrap_or(cfg.default_tmax_ms);
        let elapsed = ctx.now_ms.saturating_sub(ctx.received_at_ms).max(0);
        let left = tmax
            .saturating_sub(elapsed)
            .saturating_sub(cfg.tmax_safety_margin_ms);
        if left < cfg.min_decision_ms {
            return Err(NoBidReason::InsufficientAuctionTime);
        }
        if req.is_coppa() {
            return Err(NoBidReason::Coppa);
        }
        let seat = cfg.seat.as_str();
        if (!req.wseat.is_empty() && !req.wseat.iter().any(|s| s.as_str() == seat))
            || req.bseat.iter().any(|s| s.as_str() == seat)
        {
            return Err(NoBidReason::SeatNotAllowed);
        }
        let response_currency = if req.cur.is_empty()
            || req
                .cur
                .iter()
                .any(|c| c.as_str().eq_ignore_ascii_case(cfg.currency.as_str()))
        {
            cfg.currency
        } else {
            req.cur
                .iter()
                .filter_map(|c| Currency::parse(c.as_str()).ok())
                .find(|c| cfg.fx.knows(*c))
                .ok_or(NoBidReason::UnsupportedCurrency)?
        };
        let gdpr = req.gdpr() == Some(1);
        let consent = req.consent().is_some_and(|c| !c.trim().is_empty());
        let p = &cfg.privacy;
        if gdpr && !consent && p.require_consent_for_user_data && !p.contextual_without_consent {
            return Err(NoBidReason::NoConsent);
        }
        if snap.is_empty() {
            return Err(NoBidReason::NoActiveLineItems);
        }
        let opted_out = p.honour_us_privacy_opt_out
            && req.us_privacy().is_some_and(|s| {
                s.as_bytes()
                    .get(2)
                    .is_some_and(|b| b.eq_ignore_ascii_case(&b'y'))
            });
        let user_data = !(opted_out || (gdpr && !consent && p.require_consent_for_user_data));
        let user_key = if user_data {
            req.user.as_ref().and_then(|u| {
                u.buyeruid
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .or_else(|| u.id.as_deref().filter(|s| !s.is_empty()))
            })
        } else {
            None
        };
        let (inv_cats, domain) = {
            let (cats, sect, page, dom): (&[_], &[_], &[_], Option<&str>) =
                match (&req.site, &req.app) {
                    (Some(s), _) => (&s.cat, &s.sectioncat, &s.pagecat, s.domain.as_deref()),
                    (None, Some(a)) => (
                        &a.cat,
                        &a.sectioncat,
                        &a.pagecat,
                        a.bundle.as_deref().or(a.domain.as_deref()),
                    ),
                    (None, None) => (&[], &[], &[], None),
                };
            let all = cats.iter().chain(sect).chain(page).map(|s| s.as_str());
            let with_parents = all.flat_map(|c| std::iter::once(c).chain(parent_category(c)));
            (
                intern_sorted::<8>(snap, with_parents, false),
                dom.and_then(|d| snap.interner.lookup(norm_domain(d))),
            )
        };
        let device = req.device.as_ref();
        Ok(Facts {
            now_ms: ctx.now_ms,
            day: day_of(ctx.now_ms),
            country: req.country().and_then(country_code),
            devicetype: device
                .and_then(|d| d.devicetype)
                .filter(|t| (1..=8).contains(t))
                .map(|t| t as usize),
            os: device
                .and_then(|d| d.os.as_deref())
                .and_then(|o| snap.interner.lookup(o)),
            is_site: req.site.is_some(),
            is_app: req.app.is_some(),
            inv_cats,
            domain,
            bcat: intern_sorted::<16>(snap, req.bcat.iter().map(|s| s.as_str()), false),
            badv: intern_sorted::<8>(snap, req.badv.iter().map(|s| s.as_str()), true),
            bapp: intern_sorted::<8>(snap, req.bapp.iter().map(|s| s.as_str()), false),
            req_hash: user_hash(req.id.as_deref().unwrap_or("")),
            first_price: req.is_first_price(),
            test: req.test == 1,
            user_key,
            user_hash: user_key.map(user_hash),
            response_currency,
        })
    }

    fn imp_facts<'r>(&self, imp: &'r Imp<'r>) -> Result<ImpFacts<'r>, NoBidReason> {
        let fx = &self.cfg.fx;
        let to_bidder = |cpm: f64, cur: Option<&str>| -> Result<i64, NoBidReason> {
            let cur = cur
                .map(Currency::parse)
                .transpose()
                .map_err(|_| NoBidReason::UnsupportedCurrency)?
                .unwrap_or(Currency::USD);
            let micros = cpm_to_micros_ceil(cpm).map_err(|_| NoBidReason::InvalidRequest)?;
            fx.convert(micros, cur, self.cfg.currency, Rounding::Up)
                .map_err(|_| NoBidReason::UnsupportedCurrency)
        };
        let floor = to_bidder(imp.bidfloor, imp.bidfloorcur.as_deref())?;
        let mut sizes: SmallVec<[(u32, u32); 8]> = SmallVec::new();
        if let Some(b) = &imp.banner {
            for f in &b.format {
                if let (Some(w), Some(h)) = (f.w, f.h) {
                    sizes.push((w, h));
                }
            }
            if let (Some(w), Some(h)) = (b.w, b.h) {
                sizes.push((w, h));
            }
        }
        let (deal_floors, private_auction) = match &imp.pmp {
            Some(p) => (
                p.deals
                    .iter()
                    .map(|d| to_bidder(d.bidfloor, d.bidfloorcur.as_deref()).ok())
                    .collect(),
                p.private_auction == 1,
            ),
            None => (SmallVec::new(), false),
        };
        Ok(ImpFacts {
            imp,
            sizes,
            floor,
            deal_floors,
            private_auction,
            battr_banner: imp.banner.as_ref().map_or(0, |b| mask_of(&b.battr)),
            battr_video: imp.video.as_ref().map_or(0, |v| mask_of(&v.battr)),
            battr_audio: imp.audio.as_ref().map_or(0, |a| mask_of(&a.battr)),
            battr_native: imp.native.as_ref().map_or(0, |n| mask_of(&n.battr)),
        })
    }

    fn candidates(
        &self,
        snap: &Snapshot,
        f: &Facts<'_>,
        imp: &ImpFacts<'_>,
    ) -> SmallVec<[u64; 32]> {
        let ix = &snap.index;
        let mut fmt: SmallVec<[u64; 32]> = smallvec::smallvec![0; ix.words];
        let or = |dst: &mut SmallVec<[u64; 32]>, src: &[u64]| {
            for (d, s) in dst.iter_mut().zip(src) {
                *d |= s;
            }
        };
        for s in &imp.sizes {
            if let Some(b) = ix.banner.get(s) {
                or(&mut fmt, b);
            }
        }
        if imp.imp.video.is_some() {
            or(&mut fmt, &ix.video);
        }
        if imp.imp.audio.is_some() {
            or(&mut fmt, &ix.audio);
        }
        if imp.imp.native.is_some() {
            or(&mut fmt, &ix.native);
        }
        let by_country = f.country.and_then(|c| ix.country.get(&c));
        let by_device = f.devicetype.and_then(|d| ix.device.get(d));
        for (w, word) in fmt.iter_mut().enumerate() {
            let geo = ix.country_any[w] | by_country.map_or(0, |b| b[w]);
            let dev = ix.device_any[w] | by_device.map_or(0, |b| b[w]);
            *word &= geo & dev;
        }
        fmt
    }

    fn decide_imp(
        &self,
        snap: &Snapshot,
        imp: &Imp<'_>,
        imp_index: usize,
        f: &Facts<'_>,
        bids: &mut SmallVec<[ChosenBid; 1]>,
    ) -> ImpOutcome {
        let ifacts = match self.imp_facts(imp) {
            Ok(x) => x,
            Err(r) => return ImpOutcome::NoBid(r),
        };
        let bits = self.candidates(snap, f, &ifacts);
        let mut worst = NoBidReason::NoMatchingLineItem;
        let mut cands: SmallVec<[Cand; 8]> = SmallVec::new();
        let mut ltv_memo: SmallVec<[(OrgId, Option<i64>); 4]> = SmallVec::new();
        for (w, word) in bits.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let i = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let Some(item) = snap.items.get(i) else {
                    continue;
                };
                match self.evaluate(item, i, &ifacts, f, &mut ltv_memo) {
                    Ok(c) => cands.push(c),
                    Err(r) => worst = worst.max(r),
                }
            }
        }
        cands.sort_unstable_by(|a, b| b.price.cmp(&a.price).then(a.item.cmp(&b.item)));
        for c in cands {
            match self.place(snap, c, imp, imp_index, f) {
                Ok(bid) => {
                    bids.push(bid);
                    return ImpOutcome::Bid(bids.len() - 1);
                }
                Err(r) => worst = worst.max(r),
            }
        }
        ImpOutcome::NoBid(worst)
    }

    /// Checks one line item against one impression, up to a guarded price.
    fn evaluate(
        &self,
        item: &CompiledItem,
        index: usize,
        imp: &ImpFacts<'_>,
        f: &Facts<'_>,
        ltv_memo: &mut SmallVec<[(OrgId, Option<i64>); 4]>,
    ) -> Result<Cand, NoBidReason> {
        use NoBidReason::*;
        if f.now_ms < item.start_ms || f.now_ms >= item.end_ms {
            return Err(NotScheduled);
        }
        if let Some(mask) = item.daypart {
            let local = f.now_ms + item.daypart_offset_ms;
            // 1970-01-01 was a Thursday, day 3 counting from Monday = 0.
            let weekday = (local.div_euclid(DAY_MS) + 3).rem_euclid(7) as usize;
            let hour = local.rem_euclid(DAY_MS) / HOUR_MS;
            if mask[weekday] & (1 << hour) == 0 {
                return Err(NotScheduled);
            }
        }
        match item.inventory {
            InventoryKind::SiteOnly if !f.is_site => return Err(NoMatchingLineItem),
            InventoryKind::AppOnly if !f.is_app => return Err(NoMatchingLineItem),
            _ => {}
        }
        if !item.os.is_empty() && !f.os.is_some_and(|o| item.os.contains(&o)) {
            return Err(NoMatchingLineItem);
        }
        if !item.cat_allow.is_empty() && !f.inv_cats.iter().any(|c| item.cat_allow.contains(c)) {
            return Err(NoMatchingLineItem);
        }
        if f.inv_cats.iter().any(|c| item.cat_block.contains(c)) {
            return Err(NoMatchingLineItem);
        }
        if !item.dom_allow.is_empty()
            && f.domain
                .is_none_or(|d| item.dom_allow.binary_search(&d).is_err())
        {
            return Err(NoMatchingLineItem);
        }
        if f.domain
            .is_some_and(|d| item.dom_block.binary_search(&d).is_ok())
        {
            return Err(NoMatchingLineItem);
        }
        let seat = self.cfg.seat.as_str();
        let deal = if item.deals.is_empty() {
            None
        } else {
            imp.imp.pmp.as_ref().and_then(|p| {
                p.deals.iter().position(|d| {
                    d.id.as_deref()
                        .is_some_and(|id| item.deals.iter().any(|x| x == id))
                        && (d.wseat.is_empty() || d.wseat.iter().any(|s| s.as_str() == seat))
                })
            })
        };
        if deal.is_none() && (item.deals_only || imp.private_auction) {
            return Err(NoMatchingLineItem);
        }
        let creative = self.pick_creative(item, imp, f)?;
        let rt = &item.runtime;
        if draw(f.req_hash, item.key) >= rt.pacing.throttle() {
            return Err(Paced);
        }
        // Value.
        let ltv = match f.user_key {
            Some(user) => {
                let found = ltv_memo
                    .iter()
                    .find(|(o, _)| *o == item.org)
                    .map(|(_, v)| *v);
                let v = match found {
                    Some(v) => v,
                    None => {
                        let v = self.deps.segments.ltv_micros(item.org, user);
                        ltv_memo.push((item.org, v));
                        v
                    }
                };
                v.unwrap_or(item.ltv_baseline_micros)
            }
            None => item.ltv_baseline_micros,
        };
        let est = RateEstimate::from_totals(&item.ctr, &item.cvr, rt.perf.totals());
        let p = est.p_conversion();
        let proposed = match item.strategy {
            CompiledStrategy::ValueBased { bid_share } => p * ltv as f64 * 1000.0 * bid_share,
            CompiledStrategy::TargetCpa { cpa_micros } => p * cpa_micros as f64 * 1000.0,
            CompiledStrategy::FixedCpm { cpm_micros } => cpm_micros as f64,
        };
        let mut proposed = if proposed.is_finite() {
            proposed.floor() as i64
        } else {
            0
        };
        if let Some(max) = item.max_cpm_micros {
            proposed = proposed.min(max);
        }
        let verdict = check_cpm(&item.margin, self.cfg.currency, ltv, p, proposed)
            .map_err(|_| MarginRefused)?;
        if verdict.is_refused() {
            return Err(MarginRefused);
        }
        let floor = match deal {
            Some(d) => imp
                .deal_floors
                .get(d)
                .copied()
                .flatten()
                .ok_or(UnsupportedCurrency)?,
            None => imp.floor,
        };
        let price = verdict.price_micros;
        if price < floor.max(1) {
            return Err(BelowFloor);
        }
        let day = f.day;
        if !rt.pacing.ceiling_allows(
            &self.cfg.pacing,
            &item.curve,
            item.daily_micros,
            day,
            f.now_ms,
            rt.account.spent_on(day),
            cost_of_cpm(price),
        ) {
            return Err(Paced);
        }
        let first_price = match deal.and_then(|d| imp.imp.pmp.as_ref()?.deals.get(d)?.at) {
            Some(at) => at == 1,
            None => f.first_price,
        };
        Ok(Cand {
            item: index,
            creative,
            price,
            floor,
            deal,
            verdict,
            first_price,
        })
    }

    fn pick_creative(
        &self,
        item: &CompiledItem,
        imp: &ImpFacts<'_>,
        f: &Facts<'_>,
    ) -> Result<usize, NoBidReason> {
        let n = item.creatives.len();
        if n == 0 {
            return Err(NoBidReason::NoMatchingLineItem);
        }
        // Rotate the starting creative by request so equally fitting creatives share traffic.
        let start = (f.req_hash as usize) % n;
        let mut fitted = false;
        for k in 0..n {
            let ci = (start + k) % n;
            let c = &item.creatives[ci];
            if !fits(c, imp) {
                continue;
            }
            fitted = true;
            if blocked(c, imp, f) {
                continue;
            }
            return Ok(ci);
        }
        Err(if fitted {
            NoBidReason::BlockedByRequest
        } else {
            NoBidReason::NoMatchingLineItem
        })
    }

    /// Frequency cap, shading, currency and budget hold for the chosen candidate.
    fn place(
        &self,
        snap: &Snapshot,
        c: Cand,
        imp: &Imp<'_>,
        imp_index: usize,
        f: &Facts<'_>,
    ) -> Result<ChosenBid, NoBidReason> {
        let item = snap
            .items
            .get(c.item)
            .ok_or(NoBidReason::NoMatchingLineItem)?;
        let rt = &item.runtime;
        let mut freq = None;
        if let Some(cap) = item.freq_cap {
            match f.user_hash {
                Some(u) => {
                    let key = FreqKey::new(u, item.key);
                    if self.deps.frequency.count(key, cap.window_secs, f.now_ms)
                        >= cap.max_impressions
                    {
                        return Err(NoBidReason::FrequencyCapped);
                    }
                    freq = Some((key, cap.window_secs));
                }
                None if self.cfg.privacy.capped_items_need_user => {
                    return Err(NoBidReason::UnmatchedUser);
                }
                None => {}
            }
        }
        let (price, factor) = if c.first_price {
            let factor = rt.shade.factor();
            (shade(c.price, factor, c.floor), Some(factor))
        } else {
            (c.price, None)
        };
        let response_price = self
            .cfg
            .fx
            .convert(
                price,
                self.cfg.currency,
                f.response_currency,
                Rounding::Down,
            )
            .map_err(|_| NoBidReason::UnsupportedCurrency)?;
        if response_price < 1 {
            return Err(NoBidReason::BelowFloor);
        }
        let hold = if f.test { 0 } else { cost_of_cpm(price).max(1) };
        if !f.test {
            let limits = BudgetLimits {
                daily_micros: item.daily_micros,
                total_micros: item.total_micros,
            };
            let chunk = ((item.daily_micros as f64 * self.cfg.lease_fraction) as i64).max(hold);
            if !rt.account.try_hold(
                self.deps.ledger.as_ref(),
                item.id,
                limits,
                f.day,
                hold,
                chunk,
            ) {
                return Err(NoBidReason::BudgetExhausted);
            }
        }
        let bid_id = self.ids.next();
        let urls = NoticeUrls::build(
            &self.cfg.notice_base_url,
            bid_id,
            imp.id.as_deref().unwrap_or(""),
            item.id,
            f.response_currency,
            f.test,
        );
        self.notices.issue(IssuedBid {
            bid_id,
            line_item: item.id,
            hold_micros: hold,
            hold_day: f.day,
            price_micros: price,
            freq,
            issued_ms: f.now_ms,
            test: f.test,
        });
        if c.first_price && !f.test {
            rt.shade.on_bid();
        }
        Ok(ChosenBid {
            bid_id,
            bid_id_text: bid_id.to_string(),
            imp_index,
            line_item: item.id,
            org: item.org,
            price_micros: price,
            response_price_micros: response_price,
            floor_micros: c.floor,
            shading_factor: factor,
            verdict: c.verdict,
            deal_index: c.deal,
            hold_micros: hold,
            urls,
            item_index: c.item,
            creative_index: c.creative,
        })
    }

    /// Takes a win, billing or loss notice: `query` is the URL's query string with
    /// the exchange's macros substituted.
    pub fn handle_notice(
        &self,
        kind: NoticeKind,
        query: &str,
        now_ms: i64,
    ) -> Result<NoticeOutcome, BidderError> {
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
        let notice = Notice {
            kind,
            key: BidId::key_of(&p.bid_id),
            line_item: p.line_item,
            price_micros,
            test: p.test,
        };
        let out = self.notices.apply(notice, now_ms);
        self.apply_effects(&out.effects, now_ms);
        let (k, s) = (
            KINDS.iter().position(|x| *x == out.kind).unwrap_or(0),
            STATUSES.iter().position(|x| *x == out.status).unwrap_or(0),
        );
        self.counters.notices[k][s].fetch_add(1, Ordering::Relaxed);
        Ok(out)
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
            spent_today_micros: spent.day_micros,
            spent_total_micros: spent.total_micros,
            account: rt.account.view(),
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
            requests: c.requests.load(Ordering::Relaxed),
            bid_responses: c.bid_responses.load(Ordering::Relaxed),
            bids: c.bids.load(Ordering::Relaxed),
            no_bids: NoBidReason::ALL
                .iter()
                .map(|r| NoBidCount {
                    reason: *r,
                    nbr: r.nbr(),
                    count: c.no_bid[r.index()].load(Ordering::Relaxed),
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

fn fits(c: &CompiledCreative, imp: &ImpFacts<'_>) -> bool {
    let mimes_ok = |offered: &Option<Vec<crate::openrtb::request::Str<'_>>>| {
        offered.as_ref().is_some_and(|m| {
            m.iter()
                .any(|o| c.mimes.iter().any(|x| x.eq_ignore_ascii_case(o.as_str())))
        })
    };
    let dur_ok = |min: Option<i64>, max: Option<i64>| {
        let d = i64::from(c.duration_secs);
        min.is_none_or(|m| d >= m) && max.is_none_or(|m| m <= 0 || d <= m)
    };
    match c.kind {
        MediaKind::Banner => imp.sizes.contains(&(c.w, c.h)),
        MediaKind::Video => imp
            .imp
            .video
            .as_ref()
            .is_some_and(|v| mimes_ok(&v.mimes) && dur_ok(v.minduration, v.maxduration)),
        MediaKind::Audio => imp
            .imp
            .audio
            .as_ref()
            .is_some_and(|a| mimes_ok(&a.mimes) && dur_ok(a.minduration, a.maxduration)),
        MediaKind::Native => imp.imp.native.is_some(),
    }
}

fn blocked(c: &CompiledCreative, imp: &ImpFacts<'_>, f: &Facts<'_>) -> bool {
    let battr = match c.kind {
        MediaKind::Banner => imp.battr_banner,
        MediaKind::Video => imp.battr_video,
        MediaKind::Audio => imp.battr_audio,
        MediaKind::Native => imp.battr_native,
    };
    c.attr_mask & battr != 0
        || contains_any(&f.bcat, &c.category_ids)
        || contains_any(&f.badv, &c.adomain_ids)
        || c.bundle_id
            .is_some_and(|b| f.bapp.binary_search(&b).is_ok())
}

#[cfg(test)]
mod tests {
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
        assert!(s.account.held_micros <= 100_000, "{s:?}");
        assert!(
            s.account.held_micros + 2_400 > 100_000,
            "the budget was used up: {s:?}"
        );
        assert_eq!(b.stats().bids as i64 * 2_400, s.account.held_micros);
    }
}
