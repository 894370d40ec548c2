//! The plan of a lift experiment: which markets are treated, the pre-period
//! and the test window (calendar days), the estimator's options, the
//! significance level and the alternative. It is what registration freezes
//! and hashes; an analysis reads nothing else, so a registered test cannot be
//! re-cut.

use kiki_core::FieldError;
use kiki_lift::{Augmentation, ConformalOptions, Panel, SyntheticControlSpec};
use serde::{Deserialize, Serialize};
use time::{Date, macros::format_description};
use utoipa::ToSchema;

kiki_core::string_enum! {
    /// The estimator of the experiment.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum LiftMethod {
        /// Synthetic control over a daily KPI per market, with conformal
        /// inference (GeoLift's default estimator).
        #[default]
        SyntheticControl = "synthetic_control",
    }
}

kiki_core::string_enum! {
    /// The alternative hypothesis of the test (it sets the statistic and
    /// which interval bounds exist).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Alternative {
        /// The average effect differs from zero either way (the default).
        #[default]
        TwoSided = "two_sided",
        /// The average effect is above zero (lower bound only).
        Greater = "greater",
        /// The average effect is below zero (upper bound only).
        Less = "less",
        /// Some day's effect differs from zero (GeoLift's "Total").
        AnyPeriod = "any_period",
    }
}

impl Alternative {
    /// The service's name of an engine alternative.
    pub fn of_engine(a: kiki_lift::Alternative) -> Alternative {
        match a {
            kiki_lift::Alternative::TwoSided => Alternative::TwoSided,
            kiki_lift::Alternative::Greater => Alternative::Greater,
            kiki_lift::Alternative::Less => Alternative::Less,
            kiki_lift::Alternative::AnyPeriod => Alternative::AnyPeriod,
        }
    }

    /// The engine's alternative.
    pub fn engine(self) -> kiki_lift::Alternative {
        match self {
            Alternative::TwoSided => kiki_lift::Alternative::TwoSided,
            Alternative::Greater => kiki_lift::Alternative::Greater,
            Alternative::Less => kiki_lift::Alternative::Less,
            Alternative::AnyPeriod => kiki_lift::Alternative::AnyPeriod,
        }
    }
}

/// A market (or holdout arm) name as the KPI panel spells it.
#[derive(Debug, Clone, ToSchema)]
#[schema(min_length = 1, max_length = 200, pattern = r"\S", example = "chicago")]
pub struct MarketName(pub String);

/// The plan registered before the test starts. Every field takes part in
/// its hash (defaults written out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "method": "synthetic_control", "kpi": "conversions",
    "treated": ["chicago", "portland"],
    "pre_start": "2021-01-01", "test_start": "2021-04-01", "test_end": "2021-04-15",
    "fixed_effects": true, "ridge": false, "excluded_donors": [],
    "alpha": 0.1, "alternative": "two_sided"
}))]
pub struct LiftPlan {
    /// The estimator (default `synthetic_control`).
    #[serde(default)]
    pub method: LiftMethod,
    /// The outcome measured, as the panel's values count it (e.g.
    /// `conversions`, `orders`, `revenue`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"\S",
        example = "conversions"
    )]
    pub kpi: String,
    /// The treated markets (1 to 100, each once).
    #[schema(value_type = Vec<MarketName>, min_items = 1, max_items = 100)]
    pub treated: Vec<String>,
    /// First day of the pre-period the synthetic control is fitted on.
    #[schema(value_type = String, format = Date, example = "2021-01-01")]
    pub pre_start: String,
    /// First day of the test (after `pre_start`).
    #[schema(value_type = String, format = Date, example = "2021-04-01")]
    pub test_start: String,
    /// Last day of the test, included (not before `test_start`).
    #[schema(value_type = String, format = Date, example = "2021-04-15")]
    pub test_end: String,
    /// Unit fixed effects: each market's pre-period mean removed (default true).
    #[serde(default = "yes")]
    pub fixed_effects: bool,
    /// Ridge augmentation with a cross-validated penalty (default false).
    #[serde(default)]
    pub ridge: bool,
    /// Markets never used as donors (spill-over), none of them treated.
    #[serde(default)]
    #[schema(value_type = Vec<MarketName>, max_items = 500)]
    pub excluded_donors: Vec<String>,
    /// Significance level; the interval's coverage is 1 − alpha (default 0.1).
    #[serde(default = "default_alpha")]
    #[schema(minimum = 0.001, maximum = 0.5, example = 0.1)]
    pub alpha: f64,
    /// The alternative hypothesis (default `two_sided`).
    #[serde(default)]
    pub alternative: Alternative,
}

fn yes() -> bool {
    true
}

fn default_alpha() -> f64 {
    0.1
}

/// Longest test window, in days.
pub const MAX_TEST_DAYS: i64 = 366;
/// Longest span from the pre-period's start to the test's end, in days.
pub const MAX_SPAN_DAYS: i64 = 3660;

/// A `YYYY-MM-DD` date.
pub fn parse_day(s: &str) -> Option<Date> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).ok()
}

fn check_names(names: &[String], field: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let t = n.trim();
        if t.is_empty() || t.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "A market name is 1 to 200 characters, not only spaces.",
            ));
        } else if out.iter().any(|o| o == t) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("The market `{t}` is listed twice."),
            ));
        } else {
            out.push(t.to_owned());
        }
    }
    out
}

impl LiftPlan {
    /// The plan with names trimmed and dates normalised, or every problem
    /// named by its field under `prefix` (`plan`).
    pub fn validated(&self, prefix: &str) -> Result<LiftPlan, Vec<FieldError>> {
        let f = |name: &str| format!("{prefix}.{name}");
        let mut errors = Vec::new();
        let kpi = self.kpi.trim().to_owned();
        if kpi.is_empty() || kpi.chars().count() > 100 {
            errors.push(FieldError::new(
                f("kpi"),
                "Name the outcome measured, 1 to 100 characters (e.g. `conversions`).",
            ));
        }
        if self.treated.is_empty() || self.treated.len() > 100 {
            errors.push(FieldError::new(
                f("treated"),
                "Name 1 to 100 treated markets.",
            ));
        }
        let treated = check_names(&self.treated, &f("treated"), &mut errors);
        if self.excluded_donors.len() > 500 {
            errors.push(FieldError::new(
                f("excluded_donors"),
                "At most 500 excluded donors.",
            ));
        }
        let excluded = check_names(&self.excluded_donors, &f("excluded_donors"), &mut errors);
        for (i, e) in excluded.iter().enumerate() {
            if treated.contains(e) {
                errors.push(FieldError::new(
                    format!("{}[{i}]", f("excluded_donors")),
                    format!("`{e}` is treated; a treated market is never a donor anyway."),
                ));
            }
        }
        let mut day = |name: &str, value: &str| {
            let d = parse_day(value);
            if d.is_none() {
                errors.push(FieldError::new(
                    f(name),
                    "A calendar date written YYYY-MM-DD.",
                ));
            }
            d
        };
        let pre = day("pre_start", &self.pre_start);
        let start = day("test_start", &self.test_start);
        let end = day("test_end", &self.test_end);
        if let (Some(pre), Some(start)) = (pre, start)
            && pre >= start
        {
            errors.push(FieldError::new(
                f("test_start"),
                "The test starts after the pre-period's first day (`pre_start`).",
            ));
        }
        if let (Some(start), Some(end)) = (start, end) {
            if end < start {
                errors.push(FieldError::new(
                    f("test_end"),
                    "The test ends on or after its first day (`test_start`).",
                ));
            } else if (end - start).whole_days() + 1 > MAX_TEST_DAYS {
                errors.push(FieldError::new(
                    f("test_end"),
                    format!("A test lasts at most {MAX_TEST_DAYS} days."),
                ));
            }
        }
        if let (Some(pre), Some(end)) = (pre, end)
            && (end - pre).whole_days() + 1 > MAX_SPAN_DAYS
        {
            errors.push(FieldError::new(
                f("pre_start"),
                format!("The pre-period and the test together span at most {MAX_SPAN_DAYS} days."),
            ));
        }
        if !(self.alpha.is_finite() && (0.001..=0.5).contains(&self.alpha)) {
            errors.push(FieldError::new(
                f("alpha"),
                "A significance level from 0.001 to 0.5 (e.g. 0.1).",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let show = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
        Ok(LiftPlan {
            method: self.method,
            kpi,
            treated,
            pre_start: show(pre),
            test_start: show(start),
            test_end: show(end),
            fixed_effects: self.fixed_effects,
            ridge: self.ridge,
            excluded_donors: excluded,
            alpha: self.alpha,
            alternative: self.alternative,
        })
    }

    fn days(&self) -> Result<(Date, Date, Date), Vec<FieldError>> {
        match (
            parse_day(&self.pre_start),
            parse_day(&self.test_start),
            parse_day(&self.test_end),
        ) {
            (Some(a), Some(b), Some(c)) => Ok((a, b, c)),
            _ => Err(vec![FieldError::new(
                "plan",
                "The stored plan's dates cannot be read.",
            )]),
        }
    }

    fn check_units(&self, panel: &Panel) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for (field, names) in [
            ("plan.treated", &self.treated),
            ("plan.excluded_donors", &self.excluded_donors),
        ] {
            for (i, n) in names.iter().enumerate() {
                if panel.unit_index(n).is_none() {
                    errors.push(FieldError::new(
                        format!("{field}[{i}]"),
                        format!("The KPI panel has no market `{n}`."),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The pre-period of `panel` (`pre_start` to the day before
    /// `test_start`): complete, every day present, every named market in
    /// it. Registration hashes it.
    pub fn pre_period(&self, panel: &Panel) -> Result<Panel, Vec<FieldError>> {
        let (pre, start, _) = self.days()?;
        self.check_units(panel)?;
        day_window(
            panel,
            pre,
            start.previous_day().unwrap_or(start),
            "plan.pre_start",
            "plan.test_start",
        )
    }

    /// The engine's inputs for the registered analysis: the panel cut to
    /// `pre_start ..= test_end` (nothing else is read) and the spec.
    pub fn resolve(&self, panel: &Panel) -> Result<ResolvedPlan, Vec<FieldError>> {
        let (pre, start, end) = self.days()?;
        self.check_units(panel)?;
        let window = day_window(panel, pre, end, "plan.pre_start", "plan.test_end")?;
        let treatment_start = (start - pre).whole_days() as usize;
        let treatment_end = (end - pre).whole_days() as usize + 1;
        let spec = SyntheticControlSpec {
            treated: self.treated.clone(),
            treatment_start,
            treatment_end,
            pre_start: 0,
            fixed_effects: self.fixed_effects,
            augmentation: if self.ridge {
                Augmentation::Ridge { lambda: None }
            } else {
                Augmentation::None
            },
            excluded_donors: self.excluded_donors.clone(),
        };
        let options = ConformalOptions {
            alpha: self.alpha,
            alternative: self.alternative.engine(),
            interval: true,
        };
        Ok(ResolvedPlan {
            panel: window,
            spec,
            options,
        })
    }
}

/// The engine's inputs of a registered analysis.
#[derive(Debug, Clone)]
pub struct ResolvedPlan {
    /// The panel over `pre_start ..= test_end` only.
    pub panel: Panel,
    pub spec: SyntheticControlSpec,
    pub options: ConformalOptions,
}

/// `panel` cut to the days `from ..= to`, refused (naming `from_field` or
/// `to_field`) unless every one of those days is in it.
fn day_window(
    panel: &Panel,
    from: Date,
    to: Date,
    from_field: &str,
    to_field: &str,
) -> Result<Panel, Vec<FieldError>> {
    let periods = panel.periods();
    let covers = format!(
        "it covers {} to {}",
        periods.first().map(String::as_str).unwrap_or("nothing"),
        periods.last().map(String::as_str).unwrap_or("nothing")
    );
    let Some(a) = panel.period_index(&from.to_string()) else {
        return Err(vec![FieldError::new(
            from_field,
            format!("The KPI panel has no day {from}; {covers}."),
        )]);
    };
    let Some(b) = panel.period_index(&to.to_string()) else {
        return Err(vec![FieldError::new(
            to_field,
            format!("The KPI panel has no day {to}; {covers}."),
        )]);
    };
    let expected = (to - from).whole_days() as usize + 1;
    if b < a || b - a + 1 != expected {
        let mut day = from;
        let mut missing = None;
        for label in &periods[a..=b.max(a)] {
            if *label != day.to_string() {
                missing = Some(day);
                break;
            }
            day = day.next_day().unwrap_or(day);
        }
        let first = missing
            .map(|d| d.to_string())
            .unwrap_or_else(|| to.to_string());
        return Err(vec![FieldError::new(
            to_field,
            format!(
                "The KPI panel misses {} day(s) from {from} to {to} (first: {first}); upload every day.",
                expected.saturating_sub(b.saturating_sub(a) + 1)
            ),
        )]);
    }
    panel
        .window(a, b + 1)
        .map_err(|e| vec![FieldError::new(to_field, e.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> LiftPlan {
        serde_json::from_value(serde_json::json!({
            "kpi": "conversions", "treated": ["chicago", " portland "],
            "pre_start": "2021-01-01", "test_start": "2021-04-01", "test_end": "2021-04-15"
        }))
        .unwrap()
    }

    #[test]
    fn defaults_are_written_out_and_names_trimmed() {
        let p = plan().validated("plan").unwrap();
        assert_eq!(p.treated, ["chicago", "portland"]);
        assert_eq!(p.alpha, 0.1);
        assert!(p.fixed_effects && !p.ridge);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["method"], "synthetic_control");
        assert_eq!(v["alternative"], "two_sided");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut p = plan();
        p.kpi = " ".into();
        p.treated.push("chicago".into());
        p.test_end = "2021-03-01".into();
        p.alpha = 0.9;
        p.excluded_donors = vec!["portland".into()];
        let fields: Vec<String> = p
            .validated("plan")
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "plan.kpi",
                "plan.treated[2]",
                "plan.excluded_donors[0]",
                "plan.test_end",
                "plan.alpha"
            ]
        );
        let mut p = plan();
        p.pre_start = "2021-02-30".into();
        let e = p.validated("plan").unwrap_err();
        assert_eq!(e[0].field, "plan.pre_start");
    }

    #[test]
    fn the_window_is_the_registered_days_and_a_gap_is_refused() {
        let mut rows = Vec::new();
        for d in 1..=20 {
            if d == 12 {
                continue;
            }
            for u in ["a", "b", "c"] {
                rows.push((u.to_string(), format!("2021-01-{d:02}"), 1.0));
            }
        }
        let (panel, _) = Panel::from_long(rows, Default::default()).unwrap();
        let mut p = plan();
        p.treated = vec!["a".into()];
        p.pre_start = "2021-01-02".into();
        p.test_start = "2021-01-08".into();
        p.test_end = "2021-01-10".into();
        let r = p.resolve(&panel).unwrap();
        assert_eq!(r.panel.n_periods(), 9);
        assert_eq!((r.spec.treatment_start, r.spec.treatment_end), (6, 9));
        p.test_end = "2021-01-14".into();
        let e = p.resolve(&panel).unwrap_err();
        assert_eq!(e[0].field, "plan.test_end");
        assert!(
            e[0].message.contains("first: 2021-01-12"),
            "{}",
            e[0].message
        );
        p.treated = vec!["z".into()];
        assert_eq!(p.resolve(&panel).unwrap_err()[0].field, "plan.treated[0]");
    }
}
