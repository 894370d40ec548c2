//! AcquisitionAgent: how to split an ad budget across platforms.
//!
//! - [`allocate()`]: maximise expected net profit, conversions or revenue under a
//!   total daily budget, per-platform bounds and an optional CPA or ROAS
//!   target, over fitted Hill response curves. The optimum equalises marginal
//!   return across platforms that are not at a bound; the result says which
//!   constraints bind and the marginal return on each platform.
//! - [`rebalance()`]: the periodic rule that moves 20 % of an under-performing
//!   platform's daily budget (LTV/CAC more than 15 % below average) to the best
//!   one, within bounds, flagging large shifts for approval.
//!
//! Pure: no IO, no clock. Platforms are [`kiki_twin::Platform`].

pub mod error;
mod optimize;
pub mod rebalance;
pub mod request;

pub use error::AllocError;
pub use optimize::{
    AllocationResult, BindingConstraint, BoundHit, ExpectedOutcome, PlatformAllocation, allocate,
    ltv_proportional_split, objective_of,
};
pub use rebalance::{
    BudgetShift, PlatformActuals, PlatformBudget, PlatformEfficiency, RebalanceConfig,
    RebalanceInput, RebalancePlan, SkippedShift, rebalance,
};
pub use request::{AllocationRequest, EfficiencyTarget, Objective, PlatformCurveInput};
