//! A compact, in-memory log of transactions and the summaries built from it.
//!
//! [`TransactionLog`] keeps what the summaries need of each order and no
//! more: the customer as an index into the list of customer ids (each id is
//! stored once), the UTC day and the amount — 16 bytes a transaction — plus
//! each customer's acquisition segment and platform. [`summarize`],
//! [`summarize_periods`] and [`calibration_holdout_split`] in
//! [`crate::data`] are this log's methods applied to a slice of
//! [`Transaction`]s; the CSV importer ([`crate::read_transaction_log`]) fills
//! a log directly, without a [`Transaction`] per row.
//!
//! [`summarize`]: crate::data::summarize
//! [`summarize_periods`]: crate::data::summarize_periods
//! [`calibration_holdout_split`]: crate::data::calibration_holdout_split

use std::borrow::Cow;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use time::{Date, OffsetDateTime};

use crate::data::{
    CalibrationHoldout, CustomerSummary, TimeUnit, Transaction, daily_totals, day_number,
    mean_micros, summary_from_days,
};
use crate::error::LtvError;

/// No label (segment or platform).
const NO_LABEL: u32 = u32::MAX;

/// One transaction: customer index, UTC day (Julian day number), amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogRow {
    pub(crate) customer: u32,
    pub(crate) day: i32,
    pub(crate) amount_micros: i64,
}

/// The earliest order carrying a label: its day and the label's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label {
    day: i32,
    label: u32,
}

const NONE: Label = Label {
    day: i32::MAX,
    label: NO_LABEL,
};

/// A customer's acquisition segment and platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Acquisition {
    segment: Label,
    platform: Label,
}

const NO_ACQUISITION: Acquisition = Acquisition {
    segment: NONE,
    platform: NONE,
};

/// Transactions reduced to what the RFM summaries use. Build one with
/// [`TransactionLog::from_transactions`] or [`crate::read_transaction_log`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransactionLog {
    /// Customer ids back to back, in the order customers first appear.
    id_text: String,
    /// End of each id in `id_text`.
    id_ends: Vec<usize>,
    rows: Vec<LogRow>,
    labels: Vec<String>,
    /// Per customer; shorter than the id list when the last customers carry
    /// no label (empty when no transaction has one).
    acquisition: Vec<Acquisition>,
    first_at: Option<OffsetDateTime>,
    last_at: Option<OffsetDateTime>,
}

impl TransactionLog {
    /// The log of these transactions, in their order.
    pub fn from_transactions(transactions: &[Transaction]) -> TransactionLog {
        let mut b = LogBuilder::default();
        for t in transactions {
            b.push(
                Cow::Borrowed(t.customer_id.as_str()),
                When::At(t.at),
                t.amount_micros,
                t.segment.as_deref().map(Cow::Borrowed),
                t.platform.as_deref().map(Cow::Borrowed),
            );
        }
        b.finish()
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Number of distinct customers.
    pub fn customers(&self) -> usize {
        self.id_ends.len()
    }

    /// The earliest transaction time.
    pub fn first_at(&self) -> Option<OffsetDateTime> {
        self.first_at
    }

    /// The latest transaction time.
    pub fn last_at(&self) -> Option<OffsetDateTime> {
        self.last_at
    }

    fn id(&self, customer: u32) -> &str {
        let c = customer as usize;
        let start = if c == 0 { 0 } else { self.id_ends[c - 1] };
        &self.id_text[start..self.id_ends[c]]
    }

    fn label(&self, l: Label, end_day: i64) -> Option<&str> {
        (l.label != NO_LABEL && i64::from(l.day) <= end_day)
            .then(|| self.labels[l.label as usize].as_str())
    }

    /// The customer's acquisition segment and platform among orders on or
    /// before `end_day`.
    fn acquisition_of(&self, customer: u32, end_day: i64) -> (Option<&str>, Option<&str>) {
        let a = self
            .acquisition
            .get(customer as usize)
            .copied()
            .unwrap_or(NO_ACQUISITION);
        (
            self.label(a.segment, end_day),
            self.label(a.platform, end_day),
        )
    }

    /// The transactions on or before `end_day` grouped by customer: each
    /// customer's (day, amount) pairs in input order, and the customers in the
    /// order of their first such transaction.
    fn group(&self, end_day: i64) -> Grouped {
        let n = self.customers();
        let mut starts = vec![0u32; n + 1];
        let mut late = false;
        for r in &self.rows {
            if i64::from(r.day) <= end_day {
                starts[r.customer as usize + 1] += 1;
            } else {
                late = true;
            }
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut next: Vec<u32> = starts[..n].to_vec();
        let mut days = vec![(0i64, 0i64); starts[n] as usize];
        for r in &self.rows {
            if i64::from(r.day) <= end_day {
                let at = &mut next[r.customer as usize];
                days[*at as usize] = (i64::from(r.day), r.amount_micros);
                *at += 1;
            }
        }
        drop(next);
        let order: Vec<u32> = if late {
            // Customers appear in the order of their first transaction that
            // is kept.
            let mut first = vec![u32::MAX; n];
            for (i, r) in self.rows.iter().enumerate() {
                let f = &mut first[r.customer as usize];
                if i64::from(r.day) <= end_day && *f == u32::MAX {
                    *f = i as u32;
                }
            }
            let mut order: Vec<u32> = (0..n as u32)
                .filter(|c| first[*c as usize] != u32::MAX)
                .collect();
            order.sort_unstable_by_key(|c| first[*c as usize]);
            order
        } else {
            (0..n as u32).collect()
        };
        Grouped {
            starts,
            days,
            order,
        }
    }

    /// Runs `f` on each customer with a transaction on or before `end_day`
    /// (their purchase days: orders summed per day, refunds applied), in
    /// parallel; results in the order customers first appear.
    fn per_customer<T: Send>(
        &self,
        end_day: i64,
        f: impl Fn(u32, &[(i64, i64)]) -> Option<T> + Sync,
    ) -> Vec<T> {
        let g = self.group(end_day);
        g.order
            .par_iter()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(scratch, totals): &mut (Vec<DayAmount>, Vec<DayAmount>), &c| {
                    let (s, e) = (
                        g.starts[c as usize] as usize,
                        g.starts[c as usize + 1] as usize,
                    );
                    scratch.clear();
                    scratch.extend_from_slice(&g.days[s..e]);
                    daily_totals(scratch, totals);
                    f(c, totals)
                },
            )
            .filter_map(|v| v)
            .collect()
    }

    /// The RFM summary of every customer; see [`crate::data::summarize`].
    pub fn summarize(
        &self,
        observation_end: OffsetDateTime,
        unit: TimeUnit,
    ) -> Vec<CustomerSummary> {
        let end_day = day_number(observation_end);
        self.per_customer(end_day, |c, totals| {
            // A customer whose every order was refunded made no purchase.
            if totals.is_empty() {
                return None;
            }
            let (segment, platform) = self.acquisition_of(c, end_day);
            Some(summary_from_days(
                self.id(c),
                segment,
                platform,
                totals,
                end_day,
                unit,
            ))
        })
    }

    /// The whole-period summary BG/BB needs; see
    /// [`crate::data::summarize_periods`].
    pub fn summarize_periods(
        &self,
        observation_end: OffsetDateTime,
        period: TimeUnit,
    ) -> Vec<CustomerSummary> {
        let end_day = day_number(observation_end);
        let len = period.whole_days();
        self.per_customer(end_day, |c, totals| {
            let first = totals.first()?.0;
            let mut periods: Vec<(i64, i64)> = Vec::with_capacity(totals.len());
            for &(d, amount) in totals {
                let k = (d - first) / len;
                match periods.last_mut() {
                    Some((last, total)) if *last == k => *total = total.saturating_add(amount),
                    _ => periods.push((k, amount)),
                }
            }
            let last = periods.last().map_or(0, |(k, _)| *k);
            let (segment, platform) = self.acquisition_of(c, end_day);
            Some(CustomerSummary {
                customer_id: self.id(c).to_owned(),
                frequency: (periods.len().saturating_sub(1)) as f64,
                recency: last as f64,
                age: ((end_day - first) / len) as f64,
                monetary_micros: mean_micros(periods.iter().skip(1).map(|(_, a)| *a)),
                segment: segment.map(str::to_owned),
                platform: platform.map(str::to_owned),
            })
        })
    }

    /// Calibration summaries and holdout counts; see
    /// [`crate::data::calibration_holdout_split`].
    pub fn calibration_holdout_split(
        &self,
        calibration_end: OffsetDateTime,
        observation_end: OffsetDateTime,
        unit: TimeUnit,
    ) -> Result<Vec<CalibrationHoldout>, LtvError> {
        let cal_day = day_number(calibration_end);
        let end_day = day_number(observation_end);
        if cal_day >= end_day {
            return Err(LtvError::InvalidOption {
                name: "calibration_end",
                message:
                    "the calibration period must end at least one day before the observation end."
                        .to_owned(),
            });
        }
        let duration = (end_day - cal_day) as f64 / unit.days();
        Ok(self.per_customer(end_day, |c, totals| {
            let split = totals.partition_point(|(d, _)| *d <= cal_day);
            if split == 0 {
                return None;
            }
            let (cal, hold) = totals.split_at(split);
            // The acquisition is read over the whole observation window.
            let (segment, platform) = self.acquisition_of(c, end_day);
            Some(CalibrationHoldout {
                calibration: summary_from_days(self.id(c), segment, platform, cal, cal_day, unit),
                holdout_frequency: hold.len() as f64,
                holdout_monetary_micros: mean_micros(hold.iter().map(|(_, a)| *a)),
                holdout_duration: duration,
            })
        }))
    }
}

/// A (day, amount) pair.
type DayAmount = (i64, i64);

struct Grouped {
    /// `days[starts[c]..starts[c + 1]]` are customer c's transactions.
    starts: Vec<u32>,
    days: Vec<(i64, i64)>,
    order: Vec<u32>,
}

/// When a transaction happened: a whole day (midnight UTC) or an instant.
#[derive(Debug, Clone, Copy)]
pub(crate) enum When {
    Day(i32),
    At(OffsetDateTime),
}

/// Builds a [`TransactionLog`], borrowing ids and labels from the input
/// until [`LogBuilder::finish`] copies them.
/// A customer id as a hash key: ids of up to 15 bytes are held in the key
/// itself (compared and hashed without reading the input again), longer
/// ones by reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum IdKey<'a> {
    /// The bytes, zero-padded, and the length in the last byte.
    Short([u8; 16]),
    Long(Cow<'a, str>),
}

impl<'a> IdKey<'a> {
    fn of(id: &Cow<'a, str>) -> IdKey<'a> {
        let b = id.as_bytes();
        if b.len() < 16 {
            let mut k = [0u8; 16];
            k[..b.len()].copy_from_slice(b);
            k[15] = b.len() as u8;
            IdKey::Short(k)
        } else {
            IdKey::Long(id.clone())
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct LogBuilder<'a> {
    index: FxHashMap<IdKey<'a>, u32>,
    ids: Vec<Cow<'a, str>>,
    label_index: FxHashMap<Cow<'a, str>, u32>,
    labels: Vec<Cow<'a, str>>,
    acquisition: Vec<Acquisition>,
    rows: Vec<LogRow>,
    first_at: Option<OffsetDateTime>,
    last_at: Option<OffsetDateTime>,
    first_day: Option<i32>,
    last_day: Option<i32>,
}

impl<'a> LogBuilder<'a> {
    fn customer(&mut self, id: Cow<'a, str>) -> u32 {
        let next = self.ids.len() as u32;
        match self.index.entry(IdKey::of(&id)) {
            std::collections::hash_map::Entry::Occupied(e) => *e.get(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(next);
                self.ids.push(id);
                next
            }
        }
    }

    fn label(&mut self, text: Cow<'a, str>) -> u32 {
        let next = self.labels.len() as u32;
        let labels = &mut self.labels;
        *self.label_index.entry(text).or_insert_with_key(|k| {
            labels.push(k.clone());
            next
        })
    }

    fn acquire(&mut self, customer: u32, day: i32, segment: u32, platform: u32) {
        let c = customer as usize;
        if self.acquisition.len() <= c {
            self.acquisition.resize(c + 1, NO_ACQUISITION);
        }
        let a = &mut self.acquisition[c];
        // The earliest order that carries one; the first of a day.
        if segment != NO_LABEL && day < a.segment.day {
            a.segment = Label {
                day,
                label: segment,
            };
        }
        if platform != NO_LABEL && day < a.platform.day {
            a.platform = Label {
                day,
                label: platform,
            };
        }
    }

    /// Adds one transaction. Labels of refunds (negative amounts) are
    /// ignored: a refund says nothing about how the customer was acquired.
    pub(crate) fn push(
        &mut self,
        customer_id: Cow<'a, str>,
        when: When,
        amount_micros: i64,
        segment: Option<Cow<'a, str>>,
        platform: Option<Cow<'a, str>>,
    ) {
        let customer = self.customer(customer_id);
        let day = match when {
            When::Day(d) => {
                self.first_day = Some(self.first_day.map_or(d, |f| f.min(d)));
                self.last_day = Some(self.last_day.map_or(d, |l| l.max(d)));
                d
            }
            When::At(at) => {
                if self.first_at.is_none_or(|f| at < f) {
                    self.first_at = Some(at);
                }
                if self.last_at.is_none_or(|l| at >= l) {
                    self.last_at = Some(at);
                }
                day_number(at) as i32
            }
        };
        self.rows.push(LogRow {
            customer,
            day,
            amount_micros,
        });
        if amount_micros >= 0 && (segment.is_some() || platform.is_some()) {
            let s = segment.map_or(NO_LABEL, |s| self.label(s));
            let p = platform.map_or(NO_LABEL, |p| self.label(p));
            self.acquire(customer, day, s, p);
        }
    }

    pub(crate) fn finish(self) -> TransactionLog {
        let (first_at, last_at) =
            merge_days(self.first_at, self.last_at, self.first_day, self.last_day);
        drop(self.index);
        drop(self.label_index);
        let mut id_text = String::with_capacity(self.ids.iter().map(|s| s.len()).sum());
        let mut id_ends = Vec::with_capacity(self.ids.len());
        for id in &self.ids {
            id_text.push_str(id);
            id_ends.push(id_text.len());
        }
        TransactionLog {
            id_text,
            id_ends,
            rows: self.rows,
            labels: self.labels.into_iter().map(Cow::into_owned).collect(),
            acquisition: self.acquisition,
            first_at,
            last_at,
        }
    }
}

/// Builds a [`TransactionLog`] one transaction at a time, for rows that
/// arrive in pieces (a database read page by page): the transactions are not
/// kept, only the log's 16 bytes of each and every customer id once. Pushing
/// the same transactions in the same order gives the log
/// [`TransactionLog::from_transactions`] gives.
#[derive(Debug, Default)]
pub struct TransactionLogBuilder {
    inner: LogBuilder<'static>,
}

impl TransactionLogBuilder {
    pub fn new() -> TransactionLogBuilder {
        TransactionLogBuilder::default()
    }

    /// Adds one transaction (its strings are moved in, or dropped when the
    /// customer or label is known already).
    pub fn push(&mut self, t: Transaction) {
        self.inner.push(
            Cow::Owned(t.customer_id),
            When::At(t.at),
            t.amount_micros,
            t.segment.map(Cow::Owned),
            t.platform.map(Cow::Owned),
        );
    }

    /// Transactions pushed so far.
    pub fn len(&self) -> usize {
        self.inner.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.rows.is_empty()
    }

    pub fn finish(self) -> TransactionLog {
        self.inner.finish()
    }
}

/// Rows of one piece of a file whose customer ids are not interned yet
/// (see [`TransactionLog::from_raw_chunks`]).
#[derive(Debug, Default)]
pub(crate) struct RawChunk<'a> {
    /// The customer field is filled in by the interning.
    pub(crate) rows: Vec<LogRow>,
    /// Each row's customer id.
    pub(crate) ids: Vec<&'a str>,
    /// The rows of each hash group of ids, in row order.
    pub(crate) members: Vec<Vec<u32>>,
    /// Rows with a segment or platform: (row, segment, platform).
    pub(crate) labels: Vec<(u32, Option<&'a str>, Option<&'a str>)>,
    pub(crate) first_day: Option<i32>,
    pub(crate) last_day: Option<i32>,
    pub(crate) first_at: Option<OffsetDateTime>,
    pub(crate) last_at: Option<OffsetDateTime>,
}

/// Customer ids are interned in this many groups by hash, each small
/// enough for its table to stay in cache.
const GROUPS: usize = 256;

/// The group of an id hash: bits the hash table uses neither for its slot
/// (low bits) nor for its tags (top bits).
fn group_of(hash: u64) -> usize {
    ((hash >> 32) as usize) & (GROUPS - 1)
}

impl<'a> RawChunk<'a> {
    /// Adds a row.
    pub(crate) fn push(
        &mut self,
        id: &'a str,
        when: When,
        amount_micros: i64,
        segment: Option<&'a str>,
        platform: Option<&'a str>,
    ) {
        let day = match when {
            When::Day(d) => {
                self.first_day = Some(self.first_day.map_or(d, |f| f.min(d)));
                self.last_day = Some(self.last_day.map_or(d, |l| l.max(d)));
                d
            }
            When::At(at) => {
                if self.first_at.is_none_or(|f| at < f) {
                    self.first_at = Some(at);
                }
                if self.last_at.is_none_or(|l| at >= l) {
                    self.last_at = Some(at);
                }
                day_number(at) as i32
            }
        };
        if amount_micros >= 0 && (segment.is_some() || platform.is_some()) {
            self.labels
                .push((self.rows.len() as u32, segment, platform));
        }
        self.rows.push(LogRow {
            customer: 0,
            day,
            amount_micros,
        });
        if self.members.is_empty() {
            self.members = vec![Vec::new(); GROUPS];
        }
        self.members[group_of(id_hash(id))].push(self.ids.len() as u32);
        self.ids.push(id);
    }
}

/// The hash customer ids are grouped and interned by.
pub(crate) fn id_hash(id: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(id)
}

impl TransactionLog {
    /// The log of consecutive pieces of a file. Ids are interned per hash
    /// group in parallel (each group's table small enough to stay in cache,
    /// where one table for a million customers would miss it on nearly
    /// every row); customers are then numbered in the order they first
    /// appear, as [`TransactionLog::from_transactions`] numbers them.
    pub(crate) fn from_raw_chunks(mut chunks: Vec<RawChunk<'_>>) -> TransactionLog {
        // Each chunk's rows of each group, in row order.
        let members: Vec<Vec<Vec<u32>>> = chunks
            .iter_mut()
            .map(|c| {
                let mut m = std::mem::take(&mut c.members);
                m.resize(GROUPS, Vec::new());
                m
            })
            .collect();
        let offsets: Vec<u64> = chunks
            .iter()
            .scan(0u64, |at, c| {
                let start = *at;
                *at += c.rows.len() as u64;
                Some(start)
            })
            .collect();
        // Per group: its distinct ids, the first row of each (file order),
        // and each member row's local customer.
        struct Group<'a> {
            ids: Vec<&'a str>,
            first: Vec<u64>,
            local: Vec<u32>,
        }
        let groups: Vec<Group<'_>> = (0..GROUPS)
            .into_par_iter()
            .map(|g| {
                let mut index: FxHashMap<&str, u32> = FxHashMap::default();
                let mut out = Group {
                    ids: Vec::new(),
                    first: Vec::new(),
                    local: Vec::new(),
                };
                for (c, chunk) in chunks.iter().enumerate() {
                    for &i in &members[c][g] {
                        let id = chunk.ids[i as usize];
                        let next = out.ids.len() as u32;
                        let local = *index.entry(id).or_insert_with(|| {
                            out.ids.push(id);
                            out.first.push(offsets[c] + u64::from(i));
                            next
                        });
                        out.local.push(local);
                    }
                }
                out
            })
            .collect();
        // Customers numbered by their first row.
        let mut order: Vec<(u64, u32, u32)> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, grp)| {
                grp.first
                    .iter()
                    .enumerate()
                    .map(move |(l, f)| (*f, g as u32, l as u32))
            })
            .collect();
        order.par_sort_unstable_by_key(|o| o.0);
        let mut global: Vec<Vec<u32>> = groups.iter().map(|g| vec![0; g.ids.len()]).collect();
        let mut id_text = String::with_capacity(
            groups
                .iter()
                .map(|g| g.ids.iter().map(|s| s.len()).sum::<usize>())
                .sum(),
        );
        let mut id_ends = Vec::with_capacity(order.len());
        for (n, &(_, g, l)) in order.iter().enumerate() {
            global[g as usize][l as usize] = n as u32;
            id_text.push_str(groups[g as usize].ids[l as usize]);
            id_ends.push(id_text.len());
        }
        drop(order);
        // Each row's customer: walk each group's members in the same order.
        let mut cursor = vec![0usize; GROUPS];
        for (c, chunk) in chunks.iter_mut().enumerate() {
            for (g, rows) in members[c].iter().enumerate() {
                let grp = &groups[g];
                let at = &mut cursor[g];
                for &i in rows {
                    chunk.rows[i as usize].customer = global[g][grp.local[*at] as usize];
                    *at += 1;
                }
            }
        }
        drop(members);
        // Acquisition labels, in file order.
        let mut b = LogBuilder::default();
        let mut acquisition: Vec<Acquisition> = Vec::new();
        for chunk in &chunks {
            for &(i, segment, platform) in &chunk.labels {
                let r = chunk.rows[i as usize];
                let s = segment.map_or(NO_LABEL, |s| b.label(Cow::Borrowed(s)));
                let p = platform.map_or(NO_LABEL, |p| b.label(Cow::Borrowed(p)));
                b.acquire(r.customer, r.day, s, p);
            }
        }
        std::mem::swap(&mut acquisition, &mut b.acquisition);
        let labels: Vec<String> = b.labels.into_iter().map(Cow::into_owned).collect();
        let mut first_at: Option<OffsetDateTime> = None;
        let mut last_at: Option<OffsetDateTime> = None;
        let mut first_day: Option<i32> = None;
        let mut last_day: Option<i32> = None;
        for c in &chunks {
            if let Some(at) = c.first_at
                && first_at.is_none_or(|f| at < f)
            {
                first_at = Some(at);
            }
            if let Some(at) = c.last_at
                && last_at.is_none_or(|l| at >= l)
            {
                last_at = Some(at);
            }
            if let Some(d) = c.first_day {
                first_day = Some(first_day.map_or(d, |f| f.min(d)));
            }
            if let Some(d) = c.last_day {
                last_day = Some(last_day.map_or(d, |l| l.max(d)));
            }
        }
        let (first_at, last_at) = merge_days(first_at, last_at, first_day, last_day);
        let total: usize = chunks.iter().map(|c| c.rows.len()).sum();
        let mut rows = Vec::with_capacity(total);
        for c in chunks {
            rows.extend_from_slice(&c.rows);
        }
        TransactionLog {
            id_text,
            id_ends,
            rows,
            labels,
            acquisition,
            first_at,
            last_at,
        }
    }
}

/// The first and last transaction times from instants and whole days.
fn merge_days(
    mut first_at: Option<OffsetDateTime>,
    mut last_at: Option<OffsetDateTime>,
    first_day: Option<i32>,
    last_day: Option<i32>,
) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
    let midnight = |d: i32| {
        Date::from_julian_day(d)
            .ok()
            .map(|d| d.midnight().assume_utc())
    };
    if let Some(d) = first_day.and_then(midnight)
        && first_at.is_none_or(|f| d < f)
    {
        first_at = Some(d);
    }
    if let Some(d) = last_day.and_then(midnight)
        && last_at.is_none_or(|l| d > l)
    {
        last_at = Some(d);
    }
    (first_at, last_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn tx(id: &str, at: OffsetDateTime, amount: i64, platform: Option<&str>) -> Transaction {
        Transaction {
            customer_id: id.to_owned(),
            at,
            amount_micros: amount,
            segment: None,
            platform: platform.map(str::to_owned),
        }
    }

    #[test]
    fn a_log_built_one_transaction_at_a_time_equals_the_log_built_at_once() {
        let txs = vec![
            tx("a", datetime!(2024-01-03 10:00 UTC), 5, None),
            tx("b", datetime!(2024-01-02 10:00 UTC), 7, Some("meta")),
            tx("a", datetime!(2024-01-01 10:00 UTC), 1, Some("google")),
            tx(
                "a-customer-with-a-long-id",
                datetime!(2024-01-04 10:00 UTC),
                2,
                None,
            ),
            tx(
                "a-customer-with-a-long-id",
                datetime!(2024-01-09 10:00 UTC),
                4,
                Some("meta"),
            ),
            tx("d", datetime!(2024-01-01 00:00 UTC), -1, Some("meta")),
        ];
        let mut b = TransactionLogBuilder::new();
        assert!(b.is_empty());
        for t in &txs {
            b.push(t.clone());
        }
        assert_eq!(b.len(), txs.len());
        assert_eq!(b.finish(), TransactionLog::from_transactions(&txs));
    }

    #[test]
    fn a_log_built_from_pieces_equals_the_log_built_at_once() {
        let txs = vec![
            tx("a", datetime!(2024-01-03 10:00 UTC), 5, None),
            tx("b", datetime!(2024-01-02 10:00 UTC), 7, Some("meta")),
            tx("a", datetime!(2024-01-01 10:00 UTC), 1, Some("google")),
            tx("c", datetime!(2024-01-05 10:00 UTC), 2, None),
            tx("b", datetime!(2024-01-02 12:00 UTC), 3, Some("tiktok")),
            tx("a", datetime!(2024-01-01 11:00 UTC), 1, Some("meta")),
            tx("d", datetime!(2024-01-01 00:00 UTC), -1, Some("meta")),
        ];
        let whole = TransactionLog::from_transactions(&txs);
        fn chunk(part: &[Transaction]) -> RawChunk<'_> {
            let mut c = RawChunk::default();
            for t in part {
                let when = if t.at.time() == time::Time::MIDNIGHT {
                    When::Day(day_number(t.at) as i32)
                } else {
                    When::At(t.at)
                };
                c.push(
                    &t.customer_id,
                    when,
                    t.amount_micros,
                    None,
                    t.platform.as_deref(),
                );
            }
            c
        }
        let end = datetime!(2024-02-01 00:00 UTC);
        for cut in 0..=txs.len() {
            for cut2 in cut..=txs.len() {
                let parts = TransactionLog::from_raw_chunks(vec![
                    chunk(&txs[..cut]),
                    chunk(&txs[cut..cut2]),
                    chunk(&txs[cut2..]),
                ]);
                assert_eq!(parts, whole, "cut at {cut}, {cut2}");
                assert_eq!(
                    parts.summarize(end, TimeUnit::Days),
                    whole.summarize(end, TimeUnit::Days)
                );
            }
        }
        let s = whole.summarize(end, TimeUnit::Days);
        let platforms: Vec<Option<&str>> = s.iter().map(|c| c.platform.as_deref()).collect();
        assert_eq!(platforms, [Some("google"), Some("meta"), None]);
    }

    #[test]
    fn a_label_dated_after_the_observation_end_is_not_the_acquisition() {
        let txs = vec![
            tx("a", datetime!(2024-01-01 10:00 UTC), 5, None),
            tx("a", datetime!(2024-03-01 10:00 UTC), 5, Some("meta")),
        ];
        let log = TransactionLog::from_transactions(&txs);
        let s = log.summarize(datetime!(2024-02-01 00:00 UTC), TimeUnit::Days);
        assert_eq!(s[0].platform, None);
        let s = log.summarize(datetime!(2024-04-01 00:00 UTC), TimeUnit::Days);
        assert_eq!(s[0].platform.as_deref(), Some("meta"));
    }
}
