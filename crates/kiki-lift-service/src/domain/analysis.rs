//! The registered analysis: the plan resolved over the stored panel, the
//! engine run by the plan's method (synthetic control + conformal
//! inference, time-based regression, Trimmed Match, or an audience
//! holdout), and the view of the result. The inputs are hashed as one canonical JSON document
//! ([`AnalysisInputs`]) so that anyone holding them can re-run the analysis
//! and check both the inputs' hash and the result's.

use kiki_core::FieldError;
use kiki_lift::{
    GeoAnalysis, GeoPair, HoldoutDesign, HoldoutInput, HoldoutResult, LiftError, Panel, PanelData,
    RunControl, Tails, TbrInput, TbrResult, TrimRate, TrimmedMatchInput, TrimmedMatchResult,
    analyze_geo, analyze_holdout, time_based_regression, trimmed_match,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::panel::UserRow;
use super::plan::{
    Alternative, HoldoutPlan, HoldoutPopulation, LiftMethod, LiftPlan, MethodName, TbrPlan,
    TrimmedMatchPlan,
};

/// Everything an analysis reads: the registered plan and the stored panel.
/// Its [`content_hash`](super::content_hash) is the analysis's `inputs_hash`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnalysisInputs {
    pub plan: LiftPlan,
    pub panel: PanelData,
    /// The cost panel over the same days, when the plan reads one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<PanelData>,
    /// A holdout's users (then `panel` names the arms only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<UserRow>>,
}

/// The engine's result of one method, stored as the engine writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MethodResult {
    SyntheticControl(Box<GeoAnalysis>),
    Tbr(Box<TbrResult>),
    TrimmedMatch(Box<TrimmedMatchResult>),
    Holdout(Box<HoldoutResult>),
}

impl MethodResult {
    /// The method that produced it.
    pub fn method(&self) -> MethodName {
        match self {
            MethodResult::SyntheticControl(_) => MethodName::SyntheticControl,
            MethodResult::Tbr(_) => MethodName::Tbr,
            MethodResult::TrimmedMatch(_) => MethodName::TrimmedMatch,
            MethodResult::Holdout(_) => MethodName::Holdout,
        }
    }

    /// The stored result read back as the method's.
    pub fn from_stored(method: MethodName, v: serde_json::Value) -> serde_json::Result<Self> {
        Ok(match method {
            MethodName::SyntheticControl => {
                MethodResult::SyntheticControl(serde_json::from_value(v)?)
            }
            MethodName::Tbr => MethodResult::Tbr(serde_json::from_value(v)?),
            MethodName::TrimmedMatch => MethodResult::TrimmedMatch(serde_json::from_value(v)?),
            MethodName::Holdout => MethodResult::Holdout(serde_json::from_value(v)?),
        })
    }

    /// The result in a paragraph.
    pub fn summary(&self) -> &str {
        match self {
            MethodResult::SyntheticControl(a) => &a.summary,
            MethodResult::Tbr(r) => &r.summary,
            MethodResult::TrimmedMatch(r) => &r.summary,
            MethodResult::Holdout(r) => &r.summary,
        }
    }
}

/// Why an analysis could not run.
#[derive(Debug)]
pub enum AnalyzeError {
    /// The stored panel does not cover the registered plan (fields named).
    Plan(Vec<FieldError>),
    /// The engine refused the data.
    Engine(LiftError),
}

/// Runs the registered analysis on `panel`, reading the plan's days only.
/// Pure and deterministic: the same plan and panel give the same numbers.
/// Returns the result and the inputs it read (the plan and the panel cut to
/// `pre_start ..= test_end`), whose hash is the analysis's `inputs_hash`:
/// days uploaded after the test do not change it.
pub fn analyze(
    plan: &LiftPlan,
    panel: &Panel,
) -> Result<(GeoAnalysis, AnalysisInputs), AnalyzeError> {
    let resolved = plan.resolve(panel).map_err(AnalyzeError::Plan)?;
    let result = analyze_geo(
        &resolved.panel,
        &resolved.spec,
        &resolved.options,
        &mut RunControl::none(),
    )
    .map_err(AnalyzeError::Engine)?;
    let inputs = AnalysisInputs {
        plan: plan.clone(),
        panel: PanelData::from(resolved.panel),
        cost: None,
        users: None,
    };
    Ok((result, inputs))
}

/// Runs the registered analysis of any method on `panel` (and `cost`, the
/// upload's cost panel, for plans that name a `cost_kpi`), reading the
/// plan's days only. Pure and deterministic, like [`analyze`].
pub fn analyze_plan(
    plan: &LiftPlan,
    panel: &Panel,
    cost: Option<&Panel>,
) -> Result<(MethodResult, AnalysisInputs), AnalyzeError> {
    match &plan.method {
        LiftMethod::SyntheticControl => {
            analyze(plan, panel).map(|(r, i)| (MethodResult::SyntheticControl(Box::new(r)), i))
        }
        LiftMethod::Tbr(t) => analyze_tbr(plan, t, panel, cost),
        LiftMethod::TrimmedMatch(t) => analyze_trimmed_match(plan, t, panel, cost),
        LiftMethod::Holdout(_) => Err(AnalyzeError::Plan(vec![FieldError::new(
            "plan.method",
            "A holdout reads its users, not a daily KPI panel.",
        )])),
    }
}

/// Runs a registered holdout on its uploaded users. Pure and
/// deterministic; the inputs are the plan, the arms and the users.
pub fn analyze_users(
    plan: &LiftPlan,
    arms: PanelData,
    users: &[UserRow],
) -> Result<(MethodResult, AnalysisInputs), AnalyzeError> {
    let LiftMethod::Holdout(h) = &plan.method else {
        return Err(AnalyzeError::Plan(vec![FieldError::new(
            "plan.method",
            "Only a holdout reads users.",
        )]));
    };
    let HoldoutPlan {
        salt,
        treatment_share,
        population,
    } = h;
    let input = HoldoutInput {
        design: HoldoutDesign {
            salt: salt.clone(),
            treatment_share: *treatment_share,
        },
        records: users.iter().map(UserRow::record).collect(),
        population: HoldoutPopulation::engine(*population),
        confidence: 1.0 - plan.alpha,
    };
    let result = analyze_holdout(&input).map_err(AnalyzeError::Engine)?;
    let inputs = AnalysisInputs {
        plan: plan.clone(),
        panel: arms,
        cost: None,
        users: Some(users.to_vec()),
    };
    Ok((MethodResult::Holdout(Box::new(result)), inputs))
}

/// The cost panel over the plan's days, when the plan names a cost KPI.
fn cost_window(
    plan: &LiftPlan,
    cost_kpi: &Option<String>,
    cost: Option<&Panel>,
) -> Result<Option<Panel>, AnalyzeError> {
    let Some(kpi) = cost_kpi else {
        return Ok(None);
    };
    let Some(cost) = cost else {
        return Err(AnalyzeError::Plan(vec![FieldError::new(
            "plan.cost_kpi",
            format!(
                "The KPI panel has no cost column for `{kpi}`; upload the panel with one (`cost`, or `cost_col` for a CSV file)."
            ),
        )]));
    };
    plan.window(cost).map(Some).map_err(AnalyzeError::Plan)
}

fn analyze_tbr(
    plan: &LiftPlan,
    t: &TbrPlan,
    panel: &Panel,
    cost: Option<&Panel>,
) -> Result<(MethodResult, AnalysisInputs), AnalyzeError> {
    let window = plan.window(panel).map_err(AnalyzeError::Plan)?;
    let cost = cost_window(plan, &t.cost_kpi, cost)?;
    let (start, end) = plan.test_range().map_err(AnalyzeError::Plan)?;
    let mut input =
        TbrInput::from_panel(&window, &plan.treated, &t.control, (0, start), (start, end))
            .map_err(AnalyzeError::Engine)?;
    input.level = 1.0 - plan.alpha;
    input.tails = match plan.alternative {
        Alternative::Greater => Tails::One,
        _ => Tails::Two,
    };
    if let Some(c) = &cost {
        let units = c
            .unit_indexes(&plan.treated)
            .map_err(AnalyzeError::Engine)?;
        input.incremental_spend = Some(c.total(&units, start, end));
    }
    let result = time_based_regression(&input).map_err(AnalyzeError::Engine)?;
    let inputs = AnalysisInputs {
        plan: plan.clone(),
        panel: PanelData::from(window),
        cost: cost.map(PanelData::from),
        users: None,
    };
    Ok((MethodResult::Tbr(Box::new(result)), inputs))
}

fn analyze_trimmed_match(
    plan: &LiftPlan,
    t: &TrimmedMatchPlan,
    panel: &Panel,
    cost: Option<&Panel>,
) -> Result<(MethodResult, AnalysisInputs), AnalyzeError> {
    let window = plan.window(panel).map_err(AnalyzeError::Plan)?;
    let Some(cost) = cost_window(plan, &t.cost_kpi, cost)? else {
        return Err(AnalyzeError::Plan(vec![FieldError::new(
            "plan.cost_kpi",
            "Trimmed Match divides by each pair's cost difference: name the `cost_kpi`.",
        )]));
    };
    let (start, end) = plan.test_range().map_err(AnalyzeError::Plan)?;
    let total = |p: &Panel, name: &str| -> Result<f64, AnalyzeError> {
        let units = p.unit_indexes(&[name]).map_err(AnalyzeError::Engine)?;
        Ok(p.total(&units, start, end))
    };
    let mut pairs = Vec::with_capacity(t.pairs.len());
    for pair in &t.pairs {
        pairs.push(GeoPair::from_totals(
            total(&window, &pair.treated)?,
            total(&window, &pair.control)?,
            total(&cost, &pair.treated)?,
            total(&cost, &pair.control)?,
        ));
    }
    let input = TrimmedMatchInput {
        pairs,
        trim: t
            .trim_rate
            .map_or(TrimRate::Auto, |rate| TrimRate::Fixed { rate }),
        max_trim_rate: t.max_trim_rate,
        confidence: 1.0 - plan.alpha,
    };
    let result = trimmed_match(&input).map_err(AnalyzeError::Engine)?;
    let inputs = AnalysisInputs {
        plan: plan.clone(),
        panel: PanelData::from(window),
        cost: Some(PanelData::from(cost)),
        users: None,
    };
    Ok((MethodResult::TrimmedMatch(Box::new(result)), inputs))
}

/// A confidence interval; a missing bound is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct IntervalView {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl From<kiki_lift::Interval> for IntervalView {
    fn from(i: kiki_lift::Interval) -> Self {
        IntervalView {
            lower: i.lower,
            upper: i.upper,
        }
    }
}

/// A donor market's weight in the synthetic control.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WeightView {
    pub market: String,
    pub weight: f64,
}

/// How well the donors track the treated markets before the test.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DiagnosticsView {
    /// Root of the summed squared pre-period gap (de-meaned series).
    pub l2_imbalance: f64,
    /// L2 imbalance over that of equal donor weights (0 perfect, 1 no better).
    pub scaled_l2_imbalance: f64,
    pub pre_rmse: f64,
    pub pre_r_squared: f64,
    pub pre_mape: f64,
    pub donors_used: usize,
    pub max_weight: f64,
    /// `1 / Σ w²`.
    pub effective_donors: f64,
    pub pre_days: usize,
    pub test_days: usize,
    pub treated_markets: usize,
    pub donors: usize,
    /// The smallest p-value this many days can give.
    pub smallest_p_value: f64,
}

/// The headline figures of an analysis.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AnalysisSummary {
    /// Mean effect per treated market per test day.
    pub att: f64,
    /// Incremental outcome over the test (ATT × days × treated markets).
    pub incremental: f64,
    /// Test-window effect over the counterfactual (0.054 = +5.4 %).
    pub lift: f64,
    pub att_interval: IntervalView,
    pub incremental_interval: IntervalView,
    pub lift_interval: IntervalView,
    /// Conformal p-value of "no effect" (block permutations).
    pub p_value: f64,
    pub alpha: f64,
    pub alternative: Alternative,
    /// `p_value <= alpha`; then the interval excludes zero.
    pub significant: bool,
    pub observed_total: f64,
    pub counterfactual_total: f64,
    /// Donor weights, largest first (those above 0.00005 in magnitude).
    pub weights: Vec<WeightView>,
    pub diagnostics: DiagnosticsView,
    /// What is thin or unusual about the data or the inference.
    pub warnings: Vec<String>,
    /// The result in a paragraph.
    pub summary: String,
}

/// The headline figures of a time-based regression.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TbrSummary {
    /// Incremental outcome over the test (observed − counterfactual).
    pub incremental: f64,
    pub incremental_interval: IntervalView,
    /// Incremental over counterfactual outcome (0.17 = +17 %).
    pub lift: f64,
    pub lift_interval: IntervalView,
    /// Probability the incremental outcome is above zero.
    pub probability_positive: f64,
    /// Incremental outcome per unit of cost, when the plan names a cost KPI.
    pub iroas: Option<f64>,
    pub iroas_interval: Option<IntervalView>,
    /// The treatment group's cost over the test the iROAS divides by.
    pub incremental_cost: Option<f64>,
    /// The pre-period regression: intercept, slope, R², degrees of freedom.
    pub intercept: f64,
    pub slope: f64,
    pub r_squared: f64,
    pub df: f64,
    pub pre_days: usize,
    pub test_days: usize,
    pub warnings: Vec<String>,
    pub summary: String,
}

impl TbrSummary {
    pub fn of(r: &TbrResult) -> TbrSummary {
        TbrSummary {
            incremental: r.incremental_response,
            incremental_interval: r.response_interval.into(),
            lift: r.relative_lift,
            lift_interval: r.relative_lift_interval.into(),
            probability_positive: r.probability_positive,
            iroas: r.iroas.as_ref().map(|i| i.estimate),
            iroas_interval: r.iroas.as_ref().map(|i| i.interval.into()),
            incremental_cost: r.iroas.as_ref().map(|i| i.incremental_spend),
            intercept: r.intercept,
            slope: r.slope,
            r_squared: r.r_squared,
            df: r.df,
            pre_days: r.pre_periods,
            test_days: r.test_periods,
            warnings: r.warnings.clone(),
            summary: r.summary.clone(),
        }
    }
}

/// The headline figures of Trimmed Match.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrimmedMatchSummary {
    /// Incremental outcome per unit of cost.
    pub iroas: f64,
    pub std_error: f64,
    /// Two-sided interval at 1 − alpha.
    pub iroas_interval: IntervalView,
    /// The share of pairs trimmed from each tail.
    pub trim_rate: f64,
    pub trimmed_per_tail: usize,
    pub pairs: usize,
    /// The interval fell back to the normal approximation.
    pub interval_fallback: bool,
    pub warnings: Vec<String>,
    pub summary: String,
}

impl TrimmedMatchSummary {
    pub fn of(r: &TrimmedMatchResult) -> TrimmedMatchSummary {
        TrimmedMatchSummary {
            iroas: r.estimate,
            std_error: r.std_error,
            iroas_interval: r.interval.into(),
            trim_rate: r.trim_rate,
            trimmed_per_tail: r.trimmed_per_tail,
            pairs: r.pairs,
            interval_fallback: r.interval_fallback,
            warnings: r.warnings.clone(),
            summary: r.summary.clone(),
        }
    }
}

/// One holdout arm's totals.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ArmView {
    pub users: usize,
    pub converters: usize,
    pub conversion_rate: f64,
    pub revenue: f64,
    pub revenue_per_user: f64,
}

impl From<&kiki_lift::ArmSummary> for ArmView {
    fn from(a: &kiki_lift::ArmSummary) -> Self {
        ArmView {
            users: a.users,
            converters: a.converters,
            conversion_rate: a.conversion_rate,
            revenue: a.revenue,
            revenue_per_user: a.revenue_per_user,
        }
    }
}

/// Treatment minus control for one metric of a holdout.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DifferenceView {
    /// Treatment mean minus control mean.
    pub absolute: f64,
    pub std_error: f64,
    /// Normal interval at 1 − alpha.
    pub interval: IntervalView,
    /// Two-sided p-value of "no difference".
    pub p_value: f64,
    /// Treatment over control minus one (absent when the control's is 0).
    pub relative: Option<f64>,
    pub relative_interval: Option<IntervalView>,
}

impl From<&kiki_lift::Difference> for DifferenceView {
    fn from(d: &kiki_lift::Difference) -> Self {
        DifferenceView {
            absolute: d.absolute,
            std_error: d.std_error,
            interval: d.interval.into(),
            p_value: d.p_value,
            relative: d.relative,
            relative_interval: d.relative_interval.map(Into::into),
        }
    }
}

/// The headline figures of an audience holdout.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HoldoutSummary {
    pub population: HoldoutPopulation,
    pub treatment: ArmView,
    pub control: ArmView,
    /// Difference in conversion rate.
    pub conversion_rate: DifferenceView,
    /// Difference in revenue per user.
    pub revenue_per_user: DifferenceView,
    /// Conversion-rate difference times the treated users.
    pub incremental_conversions: f64,
    /// Revenue-per-user difference times the treated users.
    pub incremental_revenue: f64,
    /// Users whose logged arm disagrees with the salted hash.
    pub assignment_mismatches: usize,
    /// p-value of the arm sizes against the treatment share.
    pub sample_ratio_p_value: f64,
    pub warnings: Vec<String>,
    pub summary: String,
}

impl HoldoutSummary {
    pub fn of(r: &HoldoutResult) -> HoldoutSummary {
        HoldoutSummary {
            population: match r.population {
                kiki_lift::Population::All => HoldoutPopulation::All,
                kiki_lift::Population::WouldHaveBid => HoldoutPopulation::WouldHaveBid,
            },
            treatment: (&r.treatment).into(),
            control: (&r.control).into(),
            conversion_rate: (&r.conversion_rate).into(),
            revenue_per_user: (&r.revenue_per_user).into(),
            incremental_conversions: r.incremental_conversions,
            incremental_revenue: r.incremental_revenue,
            assignment_mismatches: r.assignment_mismatches,
            sample_ratio_p_value: r.sample_ratio_p_value,
            warnings: r.warnings.clone(),
            summary: r.summary.clone(),
        }
    }
}

impl AnalysisSummary {
    pub fn of(a: &GeoAnalysis, alternative: Alternative) -> AnalysisSummary {
        let f = &a.fit;
        let i = &a.inference;
        let d = &f.diagnostics;
        let s = &f.sufficiency;
        let mut warnings = s.warnings.clone();
        warnings.extend(i.warnings.iter().cloned());
        AnalysisSummary {
            att: f.att,
            incremental: f.incremental,
            lift: f.lift,
            att_interval: i.att.into(),
            incremental_interval: i.incremental.into(),
            lift_interval: i.lift.into(),
            p_value: i.p_value,
            alpha: i.options.alpha,
            alternative,
            significant: i.p_value <= i.options.alpha,
            observed_total: f.observed_total,
            counterfactual_total: f.counterfactual_total,
            weights: f
                .weights
                .iter()
                .filter(|w| w.weight.abs() >= 0.5e-4)
                .map(|w| WeightView {
                    market: w.unit.clone(),
                    weight: w.weight,
                })
                .collect(),
            diagnostics: DiagnosticsView {
                l2_imbalance: d.l2_imbalance,
                scaled_l2_imbalance: d.scaled_l2_imbalance,
                pre_rmse: d.pre_rmse,
                pre_r_squared: d.pre_r_squared,
                pre_mape: d.pre_mape,
                donors_used: d.donors_used,
                max_weight: d.max_weight,
                effective_donors: d.effective_donors,
                pre_days: s.pre_periods,
                test_days: s.test_periods,
                treated_markets: s.treated_units,
                donors: s.donors,
                smallest_p_value: s.smallest_p_value,
            },
            warnings,
            summary: a.summary.clone(),
        }
    }

    /// The figures as lines for a person (the `kiki lift analyze` output).
    pub fn render(&self, kpi: &str) -> String {
        let bound = |b: Option<f64>, pct: bool| match b {
            None => "unbounded".to_owned(),
            Some(v) if pct => format!("{:+.2} %", v * 100.0),
            Some(v) => format!("{v:.3}"),
        };
        let mut out = String::new();
        let level = (1.0 - self.alpha) * 100.0;
        out.push_str(&format!(
            "estimate: ATT {:.3} {kpi} per treated market per day, incremental {:.1}, lift {:+.2} %\n",
            self.att,
            self.incremental,
            self.lift * 100.0
        ));
        out.push_str(&format!(
            "interval ({level:.0} %): ATT [{}, {}], incremental [{}, {}], lift [{}, {}]\n",
            bound(self.att_interval.lower, false),
            bound(self.att_interval.upper, false),
            bound(self.incremental_interval.lower, false),
            bound(self.incremental_interval.upper, false),
            bound(self.lift_interval.lower, true),
            bound(self.lift_interval.upper, true),
        ));
        out.push_str(&format!(
            "p-value: {:.4} ({}, alpha {}){}\n",
            self.p_value,
            self.alternative.as_str(),
            self.alpha,
            if self.significant {
                ", significant"
            } else {
                ", not significant"
            }
        ));
        out.push_str("weights:\n");
        for w in &self.weights {
            out.push_str(&format!("  {:<24} {:.4}\n", w.market, w.weight));
        }
        let d = &self.diagnostics;
        out.push_str(&format!(
            "diagnostics: L2 imbalance {:.3}, scaled {:.4}, pre-period RMSE {:.3}, R² {:.4}, MAPE {:.4}, donors used {} of {}, max weight {:.4}, effective donors {:.2}\n",
            d.l2_imbalance,
            d.scaled_l2_imbalance,
            d.pre_rmse,
            d.pre_r_squared,
            d.pre_mape,
            d.donors_used,
            d.donors,
            d.max_weight,
            d.effective_donors
        ));
        out.push_str(&format!(
            "data: {} pre-period days, {} test days, {} treated markets, smallest attainable p-value {:.4}\n",
            d.pre_days, d.test_days, d.treated_markets, d.smallest_p_value
        ));
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out.push_str(&format!("summary: {}\n", self.summary));
        out
    }
}
