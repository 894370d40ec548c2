//! A campaign plan as the API receives it, its validation into field errors
//! with JSON paths, and the validated form the simulation runs on.

use kiki_core::{Currency, FieldError, Money};
use serde::{Deserialize, Serialize};
use time::{Date, Weekday};

use crate::error::TwinError;
use crate::fields::Fields;
use crate::model::iso_date;
use crate::platform::Platform;

/// Longest plan the twin simulates, in days.
pub const MAX_DURATION_DAYS: u32 = 366;

/// One line of a plan: a daily budget on a platform (optionally one ad set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanAllocation {
    /// Platform name, lower case (`meta`, `google`, …). Kept as a string so an
    /// unknown name is reported as a field error.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The ad set whose history should be used, when the model has one;
    /// not only spaces.
    #[serde(default)]
    #[schema(pattern = r"\S")]
    pub ad_set_id: Option<String>,
    /// Daily budget in the plan's currency; at least 0.
    #[schema(value_type = kiki_core::NonNegativeMoney)]
    pub daily_budget: Money,
}

/// A campaign plan to simulate before launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    pub currency: Currency,
    /// At least one line; a platform and ad set once each. A plan whose
    /// budgets are all 0 adds nothing: its uplift is exactly zero and the
    /// gate rejects it.
    #[schema(min_items = 1)]
    pub allocations: Vec<PlanAllocation>,
    /// How many days the plan runs, 1 to 366.
    #[schema(minimum = 1, maximum = 366)]
    pub duration_days: u32,
    /// First day, to align weekday seasonality; without it seasonality is
    /// averaged out.
    #[serde(default, with = "iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub start_date: Option<Date>,
    /// Target return on ad spend (revenue ÷ spend), e.g. 3.0; above 0.
    #[serde(default)]
    #[schema(exclusive_minimum = 0.0)]
    pub target_roas: Option<f64>,
    /// Highest acceptable cost per acquired customer; above 0.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::PositiveMoney>)]
    pub max_cpa: Option<Money>,
    /// For the record only (none: 0): the uplift is measured against the
    /// simulated outcome of no new spend, so a stated baseline does not
    /// change it. At least 0.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::NonNegativeMoney>)]
    pub baseline_revenue: Option<Money>,
    /// For the record only (none: 0), like `baseline_revenue`: all of the
    /// plan's spend counts as new. At least 0.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::NonNegativeMoney>)]
    pub baseline_ad_spend: Option<Money>,
    /// Revenue the business earns in the period without new ad spend (the
    /// baseline: organic sales, channels outside the plan); at least 0. It
    /// is in both the plan's outcome and the counterfactual, so it never
    /// changes the uplift; it states the revenue with and without the plan.
    /// Taken from the organisation's recorded performance history when left
    /// out and it has one; required when it has none (never assumed to be 0).
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::NonNegativeMoney>)]
    pub organic_revenue: Option<Money>,
    /// Most the plan may spend in total; exceeding it is a violation. Above 0.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::PositiveMoney>)]
    pub budget_cap: Option<Money>,
}

/// One validated plan line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAllocation {
    pub platform: Platform,
    pub ad_set_id: Option<String>,
    pub daily_budget_micros: i64,
}

/// A plan that passed validation: platforms are typed, totals fit in micros.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPlan {
    pub currency: Currency,
    pub allocations: Vec<ValidAllocation>,
    pub duration_days: u32,
    pub start_date: Option<Date>,
    pub start_weekday: Option<Weekday>,
    pub target_roas: Option<f64>,
    pub max_cpa_micros: Option<i64>,
    pub baseline_revenue_micros: i64,
    pub baseline_ad_spend_micros: i64,
    pub organic_revenue_micros: i64,
    pub budget_cap_micros: Option<i64>,
    /// Sum of daily budgets × duration.
    pub total_budget_micros: i64,
}

impl ValidPlan {
    pub fn total_budget(&self) -> Money {
        Money::from_micros(self.total_budget_micros, self.currency)
    }
}

impl Plan {
    /// Every problem with the plan, each naming its JSON path
    /// (`allocations[0].daily_budget`); empty when the plan is valid.
    pub fn validate(&self) -> Vec<FieldError> {
        match self.parse() {
            Ok(_) => Vec::new(),
            Err(errors) => errors,
        }
    }

    /// Validates and converts into the form the simulation runs on.
    pub fn to_valid(&self) -> Result<ValidPlan, TwinError> {
        self.parse().map_err(TwinError::Invalid)
    }

    fn parse(&self) -> Result<ValidPlan, Vec<FieldError>> {
        let mut f = Fields::default();
        if self.allocations.is_empty() {
            f.push(
                "allocations",
                "The plan must allocate a budget to at least one platform.",
            );
        }
        let mut allocations = Vec::with_capacity(self.allocations.len());
        let mut daily_total: i64 = 0;
        for (i, a) in self.allocations.iter().enumerate() {
            let path = format!("allocations[{i}]");
            let platform = Platform::parse(&a.platform);
            if platform.is_none() {
                f.push(
                    format!("{path}.platform"),
                    Platform::unknown_message(&a.platform),
                );
            }
            if let Some(id) = &a.ad_set_id
                && id.trim().is_empty()
            {
                f.push(
                    format!("{path}.ad_set_id"),
                    "The ad set id must not be empty.",
                );
            }
            let budget_path = format!("{path}.daily_budget");
            if f.same_currency(&budget_path, &a.daily_budget, self.currency) {
                if a.daily_budget.micros < 0 {
                    f.push(budget_path, "The daily budget must not be negative.");
                } else {
                    match daily_total.checked_add(a.daily_budget.micros) {
                        Some(t) => daily_total = t,
                        None => f.push(
                            budget_path,
                            "The daily budgets add up to more than can be represented.",
                        ),
                    }
                }
            }
            if self.allocations[..i]
                .iter()
                .any(|o| o.platform == a.platform && o.ad_set_id == a.ad_set_id)
            {
                f.push(
                    path.clone(),
                    "The same platform and ad set appear twice in the plan; merge the lines.",
                );
            }
            if let Some(platform) = platform {
                allocations.push(ValidAllocation {
                    platform,
                    ad_set_id: a.ad_set_id.clone(),
                    daily_budget_micros: a.daily_budget.micros,
                });
            }
        }
        if self.duration_days == 0 {
            f.push("duration_days", "The plan must run for at least one day.");
        } else if self.duration_days > MAX_DURATION_DAYS {
            f.push(
                "duration_days",
                format!("The plan may run for at most {MAX_DURATION_DAYS} days."),
            );
        }
        let total = daily_total.checked_mul(i64::from(self.duration_days));
        if total.is_none() {
            f.push(
                "duration_days",
                "The total budget (daily budgets × days) is too large to represent.",
            );
        }
        if let Some(r) = self.target_roas {
            f.finite_positive("target_roas", r);
        }
        let c = self.currency;
        if let Some(m) = &self.max_cpa {
            f.positive_money("max_cpa", m, c, "The maximum CPA");
        }
        if let Some(m) = &self.baseline_revenue {
            f.non_negative_money("baseline_revenue", m, c);
        }
        if let Some(m) = &self.baseline_ad_spend {
            f.non_negative_money("baseline_ad_spend", m, c);
        }
        match &self.organic_revenue {
            None => f.push(
                "organic_revenue",
                "Give the revenue the business earns in the period without new ad spend (the baseline): there is no performance history to take it from.",
            ),
            Some(m) => f.non_negative_money("organic_revenue", m, c),
        }
        if let Some(m) = &self.budget_cap {
            f.positive_money("budget_cap", m, c, "The budget cap");
        }
        f.into_result()?;
        Ok(ValidPlan {
            currency: self.currency,
            allocations,
            duration_days: self.duration_days,
            start_date: self.start_date,
            start_weekday: self.start_date.map(|d| d.weekday()),
            target_roas: self.target_roas,
            max_cpa_micros: self.max_cpa.map(|m| m.micros),
            baseline_revenue_micros: self.baseline_revenue.map_or(0, |m| m.micros),
            baseline_ad_spend_micros: self.baseline_ad_spend.map_or(0, |m| m.micros),
            organic_revenue_micros: self.organic_revenue.map_or(0, |m| m.micros),
            budget_cap_micros: self.budget_cap.map(|m| m.micros),
            total_budget_micros: total.unwrap_or(0),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn plan() -> Plan {
        Plan {
            currency: Currency::USD,
            allocations: vec![
                PlanAllocation {
                    platform: "meta".into(),
                    ad_set_id: None,
                    daily_budget: usd(200_000_000),
                },
                PlanAllocation {
                    platform: "google".into(),
                    ad_set_id: None,
                    daily_budget: usd(100_000_000),
                },
            ],
            duration_days: 30,
            start_date: Some(time::macros::date!(2026 - 03 - 02)),
            target_roas: Some(2.0),
            max_cpa: Some(usd(60_000_000)),
            baseline_revenue: Some(usd(20_000_000_000)),
            baseline_ad_spend: Some(usd(3_000_000_000)),
            organic_revenue: Some(usd(12_000_000_000)),
            budget_cap: Some(usd(10_000_000_000)),
        }
    }

    fn usd(micros: i64) -> Money {
        Money::from_micros(micros, Currency::USD)
    }

    /// Applies `edit` to a valid plan and returns the field names reported.
    fn fields_after(edit: impl FnOnce(&mut Plan)) -> Vec<String> {
        let mut p = plan();
        edit(&mut p);
        p.validate().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_well_formed_plan_has_no_field_errors() {
        assert!(plan().validate().is_empty());
        let v = plan().to_valid().unwrap();
        assert_eq!(v.total_budget_micros, 300_000_000 * 30);
        assert_eq!(v.start_weekday, Some(Weekday::Monday));
    }

    #[test]
    fn each_invalid_input_is_reported_against_its_field() {
        type Edit = Box<dyn FnOnce(&mut Plan)>;
        let cases: Vec<(&str, Edit, Vec<&str>)> = vec![
            (
                "negative budget",
                Box::new(|p| p.allocations[1].daily_budget = usd(-1)),
                vec!["allocations[1].daily_budget"],
            ),
            (
                "budget in another currency",
                Box::new(|p| p.allocations[1].daily_budget.currency = Currency::EUR),
                vec!["allocations[1].daily_budget.currency"],
            ),
            (
                "empty allocation",
                Box::new(|p| p.allocations.clear()),
                vec!["allocations"],
            ),
            (
                "unknown platform",
                Box::new(|p| p.allocations[0].platform = "myspace".into()),
                vec!["allocations[0].platform"],
            ),
            (
                "duration 0",
                Box::new(|p| p.duration_days = 0),
                vec!["duration_days"],
            ),
            (
                "NaN target",
                Box::new(|p| p.target_roas = Some(f64::NAN)),
                vec!["target_roas"],
            ),
            (
                "infinite target",
                Box::new(|p| p.target_roas = Some(f64::INFINITY)),
                vec!["target_roas"],
            ),
            (
                "organic revenue left out",
                Box::new(|p| p.organic_revenue = None),
                vec!["organic_revenue"],
            ),
            (
                "duplicate platform",
                Box::new(|p| p.allocations[1].platform = "meta".into()),
                vec!["allocations[1]"],
            ),
            (
                "negative baseline",
                Box::new(|p| p.baseline_ad_spend = Some(usd(-5))),
                vec!["baseline_ad_spend"],
            ),
            (
                "zero max CPA",
                Box::new(|p| p.max_cpa = Some(usd(0))),
                vec!["max_cpa"],
            ),
            (
                "too long",
                Box::new(|p| p.duration_days = 400),
                vec!["duration_days"],
            ),
            (
                "overflowing total",
                Box::new(|p| p.allocations[0].daily_budget = usd(i64::MAX / 2)),
                vec!["duration_days"],
            ),
        ];
        for (name, edit, want) in cases {
            assert_eq!(fields_after(edit), want, "{name}");
        }
    }

    #[test]
    fn a_plan_of_zero_budgets_is_valid_and_left_out_organic_revenue_is_not_zero() {
        let mut p = plan();
        p.allocations
            .iter_mut()
            .for_each(|a| a.daily_budget = usd(0));
        assert!(p.validate().is_empty());
        let mut json = serde_json::to_value(plan()).unwrap();
        json.as_object_mut().unwrap().remove("organic_revenue");
        let p: Plan = serde_json::from_value(json).unwrap();
        assert_eq!(p.organic_revenue, None);
        let errors = p.validate();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "organic_revenue");
    }

    #[test]
    fn an_unknown_platform_in_json_is_a_field_error_not_a_parse_failure() {
        let mut json = serde_json::to_value(plan()).unwrap();
        json["allocations"][0]["platform"] = "friendster".into();
        let p: Plan = serde_json::from_value(json).unwrap();
        let errors = p.validate();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "allocations[0].platform");
        assert!(errors[0].message.contains("friendster"));
        assert!(matches!(p.to_valid(), Err(TwinError::Invalid(_))));
    }

    #[test]
    fn a_plan_round_trips_through_json_with_an_iso_start_date() {
        let json = serde_json::to_string(&plan()).unwrap();
        assert!(json.contains(r#""start_date":"2026-03-02""#), "{json}");
        assert_eq!(serde_json::from_str::<Plan>(&json).unwrap(), plan());
    }
}
