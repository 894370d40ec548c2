//! Design before spend: which markets to treat, for how long, what effect
//! the test can detect, and how often it would cry wolf — measured on the
//! client's own history, and a design refused, with the reason, when it
//! would not be worth running.
//!
//! **Candidates.** For each treatment-group size, every market that may be
//! treated seeds two groups: the seed with its nearest neighbours by
//! correlation (GeoLift's deterministic market selection), and the seed
//! grown one market at a time by the market best correlated with the
//! group's current average. Correlations are Pearson correlations of the
//! markets' series over the most recent `pre_periods + max duration`
//! periods. Required markets are in every group; excluded markets are
//! never treated (they stay donors).
//!
//! **Shortlist.** Groups breaking the volume-share cap (or unaffordable at
//! the smallest effect under the budget) are dropped; the rest are ranked by
//! the scaled L2 imbalance of a synthetic control fitted on their most
//! recent `pre_periods` periods — how well the other markets can stand in
//! for them — and the best `candidates` go on to the power run.
//!
//! **Power, MDE and placebo.** Each simulated test places the test window
//! at a different point of history (rolling origin: the most recent window
//! ends at the last period, each next one a period earlier), multiplies the
//! treated markets' outcome in the window by `1 + effect`, and runs the
//! conformal test of "no effect" (the synthetic control refitted on the
//! window's pre and test periods). Power is the share of simulated tests
//! that reject at α; the minimum detectable effect is the smallest
//! non-zero effect with power at least `min_power`. The zero effect is the
//! placebo run: its rejection share is the design's false-positive rate on
//! this history at this α. The point estimate of every simulated test (a
//! synthetic control fitted on the window's pre-period alone) measures bias.
//!
//! **Ranking.** Accepted candidates first; then the smallest minimum
//! detectable effect, the highest power at it, the lowest placebo
//! false-positive rate, the best screening fit and the smallest spend.
//!
//! **Refusal.** A candidate is refused, with each reason spelt out, when no
//! effect reaches the power bound, when its placebo false-positive rate
//! exceeds the bound, or when the spend needed at its MDE exceeds the
//! budget. The design is refused when every candidate is.

use std::collections::BTreeSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::conformal::{Alternative, block_permutation_p_value};
use crate::control::RunControl;
use crate::error::{LiftError, Result};
use crate::geo::fmt_num;
use crate::panel::Panel;
use crate::synth::{Augmentation, DonorBasis, average_series};

/// Bounds a design must meet to be recommended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DesignBounds {
    /// Smallest acceptable power at the minimum detectable effect.
    pub min_power: f64,
    /// Largest acceptable placebo false-positive rate.
    pub max_false_positive_rate: f64,
}

impl Default for DesignBounds {
    fn default() -> Self {
        DesignBounds {
            min_power: 0.8,
            max_false_positive_rate: 0.15,
        }
    }
}

/// What to search and how to judge it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignSpec {
    /// Numbers of treated markets to consider (e.g. 2, 3, 4, 5).
    pub treatment_sizes: Vec<usize>,
    /// Test lengths to consider, in periods.
    pub durations: Vec<usize>,
    /// Relative lifts to simulate (0 is the placebo and is always run).
    pub effect_sizes: Vec<f64>,
    /// Simulated tests per candidate, duration and effect.
    pub simulations: usize,
    /// Periods before each simulated test the synthetic control fits on.
    pub pre_periods: usize,
    /// How many shortlisted candidates get the power run.
    pub candidates: usize,
    /// Significance level of the test.
    pub alpha: f64,
    /// The test's alternative.
    #[serde(default)]
    pub alternative: Alternative,
    /// Unit fixed effects (default true).
    #[serde(default = "default_true")]
    pub fixed_effects: bool,
    /// Ridge augmentation; the penalty must be given (cross-validating it in
    /// every simulated test would multiply the work by the number of folds).
    #[serde(default)]
    pub augmentation: Augmentation,
    /// Markets that must be in every treatment group.
    #[serde(default)]
    pub required_units: Vec<String>,
    /// Markets that must not be treated (they stay donors).
    #[serde(default)]
    pub excluded_units: Vec<String>,
    /// Markets that must not be donors (e.g. spill-over from the test).
    #[serde(default)]
    pub excluded_donors: Vec<String>,
    /// Largest share of the total outcome the treated markets may hold.
    #[serde(default)]
    pub max_volume_share: Option<f64>,
    /// Budget for the test.
    #[serde(default)]
    pub budget: Option<f64>,
    /// Cost per incremental unit of outcome (to turn an MDE into spend).
    #[serde(default)]
    pub cost_per_incremental_unit: Option<f64>,
    /// Power and false-positive bounds.
    #[serde(default)]
    pub bounds: DesignBounds,
}

fn default_true() -> bool {
    true
}

/// Power at one effect size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectPower {
    /// The injected relative lift.
    pub effect: f64,
    /// Share of simulated tests that reject "no effect" at α.
    pub power: f64,
    /// Mean estimated relative lift over the simulated tests.
    pub mean_estimated_lift: f64,
}

/// A candidate's results for one test length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DurationResult {
    /// Test length in periods.
    pub duration: usize,
    /// Power per effect size (ascending effects).
    pub effects: Vec<EffectPower>,
    /// Smallest non-zero effect with power ≥ the bound.
    pub mde: Option<f64>,
    /// Placebo (zero effect) rejection share.
    pub placebo_false_positive_rate: f64,
    /// Mean absolute estimated lift in the placebo runs (bias and noise).
    pub placebo_mean_abs_lift: f64,
    /// Mean treated outcome over a test window of this length.
    pub baseline_test_outcome: f64,
    /// Spend needed to produce the MDE, when a cost per incremental unit
    /// was given.
    pub investment_at_mde: Option<f64>,
    /// Why this duration is not acceptable (empty when it is).
    pub refusals: Vec<String>,
}

/// Accepted or refused, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    /// Meets every bound.
    Accepted,
    /// Breaks a bound; each reason is a sentence.
    Refused {
        /// The reasons.
        reasons: Vec<String>,
    },
}

/// One treatment group's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateEvaluation {
    /// The treated markets.
    pub treated: Vec<String>,
    /// Their share of the total outcome over the correlation window.
    pub volume_share: f64,
    /// Scaled L2 imbalance of the screening fit.
    pub screening_scaled_l2: f64,
    /// Results per test length.
    pub durations: Vec<DurationResult>,
    /// The best acceptable test length (smallest MDE, then shortest).
    pub best_duration: Option<usize>,
    /// The verdict.
    pub verdict: Verdict,
}

impl CandidateEvaluation {
    fn best(&self) -> Option<&DurationResult> {
        self.best_duration
            .and_then(|d| self.durations.iter().find(|r| r.duration == d))
    }
}

/// The outcome of a market selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignReport {
    /// Candidate groups generated.
    pub generated: usize,
    /// Dropped by the volume or budget screen before fitting.
    pub screened_out: usize,
    /// Evaluated candidates, best first (accepted before refused).
    pub evaluated: Vec<CandidateEvaluation>,
    /// Whether a design is recommended; index into `evaluated` (always 0
    /// when present) or the reasons the best candidate was refused.
    pub verdict: Verdict,
    /// Synthetic-control fits run (screening, estimates and null refits).
    pub fits: u64,
    /// The outcome in one paragraph.
    pub summary: String,
}

/// Checks the spec against the panel; resolves names to indexes.
struct Prepared<'a> {
    panel: &'a Panel,
    spec: &'a DesignSpec,
    required: Vec<usize>,
    excluded: Vec<usize>,
    excluded_donors: Vec<usize>,
    ridge: Option<f64>,
    effects: Vec<f64>,
    max_duration: usize,
}

impl<'a> Prepared<'a> {
    fn new(panel: &'a Panel, spec: &'a DesignSpec) -> Result<Self> {
        let required = panel.unit_indexes(&spec.required_units)?;
        let excluded = panel.unit_indexes(&spec.excluded_units)?;
        let excluded_donors = panel.unit_indexes(&spec.excluded_donors)?;
        if required.iter().any(|u| excluded.contains(u)) {
            return Err(LiftError::invalid(
                "A market cannot be both required in and excluded from treatment.",
            ));
        }
        if spec.durations.is_empty() || spec.durations.contains(&0) {
            return Err(LiftError::invalid(
                "Give at least one test length of one period or more.",
            ));
        }
        if spec.simulations == 0 || spec.pre_periods < 2 {
            return Err(LiftError::invalid(
                "The power run needs at least one simulation and two pre-periods.",
            ));
        }
        if !(spec.alpha > 0.0 && spec.alpha < 1.0) {
            return Err(LiftError::invalid(format!(
                "alpha must lie strictly between 0 and 1 (got {}).",
                spec.alpha
            )));
        }
        if spec
            .effect_sizes
            .iter()
            .any(|e| !e.is_finite() || *e <= -1.0)
        {
            return Err(LiftError::invalid(
                "Effect sizes are relative lifts above −100 %.",
            ));
        }
        let ridge = match spec.augmentation {
            Augmentation::None => None,
            Augmentation::Ridge { lambda: Some(l) } if l.is_finite() && l > 0.0 => Some(l),
            Augmentation::Ridge { .. } => {
                return Err(LiftError::invalid(
                    "Ridge augmentation in a design run needs a fixed positive penalty.",
                ));
            }
        };
        let max_duration = spec.durations.iter().copied().max().unwrap_or(1);
        let needed = spec.pre_periods + max_duration + spec.simulations - 1;
        if panel.n_periods() < needed {
            return Err(LiftError::insufficient(format!(
                "{} simulated tests of up to {max_duration} periods after {} pre-periods need {needed} periods of history; the panel has {}.",
                spec.simulations,
                spec.pre_periods,
                panel.n_periods()
            )));
        }
        let mut effects: Vec<f64> = spec.effect_sizes.clone();
        effects.push(0.0);
        effects.sort_by(f64::total_cmp);
        effects.dedup();
        Ok(Prepared {
            panel,
            spec,
            required,
            excluded,
            excluded_donors,
            ridge,
            effects,
            max_duration,
        })
    }

    fn donors_for(&self, treated: &[usize]) -> Vec<usize> {
        (0..self.panel.n_units())
            .filter(|u| !treated.contains(u) && !self.excluded_donors.contains(u))
            .collect()
    }

    fn basis(&self, rows: &[&[f64]], fit_len: usize) -> Result<DonorBasis> {
        let mut b = DonorBasis::new(rows, fit_len, self.spec.fixed_effects);
        if let Some(l) = self.ridge {
            b.set_ridge(l)?;
        }
        Ok(b)
    }
}

fn correlation_matrix(panel: &Panel, start: usize, end: usize) -> Vec<f64> {
    let n = panel.n_units();
    let centred: Vec<Vec<f64>> = (0..n)
        .map(|u| {
            let s = &panel.series(u)[start..end];
            let m = s.iter().sum::<f64>() / s.len() as f64;
            let c: Vec<f64> = s.iter().map(|v| v - m).collect();
            let norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                c.iter().map(|v| v / norm).collect()
            } else {
                c
            }
        })
        .collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = crate::linalg::dot(&centred[i], &centred[j]);
        }
    }
    out
}

fn correlation_with(panel: &Panel, units: &[usize], other: usize, start: usize, end: usize) -> f64 {
    let a = average_series(panel, units, start, end);
    let b = &panel.series(other)[start..end];
    let ma = a.iter().sum::<f64>() / a.len() as f64;
    let mb = b.iter().sum::<f64>() / b.len() as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa > 0.0 && sbb > 0.0 {
        sab / (saa * sbb).sqrt()
    } else {
        0.0
    }
}

/// Candidate treatment groups, sorted index sets, deduplicated.
fn generate_candidates(p: &Prepared<'_>, start: usize, end: usize) -> Vec<Vec<usize>> {
    let n = p.panel.n_units();
    let corr = correlation_matrix(p.panel, start, end);
    let eligible: Vec<usize> = (0..n)
        .filter(|u| !p.excluded.contains(u) && !p.required.contains(u))
        .collect();
    let mut out: BTreeSet<Vec<usize>> = BTreeSet::new();
    for &k in &p.spec.treatment_sizes {
        if k == 0 || k >= n {
            continue;
        }
        if p.required.len() >= k {
            if p.required.len() == k {
                let mut g = p.required.clone();
                g.sort_unstable();
                out.insert(g);
            }
            continue;
        }
        for &seed in &eligible {
            // Nearest neighbours of the seed.
            let mut g = p.required.clone();
            g.push(seed);
            let mut by_corr: Vec<usize> = eligible.iter().copied().filter(|&u| u != seed).collect();
            by_corr.sort_by(|&a, &b| {
                corr[seed * n + b]
                    .total_cmp(&corr[seed * n + a])
                    .then(a.cmp(&b))
            });
            for u in by_corr {
                if g.len() >= k {
                    break;
                }
                g.push(u);
            }
            if g.len() == k {
                g.sort_unstable();
                out.insert(g);
            }
            // Grown by correlation with the group's average.
            let mut g = p.required.clone();
            g.push(seed);
            while g.len() < k {
                let next = eligible
                    .iter()
                    .copied()
                    .filter(|u| !g.contains(u))
                    .map(|u| (u, correlation_with(p.panel, &g, u, start, end)))
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
                match next {
                    Some((u, _)) => g.push(u),
                    None => break,
                }
            }
            if g.len() == k {
                g.sort_unstable();
                out.insert(g);
            }
        }
    }
    out.into_iter().collect()
}

/// Per-window work of one candidate for one duration: counts of rejections
/// per effect, estimated lifts, baseline outcome.
struct WindowOutcome {
    rejects: Vec<bool>,
    lift0: f64,
    post_target_over_cf: f64,
    baseline: f64,
}

fn run_window(
    p: &Prepared<'_>,
    treated: &[usize],
    donors: &[usize],
    start: usize,
    duration: usize,
) -> Result<WindowOutcome> {
    let pre = p.spec.pre_periods;
    let end = start + pre + duration;
    let rows: Vec<&[f64]> = donors
        .iter()
        .map(|&d| &p.panel.series(d)[start..end])
        .collect();
    let target = average_series(p.panel, treated, start, end);
    // Point estimate: weights from the pre-period alone. Scaling the test
    // window by (1 + e) moves the estimated lift linearly, so one fit
    // serves every effect size.
    let pre_basis = p.basis(&rows, pre)?;
    let est = pre_basis.fit(&target, None)?;
    let obs_post: f64 = target[pre..].iter().sum();
    let cf_post: f64 = est.counterfactual[pre..].iter().sum();
    let denom = if cf_post != 0.0 { cf_post.abs() } else { 1.0 };
    // Null refits on the whole window, one per effect.
    let basis = p.basis(&rows, pre + duration)?;
    let mut warm: Option<Vec<f64>> = Some(est.synth_weights.clone());
    let mut rejects = Vec::with_capacity(p.effects.len());
    let mut shifted = target.clone();
    let mut residuals = vec![0.0; target.len()];
    for &e in &p.effects {
        for t in pre..target.len() {
            shifted[t] = target[t] * (1.0 + e);
        }
        let fit = basis.fit(&shifted, warm.as_deref())?;
        for t in 0..target.len() {
            residuals[t] = shifted[t] - fit.counterfactual[t];
        }
        let (pv, _) = block_permutation_p_value(&residuals, pre, p.spec.alternative);
        rejects.push(pv <= p.spec.alpha);
        warm = Some(fit.synth_weights);
    }
    Ok(WindowOutcome {
        rejects,
        lift0: (obs_post - cf_post) / denom,
        post_target_over_cf: obs_post / denom,
        baseline: obs_post * treated.len() as f64,
    })
}

fn evaluate(
    p: &Prepared<'_>,
    treated: &[usize],
    volume_share: f64,
    screening_scaled_l2: f64,
    cancel: Option<&(dyn Fn() -> bool + Sync)>,
) -> Result<CandidateEvaluation> {
    let donors = p.donors_for(treated);
    if donors.is_empty() {
        return Err(LiftError::insufficient(
            "No donor markets are left for a candidate.",
        ));
    }
    let t_len = p.panel.n_periods();
    let spec = p.spec;
    let mut durations = Vec::with_capacity(spec.durations.len());
    for &d in &spec.durations {
        let mut rejections = vec![0usize; p.effects.len()];
        let mut lift_sum = vec![0.0; p.effects.len()];
        let mut placebo_abs = 0.0;
        let mut baseline = 0.0;
        for s in 0..spec.simulations {
            if cancel.is_some_and(|c| c()) {
                return Err(LiftError::Cancelled);
            }
            let start = t_len - s - spec.pre_periods - d;
            let w = run_window(p, treated, &donors, start, d)?;
            for (k, &e) in p.effects.iter().enumerate() {
                rejections[k] += usize::from(w.rejects[k]);
                lift_sum[k] += w.lift0 + e * w.post_target_over_cf;
            }
            placebo_abs += w.lift0.abs();
            baseline += w.baseline;
        }
        let sims = spec.simulations as f64;
        let effects: Vec<EffectPower> = p
            .effects
            .iter()
            .enumerate()
            .map(|(k, &e)| EffectPower {
                effect: e,
                power: rejections[k] as f64 / sims,
                mean_estimated_lift: lift_sum[k] / sims,
            })
            .collect();
        let placebo = effects
            .iter()
            .find(|e| e.effect == 0.0)
            .map_or(0.0, |e| e.power);
        let mde = effects
            .iter()
            .filter(|e| e.effect != 0.0 && e.power >= spec.bounds.min_power)
            .map(|e| e.effect)
            .min_by(|a, b| a.abs().total_cmp(&b.abs()));
        let baseline = baseline / sims;
        let investment_at_mde = match (mde, spec.cost_per_incremental_unit) {
            (Some(m), Some(cpic)) => Some(m.abs() * baseline * cpic),
            _ => None,
        };
        let mut refusals = Vec::new();
        if mde.is_none() {
            let best = effects
                .iter()
                .filter(|e| e.effect != 0.0)
                .max_by(|a, b| a.power.total_cmp(&b.power));
            refusals.push(match best {
                Some(b) => format!(
                    "No simulated effect reaches {:.0}% power over {d} periods (best: {:.0}% at a {:+.1}% lift).",
                    spec.bounds.min_power * 100.0,
                    b.power * 100.0,
                    b.effect * 100.0
                ),
                None => "No non-zero effect size was simulated, so there is no power to report.".into(),
            });
        }
        if placebo > spec.bounds.max_false_positive_rate {
            refusals.push(format!(
                "On this history the test finds an effect that is not there in {:.1}% of placebo runs over {d} periods (bound {:.1}% at α = {}).",
                placebo * 100.0,
                spec.bounds.max_false_positive_rate * 100.0,
                spec.alpha
            ));
        }
        if let (Some(inv), Some(budget)) = (investment_at_mde, spec.budget)
            && inv > budget
        {
            refusals.push(format!(
                "Producing the {:.1}% minimum detectable lift over {d} periods needs about {} in spend, above the budget of {}.",
                mde.unwrap_or(0.0) * 100.0,
                fmt_num(inv, 0),
                fmt_num(budget, 0)
            ));
        }
        durations.push(DurationResult {
            duration: d,
            effects,
            mde,
            placebo_false_positive_rate: placebo,
            placebo_mean_abs_lift: placebo_abs / sims,
            baseline_test_outcome: baseline,
            investment_at_mde,
            refusals,
        });
    }
    let best_duration = durations
        .iter()
        .filter(|r| r.refusals.is_empty())
        .min_by(|a, b| {
            a.mde
                .unwrap_or(f64::INFINITY)
                .abs()
                .total_cmp(&b.mde.unwrap_or(f64::INFINITY).abs())
                .then(a.duration.cmp(&b.duration))
        })
        .map(|r| r.duration);
    let verdict = match best_duration {
        Some(_) => Verdict::Accepted,
        None => Verdict::Refused {
            reasons: durations.iter().flat_map(|r| r.refusals.clone()).collect(),
        },
    };
    Ok(CandidateEvaluation {
        treated: treated
            .iter()
            .map(|&u| p.panel.units()[u].clone())
            .collect(),
        volume_share,
        screening_scaled_l2,
        durations,
        best_duration,
        verdict,
    })
}

fn volume_share(panel: &Panel, units: &[usize], start: usize, end: usize) -> f64 {
    let all: Vec<usize> = (0..panel.n_units()).collect();
    let total = panel.total(&all, start, end);
    if total != 0.0 {
        panel.total(units, start, end) / total
    } else {
        0.0
    }
}

fn screening_fit(p: &Prepared<'_>, treated: &[usize]) -> Result<f64> {
    let t_len = p.panel.n_periods();
    let start = t_len - p.spec.pre_periods;
    let donors = p.donors_for(treated);
    if donors.is_empty() {
        return Ok(f64::INFINITY);
    }
    let rows: Vec<&[f64]> = donors
        .iter()
        .map(|&d| &p.panel.series(d)[start..t_len])
        .collect();
    let target = average_series(p.panel, treated, start, t_len);
    let basis = DonorBasis::new(&rows, p.spec.pre_periods, p.spec.fixed_effects);
    Ok(basis.fit(&target, None)?.scaled_l2)
}

fn rank(evaluated: &mut [CandidateEvaluation]) {
    evaluated.sort_by(|a, b| {
        let accepted = |c: &CandidateEvaluation| matches!(c.verdict, Verdict::Accepted);
        let mde = |c: &CandidateEvaluation| {
            c.best()
                .and_then(|r| r.mde)
                .or_else(|| {
                    c.durations
                        .iter()
                        .filter_map(|r| r.mde)
                        .min_by(f64::total_cmp)
                })
                .map_or(f64::INFINITY, f64::abs)
        };
        let fpr = |c: &CandidateEvaluation| c.best().map_or(1.0, |r| r.placebo_false_positive_rate);
        let power = |c: &CandidateEvaluation| {
            c.best().map_or(0.0, |r| {
                r.effects
                    .iter()
                    .find(|e| Some(e.effect) == r.mde)
                    .map_or(0.0, |e| e.power)
            })
        };
        let invest =
            |c: &CandidateEvaluation| c.best().and_then(|r| r.investment_at_mde).unwrap_or(0.0);
        accepted(b)
            .cmp(&accepted(a))
            .then(mde(a).total_cmp(&mde(b)))
            .then(power(b).total_cmp(&power(a)))
            .then(fpr(a).total_cmp(&fpr(b)))
            .then(a.screening_scaled_l2.total_cmp(&b.screening_scaled_l2))
            .then(invest(a).total_cmp(&invest(b)))
            .then(a.treated.cmp(&b.treated))
    });
}

/// Evaluates the power, MDE and placebo false-positive rate of one given
/// treatment group.
pub fn power_analysis<S: AsRef<str>>(
    panel: &Panel,
    treated: &[S],
    spec: &DesignSpec,
    control: &mut RunControl<'_>,
) -> Result<CandidateEvaluation> {
    let p = Prepared::new(panel, spec)?;
    let mut idx = panel.unit_indexes(treated)?;
    idx.sort_unstable();
    idx.dedup();
    if idx.is_empty() {
        return Err(LiftError::invalid("Name at least one treated market."));
    }
    let t_len = panel.n_periods();
    let window = (t_len - spec.pre_periods - p.max_duration, t_len);
    let share = volume_share(panel, &idx, window.0, window.1);
    let l2 = screening_fit(&p, &idx)?;
    let cancel = control.cancel_flag();
    let out = evaluate(&p, &idx, share, l2, cancel)?;
    control.report(1.0);
    Ok(out)
}

/// Market selection with power analysis: generates candidate treatment
/// groups, shortlists them by pre-period fit, runs the simulated tests on
/// the shortlist in parallel, ranks them and recommends the best accepted
/// one, or refuses with the reasons.
pub fn select_markets(
    panel: &Panel,
    spec: &DesignSpec,
    control: &mut RunControl<'_>,
) -> Result<DesignReport> {
    let p = Prepared::new(panel, spec)?;
    let t_len = panel.n_periods();
    let window = (t_len - spec.pre_periods - p.max_duration, t_len);
    let groups = generate_candidates(&p, window.0, window.1);
    let generated = groups.len();
    if generated == 0 {
        return Err(LiftError::insufficient(
            "No treatment group of the requested sizes can be formed under the constraints.",
        ));
    }
    // Volume and budget screen.
    let smallest_effect = p
        .effects
        .iter()
        .filter(|e| **e != 0.0)
        .map(|e| e.abs())
        .fold(f64::INFINITY, f64::min);
    let mut kept: Vec<(Vec<usize>, f64)> = Vec::new();
    for g in groups {
        let share = volume_share(panel, &g, window.0, window.1);
        if spec.max_volume_share.is_some_and(|m| share > m) {
            continue;
        }
        if let (Some(budget), Some(cpic)) = (spec.budget, spec.cost_per_incremental_unit) {
            let per_period = panel.total(&g, window.0, window.1) / (window.1 - window.0) as f64;
            let shortest = spec.durations.iter().copied().min().unwrap_or(1) as f64;
            if smallest_effect.is_finite()
                && smallest_effect * per_period * shortest * cpic > budget
            {
                continue;
            }
        }
        kept.push((g, share));
    }
    let screened_out = generated - kept.len();
    if kept.is_empty() {
        return Ok(DesignReport {
            generated,
            screened_out,
            evaluated: Vec::new(),
            verdict: Verdict::Refused {
                reasons: vec![
                    "Every candidate group breaks the volume-share cap or cannot afford even the smallest effect under the budget."
                        .into(),
                ],
            },
            fits: 0,
            summary: format!(
                "{generated} candidate groups generated; all were screened out by the volume or budget constraint."
            ),
        });
    }
    control.check()?;
    let cancel = control.cancel_flag();
    let screened: Vec<Result<f64>> = kept.par_iter().map(|(g, _)| screening_fit(&p, g)).collect();
    let mut scored: Vec<(Vec<usize>, f64, f64)> = Vec::with_capacity(kept.len());
    for ((g, share), l2) in kept.into_iter().zip(screened) {
        scored.push((g, share, l2?));
    }
    scored.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
    scored.truncate(spec.candidates.max(1));
    let mut fits = (generated - screened_out) as u64;
    control.report(0.02);

    // The power run, in chunks so progress and cancellation are seen.
    let chunk = rayon::current_num_threads().max(1) * 2;
    let mut evaluated = Vec::with_capacity(scored.len());
    let total = scored.len();
    for (i, part) in scored.chunks(chunk).enumerate() {
        control.check()?;
        let results: Vec<Result<CandidateEvaluation>> = part
            .par_iter()
            .map(|(g, share, l2)| evaluate(&p, g, *share, *l2, cancel))
            .collect();
        for r in results {
            evaluated.push(r?);
        }
        control.report(0.02 + 0.98 * ((i * chunk + part.len()) as f64 / total as f64));
    }
    let per_window = 1 + p.effects.len() as u64;
    fits +=
        evaluated.len() as u64 * spec.simulations as u64 * spec.durations.len() as u64 * per_window;
    rank(&mut evaluated);
    let (verdict, summary) = match evaluated.first() {
        Some(best) if matches!(best.verdict, Verdict::Accepted) => {
            let r = best.best().cloned();
            let summary = match r {
                Some(r) => format!(
                    "Recommended: treat {} for {} periods. It detects a {:.1}% lift with {:.0}% power; on this history it finds an effect that is not there in {:.1}% of placebo runs (α = {}){}. {} groups generated, {} screened out, {} evaluated.",
                    best.treated.join(", "),
                    r.duration,
                    r.mde.unwrap_or(0.0) * 100.0,
                    r.effects
                        .iter()
                        .find(|e| Some(e.effect) == r.mde)
                        .map_or(0.0, |e| e.power)
                        * 100.0,
                    r.placebo_false_positive_rate * 100.0,
                    spec.alpha,
                    r.investment_at_mde.map_or(String::new(), |i| format!(
                        ", needing about {} in spend",
                        fmt_num(i, 0)
                    )),
                    generated,
                    screened_out,
                    evaluated.len()
                ),
                None => String::new(),
            };
            (Verdict::Accepted, summary)
        }
        Some(best) => {
            let reasons = match &best.verdict {
                Verdict::Refused { reasons } => reasons.clone(),
                Verdict::Accepted => Vec::new(),
            };
            let summary = format!(
                "No design is recommended: none of the {} evaluated groups meets the bounds. The best, {}, was refused: {}",
                evaluated.len(),
                best.treated.join(", "),
                reasons.join(" ")
            );
            (Verdict::Refused { reasons }, summary)
        }
        None => (
            Verdict::Refused {
                reasons: vec!["No candidate could be evaluated.".into()],
            },
            "No candidate could be evaluated.".into(),
        ),
    };
    control.report(1.0);
    Ok(DesignReport {
        generated,
        screened_out,
        evaluated,
        verdict,
        fits,
        summary,
    })
}

/// A multi-cell design: several disjoint treatment groups at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiCellDesign {
    /// One evaluation per cell, re-run with the other cells' markets kept
    /// out of its donor pool.
    pub cells: Vec<CandidateEvaluation>,
    /// Accepted when every cell is.
    pub verdict: Verdict,
}

/// Picks `cells` disjoint groups from a market selection, best first, and
/// re-evaluates each with the other cells' markets excluded from its
/// donors (they are treated too, so they cannot stand in for it).
pub fn design_multi_cell(
    panel: &Panel,
    spec: &DesignSpec,
    report: &DesignReport,
    cells: usize,
    control: &mut RunControl<'_>,
) -> Result<MultiCellDesign> {
    if cells == 0 {
        return Err(LiftError::invalid("Ask for at least one cell."));
    }
    let mut chosen: Vec<&CandidateEvaluation> = Vec::new();
    for c in &report.evaluated {
        if chosen.len() == cells {
            break;
        }
        let overlaps = chosen
            .iter()
            .any(|o| o.treated.iter().any(|u| c.treated.contains(u)));
        if !overlaps {
            chosen.push(c);
        }
    }
    if chosen.len() < cells {
        return Err(LiftError::insufficient(format!(
            "Only {} disjoint groups are among the evaluated candidates; {cells} cells were asked for.",
            chosen.len()
        )));
    }
    let mut out = Vec::with_capacity(cells);
    for (i, c) in chosen.iter().enumerate() {
        control.check()?;
        let mut cell_spec = spec.clone();
        for (j, o) in chosen.iter().enumerate() {
            if j != i {
                cell_spec.excluded_donors.extend(o.treated.iter().cloned());
            }
        }
        cell_spec.required_units.clear();
        out.push(power_analysis(
            panel,
            &c.treated,
            &cell_spec,
            &mut RunControl::none(),
        )?);
        control.report((i + 1) as f64 / cells as f64);
    }
    let reasons: Vec<String> = out
        .iter()
        .filter_map(|c| match &c.verdict {
            Verdict::Refused { reasons } => Some(format!(
                "Cell {}: {}",
                c.treated.join(", "),
                reasons.join(" ")
            )),
            Verdict::Accepted => None,
        })
        .collect();
    let verdict = if reasons.is_empty() {
        Verdict::Accepted
    } else {
        Verdict::Refused { reasons }
    };
    Ok(MultiCellDesign {
        cells: out,
        verdict,
    })
}
