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
    pub enum MethodName {
        /// Synthetic control over a daily KPI per market, with conformal
        /// inference (GeoLift's default estimator).
        #[default]
        SyntheticControl = "synthetic_control",
        /// Time-based regression of the treatment group's daily total on the
        /// control group's (matched markets).
        Tbr = "tbr",
        /// Trimmed Match over randomised pairs of markets: the iROAS from
        /// each pair's response and cost differences over the test.
        TrimmedMatch = "trimmed_match",
        /// An audience holdout: users split into treatment and control by a
        /// salted hash, compared on conversion rate and revenue per user.
        Holdout = "holdout",
    }
}

kiki_core::string_enum! {
    /// Which users a holdout compares.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum HoldoutPopulation {
        /// Everyone assigned (intent to treat, the default).
        #[default]
        All = "all",
        /// Only users with a real bid or a logged ghost bid, in both arms.
        WouldHaveBid = "would_have_bid",
    }
}

impl HoldoutPopulation {
    /// The engine's population.
    pub fn engine(self) -> kiki_lift::Population {
        match self {
            HoldoutPopulation::All => kiki_lift::Population::All,
            HoldoutPopulation::WouldHaveBid => kiki_lift::Population::WouldHaveBid,
        }
    }
}

/// The estimator of the experiment with what only it reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LiftMethod {
    /// Synthetic control: `treated`, the donors' options.
    #[default]
    SyntheticControl,
    /// Time-based regression: `treated` is the treatment group.
    Tbr(TbrPlan),
    /// Trimmed Match: the pairs replace `treated`.
    TrimmedMatch(TrimmedMatchPlan),
    /// Audience holdout: the arms by salted hash; users, not markets.
    Holdout(HoldoutPlan),
}

impl LiftMethod {
    /// The method's name.
    pub fn name(&self) -> MethodName {
        match self {
            LiftMethod::SyntheticControl => MethodName::SyntheticControl,
            LiftMethod::Tbr(_) => MethodName::Tbr,
            LiftMethod::TrimmedMatch(_) => MethodName::TrimmedMatch,
            LiftMethod::Holdout(_) => MethodName::Holdout,
        }
    }
}

/// What a time-based regression reads besides the treatment group.
#[derive(Debug, Clone, PartialEq)]
pub struct TbrPlan {
    /// The control group (1 to 500 markets, none treated).
    pub control: Vec<String>,
    /// The cost measure of the panel's `cost` column; when named, the iROAS
    /// divides by the treatment group's cost over the test.
    pub cost_kpi: Option<String>,
}

/// What Trimmed Match reads.
#[derive(Debug, Clone, PartialEq)]
pub struct TrimmedMatchPlan {
    /// The randomised pairs (at least 3, each market once).
    pub pairs: Vec<MarketPair>,
    /// The cost measure of the panel's `cost` column (required).
    pub cost_kpi: Option<String>,
    /// A fixed trim rate; absent, chosen from the data.
    pub trim_rate: Option<f64>,
    /// The largest trim rate considered (default 0.25).
    pub max_trim_rate: f64,
}

/// How a holdout splits users into its arms.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutPlan {
    /// The experiment's salt: a user's arm is `SHA-256(salt ‖ 0x1F ‖ user
    /// id)` against the treatment share.
    pub salt: String,
    /// Share of users in treatment, strictly between 0 and 1.
    pub treatment_share: f64,
    /// Which users are compared.
    pub population: HoldoutPopulation,
}

/// A randomised pair of markets: the one treated and its control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"treated": "chicago", "control": "portland"}))]
pub struct MarketPair {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub treated: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub control: String,
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
/// its hash (defaults written out). Its JSON is [`PlanDocument`]'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PlanDocument", into = "PlanDocument")]
pub struct LiftPlan {
    /// The estimator and what only it reads.
    pub method: LiftMethod,
    /// The outcome measured, as the panel's values count it (e.g.
    /// `conversions`, `orders`, `revenue`).
    pub kpi: String,
    /// The treated markets (1 to 100, each once).
    pub treated: Vec<String>,
    /// First day of the pre-period the synthetic control is fitted on.
    pub pre_start: String,
    /// First day of the test (after `pre_start`).
    pub test_start: String,
    /// Last day of the test, included (not before `test_start`).
    pub test_end: String,
    /// Unit fixed effects: each market's pre-period mean removed (default true).
    pub fixed_effects: bool,
    /// Ridge augmentation with a cross-validated penalty (default false).
    pub ridge: bool,
    /// Markets never used as donors (spill-over), none of them treated.
    pub excluded_donors: Vec<String>,
    /// Significance level; the interval's coverage is 1 − alpha (default 0.1).
    pub alpha: f64,
    /// The alternative hypothesis (default `two_sided`).
    pub alternative: Alternative,
}

/// The plan as JSON: the fields every method shares, then those of one
/// method only (absent for the others).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "method": "synthetic_control", "kpi": "conversions",
    "treated": ["chicago", "portland"],
    "pre_start": "2021-01-01", "test_start": "2021-04-01", "test_end": "2021-04-15",
    "fixed_effects": true, "ridge": false, "excluded_donors": [],
    "alpha": 0.1, "alternative": "two_sided"
}))]
pub struct PlanDocument {
    /// The estimator (default `synthetic_control`).
    #[serde(default)]
    pub method: MethodName,
    /// The outcome measured, as the panel's values count it (e.g.
    /// `conversions`, `orders`, `revenue`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"\S",
        example = "conversions"
    )]
    pub kpi: String,
    /// The treated markets (1 to 100, each once); with `tbr`, the treatment
    /// group; with `trimmed_match`, absent (the pairs name them).
    #[serde(default)]
    #[schema(value_type = Vec<MarketName>, max_items = 100)]
    pub treated: Vec<String>,
    /// `tbr` only: the control group (1 to 500 markets, none treated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<MarketName>>, max_items = 500,
        example = json!(["2", "3", "5"]))]
    pub control: Option<Vec<String>>,
    /// `trimmed_match` only: the randomised pairs (3 to 500, each market
    /// once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 500, example = json!([
        {"treated": "geo-1", "control": "geo-2"},
        {"treated": "geo-4", "control": "geo-3"},
        {"treated": "geo-5", "control": "geo-6"}
    ]))]
    pub pairs: Option<Vec<MarketPair>>,
    /// `tbr` and `trimmed_match`: the cost measure the panel's `cost`
    /// column holds (e.g. `spend`); the iROAS divides the incremental
    /// outcome by it. Required for `trimmed_match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S", example = "spend")]
    pub cost_kpi: Option<String>,
    /// `trimmed_match` only: a fixed share of pairs trimmed from each tail
    /// (0 to `max_trim_rate`); absent, chosen from the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 0.5, example = 0.0)]
    pub trim_rate: Option<f64>,
    /// `trimmed_match` only: the largest trim rate considered (default 0.25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 0.5, example = 0.25)]
    pub max_trim_rate: Option<f64>,
    /// `holdout` only: the experiment's salt (1 to 200 characters, unique
    /// per experiment); a user is treated when the salted hash of their id
    /// falls below `treatment_share`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"\S",
        example = "spring-retargeting-2026"
    )]
    pub salt: Option<String>,
    /// `holdout` only: the share of users treated, strictly between 0 and 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0, exclusive_maximum = 1.0, example = 0.9)]
    pub treatment_share: Option<f64>,
    /// `holdout` only: which users are compared (default `all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<HoldoutPopulation>,
    /// First day of the pre-period (the synthetic control's fit, the
    /// regression's; Trimmed Match and holdouts only freeze it).
    #[schema(value_type = String, format = Date, example = "2021-01-01")]
    pub pre_start: String,
    /// First day of the test (after `pre_start`).
    #[schema(value_type = String, format = Date, example = "2021-04-01")]
    pub test_start: String,
    /// Last day of the test, included (not before `test_start`).
    #[schema(value_type = String, format = Date, example = "2021-04-15")]
    pub test_end: String,
    /// `synthetic_control`: unit fixed effects, each market's pre-period
    /// mean removed (default true).
    #[serde(default = "yes")]
    pub fixed_effects: bool,
    /// `synthetic_control`: ridge augmentation with a cross-validated
    /// penalty (default false).
    #[serde(default)]
    pub ridge: bool,
    /// `synthetic_control`: markets never used as donors (spill-over), none
    /// of them treated.
    #[serde(default)]
    #[schema(value_type = Vec<MarketName>, max_items = 500)]
    pub excluded_donors: Vec<String>,
    /// Significance level; the interval's coverage is 1 − alpha (default 0.1).
    #[serde(default = "default_alpha")]
    #[schema(minimum = 0.001, maximum = 0.5, example = 0.1)]
    pub alpha: f64,
    /// The alternative hypothesis (default `two_sided`). `tbr` takes
    /// `greater` (a lower bound only) or `two_sided`; `trimmed_match`
    /// `two_sided`.
    #[serde(default)]
    pub alternative: Alternative,
}

impl TryFrom<PlanDocument> for LiftPlan {
    type Error = String;

    fn try_from(d: PlanDocument) -> Result<LiftPlan, String> {
        let stray = |present: bool, field: &str, owner: &str| {
            if present {
                Err(format!(
                    "`{field}` belongs to a `{owner}` plan, not to a `{}` one",
                    d.method.as_str()
                ))
            } else {
                Ok(())
            }
        };
        let method = match d.method {
            MethodName::SyntheticControl => {
                stray(d.control.is_some(), "control", "tbr")?;
                stray(d.pairs.is_some(), "pairs", "trimmed_match")?;
                stray(d.cost_kpi.is_some(), "cost_kpi", "tbr` or `trimmed_match")?;
                stray(d.trim_rate.is_some(), "trim_rate", "trimmed_match")?;
                stray(d.max_trim_rate.is_some(), "max_trim_rate", "trimmed_match")?;
                stray(d.salt.is_some(), "salt", "holdout")?;
                stray(d.treatment_share.is_some(), "treatment_share", "holdout")?;
                stray(d.population.is_some(), "population", "holdout")?;
                LiftMethod::SyntheticControl
            }
            MethodName::Tbr => {
                stray(d.pairs.is_some(), "pairs", "trimmed_match")?;
                stray(d.trim_rate.is_some(), "trim_rate", "trimmed_match")?;
                stray(d.max_trim_rate.is_some(), "max_trim_rate", "trimmed_match")?;
                stray(d.salt.is_some(), "salt", "holdout")?;
                stray(d.treatment_share.is_some(), "treatment_share", "holdout")?;
                stray(d.population.is_some(), "population", "holdout")?;
                LiftMethod::Tbr(TbrPlan {
                    control: d.control.unwrap_or_default(),
                    cost_kpi: d.cost_kpi,
                })
            }
            MethodName::TrimmedMatch => {
                stray(d.control.is_some(), "control", "tbr")?;
                stray(d.salt.is_some(), "salt", "holdout")?;
                stray(d.treatment_share.is_some(), "treatment_share", "holdout")?;
                stray(d.population.is_some(), "population", "holdout")?;
                LiftMethod::TrimmedMatch(TrimmedMatchPlan {
                    pairs: d.pairs.unwrap_or_default(),
                    cost_kpi: d.cost_kpi,
                    trim_rate: d.trim_rate,
                    max_trim_rate: d.max_trim_rate.unwrap_or(0.25),
                })
            }
            MethodName::Holdout => {
                stray(d.control.is_some(), "control", "tbr")?;
                stray(d.pairs.is_some(), "pairs", "trimmed_match")?;
                stray(d.cost_kpi.is_some(), "cost_kpi", "tbr` or `trimmed_match")?;
                stray(d.trim_rate.is_some(), "trim_rate", "trimmed_match")?;
                stray(d.max_trim_rate.is_some(), "max_trim_rate", "trimmed_match")?;
                LiftMethod::Holdout(HoldoutPlan {
                    salt: d.salt.unwrap_or_default(),
                    // NaN is refused by validation, naming the field.
                    treatment_share: d.treatment_share.unwrap_or(f64::NAN),
                    population: d.population.unwrap_or_default(),
                })
            }
        };
        Ok(LiftPlan {
            method,
            kpi: d.kpi,
            treated: d.treated,
            pre_start: d.pre_start,
            test_start: d.test_start,
            test_end: d.test_end,
            fixed_effects: d.fixed_effects,
            ridge: d.ridge,
            excluded_donors: d.excluded_donors,
            alpha: d.alpha,
            alternative: d.alternative,
        })
    }
}

impl From<LiftPlan> for PlanDocument {
    fn from(p: LiftPlan) -> PlanDocument {
        let mut d = PlanDocument {
            method: p.method.name(),
            kpi: p.kpi,
            treated: p.treated,
            control: None,
            pairs: None,
            cost_kpi: None,
            trim_rate: None,
            max_trim_rate: None,
            salt: None,
            treatment_share: None,
            population: None,
            pre_start: p.pre_start,
            test_start: p.test_start,
            test_end: p.test_end,
            fixed_effects: p.fixed_effects,
            ridge: p.ridge,
            excluded_donors: p.excluded_donors,
            alpha: p.alpha,
            alternative: p.alternative,
        };
        match p.method {
            LiftMethod::SyntheticControl => {}
            LiftMethod::Tbr(t) => {
                d.control = Some(t.control);
                d.cost_kpi = t.cost_kpi;
            }
            LiftMethod::TrimmedMatch(t) => {
                d.pairs = Some(t.pairs);
                d.cost_kpi = t.cost_kpi;
                d.trim_rate = t.trim_rate;
                d.max_trim_rate = Some(t.max_trim_rate);
            }
            LiftMethod::Holdout(h) => {
                d.salt = Some(h.salt);
                d.treatment_share = Some(h.treatment_share);
                d.population = Some(h.population);
            }
        }
        d
    }
}

impl utoipa::PartialSchema for LiftPlan {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <PlanDocument as utoipa::PartialSchema>::schema()
    }
}

impl ToSchema for LiftPlan {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("LiftPlan")
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <PlanDocument as ToSchema>::schemas(schemas);
    }
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
    Date::parse(
        kiki_core::trim_schema(s),
        format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

fn check_names(names: &[String], field: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let t = kiki_core::trim_schema(n);
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
        let kpi = kiki_core::trim_schema(&self.kpi).to_owned();
        if kpi.is_empty() || kpi.chars().count() > 100 {
            errors.push(FieldError::new(
                f("kpi"),
                "Name the outcome measured, 1 to 100 characters (e.g. `conversions`).",
            ));
        }
        let no_treated = match self.method {
            LiftMethod::TrimmedMatch(_) => {
                Some("A `trimmed_match` plan names its markets in `pairs`; leave `treated` empty.")
            }
            LiftMethod::Holdout(_) => Some(
                "A `holdout` plan splits users by `salt` and `treatment_share`; leave `treated` empty.",
            ),
            _ => None,
        };
        if let Some(message) = no_treated {
            if !self.treated.is_empty() {
                errors.push(FieldError::new(f("treated"), message));
            }
        } else if self.treated.is_empty() || self.treated.len() > 100 {
            errors.push(FieldError::new(
                f("treated"),
                "Name 1 to 100 treated markets.",
            ));
        }
        let treated = check_names(&self.treated, &f("treated"), &mut errors);
        let method = self.validated_method(&treated, &f, &mut errors);
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
            method,
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

    /// The method's own fields checked (`errors` gets each problem).
    fn validated_method(
        &self,
        treated: &[String],
        f: &dyn Fn(&str) -> String,
        errors: &mut Vec<FieldError>,
    ) -> LiftMethod {
        let sc_only = |errors: &mut Vec<FieldError>, plan: &LiftPlan| {
            if !plan.fixed_effects {
                errors.push(FieldError::new(
                    f("fixed_effects"),
                    "Fixed effects are an option of `synthetic_control` only; leave it true.",
                ));
            }
            if plan.ridge {
                errors.push(FieldError::new(
                    f("ridge"),
                    "Ridge augmentation is an option of `synthetic_control` only.",
                ));
            }
            if !plan.excluded_donors.is_empty() {
                errors.push(FieldError::new(
                    f("excluded_donors"),
                    "Excluded donors are an option of `synthetic_control` only.",
                ));
            }
        };
        let cost = |errors: &mut Vec<FieldError>, c: &Option<String>, required: bool| match c
            .as_deref()
            .map(str::trim)
        {
            None if required => {
                errors.push(FieldError::new(
                        f("cost_kpi"),
                        "Name the cost measure of the panel's `cost` column (e.g. `spend`): the iROAS divides by it.",
                    ));
                None
            }
            None => None,
            Some(t) if t.is_empty() || t.chars().count() > 100 => {
                errors.push(FieldError::new(
                    f("cost_kpi"),
                    "Name the cost measure, 1 to 100 characters (e.g. `spend`).",
                ));
                None
            }
            Some(t) => Some(t.to_owned()),
        };
        match &self.method {
            LiftMethod::SyntheticControl => LiftMethod::SyntheticControl,
            LiftMethod::Tbr(t) => {
                sc_only(errors, self);
                if t.control.is_empty() || t.control.len() > 500 {
                    errors.push(FieldError::new(
                        f("control"),
                        "Name 1 to 500 control markets.",
                    ));
                }
                let control = check_names(&t.control, &f("control"), errors);
                for (i, c) in control.iter().enumerate() {
                    if treated.contains(c) {
                        errors.push(FieldError::new(
                            format!("{}[{i}]", f("control")),
                            format!(
                                "`{c}` is in the treatment group; a market is in one group only."
                            ),
                        ));
                    }
                }
                if !matches!(
                    self.alternative,
                    Alternative::TwoSided | Alternative::Greater
                ) {
                    errors.push(FieldError::new(
                        f("alternative"),
                        "A time-based regression tests `greater` (a lower bound only) or `two_sided`.",
                    ));
                }
                LiftMethod::Tbr(TbrPlan {
                    control,
                    cost_kpi: cost(errors, &t.cost_kpi, false),
                })
            }
            LiftMethod::TrimmedMatch(t) => {
                sc_only(errors, self);
                if t.pairs.len() < 3 || t.pairs.len() > 500 {
                    errors.push(FieldError::new(
                        f("pairs"),
                        "Name 3 to 500 pairs of markets.",
                    ));
                }
                let mut seen: Vec<String> = Vec::new();
                let mut pairs = Vec::with_capacity(t.pairs.len());
                for (i, pair) in t.pairs.iter().enumerate() {
                    let mut names = [String::new(), String::new()];
                    for (k, (side, name)) in
                        [("treated", &pair.treated), ("control", &pair.control)]
                            .into_iter()
                            .enumerate()
                    {
                        let field = format!("{}[{i}].{side}", f("pairs"));
                        let n = kiki_core::trim_schema(name);
                        if n.is_empty() || n.chars().count() > 200 {
                            errors.push(FieldError::new(
                                field,
                                "A market name is 1 to 200 characters, not only spaces.",
                            ));
                        } else if seen.iter().any(|s| s == n) {
                            errors.push(FieldError::new(
                                field,
                                format!("The market `{n}` is in another pair already."),
                            ));
                        } else {
                            seen.push(n.to_owned());
                        }
                        names[k] = n.to_owned();
                    }
                    let [treated, control] = names;
                    pairs.push(MarketPair { treated, control });
                }
                if !(t.max_trim_rate.is_finite() && (0.0..=0.5).contains(&t.max_trim_rate)) {
                    errors.push(FieldError::new(
                        f("max_trim_rate"),
                        "The largest trim rate considered, from 0 to 0.5 (default 0.25).",
                    ));
                }
                if let Some(r) = t.trim_rate
                    && !(r.is_finite() && r >= 0.0 && r <= t.max_trim_rate)
                {
                    errors.push(FieldError::new(
                        f("trim_rate"),
                        "A share of pairs trimmed from each tail, from 0 to `max_trim_rate`; leave it out to choose it from the data.",
                    ));
                }
                if self.alternative != Alternative::TwoSided {
                    errors.push(FieldError::new(
                        f("alternative"),
                        "Trimmed Match gives a two-sided interval: `two_sided`.",
                    ));
                }
                LiftMethod::TrimmedMatch(TrimmedMatchPlan {
                    pairs,
                    cost_kpi: cost(errors, &t.cost_kpi, true),
                    trim_rate: t.trim_rate,
                    max_trim_rate: t.max_trim_rate,
                })
            }
            LiftMethod::Holdout(h) => {
                sc_only(errors, self);
                let salt = kiki_core::trim_schema(&h.salt);
                if salt.is_empty() || salt.chars().count() > 200 {
                    errors.push(FieldError::new(
                        f("salt"),
                        "The experiment's salt, 1 to 200 characters, unique per experiment.",
                    ));
                }
                if !(h.treatment_share > 0.0 && h.treatment_share < 1.0) {
                    errors.push(FieldError::new(
                        f("treatment_share"),
                        "The share of users treated, strictly between 0 and 1 (e.g. 0.9).",
                    ));
                }
                if self.alternative != Alternative::TwoSided {
                    errors.push(FieldError::new(
                        f("alternative"),
                        "A holdout gives two-sided intervals: `two_sided`.",
                    ));
                }
                LiftMethod::Holdout(HoldoutPlan {
                    salt: salt.to_owned(),
                    treatment_share: h.treatment_share,
                    population: h.population,
                })
            }
        }
    }

    /// Who is compared, in a few words (the registration's explanation).
    pub fn groups_text(&self) -> String {
        match &self.method {
            LiftMethod::SyntheticControl => format!(
                "{} treated ({})",
                self.treated.len(),
                self.treated.join(", ")
            ),
            LiftMethod::Tbr(t) => format!(
                "{} treated and {} control markets",
                self.treated.len(),
                t.control.len()
            ),
            LiftMethod::TrimmedMatch(t) => format!("{} pairs of markets", t.pairs.len()),
            LiftMethod::Holdout(h) => format!(
                "users split by salt `{}`, {} % treated",
                h.salt,
                h.treatment_share * 100.0
            ),
        }
    }

    /// Every market the plan names, with its field.
    fn named_markets(&self) -> Vec<(String, &str)> {
        let mut out: Vec<(String, &str)> = Vec::new();
        for (field, names) in [
            ("plan.treated", &self.treated),
            ("plan.excluded_donors", &self.excluded_donors),
        ] {
            for (i, n) in names.iter().enumerate() {
                out.push((format!("{field}[{i}]"), n));
            }
        }
        match &self.method {
            LiftMethod::SyntheticControl | LiftMethod::Holdout(_) => {}
            LiftMethod::Tbr(t) => {
                for (i, n) in t.control.iter().enumerate() {
                    out.push((format!("plan.control[{i}]"), n));
                }
            }
            LiftMethod::TrimmedMatch(t) => {
                for (i, p) in t.pairs.iter().enumerate() {
                    out.push((format!("plan.pairs[{i}].treated"), &p.treated));
                    out.push((format!("plan.pairs[{i}].control"), &p.control));
                }
            }
        }
        out
    }

    /// The test window's first and last day as indexes of `window`, the
    /// panel over `pre_start ..= test_end`: `(test_start, test_end + 1)`.
    pub fn test_range(&self) -> Result<(usize, usize), Vec<FieldError>> {
        let (pre, start, end) = self.days()?;
        Ok((
            (start - pre).whole_days() as usize,
            (end - pre).whole_days() as usize + 1,
        ))
    }

    /// The panel cut to `pre_start ..= test_end`, every day and every named
    /// market in it.
    pub fn window(&self, panel: &Panel) -> Result<Panel, Vec<FieldError>> {
        let (pre, _, end) = self.days()?;
        self.check_units(panel)?;
        day_window(panel, pre, end, "plan.pre_start", "plan.test_end")
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
        for (field, n) in self.named_markets() {
            if panel.unit_index(n).is_none() {
                errors.push(FieldError::new(
                    field,
                    format!("The KPI panel has no market `{n}`."),
                ));
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
    fn each_method_round_trips_and_writes_only_its_own_fields() {
        let sc = serde_json::to_value(plan().validated("plan").unwrap()).unwrap();
        let keys: Vec<&str> = sc.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "alpha",
                "alternative",
                "excluded_donors",
                "fixed_effects",
                "kpi",
                "method",
                "pre_start",
                "ridge",
                "test_end",
                "test_start",
                "treated"
            ],
            "a synthetic-control plan is written as before, so its hash is"
        );
        let dates = serde_json::json!({
            "kpi": "sales", "pre_start": "2021-01-01", "test_start": "2021-02-01",
            "test_end": "2021-02-10"
        });
        for extra in [
            serde_json::json!({"method": "tbr", "treated": ["a"], "control": ["b"], "cost_kpi": "spend"}),
            serde_json::json!({"method": "trimmed_match", "cost_kpi": "spend", "trim_rate": 0.1,
                "pairs": [{"treated": "a", "control": "b"}, {"treated": "c", "control": "d"},
                          {"treated": "e", "control": "f"}]}),
            serde_json::json!({"method": "holdout", "salt": "s", "treatment_share": 0.9}),
        ] {
            let mut doc = dates.clone();
            doc.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let p: LiftPlan = serde_json::from_value(doc).unwrap();
            let p = p.validated("plan").unwrap();
            let back: LiftPlan = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
            assert_eq!(back, p);
            assert_eq!(back.method.name().as_str(), extra["method"]);
        }
        let stray = serde_json::json!({
            "kpi": "sales", "treated": ["a"], "pre_start": "2021-01-01",
            "test_start": "2021-02-01", "test_end": "2021-02-10", "salt": "s"
        });
        let e = serde_json::from_value::<LiftPlan>(stray).unwrap_err();
        assert!(
            e.to_string().contains("`salt` belongs to a `holdout` plan"),
            "{e}"
        );
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
