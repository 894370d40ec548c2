//! The compiled, immutable form of the active line items that the bid path
//! reads, and the index that narrows 1,000 line items to the few that can match
//! an impression with a handful of bitset operations.
//!
//! Compilation resolves everything that does not depend on the request: money
//! converted to the bidder currency, strings interned to small integers
//! (categories, domains, OS), dayparts turned into a 7 × 24 bit mask, the pacing
//! curve, the MarginGuardian thresholds of the organisation. The live state of a
//! line item (spend, pacing, shading, performance) is not in the snapshot but in
//! a [`LineItemRuntime`] that survives snapshot swaps.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kiki_core::{FieldError, OrgId};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::budget::SpendAccount;
use crate::config::BidderConfig;
use crate::freq::mix64;
use crate::fx::Rounding;
use crate::lineitem::{
    BidStrategy, CreativeFormat, FrequencyCap, InventoryKind, LineItem, LineItemId,
};
use crate::margin::MarginPolicy;
use crate::openrtb::response::CreativeFields;
use crate::pacing::{PacingCurve, PacingState};
use crate::shading::ShadeState;
use crate::valuation::{BetaPrior, PerformanceCounters};

/// The live, mutable state of one line item, shared by every snapshot that contains it.
#[derive(Debug)]
pub struct LineItemRuntime {
    pub id: LineItemId,
    pub account: SpendAccount,
    pub pacing: PacingState,
    pub shade: ShadeState,
    pub perf: PerformanceCounters,
    last_listed_ms: AtomicI64,
}

/// All runtimes by line item id. Entries outlive the snapshots that list them so
/// that late notices still find their line item.
#[derive(Debug, Default)]
pub struct Registry {
    map: RwLock<HashMap<LineItemId, Arc<LineItemRuntime>>>,
}

impl Registry {
    pub fn get(&self, id: LineItemId) -> Option<Arc<LineItemRuntime>> {
        self.map.read().get(&id).cloned()
    }

    pub fn get_or_create(
        &self,
        id: LineItemId,
        cfg: &BidderConfig,
        now_ms: i64,
    ) -> Arc<LineItemRuntime> {
        if let Some(rt) = self.get(id) {
            rt.last_listed_ms.store(now_ms, Ordering::Relaxed);
            return rt;
        }
        let mut map = self.map.write();
        map.entry(id)
            .or_insert_with(|| {
                Arc::new(LineItemRuntime {
                    id,
                    account: SpendAccount::default(),
                    pacing: PacingState::new(&cfg.pacing),
                    shade: ShadeState::new(&cfg.shading),
                    perf: PerformanceCounters::default(),
                    last_listed_ms: AtomicI64::new(now_ms),
                })
            })
            .clone()
    }

    /// Forgets runtimes not listed in a snapshot since `before_ms` that hold no budget.
    pub fn prune(&self, listed: impl Fn(LineItemId) -> bool, before_ms: i64) -> usize {
        let mut map = self.map.write();
        let n = map.len();
        map.retain(|id, rt| {
            listed(*id)
                || rt.last_listed_ms.load(Ordering::Relaxed) >= before_ms
                || rt.account.view().held_micros != 0
        });
        n - map.len()
    }

    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Strings used in targeting, numbered once per snapshot.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<Box<str>, u32, foldhash::fast::FixedState>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(s.into()).or_insert(next)
    }

    /// Looks a request string up, lower-casing without allocating for short strings.
    pub fn lookup(&self, s: &str) -> Option<u32> {
        let s = s.trim();
        if !s.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.ids.get(s).copied();
        }
        let mut buf = [0u8; 96];
        if s.len() <= buf.len() {
            let b = &mut buf[..s.len()];
            b.copy_from_slice(s.as_bytes());
            b.make_ascii_lowercase();
            let lower = std::str::from_utf8(b).ok()?;
            self.ids.get(lower).copied()
        } else {
            self.ids.get(s.to_ascii_lowercase().as_str()).copied()
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// Domains compare without a leading `www.`.
pub fn norm_domain(s: &str) -> &str {
    let s = s.trim();
    match s.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("www.") => &s[4..],
        _ => s,
    }
}

/// The parent of an IAB category (`IAB1-5` → `IAB1`).
pub fn parent_category(s: &str) -> Option<&str> {
    s.split_once('-').map(|(p, _)| p).filter(|p| !p.is_empty())
}

/// Which kind of markup a creative is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Banner,
    Video,
    Audio,
    Native,
}

impl MediaKind {
    /// OpenRTB 2.6 `mtype`.
    pub fn mtype(self) -> u8 {
        match self {
            MediaKind::Banner => 1,
            MediaKind::Video => 2,
            MediaKind::Audio => 3,
            MediaKind::Native => 4,
        }
    }
}

/// A creative ready for the bid path.
#[derive(Debug)]
pub struct CompiledCreative {
    pub crid: String,
    pub kind: MediaKind,
    pub w: u32,
    pub h: u32,
    pub mimes: Vec<String>,
    pub duration_secs: u32,
    pub markup: String,
    pub adomain: Vec<String>,
    pub adomain_ids: SmallVec<[u32; 2]>,
    pub categories: Vec<String>,
    /// Categories and their parents, interned.
    pub category_ids: SmallVec<[u32; 4]>,
    pub attributes: Vec<u16>,
    /// Bit `a` set for attribute `a` (1..=63).
    pub attr_mask: u64,
    pub bundle: Option<String>,
    pub bundle_id: Option<u32>,
    /// The bid's fields that depend only on this creative and its line item,
    /// written once as JSON (`"adm":…,"adomain":[…],…,"mtype":n`) for the
    /// response writer: markup is escaped at compile time, not per bid.
    pub bid_json: String,
    /// Where the markup's `${KIKI_IMP_URL}` / `${KIKI_CLICK_URL}` macros sit
    /// in `bid_json`, and the constant parts of their URLs (none for most
    /// creatives: their bid JSON is copied whole).
    pub trackers: Option<Box<crate::tracker::CreativeTrackers>>,
}

impl CompiledCreative {
    /// The bid fields that come from this creative (and its line item's campaign).
    pub fn bid_fields<'a>(&'a self, campaign: &'a str) -> CreativeFields<'a> {
        let sized = self.kind == MediaKind::Banner;
        CreativeFields {
            adm: std::borrow::Cow::Borrowed(&self.markup),
            adomain: &self.adomain,
            bundle: self.bundle.as_deref(),
            cid: campaign,
            crid: &self.crid,
            cat: &self.categories,
            attr: &self.attributes,
            w: sized.then_some(self.w),
            h: sized.then_some(self.h),
            mtype: self.kind.mtype(),
        }
    }
}

/// How the CPM is computed, money already in bidder-currency micros.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CompiledStrategy {
    ValueBased { bid_share: f64 },
    TargetCpa { cpa_micros: i64 },
    FixedCpm { cpm_micros: i64 },
}

/// A line item ready for the bid path.
#[derive(Debug)]
pub struct CompiledItem {
    pub id: LineItemId,
    pub org: OrgId,
    pub campaign: String,
    /// A 64-bit digest of the id, for throttle draws and frequency keys.
    pub key: u64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub daily_micros: i64,
    pub total_micros: Option<i64>,
    pub curve: PacingCurve,
    pub strategy: CompiledStrategy,
    pub max_cpm_micros: Option<i64>,
    pub ltv_baseline_micros: i64,
    pub margin: MarginPolicy,
    pub ctr: BetaPrior,
    pub cvr: BetaPrior,
    pub freq_cap: Option<FrequencyCap>,
    /// Targeted countries (upper-case alpha-3); empty = any. Also in the index.
    pub countries: SmallVec<[[u8; 3]; 4]>,
    /// Bit d for AdCOM device type d; 0 = any. Also in the index.
    pub device_mask: u16,
    pub os: SmallVec<[u32; 4]>,
    pub cat_allow: SmallVec<[u32; 4]>,
    pub cat_block: SmallVec<[u32; 4]>,
    pub dom_allow: Vec<u32>,
    pub dom_block: Vec<u32>,
    pub inventory: InventoryKind,
    /// Allowed hours per weekday (Monday first), bit h for hour h; `None` = always.
    pub daypart: Option<[u32; 7]>,
    pub daypart_offset_ms: i64,
    pub deals: Vec<String>,
    pub deals_only: bool,
    pub creatives: Vec<CompiledCreative>,
    pub runtime: Arc<LineItemRuntime>,
}

/// Which of a line item's rarer checks apply (bits of [`HotItem::gates`]):
/// without them the bid path does not read the line item's [`CompiledItem`]
/// while pricing it.
pub mod gate {
    /// Dayparting.
    pub const DAYPART: u8 = 1;
    /// OS, category or domain allow/block lists.
    pub const LISTS: u8 = 2;
    /// Deal ids.
    pub const DEALS: u8 = 4;
    /// Bids only through its deals.
    pub const DEALS_ONLY: u8 = 8;
}

/// What a strategy's one number means (see [`HotItem::proposed_cpm`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StrategyKind {
    ValueBased,
    TargetCpa,
    FixedCpm,
}

/// What the bid path reads of every candidate line item, in two cache lines
/// (`Snapshot::hot[i]` describes `Snapshot::items[i]`): the flight, the
/// throttle draw's key, the live state, the price's inputs and MarginGuardian.
/// A request prices ~90 candidates out of 1,000 line items; read from the
/// whole [`CompiledItem`] that took five to eight lines each.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct HotItem {
    pub start_ms: i64,
    pub end_ms: i64,
    pub key: u64,
    pub ltv_baseline_micros: i64,
    /// `i64::MAX` when the line item has no maximum CPM.
    pub max_cpm_micros: i64,
    /// The strategy's number: the LTV share, the target CPA or the fixed CPM
    /// (micros, exact as `f64` below 2^53).
    pub strategy_value: f64,
    pub runtime: Arc<LineItemRuntime>,
    pub strategy: StrategyKind,
    pub inventory: InventoryKind,
    /// [`gate`] bits.
    pub gates: u8,
    // The second line.
    pub org: OrgId,
    pub margin: MarginPolicy,
}

impl HotItem {
    fn of(c: &CompiledItem) -> HotItem {
        let (strategy, strategy_value) = match c.strategy {
            CompiledStrategy::ValueBased { bid_share } => (StrategyKind::ValueBased, bid_share),
            CompiledStrategy::TargetCpa { cpa_micros } => {
                (StrategyKind::TargetCpa, cpa_micros as f64)
            }
            CompiledStrategy::FixedCpm { cpm_micros } => {
                (StrategyKind::FixedCpm, cpm_micros as f64)
            }
        };
        let lists = !(c.os.is_empty()
            && c.cat_allow.is_empty()
            && c.cat_block.is_empty()
            && c.dom_allow.is_empty()
            && c.dom_block.is_empty());
        let gates = (if c.daypart.is_some() {
            gate::DAYPART
        } else {
            0
        }) | (if lists { gate::LISTS } else { 0 })
            | (if c.deals.is_empty() { 0 } else { gate::DEALS })
            | (if c.deals_only { gate::DEALS_ONLY } else { 0 });
        HotItem {
            start_ms: c.start_ms,
            end_ms: c.end_ms,
            key: c.key,
            ltv_baseline_micros: c.ltv_baseline_micros,
            max_cpm_micros: c.max_cpm_micros.unwrap_or(i64::MAX),
            strategy_value,
            runtime: c.runtime.clone(),
            strategy,
            inventory: c.inventory,
            gates,
            org: c.org,
            margin: c.margin,
        }
    }

    /// The CPM (micros) the strategy proposes for a conversion probability
    /// `p` and an LTV, before the maximum CPM and MarginGuardian.
    #[inline]
    pub fn proposed_cpm(&self, p: f64, ltv_micros: i64) -> f64 {
        match self.strategy {
            StrategyKind::ValueBased => p * ltv_micros as f64 * 1000.0 * self.strategy_value,
            StrategyKind::TargetCpa => p * self.strategy_value * 1000.0,
            StrategyKind::FixedCpm => self.strategy_value,
        }
    }
}

/// A fixed-width bitset over line item positions.
pub type Bits = Box<[u64]>;

/// Line items by format/size, country and device type.
#[derive(Debug)]
pub struct Index {
    pub words: usize,
    pub banner: HashMap<(u32, u32), Bits>,
    pub video: Bits,
    pub audio: Bits,
    pub native: Bits,
    pub country: HashMap<[u8; 3], Bits>,
    pub country_any: Bits,
    pub device: Vec<Bits>,
    pub device_any: Bits,
}

fn set(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

/// One line item that could not be compiled.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RejectedLineItem {
    pub id: LineItemId,
    pub errors: Vec<FieldError>,
}

/// What a compilation did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CompileReport {
    pub version: u64,
    pub active: usize,
    /// Paused, or their flight already ended.
    pub skipped: usize,
    pub rejected: Vec<RejectedLineItem>,
}

/// The immutable set of active line items the bid path reads.
#[derive(Debug)]
pub struct Snapshot {
    pub items: Vec<CompiledItem>,
    /// What pricing reads of `items[i]`, packed (same positions).
    pub hot: Vec<HotItem>,
    pub index: Index,
    pub interner: Interner,
    pub version: u64,
}

fn to_ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The 64-bit digest of a line item id.
pub fn item_key(id: LineItemId) -> u64 {
    let v = id.as_uuid().as_u128();
    mix64((v >> 64) as u64 ^ mix64(v as u64))
}

impl Snapshot {
    /// An empty snapshot (no line items).
    pub fn empty() -> Snapshot {
        Snapshot {
            items: Vec::new(),
            hot: Vec::new(),
            index: Index {
                words: 0,
                banner: HashMap::new(),
                video: Box::new([]),
                audio: Box::new([]),
                native: Box::new([]),
                country: HashMap::new(),
                country_any: Box::new([]),
                device: (0..9).map(|_| Bits::default()).collect(),
                device_any: Box::new([]),
            },
            interner: Interner::default(),
            version: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Compiles the line items that are active and not yet over at `now_ms`.
    pub fn compile(
        items: &[LineItem],
        cfg: &BidderConfig,
        registry: &Registry,
        version: u64,
        now_ms: i64,
    ) -> (Snapshot, CompileReport) {
        let mut interner = Interner::default();
        let mut compiled = Vec::with_capacity(items.len());
        let mut report = CompileReport {
            version,
            active: 0,
            skipped: 0,
            rejected: Vec::new(),
        };
        for li in items {
            if let Err(errors) = li.validate() {
                report.rejected.push(RejectedLineItem { id: li.id, errors });
                continue;
            }
            let end_ms = li.flight.end.map_or(i64::MAX, to_ms);
            if !li.active || end_ms <= now_ms {
                report.skipped += 1;
                continue;
            }
            match compile_one(li, cfg, registry, &mut interner, now_ms) {
                Ok(c) => compiled.push(c),
                Err(errors) => report.rejected.push(RejectedLineItem { id: li.id, errors }),
            }
        }
        report.active = compiled.len();
        let index = build_index(&compiled);
        (
            Snapshot {
                hot: compiled.iter().map(HotItem::of).collect(),
                items: compiled,
                index,
                interner,
                version,
            },
            report,
        )
    }
}

fn compile_one(
    li: &LineItem,
    cfg: &BidderConfig,
    registry: &Registry,
    interner: &mut Interner,
    now_ms: i64,
) -> Result<CompiledItem, Vec<FieldError>> {
    let cur = cfg.currency;
    let mut errs = Vec::new();
    let mut money = |field: &str, m: kiki_core::Money| -> i64 {
        match cfg.fx.convert(m.micros, m.currency, cur, Rounding::Down) {
            Ok(v) => v,
            Err(e) => {
                errs.push(FieldError::new(field, e.to_string()));
                0
            }
        }
    };
    let daily_micros = money("budget.daily", li.budget.daily);
    let total_micros = li.budget.total.map(|t| money("budget.total", t));
    let ltv_baseline_micros = money("ltv_baseline", li.ltv_baseline);
    let strategy = match &li.bid_strategy {
        BidStrategy::ValueBased => CompiledStrategy::ValueBased {
            bid_share: li.margin.bid_share,
        },
        BidStrategy::TargetCpa { cpa } => CompiledStrategy::TargetCpa {
            cpa_micros: money("bid_strategy.cpa", *cpa),
        },
        BidStrategy::FixedCpm { cpm } => CompiledStrategy::FixedCpm {
            cpm_micros: money("bid_strategy.cpm", *cpm),
        },
    };
    let max_cpm_micros = li.max_cpm.map(|m| money("max_cpm", m));
    let curve = PacingCurve::from_mode(&li.pacing);
    if curve.is_none() {
        errs.push(FieldError::new("pacing", "The pacing curve is invalid."));
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let t = &li.targeting;
    let mut ids = |list: &[String], domain: bool| -> Vec<u32> {
        let mut v: Vec<u32> = list
            .iter()
            .map(|s| {
                if domain {
                    interner.intern(&norm(norm_domain(s)))
                } else {
                    interner.intern(&norm(s))
                }
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let os = ids(&t.os, false).into();
    let cat_allow = ids(&t.categories.allow, false).into();
    let cat_block = ids(&t.categories.block, false).into();
    let dom_allow = ids(&t.domains.allow, true);
    let dom_block = ids(&t.domains.block, true);
    let daypart = if t.dayparts.is_empty() {
        None
    } else {
        let mut mask = [0u32; 7];
        for p in &t.dayparts {
            let hours: u32 = (u32::from(p.start_hour)..u32::from(p.end_hour.min(24)))
                .fold(0, |m, h| m | (1 << h));
            for d in &p.days {
                mask[d.index()] |= hours;
            }
        }
        Some(mask)
    };
    let campaign = li.campaign_id.to_string();
    let creatives = li
        .creatives
        .iter()
        .map(|c| {
            let (kind, w, h, mimes, duration_secs) = match &c.format {
                CreativeFormat::Banner { w, h } => (MediaKind::Banner, *w, *h, vec![], 0),
                CreativeFormat::Video {
                    mimes,
                    duration_secs,
                } => (
                    MediaKind::Video,
                    0,
                    0,
                    mimes.iter().map(|m| norm(m)).collect(),
                    *duration_secs,
                ),
                CreativeFormat::Audio {
                    mimes,
                    duration_secs,
                } => (
                    MediaKind::Audio,
                    0,
                    0,
                    mimes.iter().map(|m| norm(m)).collect(),
                    *duration_secs,
                ),
                CreativeFormat::Native => (MediaKind::Native, 0, 0, vec![], 0),
            };
            let mut category_ids: SmallVec<[u32; 4]> = SmallVec::new();
            for cat in &c.categories {
                category_ids.push(interner.intern(&norm(cat)));
                if let Some(p) = parent_category(cat) {
                    category_ids.push(interner.intern(&norm(p)));
                }
            }
            category_ids.sort_unstable();
            category_ids.dedup();
            let mut compiled = CompiledCreative {
                crid: c.id.clone(),
                kind,
                w,
                h,
                mimes,
                duration_secs,
                markup: c.markup.clone(),
                adomain: c.adomain.clone(),
                adomain_ids: c
                    .adomain
                    .iter()
                    .map(|d| interner.intern(&norm(norm_domain(d))))
                    .collect(),
                categories: c.categories.clone(),
                category_ids,
                attributes: c.attributes.clone(),
                attr_mask: c
                    .attributes
                    .iter()
                    .filter(|a| (1..64).contains(*a))
                    .fold(0, |m, a| m | (1u64 << a)),
                bundle: c.bundle.clone(),
                bundle_id: c.bundle.as_deref().map(|b| interner.intern(&norm(b))),
                bid_json: String::new(),
                trackers: None,
            };
            compiled.bid_json =
                crate::openrtb::response::creative_json(&compiled.bid_fields(&campaign));
            if compiled.markup.contains("${KIKI_") {
                let mut adm = Vec::with_capacity(compiled.markup.len() + 2);
                crate::openrtb::response::write_json_str(&mut adm, &compiled.markup);
                compiled.trackers = crate::tracker::CreativeTrackers::compile(
                    &compiled.bid_json,
                    adm.len(),
                    &cfg.notice_base_url,
                    li.id,
                    &compiled.crid,
                )
                .map(Box::new);
            }
            compiled
        })
        .collect();
    Ok(CompiledItem {
        id: li.id,
        org: li.org_id,
        campaign,
        key: item_key(li.id),
        start_ms: to_ms(li.flight.start),
        end_ms: li.flight.end.map_or(i64::MAX, to_ms),
        daily_micros,
        total_micros,
        curve: curve.unwrap_or_else(PacingCurve::even),
        strategy,
        max_cpm_micros,
        ltv_baseline_micros,
        margin: cfg.margin_for(li.org_id),
        ctr: li.priors.map_or(cfg.priors.ctr, |p| p.ctr),
        cvr: li.priors.map_or(cfg.priors.cvr, |p| p.cvr),
        freq_cap: li.frequency_cap,
        countries: t.countries.iter().filter_map(|c| country_code(c)).collect(),
        device_mask: t
            .device_types
            .iter()
            .filter(|d| (1..=8).contains(*d))
            .fold(0, |m, d| m | (1 << d)),
        os,
        cat_allow,
        cat_block,
        dom_allow,
        dom_block,
        inventory: t.inventory,
        daypart,
        daypart_offset_ms: i64::from(t.daypart_utc_offset_minutes) * 60_000,
        deals: li.deals.ids.clone(),
        deals_only: li.deals.only,
        creatives,
        runtime: {
            let rt = registry.get_or_create(li.id, cfg, now_ms);
            rt.perf.set_priors(
                li.priors.map_or(cfg.priors.ctr, |p| p.ctr),
                li.priors.map_or(cfg.priors.cvr, |p| p.cvr),
            );
            rt
        },
    })
}

/// Country codes compare upper-case.
pub fn country_code(s: &str) -> Option<[u8; 3]> {
    let b = s.trim().as_bytes();
    if b.len() == 3 && b.iter().all(u8::is_ascii_alphabetic) {
        Some([
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_uppercase(),
            b[2].to_ascii_uppercase(),
        ])
    } else {
        None
    }
}

fn build_index(items: &[CompiledItem]) -> Index {
    let words = items.len().div_ceil(64);
    let zero = || vec![0u64; words].into_boxed_slice();
    let mut ix = Index {
        words,
        banner: HashMap::new(),
        video: zero(),
        audio: zero(),
        native: zero(),
        country: HashMap::new(),
        country_any: zero(),
        device: (0..9).map(|_| zero()).collect(),
        device_any: zero(),
    };
    for (i, item) in items.iter().enumerate() {
        for c in &item.creatives {
            match c.kind {
                MediaKind::Banner => set(ix.banner.entry((c.w, c.h)).or_insert_with(zero), i),
                MediaKind::Video => set(&mut ix.video, i),
                MediaKind::Audio => set(&mut ix.audio, i),
                MediaKind::Native => set(&mut ix.native, i),
            }
        }
        if item.countries.is_empty() {
            set(&mut ix.country_any, i);
        }
        for c in &item.countries {
            set(ix.country.entry(*c).or_insert_with(zero), i);
        }
        let devs = item.device_mask;
        if devs == 0 {
            set(&mut ix.device_any, i);
        }
        for d in 1..9 {
            if devs & (1 << d) != 0 {
                set(&mut ix.device[d], i);
            }
        }
    }
    ix
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lineitem::tests::banner_item;

    fn bit(bits: &[u64], i: usize) -> bool {
        bits[i / 64] & (1 << (i % 64)) != 0
    }

    #[test]
    fn the_index_files_each_line_item_under_its_sizes_countries_and_devices() {
        let mut a = banner_item();
        a.targeting.countries = vec!["usa".into(), "CAN".into()];
        let mut b = banner_item();
        b.creatives[0].format = CreativeFormat::Video {
            mimes: vec!["video/mp4".into()],
            duration_secs: 15,
        };
        b.targeting.device_types = vec![3];
        let cfg = BidderConfig::default();
        let (snap, report) = Snapshot::compile(&[a, b], &cfg, &Registry::default(), 1, 0);
        assert_eq!(report.active, 2);
        let ix = &snap.index;
        assert!(bit(&ix.banner[&(300, 250)], 0) && !bit(&ix.banner[&(300, 250)], 1));
        assert!(bit(&ix.video, 1) && !bit(&ix.video, 0));
        assert!(bit(&ix.country[b"USA"], 0) && bit(&ix.country[b"CAN"], 0));
        assert!(!bit(&ix.country_any, 0) && bit(&ix.country_any, 1));
        assert!(bit(&ix.device[3], 1) && bit(&ix.device_any, 0) && !bit(&ix.device_any, 1));
    }

    #[test]
    fn the_packed_items_hold_the_compiled_values_in_two_cache_lines() {
        assert_eq!(std::mem::size_of::<HotItem>(), 128);
        assert_eq!(std::mem::align_of::<HotItem>(), 64);
        let plain = banner_item();
        let mut gated = banner_item();
        gated.targeting.os = vec!["iOS".into()];
        gated.targeting.dayparts = vec![crate::lineitem::Daypart {
            days: vec![crate::lineitem::Weekday::Mon],
            start_hour: 9,
            end_hour: 17,
        }];
        gated.deals.ids = vec!["d1".into()];
        gated.deals.only = true;
        gated.bid_strategy = BidStrategy::FixedCpm {
            cpm: kiki_core::Money::from_micros(2_500_000, kiki_core::Currency::USD),
        };
        gated.max_cpm = Some(kiki_core::Money::from_micros(
            9_000_000,
            kiki_core::Currency::USD,
        ));
        let mut cpa = banner_item();
        cpa.bid_strategy = BidStrategy::TargetCpa {
            cpa: kiki_core::Money::from_micros(40_000_000, kiki_core::Currency::USD),
        };
        let cfg = BidderConfig::default();
        let (snap, _) = Snapshot::compile(&[plain, gated, cpa], &cfg, &Registry::default(), 1, 0);
        assert_eq!(snap.hot.len(), snap.items.len());
        for (h, c) in snap.hot.iter().zip(&snap.items) {
            assert_eq!((h.start_ms, h.end_ms, h.key), (c.start_ms, c.end_ms, c.key));
            assert_eq!(h.ltv_baseline_micros, c.ltv_baseline_micros);
            assert_eq!(
                (h.org, h.margin, h.inventory),
                (c.org, c.margin, c.inventory)
            );
            assert!(Arc::ptr_eq(&h.runtime, &c.runtime));
            assert_eq!(h.max_cpm_micros, c.max_cpm_micros.unwrap_or(i64::MAX));
            // The proposed CPM is the strategy's formula.
            let (p, ltv) = (0.0123, 87_000_000);
            let want = match c.strategy {
                CompiledStrategy::ValueBased { bid_share } => p * ltv as f64 * 1000.0 * bid_share,
                CompiledStrategy::TargetCpa { cpa_micros } => p * cpa_micros as f64 * 1000.0,
                CompiledStrategy::FixedCpm { cpm_micros } => cpm_micros as f64,
            };
            assert_eq!(h.proposed_cpm(p, ltv).to_bits(), want.to_bits());
        }
        assert_eq!(snap.hot[0].gates, 0);
        assert_eq!(
            snap.hot[1].gates,
            gate::DAYPART | gate::LISTS | gate::DEALS | gate::DEALS_ONLY
        );
        assert_eq!(snap.hot[1].strategy, StrategyKind::FixedCpm);
        assert_eq!(snap.hot[1].max_cpm_micros, 9_000_000);
        assert_eq!(snap.hot[2].strategy, StrategyKind::TargetCpa);
    }

    #[test]
    fn compilation_converts_money_and_rejects_what_it_cannot_convert() {
        let mut eur = banner_item();
        eur.budget.daily = kiki_core::Money::from_micros(1_000_000, kiki_core::Currency::EUR);
        let cfg = BidderConfig::default();
        let (snap, report) = Snapshot::compile(&[eur], &cfg, &Registry::default(), 1, 0);
        assert_eq!((snap.len(), report.rejected.len()), (0, 1));
        assert!(
            report.rejected[0].errors[0]
                .message
                .contains("No exchange rate")
        );
    }

    #[test]
    fn request_strings_are_matched_case_insensitively_and_domains_without_www() {
        let mut i = Interner::default();
        let id = i.intern("news.example");
        assert_eq!(i.lookup("NEWS.example"), Some(id));
        assert_eq!(i.lookup(norm_domain("www.news.example")), Some(id));
        assert_eq!(i.lookup(&"X".repeat(200)), None);
        assert_eq!(parent_category("IAB1-5"), Some("IAB1"));
        assert_eq!(parent_category("IAB1"), None);
        assert_eq!(country_code(" deu "), Some(*b"DEU"));
        assert_eq!(country_code("DE"), None);
    }

    #[test]
    fn runtimes_survive_recompilation_and_idle_ones_are_pruned() {
        let li = banner_item();
        let cfg = BidderConfig::default();
        let reg = Registry::default();
        let (s1, _) = Snapshot::compile(std::slice::from_ref(&li), &cfg, &reg, 1, 0);
        let (s2, _) = Snapshot::compile(std::slice::from_ref(&li), &cfg, &reg, 2, 10);
        assert!(Arc::ptr_eq(&s1.items[0].runtime, &s2.items[0].runtime));
        assert_eq!(reg.prune(|_| true, 100), 0);
        assert_eq!(reg.prune(|_| false, 100), 1);
        assert!(reg.is_empty());
    }
}
