//! The go/no-go gate: approve a plan iff the probability of positive net
//! profit uplift reaches the threshold (0.85 by default), the expected
//! uplift is material (at least one minor unit of the currency, and at least
//! the configured share of the plan's spend) and no hard violation stands. The decision carries its inputs, a plain-language reason,
//! and the client's share after KIKI's outcome fee (20 % of positive uplift).

use kiki_core::Money;
use serde::{Deserialize, Serialize};

use crate::error::TwinError;
use crate::evaluate::{RiskLevel, TwinReport, Violation};
use crate::profit::{Margin, MarginSource, percent};
use crate::quality::{self, ConfidenceBasis, LineDataQuality};
use crate::result::MoneyQuantiles;

/// Gate thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct GateConfig {
    /// Approve only when P(uplift > 0) is at least this.
    pub min_confidence: f64,
    /// The outcome fee in basis points of positive net profit uplift
    /// (2000 = 20 %), per contract.
    pub fee_rate_bps: u32,
    /// Materiality: approve only when the expected uplift is at least this
    /// share of the plan's spend, in basis points (100 = 1 %); 0: only the
    /// floor of one minor unit of the currency applies.
    pub min_uplift_bps_of_spend: u32,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            min_confidence: 0.85,
            fee_rate_bps: 2000,
            min_uplift_bps_of_spend: 0,
        }
    }
}

/// How the expected uplift splits between KIKI's fee and the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeeSplit {
    pub fee_rate_bps: u32,
    pub expected_uplift: Money,
    /// The fee on the expected uplift (zero when it is not positive).
    pub fee_on_expected_uplift: Money,
    /// Expected uplift minus that fee.
    pub client_share_of_expected_uplift: Money,
    /// The expected fee across runs, `rate × E[max(uplift, 0)]`: the fee is
    /// charged only in outcomes with positive uplift, so this is what the
    /// client should expect to pay on average.
    pub expected_fee: Money,
    /// Expected uplift minus the expected fee.
    pub client_expected_share: Money,
}

/// The numbers the gate decided on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateInputs {
    pub runs: u32,
    pub seed: u64,
    pub confidence: f64,
    pub min_confidence: f64,
    pub expected_uplift: Money,
    pub uplift: MoneyQuantiles,
    pub risk_level: RiskLevel,
    /// Confidence under each stress scenario.
    pub stress_confidence: Vec<StressConfidence>,
    pub hard_violations: Vec<Violation>,
    /// What the confidence rests on (`prior_based` when a platform has no
    /// history).
    #[serde(default)]
    pub confidence_basis: ConfidenceBasis,
    /// The contribution margin profit was counted at, and its source.
    #[serde(default)]
    pub margin: Margin,
    /// Per plan line: priors only, thin or measured.
    #[serde(default)]
    pub data_quality: Vec<LineDataQuality>,
    /// Where the value of a customer came from, in words.
    #[serde(default)]
    pub value_source: Option<String>,
    /// The smallest expected uplift the gate approves (materiality); absent
    /// on decisions stored before the rule.
    #[serde(default)]
    pub min_expected_uplift: Option<Money>,
}

/// One stress scenario's confidence, as the gate saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StressConfidence {
    pub scenario: String,
    pub confidence: f64,
}

/// Approve or reject, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateDecision {
    pub approved: bool,
    pub inputs: GateInputs,
    pub fee: FeeSplit,
    /// Plain-language reason, for the decision record and the dashboard.
    pub reason: String,
}

/// Joins a sentence into a list: "The median…" → "the median…".
fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// The label a confidence carries in words.
fn basis_label(basis: ConfidenceBasis) -> &'static str {
    match basis {
        ConfidenceBasis::PriorBased => " (prior-based)",
        ConfidenceBasis::ThinHistory => " (on thin history)",
        ConfidenceBasis::Measured => "",
        ConfidenceBasis::Supplied => "",
    }
}

/// The margin sentence of a reason.
pub fn margin_sentence(margin: &Margin) -> String {
    match margin.source {
        MarginSource::Configured => format!(
            "Profit at the configured {} contribution margin.",
            percent(margin.contribution_margin)
        ),
        MarginSource::NotConfigured => {
            "No contribution margin configured: assuming 100 %, revenue = profit.".into()
        }
        MarginSource::RevenueContract => {
            "Revenue counted as profit (100 %), as the contract provides.".into()
        }
    }
}

/// Decides on an evaluated plan.
pub fn decide(report: &TwinReport, config: &GateConfig) -> Result<GateDecision, TwinError> {
    if !config.min_confidence.is_finite() || !(0.0..=1.0).contains(&config.min_confidence) {
        return Err(TwinError::Invalid(vec![kiki_core::FieldError::new(
            "min_confidence",
            "The minimum confidence must be between 0 and 1.",
        )]));
    }
    if config.min_uplift_bps_of_spend > 1_000_000 {
        return Err(TwinError::Invalid(vec![kiki_core::FieldError::new(
            "min_uplift_bps_of_spend",
            "The minimum uplift must be between 0 and 1000000 basis points of the spend (0 % to 10,000 %).",
        )]));
    }
    if config.fee_rate_bps > 10_000 {
        return Err(TwinError::Invalid(vec![kiki_core::FieldError::new(
            "fee_rate_bps",
            "The fee rate must be between 0 and 10000 basis points.",
        )]));
    }
    let r = &report.result;
    let currency = r.currency;
    let money = |micros| Money::from_micros(micros, currency);
    let text = |m: Money| m.text().to_string();
    let rate = i64::from(config.fee_rate_bps);
    let overflow = |_| TwinError::OutOfRange { what: "fee" };

    let expected = r.expected_uplift;
    let fee_on_expected = if expected.micros > 0 {
        expected.mul_ratio(rate, 10_000).map_err(overflow)?
    } else {
        money(0)
    };
    let expected_fee = r
        .expected_positive_uplift
        .mul_ratio(rate, 10_000)
        .map_err(overflow)?;
    let fee = FeeSplit {
        fee_rate_bps: config.fee_rate_bps,
        expected_uplift: expected,
        fee_on_expected_uplift: fee_on_expected,
        client_share_of_expected_uplift: expected.checked_sub(fee_on_expected).map_err(overflow)?,
        expected_fee,
        client_expected_share: expected.checked_sub(expected_fee).map_err(overflow)?,
    };

    let hard: Vec<Violation> = report.hard_violations().cloned().collect();
    let confident = r.confidence >= config.min_confidence;
    // Materiality: a plan that is profitable in expectation by less than
    // the currency's smallest unit (or the configured share of its spend)
    // is not worth the risk of running it.
    let minor_unit = money(10_i64.pow(6 - currency.minor_digits().min(6)));
    let share_of_spend = if config.min_uplift_bps_of_spend > 0 {
        Some(
            r.expected_spend
                .mul_ratio(i64::from(config.min_uplift_bps_of_spend), 10_000)
                .map_err(overflow)?,
        )
    } else {
        None
    };
    let min_uplift = match share_of_spend {
        Some(m) if m.micros > minor_unit.micros => m,
        _ => minor_unit,
    };
    let material = expected.micros >= min_uplift.micros;
    let approved = confident && material && hard.is_empty();

    let label = basis_label(r.confidence_basis);
    let mut reason = if approved {
        format!(
            "Approved: the plan has a {}{label} chance of positive net profit uplift, at or above the {} threshold, and breaks none of its hard limits.",
            pct(r.confidence),
            pct(config.min_confidence)
        )
    } else {
        let mut why = Vec::new();
        if !confident {
            why.push(format!(
                "the chance of positive net profit uplift is {}{label}, below the {} threshold",
                pct(r.confidence),
                pct(config.min_confidence)
            ));
        }
        // A plan with no new spend already says so as a hard violation, and
        // so does, as a rule, a plan that loses money in expectation.
        if !material && expected.micros < 0 && hard.is_empty() {
            why.push(format!(
                "the expected net profit uplift of {} is below zero",
                text(expected)
            ));
        } else if !material && expected.micros >= 0 && r.expected_spend.micros > 0 {
            why.push(if min_uplift == minor_unit {
                format!(
                    "the expected net profit uplift is less than {}, the smallest amount of the currency, so the plan is too small to be worth running",
                    text(minor_unit)
                )
            } else {
                format!(
                    "the expected net profit uplift of {} is less than {}, the minimum of {} of the plan's spend of {}",
                    text(expected),
                    text(min_uplift),
                    pct(f64::from(config.min_uplift_bps_of_spend) / 10_000.0),
                    text(r.expected_spend)
                )
            });
        }
        for v in &hard {
            why.push(lowercase_first(v.message.trim_end_matches('.')));
        }
        format!("Rejected: {}.", why.join("; "))
    };
    reason.push_str(&format!(
        " Expected net profit uplift {} (p10 {}, median {}, p90 {}) against no new spend; risk {}.",
        text(expected),
        text(r.uplift.p10),
        text(r.uplift.p50),
        text(r.uplift.p90),
        report.risk_level.as_str()
    ));
    reason.push(' ');
    reason.push_str(&margin_sentence(&r.margin));
    let caveats = quality::caveats(&r.data_quality);
    if !caveats.is_empty() {
        reason.push(' ');
        reason.push_str(&caveats);
    }
    if let Some(source) = &report.value_source {
        reason.push_str(&format!(" Customer value: {source}."));
    }
    if !report.stress.is_empty() {
        let parts: Vec<String> = report
            .stress
            .iter()
            .map(|s| format!("{} {}", s.scenario.name, pct(s.confidence)))
            .collect();
        reason.push_str(&format!(" Confidence under stress: {}.", parts.join(", ")));
    }
    reason.push_str(&format!(
        " After the {} fee the client keeps an expected {}.",
        pct(f64::from(config.fee_rate_bps) / 10_000.0),
        text(fee.client_expected_share)
    ));

    Ok(GateDecision {
        approved,
        inputs: GateInputs {
            runs: r.runs,
            seed: r.seed,
            confidence: r.confidence,
            min_confidence: config.min_confidence,
            expected_uplift: r.expected_uplift,
            uplift: r.uplift,
            risk_level: report.risk_level,
            stress_confidence: report
                .stress
                .iter()
                .map(|s| StressConfidence {
                    scenario: s.scenario.name.clone(),
                    confidence: s.confidence,
                })
                .collect(),
            hard_violations: hard,
            confidence_basis: r.confidence_basis,
            margin: r.margin,
            data_quality: r.data_quality.clone(),
            value_source: report.value_source.clone(),
            min_expected_uplift: Some(min_uplift),
        },
        fee,
        reason,
    })
}
