//! Model input rows: validation with typed errors naming the offending rows,
//! and the collapse of identical (frequency, recency, T) rows into weighted
//! rows, which is what makes fitting millions of customers fast.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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
pub(crate) fn validate(rows: &[RfmRow], time: TimeKind, need_weights: bool) -> Result<(), LtvError> {
    if rows.is_empty() {
        return Err(LtvError::EmptyData);
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
            return Err(LtvError::NonFinite { field: name, rows: bad });
        }
    }
    for (name, get) in fields {
        let bad = RowList::collect(rows.iter().map(|r| get(r) < 0.0));
        if !bad.is_empty() {
            return Err(LtvError::Negative { field: name, rows: bad });
        }
    }
    if need_weights {
        let bad = RowList::collect(rows.iter().map(|r| !(r.weight.is_finite() && r.weight > 0.0)));
        if !bad.is_empty() {
            return Err(LtvError::InvalidWeight { rows: bad });
        }
    }
    let bad = RowList::collect(rows.iter().map(|r| r.frequency.fract() != 0.0));
    if !bad.is_empty() {
        return Err(LtvError::FractionalFrequency { rows: bad });
    }
    if time == TimeKind::Discrete {
        let bad = RowList::collect(rows.iter().map(|r| r.recency.fract() != 0.0 || r.age.fract() != 0.0));
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
        self.0
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
    ((f + 0.0).to_bits(), (r + 0.0).to_bits(), (t + 0.0).to_bits())
}

/// Unique rows in structure-of-arrays form, sorted by frequency so models
/// can compute per-frequency terms once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collapsed {
    pub x: Vec<f64>,
    pub tx: Vec<f64>,
    pub t: Vec<f64>,
    pub w: Vec<f64>,
    /// Distinct frequencies in increasing order.
    pub groups: Vec<f64>,
    /// For each row, its index in `groups`.
    pub group: Vec<u32>,
    pub total_weight: f64,
}

impl Collapsed {
    pub fn len(&self) -> usize {
        self.x.len()
    }
}

/// Merges identical rows, adding their weights.
pub(crate) fn collapse(rows: &[RfmRow]) -> Collapsed {
    let mut index: KeyMap<(u64, u64, u64), usize> = KeyMap::default();
    let mut uniq: Vec<RfmRow> = Vec::new();
    for r in rows {
        match index.entry(key(r.frequency, r.recency, r.age)) {
            std::collections::hash_map::Entry::Occupied(e) => uniq[*e.get()].weight += r.weight,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(uniq.len());
                uniq.push(*r);
            }
        }
    }
    uniq.sort_by(|a, b| {
        a.frequency
            .total_cmp(&b.frequency)
            .then(a.age.total_cmp(&b.age))
            .then(a.recency.total_cmp(&b.recency))
    });
    let mut c = Collapsed {
        x: Vec::with_capacity(uniq.len()),
        tx: Vec::with_capacity(uniq.len()),
        t: Vec::with_capacity(uniq.len()),
        w: Vec::with_capacity(uniq.len()),
        ..Collapsed::default()
    };
    for r in &uniq {
        if c.groups.last() != Some(&r.frequency) {
            c.groups.push(r.frequency);
        }
        c.group.push((c.groups.len() - 1) as u32);
        c.x.push(r.frequency);
        c.tx.push(r.recency);
        c.t.push(r.age);
        c.w.push(r.weight);
        c.total_weight += r.weight;
    }
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
        let cases: Vec<(Vec<(f64, f64, f64)>, TimeKind, Check)> = vec![
            (vec![(1.0, f64::NAN, 3.0), (0.0, 0.0, 1.0)], TimeKind::Continuous, |e| {
                matches!(e, LtvError::NonFinite { field: "recency", rows } if rows.rows == vec![0])
            }),
            (vec![(0.0, 0.0, 1.0), (1.0, 1.0, -3.0)], TimeKind::Continuous, |e| {
                matches!(e, LtvError::Negative { field: "T", rows } if rows.rows == vec![1])
            }),
            (vec![(1.5, 1.0, 3.0)], TimeKind::Continuous, |e| {
                matches!(e, LtvError::FractionalFrequency { .. })
            }),
            (vec![(1.0, 4.0, 3.0), (0.0, 0.0, 1.0), (2.0, 5.0, 3.0)], TimeKind::Continuous, |e| {
                matches!(e, LtvError::RecencyExceedsAge { rows } if rows.rows == vec![0, 2])
            }),
            (vec![(0.0, 1.0, 3.0)], TimeKind::Continuous, |e| {
                matches!(e, LtvError::RecencyWithoutRepeat { .. })
            }),
            (vec![(1.0, 1.5, 3.0)], TimeKind::Discrete, |e| {
                matches!(e, LtvError::FractionalPeriods { .. })
            }),
            (vec![(3.0, 2.0, 6.0)], TimeKind::Discrete, |e| {
                matches!(e, LtvError::FrequencyExceedsRecency { .. })
            }),
            (vec![], TimeKind::Continuous, |e| matches!(e, LtvError::EmptyData)),
        ];
        for (data, kind, check) in cases {
            let err = validate(&rows(&data), kind, false).expect_err("bad data must be rejected");
            assert!(check(&err), "{data:?}: {err:?}");
        }
        assert!(validate(&rows(&[(2.0, 1.5, 3.0)]), TimeKind::Continuous, false).is_ok());
    }

    #[test]
    fn bad_weights_are_rejected_when_weights_matter() {
        let mut r = rows(&[(1.0, 1.0, 2.0)]);
        r[0].weight = 0.0;
        assert!(matches!(validate(&r, TimeKind::Continuous, true), Err(LtvError::InvalidWeight { .. })));
    }

    #[test]
    fn identical_rows_collapse_into_one_weighted_row_sorted_by_frequency() {
        let mut data = rows(&[(2.0, 3.0, 5.0), (0.0, 0.0, 5.0), (2.0, 3.0, 5.0), (0.0, -0.0, 5.0)]);
        data[2].weight = 3.0;
        let c = collapse(&data);
        assert_eq!(c.len(), 2);
        assert_eq!(c.x, vec![0.0, 2.0]);
        assert_eq!(c.w, vec![2.0, 4.0]);
        assert_eq!(c.groups, vec![0.0, 2.0]);
        assert_eq!(c.group, vec![0, 1]);
        assert_eq!(c.total_weight, 6.0);
    }
}
