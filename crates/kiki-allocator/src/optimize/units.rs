//! Conversion of the solution from model units to integer micros that sum
//! exactly to the spend.

use super::*;

/// Rounds to micros inside the bounds without exceeding the budget.
pub(super) fn to_micros(v: &Valid, x: &[f64]) -> Vec<i64> {
    let lo: Vec<i64> = v
        .lines
        .iter()
        .map(|l| (l.lo * 1e6).round() as i64)
        .collect();
    let hi: Vec<i64> = v
        .lines
        .iter()
        .map(|l| (l.hi * 1e6).round() as i64)
        .collect();
    let mut m: Vec<i64> = x
        .iter()
        .enumerate()
        .map(|(i, &xi)| ((xi * 1e6).round() as i64).clamp(lo[i], hi[i]))
        .collect();
    let mut excess = m.iter().sum::<i64>() - v.budget_micros;
    while excess > 0 {
        // Take from the platform with the most room above its minimum.
        let Some(i) = (0..m.len()).max_by_key(|&i| m[i] - lo[i]) else {
            break;
        };
        let take = excess.min(m[i] - lo[i]);
        if take <= 0 {
            break;
        }
        m[i] -= take;
        excess -= take;
    }
    m
}

pub(super) fn micros(x: f64, what: &'static str) -> Result<i64, AllocError> {
    let m = (x * 1e6).round();
    if m.is_finite() && m.abs() < 9.2e18 {
        Ok(m as i64)
    } else {
        Err(AllocError::OutOfRange { what })
    }
}
