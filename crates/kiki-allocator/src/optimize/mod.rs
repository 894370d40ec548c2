//! The allocation optimiser.
//!
//! Method: Lagrangian relaxation with per-platform best responses. For a
//! budget multiplier `λ` (and, with a CPA/ROAS target, a second multiplier
//! `μ`) each platform independently maximises `A·h(x) − b·x` over its bounds;
//! total spend is monotone in `λ`, so bisection on `λ` (in log space) finds the
//! multiplier that spends exactly the budget, and an outer bisection on `μ`
//! finds the smallest price of the target that meets it. At the solution every
//! platform strictly inside its bounds has the same marginal return (the KKT
//! conditions), which is what Robyn's SLSQP/augmented-Lagrangian reaches on
//! the same problem, without a general-purpose solver.
//!
//! The per-platform step is exact: on the decreasing branch of the Hill
//! derivative, `h'(x) = b/A` is solved by Newton's method in `ln x` (the log of
//! the derivative is concave there, so Newton from the right converges
//! monotonically), in closed form for shape 1. For S-shaped curves (`s > 1`)
//! the objective is not concave: the best response compares the stationary
//! point with the corners (zero or minimum spend, and the maximum), the total
//! spend may jump as `λ` moves, and the problem has several local optima.
//! The optimum may even keep a platform on the convex part of its curve
//! (below its inflection point) when the budget or the target is tight, which
//! no best response ever does. So a global search joins in: the best
//! allocations on a lattice of budget steps, found by dynamic programming
//! over the platforms, which sees every combination of spend levels. Those
//! points, the dual solution, the dual solutions of the sub-problems with
//! each S-shaped platform off or past its inflection point, and the
//! value-proportional split all start a local search (pairwise transfers
//! with halving steps, repairing a binding target on a third platform); the
//! best result is returned.

use kiki_core::{Currency, Money};
use kiki_twin::Platform;
use serde::{Deserialize, Serialize};

use crate::error::AllocError;
use crate::request::{AllocationRequest, EfficiencyTarget, Line, Objective, Valid};

/// Which bound a platform sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoundHit {
    Min,
    Max,
}

/// A constraint that holds with equality at the optimum: relaxing it would
/// improve the objective.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BindingConstraint {
    TotalBudget,
    MinBudget {
        platform: Platform,
        ad_set_id: Option<String>,
    },
    MaxBudget {
        platform: Platform,
        ad_set_id: Option<String>,
    },
    EfficiencyTarget,
}

/// One platform's share of the allocation and its marginal returns there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformAllocation {
    pub platform: Platform,
    pub ad_set_id: Option<String>,
    pub daily_budget: Money,
    /// Expected conversions per day at this budget.
    pub expected_conversions: f64,
    /// Expected value per day at this budget.
    pub expected_value: Money,
    /// Extra conversions per extra unit (major) of daily spend.
    pub marginal_conversions: f64,
    /// Extra value per extra unit of spend; `null` when unbounded (zero spend
    /// on a curve steeper than linear at the origin).
    pub marginal_roas: Option<f64>,
    /// `marginal_roas × contribution margin − 1`: profit on the next unit
    /// of spend.
    pub marginal_roi: Option<f64>,
    /// Cost of the next conversion; `null` when no further conversion can
    /// be bought (or not at a cost that fits in 64-bit micros).
    pub marginal_cpa: Option<Money>,
    pub at_bound: Option<BoundHit>,
}

/// Totals of the allocation, per day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExpectedOutcome {
    pub spend: Money,
    pub conversions: f64,
    pub value: Money,
    /// Value × contribution margin minus spend.
    pub net_profit: Money,
    pub cpa: Option<Money>,
    pub roas: Option<f64>,
}

/// The optimiser's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllocationResult {
    pub currency: Currency,
    pub objective: Objective,
    pub allocations: Vec<PlatformAllocation>,
    pub expected: ExpectedOutcome,
    pub binding_constraints: Vec<BindingConstraint>,
    /// Whether the CPA/ROAS target is met; `null` without a target. When it
    /// cannot be met the allocation is the most efficient one found.
    pub target_met: Option<bool>,
    /// The budget's Lagrange multiplier: objective gained per extra unit of
    /// daily budget (0 when the budget does not bind).
    pub budget_shadow_price: f64,
}

mod dual;
mod lattice;
mod polish;
mod search;
mod units;

use dual::*;
use lattice::*;
use polish::*;
use search::*;
use units::*;

/// Allocates the budget. See the module documentation for the method.
pub fn allocate(request: &AllocationRequest) -> Result<AllocationResult, AllocError> {
    let v = request.to_valid()?;
    let (x, lambda, target_met) = solve(&v);
    let budgets = to_micros(&v, &x);
    build(&v, request, &budgets, lambda, target_met)
}

/// The LTV-proportional split of the published design (budget × LTV_i / Σ LTV,
/// within bounds), in micros; the baseline the optimiser must never lose to.
pub fn ltv_proportional_split(request: &AllocationRequest) -> Result<Vec<i64>, AllocError> {
    let v = request.to_valid()?;
    Ok(to_micros(&v, &proportional(&v)))
}

/// The objective value of an allocation in micros (for comparisons): net
/// profit, conversions or value per day, as the request's objective says.
pub fn objective_of(
    request: &AllocationRequest,
    budgets_micros: &[i64],
) -> Result<f64, AllocError> {
    let v = request.to_valid()?;
    let w = Weights::new(&v);
    let x: Vec<f64> = budgets_micros.iter().map(|&m| m as f64 / 1e6).collect();
    Ok(objective(&v, &w, &x))
}

fn build(
    v: &Valid,
    request: &AllocationRequest,
    budgets: &[i64],
    lambda: f64,
    target_met: Option<bool>,
) -> Result<AllocationResult, AllocError> {
    let money = |m: i64| Money::from_micros(m, v.currency);
    let mut allocations = Vec::with_capacity(budgets.len());
    let mut binding = Vec::new();
    let (mut conv_total, mut value_total) = (0.0, 0.0);
    for (i, l) in v.lines.iter().enumerate() {
        let input = &request.platforms[i];
        let m = budgets[i];
        let x = m as f64 / 1e6;
        let conv = l.curve.conversions(x);
        let marginal = l.curve.marginal_conversions(x);
        conv_total += conv;
        value_total += conv * l.value;
        let at_bound = if m == input.min_daily_budget_micros {
            Some(BoundHit::Min)
        } else if Some(m) == input.max_daily_budget_micros {
            Some(BoundHit::Max)
        } else {
            None
        };
        match at_bound {
            Some(BoundHit::Min) if input.min_daily_budget_micros > 0 => {
                binding.push(BindingConstraint::MinBudget {
                    platform: l.platform,
                    ad_set_id: l.ad_set_id.clone(),
                })
            }
            Some(BoundHit::Max) => binding.push(BindingConstraint::MaxBudget {
                platform: l.platform,
                ad_set_id: l.ad_set_id.clone(),
            }),
            _ => {}
        }
        let marginal_roas = (marginal * l.value)
            .is_finite()
            .then_some(marginal * l.value);
        allocations.push(PlatformAllocation {
            platform: l.platform,
            ad_set_id: l.ad_set_id.clone(),
            daily_budget: money(m),
            expected_conversions: conv,
            expected_value: money(micros(conv * l.value, "value")?),
            marginal_conversions: if marginal.is_finite() {
                marginal
            } else {
                f64::MAX
            },
            marginal_roas,
            marginal_roi: marginal_roas.map(|r| r * v.margin - 1.0),
            // A cost beyond the range of micros (a curve that has barely
            // started to respond) is as good as no further conversion.
            marginal_cpa: (marginal > 0.0)
                .then(|| micros(1.0 / marginal, "marginal CPA").ok())
                .flatten()
                .map(money),
            at_bound,
        });
    }
    let spend: i64 = budgets.iter().sum();
    let n = budgets.len() as i64;
    if spend >= v.budget_micros - n {
        binding.insert(0, BindingConstraint::TotalBudget);
    }
    if target_met == Some(true) {
        let w = Weights::new(v);
        let x: Vec<f64> = budgets.iter().map(|&m| m as f64 / 1e6).collect();
        if constraint(v, &w, &x).abs() <= 1e-6 * v.budget.max(1.0) {
            binding.push(BindingConstraint::EfficiencyTarget);
        }
    }
    let spend_major = spend as f64 / 1e6;
    let budget_shadow_price =
        if lambda.is_finite() && binding.contains(&BindingConstraint::TotalBudget) {
            lambda
        } else {
            0.0
        };
    Ok(AllocationResult {
        currency: v.currency,
        objective: v.objective,
        allocations,
        expected: ExpectedOutcome {
            spend: money(spend),
            conversions: conv_total,
            value: money(micros(value_total, "value")?),
            net_profit: money(micros(value_total * v.margin - spend_major, "net profit")?),
            cpa: if conv_total > 0.0 {
                Some(money(micros(spend_major / conv_total, "CPA")?))
            } else {
                None
            },
            roas: (spend > 0).then(|| value_total / spend_major),
        },
        binding_constraints: binding,
        target_met,
        budget_shadow_price,
    })
}

#[cfg(test)]
mod tests;
