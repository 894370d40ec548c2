//! Audience holdouts for the channels KIKI controls (its own bidder,
//! retention flows): users are split into treatment and control by a salted
//! hash anyone can recompute, and the intent-to-treat difference in
//! conversion rate and revenue per user is estimated with normal intervals
//! (the difference of two independent means) and delta-method intervals for
//! the relative lift.
//!
//! Assignment: `SHA-256(salt ‖ 0x1F ‖ user id)`, the first eight bytes read
//! as a big-endian integer, its top 53 bits divided by 2⁵³ give a number in
//! `[0, 1)`; below the treatment share means treatment. One salt per
//! experiment keeps experiments independent of each other.
//!
//! Ghost bids: for control users the bidder logs the bid it *would* have
//! made; restricting both arms to users with such a bid (or a real one)
//! compares the users the campaign could actually reach, which shrinks the
//! noise from users it would never have touched. Both arms are filtered by
//! the same rule, so the comparison stays randomised.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::conformal::Interval;
use crate::error::{LiftError, Result};
use crate::geo::fmt_num;

/// A holdout arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    /// Exposed to the campaign.
    Treatment,
    /// Held out.
    Control,
}

/// The user's position in `[0, 1)` for experiment `salt`.
pub fn holdout_bucket(salt: &str, user_id: &str) -> f64 {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0x1f]);
    h.update(user_id.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// The arm of `user_id` in experiment `salt` with `treatment_share` of the
/// users treated.
pub fn assign_arm(salt: &str, user_id: &str, treatment_share: f64) -> Arm {
    if holdout_bucket(salt, user_id) < treatment_share {
        Arm::Treatment
    } else {
        Arm::Control
    }
}

/// The holdout's registered design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutDesign {
    /// The experiment's salt (unique per experiment).
    pub salt: String,
    /// Share of users in treatment, in `(0, 1)`.
    pub treatment_share: f64,
}

/// One user's outcome over the test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutRecord {
    /// The user's stable id (the hash input).
    pub user_id: String,
    /// Whether the user converted.
    pub converted: bool,
    /// Revenue from the user over the test.
    pub revenue: f64,
    /// Whether the bidder bid, or for control users logged a ghost bid.
    pub would_have_bid: bool,
    /// The arm the serving system logged, if it logs one; compared with the
    /// hash to catch assignment bugs.
    #[serde(default)]
    pub logged_arm: Option<Arm>,
}

/// Which users to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Population {
    /// Everyone assigned (intent to treat).
    #[default]
    All,
    /// Only users with a real or ghost bid, in both arms.
    WouldHaveBid,
}

/// A holdout analysis request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutInput {
    /// The registered design.
    pub design: HoldoutDesign,
    /// One record per user (several for a user are merged).
    pub records: Vec<HoldoutRecord>,
    /// Which users to compare.
    #[serde(default)]
    pub population: Population,
    /// Two-sided interval level (default 0.9).
    #[serde(default = "default_confidence")]
    pub confidence: f64,
}

fn default_confidence() -> f64 {
    0.9
}

/// One arm's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    /// Users compared.
    pub users: usize,
    /// Users who converted.
    pub converters: usize,
    /// `converters / users`.
    pub conversion_rate: f64,
    /// Total revenue.
    pub revenue: f64,
    /// Mean revenue per user.
    pub revenue_per_user: f64,
    /// Sample standard deviation of revenue per user.
    pub revenue_sd: f64,
}

/// Treatment minus control for one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// Treatment mean minus control mean.
    pub absolute: f64,
    /// Its standard error, `√(s²ₜ/nₜ + s²꜀/n꜀)`.
    pub std_error: f64,
    /// Normal interval for the difference.
    pub interval: Interval,
    /// Two-sided p-value of "no difference".
    pub p_value: f64,
    /// Relative lift, treatment over control minus one (`None` when the
    /// control mean is zero).
    pub relative: Option<f64>,
    /// Delta-method interval for the relative lift.
    pub relative_interval: Option<Interval>,
}

/// A holdout analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutResult {
    /// The population compared.
    pub population: Population,
    /// Treatment arm.
    pub treatment: ArmSummary,
    /// Control arm.
    pub control: ArmSummary,
    /// Difference in conversion rate.
    pub conversion_rate: Difference,
    /// Difference in revenue per user.
    pub revenue_per_user: Difference,
    /// Conversion-rate difference times the treated users.
    pub incremental_conversions: f64,
    /// Revenue-per-user difference times the treated users.
    pub incremental_revenue: f64,
    /// Records whose logged arm disagrees with the hash.
    pub assignment_mismatches: usize,
    /// Records merged because their user appeared more than once.
    pub merged_records: usize,
    /// p-value of the arm sizes against the design's share (sample ratio
    /// mismatch check, over all assigned users).
    pub sample_ratio_p_value: f64,
    /// Data warnings (empty when none).
    pub warnings: Vec<String>,
    /// The result in one paragraph.
    pub summary: String,
}

#[derive(Default)]
struct Acc {
    n: usize,
    conv: usize,
    sum: f64,
    sum_sq: f64,
}

impl Acc {
    fn push(&mut self, converted: bool, revenue: f64) {
        self.n += 1;
        self.conv += usize::from(converted);
        self.sum += revenue;
        self.sum_sq += revenue * revenue;
    }

    fn summary(&self) -> ArmSummary {
        let n = self.n as f64;
        let mean = if self.n > 0 { self.sum / n } else { 0.0 };
        let var = if self.n > 1 {
            ((self.sum_sq - n * mean * mean) / (n - 1.0)).max(0.0)
        } else {
            0.0
        };
        ArmSummary {
            users: self.n,
            converters: self.conv,
            conversion_rate: if self.n > 0 {
                self.conv as f64 / n
            } else {
                0.0
            },
            revenue: self.sum,
            revenue_per_user: mean,
            revenue_sd: var.sqrt(),
        }
    }
}

/// Mean, variance and size of one arm's metric.
struct Moments {
    mean: f64,
    var: f64,
    n: f64,
}

fn difference(t: Moments, c: Moments, z: f64, normal: &Normal) -> Difference {
    let (mt, vt, nt) = (t.mean, t.var, t.n);
    let (mc, vc, nc) = (c.mean, c.var, c.n);
    let absolute = mt - mc;
    let var_t = vt / nt;
    let var_c = vc / nc;
    let std_error = (var_t + var_c).sqrt();
    let p_value = if std_error > 0.0 {
        2.0 * (1.0 - normal.cdf((absolute / std_error).abs()))
    } else if absolute == 0.0 {
        1.0
    } else {
        0.0
    };
    let (relative, relative_interval) = if mc != 0.0 {
        let r = mt / mc - 1.0;
        // Delta method for mₜ/m꜀: gradient (1/m꜀, −mₜ/m꜀²).
        let se = (var_t / (mc * mc) + var_c * mt * mt / mc.powi(4)).sqrt();
        (
            Some(r),
            Some(Interval {
                lower: Some(r - z * se),
                upper: Some(r + z * se),
            }),
        )
    } else {
        (None, None)
    };
    Difference {
        absolute,
        std_error,
        interval: Interval {
            lower: Some(absolute - z * std_error),
            upper: Some(absolute + z * std_error),
        },
        p_value,
        relative,
        relative_interval,
    }
}

/// Analyses an audience holdout.
pub fn analyze_holdout(input: &HoldoutInput) -> Result<HoldoutResult> {
    let share = input.design.treatment_share;
    if !(share > 0.0 && share < 1.0) {
        return Err(LiftError::invalid(format!(
            "The treatment share must lie strictly between 0 and 1 (got {share})."
        )));
    }
    if input.design.salt.is_empty() {
        return Err(LiftError::invalid("The experiment needs a salt."));
    }
    if !(input.confidence > 0.0 && input.confidence < 1.0) {
        return Err(LiftError::invalid(format!(
            "The confidence must lie strictly between 0 and 1 (got {}).",
            input.confidence
        )));
    }
    // One entry per user: revenue adds up, flags combine.
    let mut users: BTreeMap<&str, (bool, f64, bool, Option<Arm>)> = BTreeMap::new();
    let mut merged = 0usize;
    for (i, r) in input.records.iter().enumerate() {
        if !r.revenue.is_finite() {
            return Err(LiftError::invalid(format!(
                "Record {i} (user `{}`) has a revenue that is not a finite number.",
                r.user_id
            )));
        }
        match users.get_mut(r.user_id.as_str()) {
            Some(e) => {
                merged += 1;
                e.0 |= r.converted;
                e.1 += r.revenue;
                e.2 |= r.would_have_bid;
                e.3 = e.3.or(r.logged_arm);
            }
            None => {
                users.insert(
                    &r.user_id,
                    (r.converted, r.revenue, r.would_have_bid, r.logged_arm),
                );
            }
        }
    }
    let mut acc_t = Acc::default();
    let mut acc_c = Acc::default();
    let (mut all_t, mut all_c) = (0usize, 0usize);
    let mut mismatches = 0usize;
    for (id, (converted, revenue, bid, logged)) in &users {
        let arm = assign_arm(&input.design.salt, id, share);
        if logged.is_some_and(|l| l != arm) {
            mismatches += 1;
        }
        match arm {
            Arm::Treatment => all_t += 1,
            Arm::Control => all_c += 1,
        }
        if input.population == Population::WouldHaveBid && !bid {
            continue;
        }
        match arm {
            Arm::Treatment => acc_t.push(*converted, *revenue),
            Arm::Control => acc_c.push(*converted, *revenue),
        }
    }
    if acc_t.n < 2 || acc_c.n < 2 {
        return Err(LiftError::insufficient(format!(
            "Each arm needs at least two users to compare (treatment {}, control {}).",
            acc_t.n, acc_c.n
        )));
    }
    let t = acc_t.summary();
    let c = acc_c.summary();
    let normal =
        Normal::new(0.0, 1.0).map_err(|e| LiftError::Numerical(format!("standard normal: {e}")))?;
    let z = normal.inverse_cdf(0.5 + 0.5 * input.confidence);
    let (nt, nc) = (t.users as f64, c.users as f64);
    let var_bin = |p: f64, n: f64| p * (1.0 - p) * n / (n - 1.0);
    let conversion_rate = difference(
        Moments {
            mean: t.conversion_rate,
            var: var_bin(t.conversion_rate, nt),
            n: nt,
        },
        Moments {
            mean: c.conversion_rate,
            var: var_bin(c.conversion_rate, nc),
            n: nc,
        },
        z,
        &normal,
    );
    let revenue_per_user = difference(
        Moments {
            mean: t.revenue_per_user,
            var: t.revenue_sd.powi(2),
            n: nt,
        },
        Moments {
            mean: c.revenue_per_user,
            var: c.revenue_sd.powi(2),
            n: nc,
        },
        z,
        &normal,
    );
    let total = (all_t + all_c) as f64;
    let srm_z = (all_t as f64 - total * share) / (total * share * (1.0 - share)).sqrt();
    let sample_ratio_p_value = 2.0 * (1.0 - normal.cdf(srm_z.abs()));
    let mut warnings = Vec::new();
    if sample_ratio_p_value < 0.001 {
        warnings.push(format!(
            "The arms hold {all_t} and {all_c} users, far from the designed {:.0}% treatment share (p = {sample_ratio_p_value:.2e}): check the assignment before trusting the result.",
            share * 100.0
        ));
    }
    if mismatches > 0 {
        warnings.push(format!(
            "{mismatches} users were logged in a different arm than their hash assigns; the analysis uses the hash (intent to treat)."
        ));
    }
    if t.converters + c.converters < 30 {
        warnings.push("Fewer than 30 conversions in total: the normal intervals are rough.".into());
    }
    let pct = (input.confidence * 100.0).round();
    let summary = format!(
        "{} users in treatment and {} in control ({}): conversion rate {:.4} vs {:.4} ({:+.2} points, {pct}% interval [{:+.2}, {:+.2}], p = {:.4}); revenue per user {} vs {} ({} incremental revenue, p = {:.4}).",
        t.users,
        c.users,
        match input.population {
            Population::All => "all assigned users",
            Population::WouldHaveBid => "users with a real or ghost bid",
        },
        t.conversion_rate,
        c.conversion_rate,
        conversion_rate.absolute * 100.0,
        conversion_rate.interval.lower.unwrap_or(0.0) * 100.0,
        conversion_rate.interval.upper.unwrap_or(0.0) * 100.0,
        conversion_rate.p_value,
        fmt_num(t.revenue_per_user, 2),
        fmt_num(c.revenue_per_user, 2),
        fmt_num(revenue_per_user.absolute * nt, 0),
        revenue_per_user.p_value,
    );
    Ok(HoldoutResult {
        population: input.population,
        incremental_conversions: conversion_rate.absolute * nt,
        incremental_revenue: revenue_per_user.absolute * nt,
        treatment: t,
        control: c,
        conversion_rate,
        revenue_per_user,
        assignment_mismatches: mismatches,
        merged_records: merged,
        sample_ratio_p_value,
        warnings,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_uniform_enough() {
        // The value is fixed forever: anyone recomputing it gets the same.
        let b = holdout_bucket("exp-1", "user-42");
        assert_eq!(b, holdout_bucket("exp-1", "user-42"));
        assert!((0.0..1.0).contains(&b));
        assert_ne!(
            b,
            holdout_bucket("exp-2", "user-42"),
            "salts separate experiments"
        );
        // 20,000 users into a 30 % treatment share: within 4 sd of 6,000.
        let treated = (0..20_000)
            .filter(|i| assign_arm("exp-1", &format!("u{i}"), 0.3) == Arm::Treatment)
            .count();
        let sd = (20_000.0f64 * 0.3 * 0.7).sqrt();
        assert!((treated as f64 - 6000.0).abs() < 4.0 * sd, "{treated}");
    }

    #[test]
    fn the_bucket_is_the_documented_sha256_prefix() {
        // SHA-256("s" ‖ 0x1F ‖ "u"): recomputed by hand from the definition.
        let mut h = Sha256::new();
        h.update(b"s\x1fu");
        let d = h.finalize();
        let x = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        assert_eq!(
            holdout_bucket("s", "u"),
            (x >> 11) as f64 / 9_007_199_254_740_992.0
        );
    }
}
