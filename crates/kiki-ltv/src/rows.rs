//! Model input rows: validation with typed errors naming the offending rows,
//! and the collapse of identical (frequency, recency, T) rows into weighted
//! rows, which is what makes fitting millions of customers fast.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::CustomerSummary;
use crate::error::{LtvError, RowList};

/// One (frequency, recency, T) pattern shared by `weight` customers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RfmRow {
    pub frequency: f64,
    pub recency: f64,
    /// T: time since the first purchase (the number of opportunities n for BG/BB).
    pub age: f64,
    /// How many customers share the pattern.
    pub weight: f64,
}

impl RfmRow {
    pub fn new(frequency: f64, recency: f64, age: f64) -> Self {
        RfmRow {
            frequency,
            recency,
            age,
            weight: 1.0,
        }
    }
}

impl From<&CustomerSummary> for RfmRow {
    fn from(c: &CustomerSummary) -> Self {
        RfmRow::new(c.frequency, c.recency, c.age)
    }
}

/// Whether time is continuous (BG/NBD, Pareto/NBD) or counted in whole
/// opportunities (BG/BB); it changes which values are legal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeKind {
    Continuous,
    Discrete,
}

/// Checks every rule and reports the first one broken with all rows that
/// break it.
pub(crate) fn validate(
    rows: &[RfmRow],
    time: TimeKind,
    need_weights: bool,
) -> Result<(), LtvError> {
    if rows.is_empty() {
        return Err(LtvError::EmptyData);
    }
    // One cheap pass for the common case of clean data; the rule-by-rule
    // passes below run only to name what is wrong.
    let discrete = time == TimeKind::Discrete;
    let clean = rows.par_iter().all(|r| {
        let (f, rec, t) = (r.frequency, r.recency, r.age);
        f.is_finite()
            && rec.is_finite()
            && t.is_finite()
            && f >= 0.0
            && rec >= 0.0
            && t >= 0.0
            && (!need_weights || (r.weight.is_finite() && r.weight > 0.0))
            && f.fract() == 0.0
            && rec <= t
            && !(f == 0.0 && rec > 0.0)
            && (!discrete || (rec.fract() == 0.0 && t.fract() == 0.0 && f <= rec))
    });
    if clean {
        return Ok(());
    }
    type Field = (&'static str, fn(&RfmRow) -> f64);
    let fields: [Field; 3] = [
        ("frequency", |r| r.frequency),
        ("recency", |r| r.recency),
        ("T", |r| r.age),
    ];
    for (name, get) in fields {
        let bad = RowList::collect(rows.iter().map(|r| !get(r).is_finite()));
        if !bad.is_empty() {
            return Err(LtvError::NonFinite {
                field: name,
                rows: bad,
            });
        }
    }
    for (name, get) in fields {
        let bad = RowList::collect(rows.iter().map(|r| get(r) < 0.0));
        if !bad.is_empty() {
            return Err(LtvError::Negative {
                field: name,
                rows: bad,
            });
        }
    }
    if need_weights {
        let bad = RowList::collect(
            rows.iter()
                .map(|r| !(r.weight.is_finite() && r.weight > 0.0)),
        );
        if !bad.is_empty() {
            return Err(LtvError::InvalidWeight { rows: bad });
        }
    }
    let bad = RowList::collect(rows.iter().map(|r| r.frequency.fract() != 0.0));
    if !bad.is_empty() {
        return Err(LtvError::FractionalFrequency { rows: bad });
    }
    if time == TimeKind::Discrete {
        let bad = RowList::collect(
            rows.iter()
                .map(|r| r.recency.fract() != 0.0 || r.age.fract() != 0.0),
        );
        if !bad.is_empty() {
            return Err(LtvError::FractionalPeriods { rows: bad });
        }
    }
    let bad = RowList::collect(rows.iter().map(|r| r.recency > r.age));
    if !bad.is_empty() {
        return Err(LtvError::RecencyExceedsAge { rows: bad });
    }
    let bad = RowList::collect(rows.iter().map(|r| r.frequency == 0.0 && r.recency > 0.0));
    if !bad.is_empty() {
        return Err(LtvError::RecencyWithoutRepeat { rows: bad });
    }
    if time == TimeKind::Discrete {
        let bad = RowList::collect(rows.iter().map(|r| r.frequency > r.recency));
        if !bad.is_empty() {
            return Err(LtvError::FrequencyExceedsRecency { rows: bad });
        }
    }
    Ok(())
}

/// A multiply-rotate hasher for the float-bit keys of the collapse; the
/// default SipHash costs more than the rest of the collapse together.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits depending only on the low bits
        // of the input, and float keys of whole numbers have all-zero low
        // mantissa bits; the table indexes by low bits, so fold the high
        // bits down (the splitmix64 finaliser).
        let mut h = self.0;
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(26) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

pub(crate) type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

pub(crate) fn key(f: f64, r: f64, t: f64) -> (u64, u64, u64) {
    // +0.0 and −0.0 must land on the same key.
    (
        (f + 0.0).to_bits(),
        (r + 0.0).to_bits(),
        (t + 0.0).to_bits(),
    )
}

/// Unique rows in structure-of-arrays form (in order of first appearance),
/// with the distinct frequencies indexed so models can compute
/// per-frequency terms once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collapsed {
    pub x: Vec<f64>,
    pub tx: Vec<f64>,
    pub t: Vec<f64>,
    pub w: Vec<f64>,
    /// Distinct frequencies in order of first appearance.
    pub groups: Vec<f64>,
    /// For each row, its index in `groups`.
    pub group: Vec<u32>,
    /// Distinct ages T, and for each row the index of its T; likewise for
    /// recency. Real data are recorded in whole days, so these are short
    /// and per-evaluation logarithms can be taken once per value.
    pub t_values: Vec<f64>,
    pub t_index: Vec<u32>,
    pub tx_values: Vec<f64>,
    pub tx_index: Vec<u32>,
    pub total_weight: f64,
}

/// Distinct values of `v` (in first-seen order) and each element's index.
fn index_values(v: &[f64]) -> (Vec<f64>, Vec<u32>) {
    let mut map: KeyMap<u64, u32> = KeyMap::default();
    let mut values = Vec::new();
    let index = v
        .iter()
        .map(|x| {
            *map.entry((x + 0.0).to_bits()).or_insert_with(|| {
                values.push(*x);
                (values.len() - 1) as u32
            })
        })
        .collect();
    (values, index)
}

impl Collapsed {
    pub fn len(&self) -> usize {
        self.x.len()
    }
}

/// Bits per field of a packed (frequency, recency, T) key.
const PACK_BITS: u32 = 21;

/// Packs every row into one u64 when all values are whole multiples of
/// 1/scale below 2²¹ for scale 1 (days, counts) or 7 (weeks built from
/// days) — true of summaries built from dated orders. Each key then
/// identifies its values exactly, since v is recovered as key / scale.
fn packed_keys(rows: &[RfmRow]) -> Option<Vec<u64>> {
    let limit = f64::from(1u32 << PACK_BITS);
    [1.0, 7.0].into_iter().find_map(|scale: f64| {
        let field = |v: f64| -> Option<u64> {
            let k = (v * scale).round();
            (k >= 0.0 && k < limit && k / scale == v).then_some(k as u64)
        };
        rows.par_iter()
            .map(|r| {
                Some(
                    (field(r.frequency)? << (2 * PACK_BITS))
                        | (field(r.recency)? << PACK_BITS)
                        | field(r.age)?,
                )
            })
            .collect::<Option<Vec<u64>>>()
    })
}

/// The distinct (frequency, recency, T) patterns of `rows` with their
/// weights summed, and for each row the index of its pattern. With packed
/// keys this is a parallel sort (patterns come out ordered by frequency,
/// recency, T); otherwise a hash map (patterns in order of first appearance).
pub(crate) fn patterns(rows: &[RfmRow]) -> (Vec<RfmRow>, Vec<u32>) {
    let mut uniq: Vec<RfmRow> = Vec::new();
    let mut id = vec![0u32; rows.len()];
    if let Some(keys) = packed_keys(rows) {
        let mut order: Vec<(u64, u32)> = keys.into_iter().zip(0u32..).collect();
        order.par_sort_unstable_by_key(|&(k, _)| k);
        let mut last = None;
        for (k, i) in order {
            let r = &rows[i as usize];
            if last != Some(k) {
                last = Some(k);
                uniq.push(RfmRow { weight: 0.0, ..*r });
            }
            let slot = uniq.len() - 1;
            uniq[slot].weight += r.weight;
            id[i as usize] = slot as u32;
        }
        return (uniq, id);
    }
    let mut index: KeyMap<(u64, u64, u64), u32> =
        KeyMap::with_capacity_and_hasher(rows.len() / 2, Default::default());
    for (r, slot) in rows.iter().zip(id.iter_mut()) {
        *slot = match index.entry(key(r.frequency, r.recency, r.age)) {
            std::collections::hash_map::Entry::Occupied(e) => {
                uniq[*e.get() as usize].weight += r.weight;
                *e.get()
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(uniq.len() as u32);
                uniq.push(*r);
                (uniq.len() - 1) as u32
            }
        };
    }
    (uniq, id)
}

/// Merges identical rows, adding their weights.
pub(crate) fn collapse(rows: &[RfmRow]) -> Collapsed {
    let (uniq, _) = patterns(rows);
    let mut c = Collapsed {
        x: Vec::with_capacity(uniq.len()),
        tx: Vec::with_capacity(uniq.len()),
        t: Vec::with_capacity(uniq.len()),
        w: Vec::with_capacity(uniq.len()),
        ..Collapsed::default()
    };
    let mut group_of: KeyMap<u64, u32> = KeyMap::default();
    for r in &uniq {
        let g = *group_of
            .entry((r.frequency + 0.0).to_bits())
            .or_insert_with(|| {
                c.groups.push(r.frequency);
                (c.groups.len() - 1) as u32
            });
        c.group.push(g);
        c.x.push(r.frequency);
        c.tx.push(r.recency);
        c.t.push(r.age);
        c.w.push(r.weight);
        c.total_weight += r.weight;
    }
    (c.t_values, c.t_index) = index_values(&c.t);
    (c.tx_values, c.tx_index) = index_values(&c.tx);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[(f64, f64, f64)]) -> Vec<RfmRow> {
        v.iter().map(|&(f, r, t)| RfmRow::new(f, r, t)).collect()
    }

    #[test]
    fn validation_names_the_rule_and_the_rows_in_a_fixed_order() {
        type Check = fn(&LtvError) -> bool;
        type Case = (Vec<(f64, f64, f64)>, TimeKind, Check);
        let cases: Vec<Case> = vec![
            (
                vec![(1.0, f64::NAN, 3.0), (0.0, 0.0, 1.0)],
                TimeKind::Continuous,
                |e| matches!(e, LtvError::NonFinite { field: "recency", rows } if rows.rows == vec![0]),
            ),
            (
                vec![(0.0, 0.0, 1.0), (1.0, 1.0, -3.0)],
                TimeKind::Continuous,
                |e| matches!(e, LtvError::Negative { field: "T", rows } if rows.rows == vec![1]),
            ),
            (vec![(1.5, 1.0, 3.0)], TimeKind::Continuous, |e| {
                matches!(e, LtvError::FractionalFrequency { .. })
            }),
            (
                vec![(1.0, 4.0, 3.0), (0.0, 0.0, 1.0), (2.0, 5.0, 3.0)],
                TimeKind::Continuous,
                |e| matches!(e, LtvError::RecencyExceedsAge { rows } if rows.rows == vec![0, 2]),
            ),
            (vec![(0.0, 1.0, 3.0)], TimeKind::Continuous, |e| {
                matches!(e, LtvError::RecencyWithoutRepeat { .. })
            }),
            (vec![(1.0, 1.5, 3.0)], TimeKind::Discrete, |e| {
                matches!(e, LtvError::FractionalPeriods { .. })
            }),
            (vec![(3.0, 2.0, 6.0)], TimeKind::Discrete, |e| {
                matches!(e, LtvError::FrequencyExceedsRecency { .. })
            }),
            (vec![], TimeKind::Continuous, |e| {
                matches!(e, LtvError::EmptyData)
            }),
        ];
        for (data, kind, check) in cases {
            let err = validate(&rows(&data), kind, false).expect_err("bad data must be rejected");
            assert!(check(&err), "{data:?}: {err:?}");
        }
        assert!(validate(&rows(&[(2.0, 1.5, 3.0)]), TimeKind::Continuous, false).is_ok());
    }

    #[test]
    fn packed_and_hashed_pattern_search_agree() {
        // Whole days take the packed path, thirds of a day the hash path.
        // Days divided by 7 is how summaries in weeks are built.
        for per in [1.0, 7.0, 3.0] {
            let data: Vec<RfmRow> = (0..500)
                .map(|i| {
                    let x = f64::from(i % 4);
                    let t = f64::from(10 + i % 7) / per;
                    let tx = if x == 0.0 {
                        0.0
                    } else {
                        f64::from(i % 5) / per
                    };
                    RfmRow::new(x, tx, t)
                })
                .collect();
            let (uniq, id) = patterns(&data);
            assert_eq!(packed_keys(&data).is_some(), per != 3.0, "1/{per} of a day");
            for (r, i) in data.iter().zip(&id) {
                let u = &uniq[*i as usize];
                assert_eq!(
                    (u.frequency, u.recency, u.age),
                    (r.frequency, r.recency, r.age)
                );
            }
            let total: f64 = uniq.iter().map(|u| u.weight).sum();
            assert_eq!(total, 500.0);
            let mut keys: Vec<_> = uniq
                .iter()
                .map(|u| key(u.frequency, u.recency, u.age))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), uniq.len(), "patterns are distinct");
        }
    }

    #[test]
    fn bad_weights_are_rejected_when_weights_matter() {
        let mut r = rows(&[(1.0, 1.0, 2.0)]);
        r[0].weight = 0.0;
        assert!(matches!(
            validate(&r, TimeKind::Continuous, true),
            Err(LtvError::InvalidWeight { .. })
        ));
    }

    #[test]
    fn identical_rows_collapse_into_one_weighted_row_per_pattern() {
        let mut data = rows(&[
            (2.0, 3.0, 5.0),
            (0.0, 0.0, 5.0),
            (2.0, 3.0, 5.0),
            (0.0, -0.0, 5.0),
        ]);
        data[2].weight = 3.0;
        let c = collapse(&data);
        assert_eq!(c.len(), 2);
        let mut by_x: Vec<(f64, f64)> = c.x.iter().copied().zip(c.w.iter().copied()).collect();
        by_x.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(by_x, vec![(0.0, 2.0), (2.0, 4.0)]);
        for (i, g) in c.group.iter().enumerate() {
            assert_eq!(c.groups[*g as usize], c.x[i]);
        }
        assert_eq!(c.total_weight, 6.0);
        assert_eq!(c.t_values, vec![5.0]);
        assert_eq!(c.t_index, vec![0, 0]);
        assert_eq!(
            c.tx_index
                .iter()
                .map(|&i| c.tx_values[i as usize])
                .collect::<Vec<_>>(),
            c.tx
        );
    }
}
