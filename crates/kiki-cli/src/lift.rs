//! `kiki lift analyze FILE.csv` and `kiki lift design FILE.csv`: offline
//! incrementality — no database, no server. The panel is read with the
//! service's importer (`kiki_lift_service::domain`), the plan built and
//! checked as `POST /v1/experiments/lift` checks it, and the same engine
//! calls run: so the printed plan, inputs and result hashes equal the API's
//! for the same plan and data. `design` shows the simulations' progress.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kiki_core::{Currency, FieldError, Money};
use kiki_lift::{CandidateEvaluation, DesignReport, Panel, Verdict};
use kiki_lift_service::domain::panel::{BadRows, CsvColumnNames};
use kiki_lift_service::domain::{
    Alternative, AnalysisSummary, DesignRequest, LiftMethod, LiftPlan, analysis::AnalyzeError,
    analyze, content_hash, panel_from_csv, run_design,
};

#[derive(Debug, Subcommand)]
pub enum LiftCommand {
    /// Analyse a geo test on a daily KPI CSV (one row per market and day):
    /// estimate, interval, p-value, weights and diagnostics.
    Analyze(AnalyzeArgs),
    /// Design a test before spend: market selection, or the power of
    /// `--treatment`, with the placebo false-positive rate.
    Design(DesignArgs),
}

/// The columns of the panel file.
#[derive(Debug, Clone, Args)]
pub struct PanelArgs {
    /// The daily KPI file (e.g. `location,date,Y`).
    pub file: PathBuf,
    /// The market column (default: market, location, geo, unit, arm, region).
    #[arg(long, value_name = "NAME")]
    pub market_col: Option<String>,
    /// The day column, YYYY-MM-DD (default: date, day, period).
    #[arg(long, value_name = "NAME")]
    pub date_col: Option<String>,
    /// The outcome column (default: value, y, kpi, outcome, conversions).
    #[arg(long, value_name = "NAME")]
    pub value_col: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlternativeArg {
    TwoSided,
    Greater,
    Less,
    AnyPeriod,
}

impl AlternativeArg {
    fn service(self) -> Alternative {
        match self {
            AlternativeArg::TwoSided => Alternative::TwoSided,
            AlternativeArg::Greater => Alternative::Greater,
            AlternativeArg::Less => Alternative::Less,
            AlternativeArg::AnyPeriod => Alternative::AnyPeriod,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub panel: PanelArgs,
    /// The treated markets, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub treatment: Vec<String>,
    /// First test day (YYYY-MM-DD).
    #[arg(long)]
    pub start: String,
    /// Last test day, included (YYYY-MM-DD).
    #[arg(long)]
    pub end: String,
    /// First pre-period day (default: the panel's first day).
    #[arg(long)]
    pub pre_start: Option<String>,
    /// Significance level.
    #[arg(long, default_value_t = 0.1)]
    pub alpha: f64,
    #[arg(long, value_enum, default_value = "two-sided")]
    pub alternative: AlternativeArg,
    /// Ridge augmentation (cross-validated penalty).
    #[arg(long)]
    pub ridge: bool,
    /// No unit fixed effects.
    #[arg(long)]
    pub no_fixed_effects: bool,
    /// Markets never used as donors, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub exclude_donors: Vec<String>,
    /// The outcome's name in the plan (part of its hash).
    #[arg(long, default_value = "conversions")]
    pub kpi: String,
}

#[derive(Debug, Clone, Args)]
pub struct DesignArgs {
    #[command(flatten)]
    pub panel: PanelArgs,
    /// A group chosen by hand (power analysis); without it, market selection.
    #[arg(long, value_delimiter = ',')]
    pub treatment: Vec<String>,
    /// Numbers of treated markets to consider.
    #[arg(long, value_delimiter = ',', default_value = "2")]
    pub sizes: Vec<u32>,
    /// Test lengths in days.
    #[arg(long, value_delimiter = ',', default_value = "15")]
    pub durations: Vec<u32>,
    /// Relative lifts to simulate (0 is the placebo).
    #[arg(long, value_delimiter = ',', default_value = "0,0.05,0.1,0.15,0.2")]
    pub effects: Vec<f64>,
    /// Simulated tests per candidate, duration and effect.
    #[arg(long, default_value_t = 20)]
    pub simulations: u32,
    /// Days each simulated test's synthetic control fits on.
    #[arg(long, default_value_t = 60)]
    pub pre_periods: u32,
    /// Shortlisted candidates that get the power run.
    #[arg(long, default_value_t = 5)]
    pub candidates: u32,
    #[arg(long, default_value_t = 0.1)]
    pub alpha: f64,
    #[arg(long, value_enum, default_value = "two-sided")]
    pub alternative: AlternativeArg,
    /// The test's budget, in major units of `--currency`.
    #[arg(long)]
    pub budget: Option<String>,
    /// Cost of one incremental unit of the KPI, in major units.
    #[arg(long)]
    pub cost_per_unit: Option<String>,
    #[arg(long, default_value = "USD")]
    pub currency: String,
}

/// Runs the command; errors are printed and exit with code 2.
pub fn run(cmd: &LiftCommand) -> ExitCode {
    let result = match cmd {
        LiftCommand::Analyze(args) => analyze_report(args),
        LiftCommand::Design(args) => design_report(args),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn fields_text(errors: &[FieldError], flag: impl Fn(&str) -> String) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", flag(&e.field), e.message))
        .collect::<Vec<_>>()
        .join("\n  ")
}

fn read_panel(p: &PanelArgs) -> Result<Panel, String> {
    let bytes =
        std::fs::read(&p.file).map_err(|e| format!("cannot open {}: {e}", p.file.display()))?;
    let columns = CsvColumnNames {
        market: p.market_col.clone(),
        date: p.date_col.clone(),
        value: p.value_col.clone(),
    };
    panel_from_csv(&bytes, &columns, usize::MAX)
        .map(|(panel, _)| panel)
        .map_err(|BadRows { errors, total }| {
            let more = total.saturating_sub(errors.len());
            format!(
                "{} has {total} bad value(s):\n  {}{}",
                p.file.display(),
                fields_text(&errors, |f| f.to_owned()),
                if more > 0 {
                    format!("\n  … and {more} more")
                } else {
                    String::new()
                }
            )
        })
}

/// The plan field's command-line flag.
fn flag(field: &str) -> String {
    let name = field.trim_start_matches("plan.");
    let base = name.split('[').next().unwrap_or(name);
    match base {
        "treated" => "--treatment".into(),
        "test_start" => "--start".into(),
        "test_end" => "--end".into(),
        "excluded_donors" => "--exclude-donors".into(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

/// What `kiki lift analyze` prints.
pub fn analyze_report(args: &AnalyzeArgs) -> Result<String, String> {
    let panel = read_panel(&args.panel)?;
    let plan = LiftPlan {
        method: LiftMethod::SyntheticControl,
        kpi: args.kpi.clone(),
        treated: args.treatment.clone(),
        pre_start: args
            .pre_start
            .clone()
            .or_else(|| panel.periods().first().cloned())
            .unwrap_or_default(),
        test_start: args.start.clone(),
        test_end: args.end.clone(),
        fixed_effects: !args.no_fixed_effects,
        ridge: args.ridge,
        excluded_donors: args.exclude_donors.clone(),
        alpha: args.alpha,
        alternative: args.alternative.service(),
    }
    .validated("plan")
    .map_err(|e| fields_text(&e, flag))?;
    let (result, inputs) = analyze(&plan, &panel).map_err(|e| match e {
        AnalyzeError::Plan(fields) => fields_text(&fields, flag),
        AnalyzeError::Engine(e) => e.to_string(),
    })?;
    let summary = AnalysisSummary::of(&result, plan.alternative);
    let result_json = serde_json::to_value(&result).map_err(|e| e.to_string())?;
    let mut out = format!(
        "plan: {} treated ({}), pre-period from {} until the test, test {} to {}\n",
        plan.treated.len(),
        plan.treated.join(", "),
        plan.pre_start,
        plan.test_start,
        plan.test_end
    );
    out.push_str(&summary.render(&plan.kpi));
    out.push_str(&format!(
        "hashes: plan {}, inputs {}, result {}\n",
        content_hash(&plan),
        content_hash(&inputs),
        content_hash(&result_json)
    ));
    Ok(out)
}

fn money(s: &Option<String>, currency: Currency, flag: &str) -> Result<Option<Money>, String> {
    s.as_deref()
        .map(|v| Money::parse_decimal(v, currency).map_err(|e| format!("{flag}: {e}")))
        .transpose()
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn candidate_lines(c: &CandidateEvaluation, out: &mut String) {
    let verdict = match &c.verdict {
        Verdict::Accepted => "accepted".to_owned(),
        Verdict::Refused { reasons } => format!("refused: {}", reasons.join(" ")),
    };
    out.push_str(&format!(
        "{} (volume share {}, screening scaled L2 {:.4}): {verdict}\n",
        c.treated.join(", "),
        pct(c.volume_share),
        c.screening_scaled_l2
    ));
    for d in &c.durations {
        out.push_str(&format!(
            "  {} days: MDE {}, placebo false-positive rate {}{}\n",
            d.duration,
            d.mde.map_or("none".to_owned(), pct),
            pct(d.placebo_false_positive_rate),
            d.investment_at_mde
                .map_or(String::new(), |i| format!(", spend at MDE {i:.2}"))
        ));
        for e in &d.effects {
            out.push_str(&format!(
                "    effect {:>7}: power {:>6}, mean estimated lift {}\n",
                pct(e.effect),
                pct(e.power),
                pct(e.mean_estimated_lift)
            ));
        }
    }
}

/// What `kiki lift design` prints (with a progress bar on standard error
/// while the simulations run).
pub fn design_report(args: &DesignArgs) -> Result<String, String> {
    let panel = read_panel(&args.panel)?;
    let currency = Currency::parse(&args.currency).map_err(|e| format!("--currency: {e}"))?;
    let request = DesignRequest {
        treated: (!args.treatment.is_empty()).then(|| args.treatment.clone()),
        treatment_sizes: args.sizes.clone(),
        durations: args.durations.clone(),
        effect_sizes: args.effects.clone(),
        simulations: args.simulations,
        pre_periods: args.pre_periods,
        candidates: args.candidates,
        alpha: args.alpha,
        alternative: args.alternative.service(),
        fixed_effects: true,
        required_markets: vec![],
        excluded_markets: vec![],
        excluded_donors: vec![],
        max_volume_share: None,
        budget: money(&args.budget, currency, "--budget")?,
        cost_per_incremental_unit: money(&args.cost_per_unit, currency, "--cost-per-unit")?,
        min_power: 0.8,
        max_false_positive_rate: 0.15,
    };
    let spec = request.spec(&panel).map_err(|e| {
        fields_text(&e, |f| {
            let base = f.split(['[', '.']).next().unwrap_or(f);
            match base {
                "treated" => "--treatment".into(),
                "treatment_sizes" => "--sizes".into(),
                "effect_sizes" => "--effects".into(),
                "cost_per_incremental_unit" => "--cost-per-unit".into(),
                other => format!("--{}", other.replace('_', "-")),
            }
        })
    })?;
    let bar = ProgressBar::new(100);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {percent:>3}% {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("simulating tests");
    let mut progress = |f: f64| bar.set_position((f * 100.0).round() as u64);
    let report = run_design(&panel, &request, &spec, &mut progress, &|| false);
    bar.finish_and_clear();
    let report = report.map_err(|e| e.to_string())?;
    let mut out = String::new();
    match &request.treated {
        Some(_) => {
            let c: CandidateEvaluation =
                serde_json::from_value(report).map_err(|e| e.to_string())?;
            out.push_str("power analysis:\n");
            candidate_lines(&c, &mut out);
        }
        None => {
            let r: DesignReport = serde_json::from_value(report).map_err(|e| e.to_string())?;
            out.push_str(&format!(
                "market selection: {} groups generated, {} screened out, {} evaluated, {} synthetic-control fits\n",
                r.generated,
                r.screened_out,
                r.evaluated.len(),
                r.fits
            ));
            for (i, c) in r.evaluated.iter().enumerate() {
                out.push_str(&format!("{}. ", i + 1));
                candidate_lines(c, &mut out);
            }
            out.push_str(&format!("summary: {}\n", r.summary));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../kiki-lift/tests/fixtures/geolift_test.csv"
        ))
    }

    fn panel_args() -> PanelArgs {
        PanelArgs {
            file: fixture(),
            market_col: None,
            date_col: None,
            value_col: None,
        }
    }

    fn walkthrough() -> AnalyzeArgs {
        AnalyzeArgs {
            panel: panel_args(),
            treatment: vec!["chicago".into(), "portland".into()],
            start: "2021-04-01".into(),
            end: "2021-04-15".into(),
            pre_start: None,
            alpha: 0.1,
            alternative: AlternativeArg::TwoSided,
            ridge: false,
            no_fixed_effects: false,
            exclude_donors: vec![],
            kpi: "conversions".into(),
        }
    }

    #[test]
    fn analyze_prints_geolifts_walkthrough_figures() {
        let text = analyze_report(&walkthrough()).unwrap();
        for expected in [
            "plan: 2 treated (chicago, portland), pre-period from 2021-01-01 until the test, test 2021-04-01 to 2021-04-15",
            "estimate: ATT 155.556 conversions per treated market per day, incremental 4666.7, lift +5.42 %",
            "p-value: 0.1143 (two_sided, alpha 0.1), not significant",
            "  cincinnati               0.2272",
            "  miami                    0.2028",
            "diagnostics: L2 imbalance 909.489, scaled 0.1636",
            "data: 90 pre-period days, 15 test days, 2 treated markets",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        let interval = text
            .lines()
            .find(|l| l.starts_with("interval (90 %)"))
            .expect("an interval line");
        // Published: [−487, 8,482] incremental.
        assert!(
            interval.contains("incremental [-486.661, 8482.289]"),
            "{interval}"
        );
        // Deterministic: the same run prints the same hashes.
        let again = analyze_report(&walkthrough()).unwrap();
        assert_eq!(text, again);
        assert!(
            text.lines().any(|l| l.starts_with("hashes: plan ")),
            "{text}"
        );
    }

    #[test]
    fn analyze_names_the_flag_of_a_bad_value() {
        let mut args = walkthrough();
        args.treatment = vec!["chicago".into(), "atlantis".into()];
        let e = analyze_report(&args).unwrap_err();
        assert!(
            e.contains("--treatment: The KPI panel has no market `atlantis`"),
            "{e}"
        );
        let mut args = walkthrough();
        args.end = "2021-04-30".into();
        let e = analyze_report(&args).unwrap_err();
        assert!(
            e.contains("--end: The KPI panel has no day 2021-04-30"),
            "{e}"
        );
    }

    #[test]
    fn design_prints_the_power_of_a_group() {
        let args = DesignArgs {
            panel: panel_args(),
            treatment: vec!["chicago".into(), "portland".into()],
            sizes: vec![2],
            durations: vec![15],
            effects: vec![0.0, 0.1],
            simulations: 3,
            pre_periods: 60,
            candidates: 1,
            alpha: 0.1,
            alternative: AlternativeArg::TwoSided,
            budget: None,
            cost_per_unit: None,
            currency: "USD".into(),
        };
        let text = design_report(&args).unwrap();
        assert!(
            text.starts_with("power analysis:\nchicago, portland (volume share "),
            "{text}"
        );
        assert!(text.contains("  15 days: MDE "), "{text}");
        assert!(text.contains("    effect  10.0 %: power "), "{text}");
    }
}
