//! The decision path: request and impression facts, candidate lookup in the
//! snapshot's index, the per-candidate checks (schedule, inventory, blocks,
//! creative fit, throttle, value, MarginGuardian, floor, pacing ceiling) and
//! placing the winning bid (frequency cap, shading, budget hold, notice URLs).

use super::*;

/// Facts of the request computed once, in the snapshot's terms.
pub(super) struct Facts<'r> {
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
pub(super) struct ImpFacts<'r> {
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
pub(super) struct Cand {
    item: usize,
    creative: usize,
    price: i64,
    floor: i64,
    deal: Option<usize>,
    first_price: bool,
    /// The valuation's inputs, for the verdict of the candidate that bids.
    ltv: i64,
    p_conversion: f64,
    proposed: i64,
}

pub(super) fn mask_of(attrs: &[i64]) -> u64 {
    attrs
        .iter()
        .filter(|a| (1..64).contains(*a))
        .fold(0, |m, a| m | (1u64 << a))
}

pub(super) fn intern_sorted<'a, const N: usize>(
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

pub(super) fn contains_any(sorted: &[u32], probe: &[u32]) -> bool {
    probe.iter().any(|p| sorted.binary_search(p).is_ok())
}

/// Which notice-ledger shard this thread's next bid goes to: each thread walks
/// the shards from its own stripe's starting point, with no shared counter.
pub(super) fn shard_hint() -> u64 {
    thread_local! {
        static NEXT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    NEXT.with(|n| {
        let v = n.get();
        n.set(v.wrapping_add(1));
        v.wrapping_add(crate::striped::stripe() as u64 * 4)
    })
}

/// Candidate lists up to this capacity are kept for the thread's next
/// impression (a list grown past it by an unusual request is let go).
const KEPT_CANDIDATES: usize = 4096;

thread_local! {
    /// Each thread's candidate list, reused impression after impression: a
    /// banner impression against 1,000 line items has ~90 candidates (~6 KB),
    /// a fresh allocation per impression otherwise.
    static CANDIDATES: std::cell::Cell<Vec<Cand>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A uniform draw in [0, 1) from the request and the line item.
pub(super) fn draw(req_hash: u64, item_key: u64) -> f64 {
    (mix64(req_hash ^ item_key) >> 11) as f64 / (1u64 << 53) as f64
}

impl Bidder {
    /// Decides on a parsed request. Never panics, whatever the request holds.
    pub fn decide(&self, req: &BidRequest<'_>, ctx: RequestContext) -> Decision {
        self.counters.requests.add(1);
        // A guard, not a clone: the decision keeps it (see `Decision::snapshot`).
        let guard = self.snapshot.load();
        let snap: &Snapshot = &guard;
        let mut bids: SmallVec<[ChosenBid; 1]> = SmallVec::new();
        let mut imps: SmallVec<[ImpOutcome; 2]> = SmallVec::new();
        let mut currency = self.cfg.currency;
        let mut no_bid = None;
        let outcome = match self.gate(req, ctx, snap) {
            Err(reason) => Err(reason),
            Ok(facts) => {
                currency = facts.response_currency;
                for (i, imp) in req.imp.iter().enumerate() {
                    let o = self.decide_imp(snap, imp, i, &facts, &mut bids);
                    imps.push(o);
                }
                if bids.is_empty() {
                    let worst = imps
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
                self.counters.bid_responses.add(1);
                self.counters.bids.add(bids.len() as u64);
            }
            Err(reason) => {
                if imps.is_empty() {
                    imps = req.imp.iter().map(|_| ImpOutcome::NoBid(reason)).collect();
                }
                no_bid = Some(reason);
                self.count_no_bid(reason);
            }
        }
        Decision {
            bids,
            imps,
            no_bid,
            currency,
            test: req.test == 1,
            snapshot: guard,
        }
    }

    /// Request-level rules, then the request facts.
    pub(super) fn gate<'r>(
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

    pub(super) fn imp_facts<'r>(&self, imp: &'r Imp<'r>) -> Result<ImpFacts<'r>, NoBidReason> {
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

    pub(super) fn candidates(
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

    pub(super) fn decide_imp(
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
        // The thread's candidate list, taken out and put back (a nested use
        // would find an empty one, never a borrowed one).
        let mut cands = CANDIDATES.take();
        cands.clear();
        let out = self.choose(snap, imp, imp_index, f, &ifacts, &mut cands, bids);
        if cands.capacity() <= KEPT_CANDIDATES {
            cands.clear();
            CANDIDATES.set(cands);
        }
        out
    }

    /// Prices the impression's candidates into `cands`, then tries them best
    /// price first until one bids.
    #[allow(clippy::too_many_arguments)]
    fn choose(
        &self,
        snap: &Snapshot,
        imp: &Imp<'_>,
        imp_index: usize,
        f: &Facts<'_>,
        ifacts: &ImpFacts<'_>,
        cands: &mut Vec<Cand>,
        bids: &mut SmallVec<[ChosenBid; 1]>,
    ) -> ImpOutcome {
        let bits = self.candidates(snap, f, ifacts);
        let mut worst = NoBidReason::NoMatchingLineItem;
        let mut ltv_memo: SmallVec<[(OrgId, Option<i64>); 4]> = SmallVec::new();
        for (w, word) in bits.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let i = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                if i >= snap.hot.len() {
                    continue;
                }
                match self.evaluate(snap, i, ifacts, f, &mut ltv_memo) {
                    Ok(c) => cands.push(c),
                    Err(r) => worst = worst.max(r),
                }
            }
        }
        // Best price first (ties: the lower index). Usually the first one bids,
        // so the best remaining is selected each round instead of sorting all.
        while !cands.is_empty() {
            let mut best = 0;
            for (k, c) in cands.iter().enumerate().skip(1) {
                let b = &cands[best];
                if c.price > b.price || (c.price == b.price && c.item < b.item) {
                    best = k;
                }
            }
            let c = cands.swap_remove(best);
            match self
                .qualify(snap, c, ifacts, f)
                .and_then(|(c, verdict)| self.place(snap, c, verdict, imp, imp_index, f))
            {
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
    /// Reads the packed [`HotItem`]; the full [`CompiledItem`] only for the
    /// rarer checks its gate bits name.
    pub(super) fn evaluate(
        &self,
        snap: &Snapshot,
        index: usize,
        imp: &ImpFacts<'_>,
        f: &Facts<'_>,
        ltv_memo: &mut SmallVec<[(OrgId, Option<i64>); 4]>,
    ) -> Result<Cand, NoBidReason> {
        use NoBidReason::*;
        let h = &snap.hot[index];
        if f.now_ms < h.start_ms || f.now_ms >= h.end_ms {
            return Err(NotScheduled);
        }
        if h.gates & gate::DAYPART != 0 && !in_daypart(&snap.items[index], f.now_ms) {
            return Err(NotScheduled);
        }
        match h.inventory {
            InventoryKind::SiteOnly if !f.is_site => return Err(NoMatchingLineItem),
            InventoryKind::AppOnly if !f.is_app => return Err(NoMatchingLineItem),
            _ => {}
        }
        if h.gates & gate::LISTS != 0 && !lists_allow(&snap.items[index], f) {
            return Err(NoMatchingLineItem);
        }
        let deal = if h.gates & gate::DEALS == 0 {
            None
        } else {
            self.deal_for(&snap.items[index], imp)
        };
        if deal.is_none() && (h.gates & gate::DEALS_ONLY != 0 || imp.private_auction) {
            return Err(NoMatchingLineItem);
        }
        let rt = &h.runtime;
        // A draw is in [0, 1): an unthrottled line item (1.0) needs none.
        let throttle = rt.pacing.throttle();
        if throttle < 1.0 && draw(f.req_hash, h.key) >= throttle {
            return Err(Paced);
        }
        // Value.
        let ltv = match f.user_key {
            Some(user) => {
                let found = ltv_memo.iter().find(|(o, _)| *o == h.org).map(|(_, v)| *v);
                let v = match found {
                    Some(v) => v,
                    None => {
                        let v = self.deps.segments.ltv_micros(h.org, user);
                        ltv_memo.push((h.org, v));
                        v
                    }
                };
                v.unwrap_or(h.ltv_baseline_micros)
            }
            None => h.ltv_baseline_micros,
        };
        // pCTR × pCVR kept up to date by the counters (no division here).
        let p = rt.perf.p_conversion();
        let proposed = h.proposed_cpm(p, ltv);
        // Truncation is the floor for the non-negative values a price takes
        // (and saves a libm call per candidate); NaN and negatives give 0.
        let mut proposed = if proposed.is_finite() && proposed > 0.0 {
            proposed as i64
        } else {
            0
        };
        // `i64::MAX` when there is no maximum.
        proposed = proposed.min(h.max_cpm_micros);
        let price = guarded_cpm(&h.margin, ltv, p, proposed).ok_or(MarginRefused)?;
        let floor = match deal {
            Some(d) => imp
                .deal_floors
                .get(d)
                .copied()
                .flatten()
                .ok_or(UnsupportedCurrency)?,
            None => imp.floor,
        };
        if price < floor.max(1) {
            return Err(BelowFloor);
        }
        let first_price = match deal.and_then(|d| imp.imp.pmp.as_ref()?.deals.get(d)?.at) {
            Some(at) => at == 1,
            None => f.first_price,
        };
        Ok(Cand {
            item: index,
            creative: 0,
            price,
            floor,
            deal,
            first_price,
            ltv,
            p_conversion: p,
            proposed,
        })
    }

    /// The position of the impression's first deal this line item may bid
    /// through (one of its deal ids, this seat allowed).
    fn deal_for(&self, item: &CompiledItem, imp: &ImpFacts<'_>) -> Option<usize> {
        let seat = self.cfg.seat.as_str();
        imp.imp.pmp.as_ref().and_then(|p| {
            p.deals.iter().position(|d| {
                d.id.as_deref()
                    .is_some_and(|id| item.deals.iter().any(|x| x == id))
                    && (d.wseat.is_empty() || d.wseat.iter().any(|s| s.as_str() == seat))
            })
        })
    }

    /// The checks a candidate's price does not depend on, run only for the
    /// candidates tried (best price first): a creative that fits and is not
    /// blocked, and the pacing ceiling at this price.
    pub(super) fn qualify(
        &self,
        snap: &Snapshot,
        mut c: Cand,
        imp: &ImpFacts<'_>,
        f: &Facts<'_>,
    ) -> Result<(Cand, GuardianVerdict), NoBidReason> {
        let item = snap
            .items
            .get(c.item)
            .ok_or(NoBidReason::NoMatchingLineItem)?;
        c.creative = self.pick_creative(item, imp, f)?;
        let rt = &item.runtime;
        if !rt.pacing.ceiling_allows(
            &self.cfg.pacing,
            &item.curve,
            item.daily_micros,
            f.day,
            f.now_ms,
            rt.account.spent_on(f.day),
            cost_of_cpm(c.price),
        ) {
            return Err(NoBidReason::Paced);
        }
        // The same rule `guarded_cpm` priced the candidate with, now explained.
        let verdict = check_cpm(
            &item.margin,
            self.cfg.currency,
            c.ltv,
            c.p_conversion,
            c.proposed,
        )
        .map_err(|_| NoBidReason::MarginRefused)?;
        if verdict.is_refused() || verdict.price_micros != c.price {
            return Err(NoBidReason::MarginRefused);
        }
        Ok((c, verdict))
    }

    pub(super) fn pick_creative(
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
    pub(super) fn place(
        &self,
        snap: &Snapshot,
        c: Cand,
        verdict: GuardianVerdict,
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
        let bid_id = self.notices.issue(shard_hint(), |bid_id| IssuedBid {
            bid_id,
            line_item: item.id,
            hold_micros: hold,
            hold_day: f.day,
            price_micros: price,
            freq,
            issued_ms: f.now_ms,
            test: f.test,
        });
        let urls = NoticeUrls::build(
            &self.cfg.notice_base_url,
            bid_id,
            imp.id.as_deref().unwrap_or(""),
            item.id,
            f.response_currency,
            f.test,
        );
        if c.first_price && !f.test {
            rt.shade.on_bid();
        }
        // Tracker URLs are signed only for creatives that carry the macros,
        // and never for test bids (their trackers never count).
        let issued_s = f.now_ms.div_euclid(1000);
        let tracker_tag = match (&self.deps.tracker_key, f.test) {
            (Some(key), false) => item
                .creatives
                .get(c.creative)
                .filter(|cr| cr.trackers.is_some())
                .map(|cr| key.sign(bid_id, item.id, &cr.crid, issued_s)),
            _ => None,
        };
        Ok(ChosenBid {
            bid_id,
            bid_id_hex: bid_id.hex_bytes(),
            imp_index,
            line_item: item.id,
            org: item.org,
            price_micros: price,
            response_price_micros: response_price,
            floor_micros: c.floor,
            shading_factor: factor,
            verdict,
            deal_index: c.deal,
            hold_micros: hold,
            urls,
            issued_s,
            tracker_tag,
            item_index: c.item,
            creative_index: c.creative,
        })
    }
}

/// Whether `now_ms` falls in the line item's dayparts (local time).
fn in_daypart(item: &CompiledItem, now_ms: i64) -> bool {
    let Some(mask) = item.daypart else {
        return true;
    };
    let local = now_ms + item.daypart_offset_ms;
    // 1970-01-01 was a Thursday, day 3 counting from Monday = 0.
    let weekday = (local.div_euclid(DAY_MS) + 3).rem_euclid(7) as usize;
    let hour = local.rem_euclid(DAY_MS) / HOUR_MS;
    mask[weekday] & (1 << hour) != 0
}

/// The OS, category and domain allow/block lists against the request.
fn lists_allow(item: &CompiledItem, f: &Facts<'_>) -> bool {
    if !item.os.is_empty() && !f.os.is_some_and(|o| item.os.contains(&o)) {
        return false;
    }
    if !item.cat_allow.is_empty() && !f.inv_cats.iter().any(|c| item.cat_allow.contains(c)) {
        return false;
    }
    if f.inv_cats.iter().any(|c| item.cat_block.contains(c)) {
        return false;
    }
    if !item.dom_allow.is_empty()
        && f.domain
            .is_none_or(|d| item.dom_allow.binary_search(&d).is_err())
    {
        return false;
    }
    f.domain
        .is_none_or(|d| item.dom_block.binary_search(&d).is_err())
}

pub(super) fn fits(c: &CompiledCreative, imp: &ImpFacts<'_>) -> bool {
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

pub(super) fn blocked(c: &CompiledCreative, imp: &ImpFacts<'_>, f: &Facts<'_>) -> bool {
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
