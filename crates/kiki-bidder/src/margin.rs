//! MarginGuardian: the rule that no bid may imply paying more for a customer
//! than a safe share of what the customer is worth.
//!
//! max CPA = min(LTV × safety margin, absolute cap); refused when LTV is below a
//! minimum. An OpenRTB bid is a price per thousand impressions, not per
//! conversion, so the per-conversion cap becomes a CPM cap through the expected
//! conversions per impression: paying `CPM / 1000` for an impression that converts
//! with probability `pCTR × pCVR` costs `CPM / (1000 × pCTR × pCVR)` per
//! conversion in expectation, hence
//!
//! implied max CPM = max CPA × pCTR × pCVR × 1000.
//!
//! A price above the cap is cut to `cut_factor` (95 %) of it; every verdict
//! carries a risk level and an explanation.

use kiki_core::{Currency, Money};
use serde::{Deserialize, Serialize};

use crate::error::BidderError;

/// Thresholds of the rule; configurable per organisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MarginPolicy {
    /// Share of the LTV that may be paid for one conversion (0, 1]. Default 0.70.
    pub safety_margin: f64,
    /// Absolute ceiling on the CPA in micros of the bidder currency. Default 100 000 000 (100.00).
    pub absolute_cap_micros: i64,
    /// Below this LTV (micros) the bid is refused. Default 50 000 000 (50.00).
    pub min_ltv_micros: i64,
    /// A price above the cap is cut to this share of the cap (0, 1]. Default 0.95.
    pub cut_factor: f64,
    /// Utilisation (price / cap) up to which the risk is "safe". Default 0.50.
    pub safe_utilisation: f64,
    /// Utilisation up to which the risk is "moderate"; above it "high". Default 0.80.
    pub moderate_utilisation: f64,
}

impl Default for MarginPolicy {
    fn default() -> Self {
        MarginPolicy {
            safety_margin: 0.70,
            absolute_cap_micros: 100_000_000,
            min_ltv_micros: 50_000_000,
            cut_factor: 0.95,
            safe_utilisation: 0.50,
            moderate_utilisation: 0.80,
        }
    }
}

impl MarginPolicy {
    /// Checks that every threshold is in its range.
    pub fn validate(&self) -> Result<(), BidderError> {
        let unit = |v: f64| v.is_finite() && v > 0.0 && v <= 1.0;
        let bad = |s: &str| Err(BidderError::InvalidConfig(s.to_owned()));
        if !unit(self.safety_margin) {
            return bad("margin.safety_margin must be in (0, 1]");
        }
        if !unit(self.cut_factor) {
            return bad("margin.cut_factor must be in (0, 1]");
        }
        if !(unit(self.safe_utilisation)
            && unit(self.moderate_utilisation)
            && self.safe_utilisation <= self.moderate_utilisation)
        {
            return bad("margin utilisation thresholds must satisfy 0 < safe <= moderate <= 1");
        }
        if self.absolute_cap_micros <= 0 || self.min_ltv_micros < 0 {
            return bad(
                "margin.absolute_cap_micros must be positive and min_ltv_micros not negative",
            );
        }
        Ok(())
    }

    /// max CPA = min(LTV × safety margin, absolute cap), in micros.
    pub fn max_cpa_micros(&self, ltv_micros: i64) -> i64 {
        floor_micros(ltv_micros.max(0) as f64 * self.safety_margin).min(self.absolute_cap_micros)
    }
}

/// ⌊x⌋ as micros. For x ≥ 0 (every price here) truncation is the floor, and
/// the bid path prices each candidate with it, so the libm call is skipped;
/// like `floor() as i64`, NaN gives 0 and out-of-range values saturate.
fn floor_micros(x: f64) -> i64 {
    if x >= 0.0 { x as i64 } else { x.floor() as i64 }
}

/// How close a bid comes to its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Price at most `safe_utilisation` of the cap.
    Safe,
    /// Price at most `moderate_utilisation` of the cap.
    Moderate,
    /// Price up to the cap.
    High,
    /// Price was above the cap and was cut.
    Capped,
    /// No bid allowed.
    Refused,
}

/// Why MarginGuardian refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The LTV is below the policy minimum.
    LtvBelowMinimum,
    /// The implied cap rounds to less than one micro (conversion too unlikely).
    CapBelowOneMicro,
}

/// The outcome of one check, with every number needed to explain it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuardianVerdict {
    pub risk: RiskLevel,
    pub refusal: Option<Refusal>,
    pub currency: Currency,
    pub ltv_micros: i64,
    pub max_cpa_micros: i64,
    /// Expected conversions per unit the cap applies to (pCTR × pCVR per impression
    /// for CPM bids; 1 for a CPA bid).
    pub conversion_probability: f64,
    /// The cap in the bid's own unit (CPM micros for OpenRTB, CPA micros otherwise).
    pub cap_micros: i64,
    pub proposed_micros: i64,
    /// The allowed price; 0 when refused.
    pub price_micros: i64,
    /// proposed / cap.
    pub utilisation: f64,
    /// The unit of `cap_micros`, `proposed_micros` and `price_micros`.
    pub unit: PriceUnit,
}

/// What a price is quoted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceUnit {
    /// Per thousand impressions (OpenRTB).
    Cpm,
    /// Per conversion (ad platform bids).
    Cpa,
}

impl GuardianVerdict {
    pub fn is_refused(&self) -> bool {
        self.risk == RiskLevel::Refused
    }

    /// A one-sentence, human explanation of the verdict.
    pub fn explanation(&self) -> String {
        let m = |micros: i64| Money::from_micros(micros, self.currency).to_string();
        let unit = match self.unit {
            PriceUnit::Cpm => "CPM",
            PriceUnit::Cpa => "CPA",
        };
        let basis = format!(
            "max CPA {} = min({:.0}% of LTV {}, absolute cap)",
            m(self.max_cpa_micros),
            self.utilisation_basis_percent(),
            m(self.ltv_micros)
        );
        match (self.risk, self.refusal) {
            (RiskLevel::Refused, Some(Refusal::LtvBelowMinimum)) => format!(
                "Refused: predicted LTV {} is below the minimum LTV for bidding.",
                m(self.ltv_micros)
            ),
            (RiskLevel::Refused, _) => format!(
                "Refused: the implied {unit} cap rounds to zero ({basis}, conversion probability {:.3e}).",
                self.conversion_probability
            ),
            (RiskLevel::Capped, _) => format!(
                "Capped: proposed {unit} {} exceeds the implied cap {} ({basis}); cut to {}.",
                m(self.proposed_micros),
                m(self.cap_micros),
                m(self.price_micros)
            ),
            (risk, _) => format!(
                "{}: {unit} {} uses {:.0}% of the implied cap {} ({basis}).",
                match risk {
                    RiskLevel::Safe => "Safe",
                    RiskLevel::Moderate => "Moderate",
                    _ => "High",
                },
                m(self.price_micros),
                self.utilisation * 100.0,
                m(self.cap_micros)
            ),
        }
    }

    fn utilisation_basis_percent(&self) -> f64 {
        if self.ltv_micros > 0 {
            // Recovers the margin share from the numbers; exact unless the absolute cap bound.
            (self.max_cpa_micros as f64 / self.ltv_micros as f64 * 100.0).min(100.0)
        } else {
            0.0
        }
    }
}

/// Checks a CPM bid for an impression whose conversion probability is `p_conversion`
/// (pCTR × pCVR). `proposed_cpm_micros` is the price the valuation asks for.
pub fn check_cpm(
    policy: &MarginPolicy,
    currency: Currency,
    ltv_micros: i64,
    p_conversion: f64,
    proposed_cpm_micros: i64,
) -> Result<GuardianVerdict, BidderError> {
    if !(p_conversion.is_finite() && (0.0..=1.0).contains(&p_conversion)) {
        return Err(BidderError::NotFinite("conversion probability"));
    }
    let max_cpa = policy.max_cpa_micros(ltv_micros);
    let cap = floor_micros(max_cpa as f64 * p_conversion * 1000.0);
    Ok(judge(
        policy,
        currency,
        ltv_micros,
        max_cpa,
        p_conversion,
        cap,
        proposed_cpm_micros,
        PriceUnit::Cpm,
    ))
}

/// The price [`check_cpm`] allows, without the verdict's explanation: `None`
/// where it refuses (or `p_conversion` is not a probability). The bid path
/// prices every candidate with this and builds the full verdict only for the
/// bid it sends; both go through the same rule, so they always agree.
pub fn guarded_cpm(
    policy: &MarginPolicy,
    ltv_micros: i64,
    p_conversion: f64,
    proposed_cpm_micros: i64,
) -> Option<i64> {
    if !(p_conversion.is_finite() && (0.0..=1.0).contains(&p_conversion)) {
        return None;
    }
    let max_cpa = policy.max_cpa_micros(ltv_micros);
    let cap = floor_micros(max_cpa as f64 * p_conversion * 1000.0);
    guarded_price(policy, ltv_micros, cap, proposed_cpm_micros).ok()
}

/// The rule itself: refuse below the minimum LTV or a cap under one micro,
/// cut a price above the cap to `cut_factor` of it, else keep it.
fn guarded_price(
    policy: &MarginPolicy,
    ltv_micros: i64,
    cap_micros: i64,
    proposed_micros: i64,
) -> Result<i64, Refusal> {
    let proposed_micros = proposed_micros.max(0);
    if ltv_micros < policy.min_ltv_micros {
        return Err(Refusal::LtvBelowMinimum);
    }
    if cap_micros < 1 {
        return Err(Refusal::CapBelowOneMicro);
    }
    Ok(if proposed_micros > cap_micros {
        floor_micros(cap_micros as f64 * policy.cut_factor).min(cap_micros)
    } else {
        proposed_micros
    })
}

/// Checks a per-conversion bid (the rule as ad platforms see it): the cap is the max CPA.
pub fn check_cpa(
    policy: &MarginPolicy,
    currency: Currency,
    ltv_micros: i64,
    proposed_cpa_micros: i64,
) -> GuardianVerdict {
    let max_cpa = policy.max_cpa_micros(ltv_micros);
    judge(
        policy,
        currency,
        ltv_micros,
        max_cpa,
        1.0,
        max_cpa,
        proposed_cpa_micros,
        PriceUnit::Cpa,
    )
}

#[allow(clippy::too_many_arguments)] // reason: one private constructor shared by the two public checks
fn judge(
    policy: &MarginPolicy,
    currency: Currency,
    ltv_micros: i64,
    max_cpa_micros: i64,
    conversion_probability: f64,
    cap_micros: i64,
    proposed_micros: i64,
    unit: PriceUnit,
) -> GuardianVerdict {
    let proposed_micros = proposed_micros.max(0);
    let mut v = GuardianVerdict {
        risk: RiskLevel::Refused,
        refusal: None,
        currency,
        ltv_micros,
        max_cpa_micros,
        conversion_probability,
        cap_micros,
        proposed_micros,
        price_micros: 0,
        utilisation: 0.0,
        unit,
    };
    match guarded_price(policy, ltv_micros, cap_micros, proposed_micros) {
        Err(r) => v.refusal = Some(r),
        Ok(price) => {
            v.price_micros = price;
            v.utilisation = proposed_micros as f64 / cap_micros as f64;
            v.risk = if proposed_micros > cap_micros {
                RiskLevel::Capped
            } else if v.utilisation <= policy.safe_utilisation {
                RiskLevel::Safe
            } else if v.utilisation <= policy.moderate_utilisation {
                RiskLevel::Moderate
            } else {
                RiskLevel::High
            };
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const USD: Currency = Currency::USD;
    const D: i64 = 1_000_000;

    #[test]
    fn the_bid_paths_price_always_equals_the_full_verdicts() {
        let policy = MarginPolicy::default();
        let mut z = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            z = crate::freq::mix64(z);
            z
        };
        for _ in 0..20_000 {
            let ltv = (next() % (400 * D as u64)) as i64 - 10 * D;
            let p = match next() % 10 {
                0 => f64::NAN,
                1 => 1.5,
                _ => (next() % 1_000_000) as f64 / 1e7,
            };
            let proposed = (next() % (50 * D as u64)) as i64 - D;
            let fast = guarded_cpm(&policy, ltv, p, proposed);
            let full = check_cpm(&policy, USD, ltv, p, proposed);
            match full {
                Err(_) => assert_eq!(fast, None, "ltv {ltv} p {p} proposed {proposed}"),
                Ok(v) if v.is_refused() => {
                    assert_eq!(fast, None, "ltv {ltv} p {p} proposed {proposed}")
                }
                Ok(v) => assert_eq!(fast, Some(v.price_micros), "ltv {ltv} p {p}"),
            }
        }
    }

    fn cpa(ltv: i64, bid: i64) -> GuardianVerdict {
        check_cpa(&MarginPolicy::default(), USD, ltv * D, bid * D)
    }

    #[test]
    fn max_cpa_is_seventy_percent_of_ltv_up_to_the_absolute_cap() {
        let p = MarginPolicy::default();
        assert_eq!(p.max_cpa_micros(120 * D), 84 * D);
        assert_eq!(p.max_cpa_micros(200 * D), 100 * D);
        assert_eq!(p.max_cpa_micros(-5), 0);
    }

    #[test]
    fn risk_levels_follow_utilisation_of_the_cap() {
        // LTV 100 → max CPA 70.
        let cases = [
            (35, RiskLevel::Safe, 35),
            (36, RiskLevel::Moderate, 36),
            (56, RiskLevel::Moderate, 56),
            (57, RiskLevel::High, 57),
            (70, RiskLevel::High, 70),
        ];
        for (bid, risk, price) in cases {
            let v = cpa(100, bid);
            assert_eq!((v.risk, v.price_micros), (risk, price * D), "bid {bid}");
        }
    }

    #[test]
    fn bid_is_cut_to_95_percent_of_max_cpa_when_above_it() {
        let v = cpa(100, 80);
        assert_eq!(v.risk, RiskLevel::Capped);
        assert_eq!(v.price_micros, 66_500_000);
        assert!(
            v.explanation()
                .starts_with("Capped: proposed CPA 80.00 USD exceeds the implied cap 70.00 USD")
        );
    }

    #[test]
    fn bid_is_refused_when_ltv_is_below_the_minimum() {
        let v = cpa(49, 1);
        assert_eq!(
            (v.risk, v.refusal, v.price_micros),
            (RiskLevel::Refused, Some(Refusal::LtvBelowMinimum), 0)
        );
        assert!(v.explanation().contains("below the minimum"));
    }

    #[test]
    fn cpm_cap_is_max_cpa_times_conversion_probability_times_a_thousand() {
        // LTV 120 → max CPA 84; p = 0.002 × 0.02 = 4e-5 → cap = 84 × 4e-5 × 1000 = 3.36 CPM.
        let v = check_cpm(
            &MarginPolicy::default(),
            USD,
            120 * D,
            0.002 * 0.02,
            2_400_000,
        )
        .unwrap();
        assert_eq!(v.cap_micros, 3_360_000);
        assert_eq!(v.risk, RiskLevel::Moderate);
        let v = check_cpm(
            &MarginPolicy::default(),
            USD,
            120 * D,
            0.002 * 0.02,
            5_000_000,
        )
        .unwrap();
        assert_eq!((v.risk, v.price_micros), (RiskLevel::Capped, 3_192_000));
    }

    #[test]
    fn a_cap_that_rounds_to_zero_refuses_and_bad_probabilities_are_errors() {
        let v = check_cpm(&MarginPolicy::default(), USD, 60 * D, 1e-15, 1).unwrap();
        assert_eq!(v.refusal, Some(Refusal::CapBelowOneMicro));
        for p in [f64::NAN, f64::INFINITY, -0.1, 1.5] {
            assert_eq!(
                check_cpm(&MarginPolicy::default(), USD, 60 * D, p, 1),
                Err(BidderError::NotFinite("conversion probability"))
            );
        }
    }

    #[test]
    fn per_organisation_thresholds_change_the_verdict() {
        let strict = MarginPolicy {
            safety_margin: 0.5,
            min_ltv_micros: 10 * D,
            ..MarginPolicy::default()
        };
        let v = check_cpa(&strict, USD, 40 * D, 17 * D);
        assert_eq!((v.max_cpa_micros, v.risk), (20 * D, RiskLevel::High));
        assert!(
            MarginPolicy {
                cut_factor: 1.5,
                ..MarginPolicy::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            MarginPolicy {
                safe_utilisation: 0.9,
                ..MarginPolicy::default()
            }
            .validate()
            .is_err()
        );
        assert!(MarginPolicy::default().validate().is_ok());
    }
}
