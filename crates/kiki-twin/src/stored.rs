//! Reading simulation JSON stored by earlier versions. Amounts were then
//! `<name>_micros` integers (the currency beside them or the plan's); they are
//! now [`kiki_core::Money`] objects. Some members were added later and were
//! filled with zero when absent (a result's `counterfactual`, a day's
//! `carry_over_revenue`, a mirror check's `actual_uplift` and
//! `expected_uplift`). [`read`] upgrades either age of a stored plan, report,
//! gate decision or mirror report, then reads it as today's type.

use kiki_core::Currency;
use kiki_core::money::legacy::upgrade_legacy_micros;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// Reads `value`, stored in either shape, as `T`. `currency` is the plan's:
/// the currency of amounts stored without one beside them.
pub fn read<T: DeserializeOwned>(mut value: Value, currency: Currency) -> serde_json::Result<T> {
    upgrade(&mut value, currency);
    serde_json::from_value(value)
}

/// Rewrites stored JSON of the old shape into today's, in place.
pub fn upgrade(value: &mut Value, currency: Currency) {
    upgrade_legacy_micros(value, currency);
    fill(value, currency.as_str());
}

fn zero(currency: &str) -> Value {
    json!({"micros": 0, "currency": currency})
}

fn zero_band(currency: &str) -> Value {
    json!({"p10": zero(currency), "p50": zero(currency), "p90": zero(currency)})
}

fn fill(value: &mut Value, currency: &str) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, currency)),
        Value::Object(map) => {
            let here = map
                .get("currency")
                .and_then(Value::as_str)
                .filter(|c| Currency::parse_exact(c).is_ok())
                .unwrap_or(currency)
                .to_owned();
            fill_members(map, &here);
            map.values_mut().for_each(|v| fill(v, &here));
        }
        _ => {}
    }
}

fn fill_members(map: &mut Map<String, Value>, c: &str) {
    let has = |map: &Map<String, Value>, k: &str| map.contains_key(k);
    // A simulation result from before the counterfactual.
    if has(map, "projection") && has(map, "histogram") && !has(map, "counterfactual") {
        let z = zero(c);
        map.insert(
            "counterfactual".into(),
            json!({
                "revenue_without_plan": z, "revenue_with_plan": z,
                "incremental_revenue": z, "incremental_value": z,
                "incremental_gross_profit": z, "incremental_spend": z,
                "carry_over_revenue": z,
            }),
        );
    }
    // A day of the projection from before carry-over was stated.
    if has(map, "day")
        && has(map, "revenue")
        && has(map, "uplift")
        && !has(map, "carry_over_revenue")
    {
        map.insert("carry_over_revenue".into(), zero(c));
    }
    // A mirror check from before it stated the uplift so far.
    if has(map, "day") && has(map, "band") && has(map, "below_band") {
        if !has(map, "actual_uplift") {
            map.insert("actual_uplift".into(), zero(c));
        }
        if !has(map, "expected_uplift") {
            map.insert("expected_uplift".into(), zero_band(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GateDecision, MirrorReport, Plan, TwinReport};
    use kiki_core::Money;

    fn usd(micros: i64) -> Money {
        Money::from_micros(micros, Currency::USD)
    }

    fn band(p10: i64, p50: i64, p90: i64) -> Value {
        json!({"p10_micros": p10, "p50_micros": p50, "p90_micros": p90})
    }

    /// A report as stored before amounts were money objects, and before the
    /// counterfactual and carry-over were stated.
    fn old_report() -> Value {
        json!({
            "result": {
                "currency": "EUR", "runs": 100, "seed": 7,
                "scenario": {"name": "base", "cpm_multiplier": 1.0, "ctr_multiplier": 1.0,
                             "cvr_multiplier": 1.0, "value_multiplier": 1.0},
                "value_basis": "revenue",
                "confidence": 0.9, "confidence_std_error": 0.03,
                "expected_uplift_micros": 5_000_000,
                "expected_positive_uplift_micros": 6_000_000,
                "uplift": band(-1, 5_000_000, 9_000_000),
                "roas": {"p10": 1.0, "p50": 2.0, "p90": 3.0},
                "cpa": {"p10_micros": 1_000_000, "p50_micros": null, "p90_micros": null},
                "expected_spend_micros": 10_000_000,
                "expected_revenue_micros": 20_000_000,
                "expected_ltv_micros": 0,
                "expected_conversions": 2.0,
                "probability_cpa_over_max": null,
                "probability_roas_below_target": null,
                "histogram": {"bins": [{"lower_micros": -1, "upper_micros": 9_000_000, "count": 100}]},
                "projection": [{"day": 1, "date": null, "spend_micros": 10_000_000,
                                "revenue": band(1, 2, 3), "uplift": band(-1, 0, 1)}]
            },
            "risk_level": "MEDIUM",
            "violations": [],
            "stress": [{"scenario": {"name": "cpm_up_50", "cpm_multiplier": 1.5, "ctr_multiplier": 1.0,
                                     "cvr_multiplier": 1.0, "value_multiplier": 1.0},
                        "confidence": 0.8, "expected_uplift_micros": 1, "uplift": band(0, 1, 2),
                        "risk_level": "HIGH"}],
            "total_budget_micros": 10_000_000
        })
    }

    #[test]
    fn a_report_stored_in_the_old_shape_reads_back_in_the_new() {
        let r: TwinReport = read(old_report(), Currency::EUR).unwrap();
        let eur = |m| Money::from_micros(m, Currency::EUR);
        assert_eq!(r.total_budget, eur(10_000_000));
        assert_eq!(r.result.expected_uplift, eur(5_000_000));
        assert_eq!(r.result.uplift.p50, eur(5_000_000));
        assert_eq!(r.result.cpa.p10, Some(eur(1_000_000)));
        assert_eq!(r.result.cpa.p50, None);
        assert_eq!(r.result.histogram.bins[0].upper, eur(9_000_000));
        assert_eq!(r.result.projection[0].spend, eur(10_000_000));
        assert_eq!(r.result.projection[0].carry_over_revenue, eur(0));
        assert_eq!(r.result.counterfactual.incremental_spend, eur(0));
        assert_eq!(r.stress[0].expected_uplift, eur(1));
        // And today's shape reads back unchanged.
        let again: TwinReport = read(serde_json::to_value(&r).unwrap(), Currency::USD).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn a_plan_stored_in_the_old_shape_reads_back_in_the_new() {
        let old = json!({
            "currency": "USD",
            "allocations": [{"platform": "meta", "daily_budget_micros": 200_000_000}],
            "duration_days": 30,
            "max_cpa_micros": 60_000_000,
            "baseline_revenue_micros": 0,
            "baseline_ad_spend_micros": 0,
            "organic_revenue_micros": 12_000_000_000_i64,
            "budget_cap_micros": null
        });
        let p: Plan = read(old, Currency::EUR).unwrap();
        assert_eq!(p.allocations[0].daily_budget, usd(200_000_000));
        assert_eq!(p.max_cpa, Some(usd(60_000_000)));
        assert_eq!(p.organic_revenue, Some(usd(12_000_000_000)));
        assert_eq!(p.baseline_revenue, Some(usd(0)));
        assert_eq!(p.budget_cap, None);
        assert!(p.validate().is_empty());
    }

    #[test]
    fn a_gate_decision_stored_in_the_old_shape_reads_back_in_the_new() {
        let fee = |m: i64| json!({"micros": m, "currency": "USD"});
        let old = json!({
            "approved": true,
            "inputs": {"runs": 100, "seed": 1, "confidence": 0.9, "min_confidence": 0.85,
                       "expected_uplift_micros": 5, "uplift": band(1, 2, 3),
                       "risk_level": "LOW", "stress_confidence": [], "hard_violations": []},
            "fee": {"fee_rate_bps": 2000, "expected_uplift": fee(5), "fee_on_expected_uplift": fee(1),
                    "client_share_of_expected_uplift": fee(4), "expected_fee": fee(1),
                    "client_expected_share": fee(4)},
            "reason": "Approved."
        });
        let g: GateDecision = read(old, Currency::USD).unwrap();
        assert_eq!(g.inputs.expected_uplift, usd(5));
        assert_eq!(g.inputs.uplift.p90, usd(3));
    }

    #[test]
    fn a_mirror_report_stored_in_the_old_shape_reads_back_in_the_new() {
        let old = json!({
            "checks": [{"day": 1, "actual_revenue_micros": 5, "expected_revenue_micros": 6,
                        "band": band(1, 6, 9), "deviation": -0.1, "below_band": false,
                        "above_band": false, "actual_spend_micros": 2, "planned_spend_micros": 3}],
            "findings": [{"kind": "rollback_recommended", "day": 1, "actual_revenue_micros": 5,
                          "expected_revenue_micros": 6, "band": band(1, 6, 9), "deviation": -0.2,
                          "days_in_breach": 1, "message": "Rollback recommended."}],
            "rollback_recommended": true,
            "latest_deviation": -0.1
        });
        let m: MirrorReport = read(old, Currency::USD).unwrap();
        assert_eq!(m.checks[0].actual_spend, usd(2));
        assert_eq!(m.checks[0].actual_uplift, usd(0));
        assert_eq!(m.checks[0].expected_uplift.p50, usd(0));
        assert_eq!(m.findings[0].band.p10, usd(1));
    }
}
