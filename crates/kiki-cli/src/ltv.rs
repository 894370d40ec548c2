//! `kiki ltv fit FILE.csv`: an offline lifetime-value fit — no database, no
//! server. Reads transactions with the engine's importer, runs the same fit
//! pipeline as the `ltv.fit` job (`kiki_ltv_service::domain::compute_fit`)
//! behind a progress bar, prints parameters, diagnostics and the holdout
//! check, and writes per-customer predictions as CSV.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kiki_core::{Currency, Money};
use kiki_ltv::{LtvError, TimeUnit};
use kiki_ltv_service::domain::{FitOutcome, FitRequest, ModelChoice, Progress, compute_fit};
use kiki_ltv_service::{FitSpec, LtvConfig, LtvServiceError};

#[derive(Debug, Subcommand)]
pub enum LtvCommand {
    /// Fit a model to a transactions CSV (columns customer_id, timestamp,
    /// amount; optional segment, platform) and print it.
    Fit(FitArgs),
}

/// The model names of the API, and the names fitted models are shown with.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelArg {
    #[value(alias = "bg_nbd", alias = "bg-nbd")]
    Bgnbd,
    #[value(alias = "pareto_nbd", alias = "pareto-nbd")]
    Pareto,
    #[value(alias = "modified_bg_nbd", alias = "mbg_nbd", alias = "mbg-nbd")]
    Mbgnbd,
    #[value(alias = "bg_bb", alias = "bg-bb")]
    Bgbb,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UnitArg {
    Days,
    Weeks,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// The transactions file.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value = "bgnbd")]
    pub model: ModelArg,
    /// Skip the Gamma-Gamma spend model: purchase forecasts only, no order
    /// values or CLV (by default CLV is computed whenever the data allows).
    #[arg(long)]
    pub no_spend_model: bool,
    /// The spend model is on by default; kept for scripts that ask for it.
    #[arg(long, hide = true)]
    pub gamma_gamma: bool,
    /// The column with the customer (default: `customer_id`, or the first of
    /// customer, user_id, email, … the header has).
    #[arg(long, value_name = "NAME")]
    pub customer_col: Option<String>,
    /// The column with the order time (default: `timestamp`, or date,
    /// order_date, created_at, datetime, …).
    #[arg(long, value_name = "NAME")]
    pub date_col: Option<String>,
    /// The column with the order value (default: `amount`, or revenue, total,
    /// value, …).
    #[arg(long, value_name = "NAME")]
    pub amount_col: Option<String>,
    #[arg(long, value_enum, default_value = "weeks")]
    pub unit: UnitArg,
    /// Hold out the last N days and report the model's accuracy on them.
    #[arg(long)]
    pub holdout_days: Option<u32>,
    /// Or end the calibration period at this date (YYYY-MM-DD).
    #[arg(long)]
    pub calibration_end: Option<String>,
    /// End of observation (default: the latest transaction).
    #[arg(long)]
    pub observation_end: Option<String>,
    /// Forecast horizon in days.
    #[arg(long, default_value_t = 365)]
    pub horizon_days: u32,
    /// Annual discount rate of CLV.
    #[arg(long, default_value_t = 0.10)]
    pub discount_rate: f64,
    /// L2 penalizer.
    #[arg(long)]
    pub penalizer: Option<f64>,
    /// Currency of the amounts (for the output).
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Write per-customer predictions here (CSV).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs the command; errors are printed and exit with code 2.
pub fn run(cmd: &LtvCommand) -> ExitCode {
    let result = match cmd {
        LtvCommand::Fit(args) => fit(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn spec_of(args: &FitArgs) -> Result<FitSpec, String> {
    let req = FitRequest {
        model: Some(match args.model {
            ModelArg::Bgnbd => ModelChoice::Bgnbd,
            ModelArg::Pareto => ModelChoice::Pareto,
            ModelArg::Mbgnbd => ModelChoice::Mbgnbd,
            ModelArg::Bgbb => ModelChoice::Bgbb,
        }),
        gamma_gamma: Some(!args.no_spend_model),
        unit: Some(match args.unit {
            UnitArg::Days => TimeUnit::Days,
            UnitArg::Weeks => TimeUnit::Weeks,
        }),
        holdout_days: args.holdout_days,
        calibration_end: args.calibration_end.clone(),
        observation_end: args.observation_end.clone(),
        horizon_days: Some(args.horizon_days),
        discount_rate: Some(args.discount_rate),
        penalizer: args.penalizer,
        currency: Some(args.currency.clone()),
    };
    req.validate(&LtvConfig::default()).map_err(|e| match e {
        LtvServiceError::Invalid { field, message } => {
            format!("--{}: {message}", field.replace('_', "-"))
        }
        other => other.to_string(),
    })
}

fn read(path: &Path, args: &FitArgs) -> Result<Vec<kiki_ltv::Transaction>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut options = kiki_ltv::CsvOptions::default();
    if let Some(c) = &args.customer_col {
        options.columns.customer_id = c.clone();
    }
    if let Some(c) = &args.date_col {
        options.columns.timestamp = c.clone();
    }
    if let Some(c) = &args.amount_col {
        options.columns.amount = c.clone();
    }
    kiki_ltv::parse_transactions_csv(std::io::BufReader::new(file), &options).map_err(|e| match e {
        LtvError::Csv(errors) => {
            let mut s = format!("{} has {} bad value(s):", path.display(), errors.total);
            for r in &errors.errors {
                s.push_str(&format!("\n  line {}, {}: {}", r.line, r.field, r.message));
            }
            if errors.total > errors.errors.len() {
                s.push_str(&format!(
                    "\n  … and {} more",
                    errors.total - errors.errors.len()
                ));
            }
            s
        }
        other => other.to_string(),
    })
}

fn fit(args: &FitArgs) -> Result<(), String> {
    let spec = spec_of(args)?;
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {percent:>3}% {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    bar.set_message(format!("reading {}", args.file.display()));
    let transactions = read(&args.file, args).inspect_err(|_| bar.finish_and_clear())?;
    let mut progress = |p: Progress| {
        bar.set_position((p.fraction * 100.0).round() as u64);
        bar.set_message(p.message);
    };
    let mut outcome = compute_fit(&transactions, &spec, &mut progress);
    // CLV is the default, not a requirement: when the spend model cannot be
    // fitted, forecast purchases and say why there is no CLV.
    let mut no_clv = None;
    if let Err(LtvServiceError::ModelFailed {
        field: "gamma_gamma",
        message,
    }) = &outcome
    {
        no_clv = Some(message.clone());
        let purchases_only = FitSpec {
            gamma_gamma: false,
            ..spec.clone()
        };
        outcome = compute_fit(&transactions, &purchases_only, &mut progress);
    }
    bar.finish_and_clear();
    let outcome = outcome.map_err(|e| e.to_string())?;
    if let Some(why) = no_clv {
        println!("no CLV: {why}");
    } else if args.no_spend_model {
        println!("no CLV: the spend model was skipped (--no-spend-model)");
    }
    print_report(&outcome, &spec, transactions.len());
    if let Some(path) = &args.out {
        write_predictions(path, &outcome, spec.currency)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!(
            "predictions: {} customers written to {}",
            outcome.predictions.len(),
            path.display()
        );
    }
    Ok(())
}

fn print_report(o: &FitOutcome, spec: &FitSpec, n_transactions: usize) {
    let f = &o.fitted;
    let unit = spec.unit.as_str();
    println!(
        "model: {} in {unit}, {} customers ({} patterns) from {n_transactions} transactions, {} to {}",
        f.kind.name(),
        f.n_customers,
        f.n_patterns,
        o.window.start.date(),
        o.window.end.date()
    );
    println!("parameters:");
    for name in f.kind.param_names() {
        let v = f.params.get(name).copied().unwrap_or(f64::NAN);
        match f.std_errors.as_ref().and_then(|s| s.get(name)) {
            Some(se) => println!("  {name:<8} {v:>14.6}  (se {se:.6})"),
            None => println!("  {name:<8} {v:>14.6}"),
        }
    }
    println!(
        "diagnostics: log-likelihood {:.4}, AIC {:.4}, iterations {}, evaluations {}, converged {}{}",
        f.log_likelihood,
        f.aic,
        f.iterations,
        f.evaluations,
        if f.converged { "yes" } else { "NO" },
        if f.std_errors.is_none() {
            ", standard errors unavailable (flat optimum)"
        } else {
            ""
        }
    );
    if let Some(g) = &o.gamma_gamma {
        println!(
            "gamma-gamma: p {:.6}, q {:.6}, gamma {:.6}, log-likelihood {:.4}, converged {}",
            g.params.p,
            g.params.q,
            g.params.gamma,
            g.log_likelihood,
            if g.converged { "yes" } else { "NO" }
        );
        let clvs: Vec<i64> = o.predictions.iter().filter_map(|p| p.clv_micros).collect();
        if !clvs.is_empty() {
            let total = clvs.iter().fold(0i64, |a, c| a.saturating_add(*c));
            let mean = total / clvs.len() as i64;
            println!(
                "CLV over {} days at {:.1} % a year: mean {}, total {} over {} customers",
                spec.horizon_days,
                spec.discount_rate * 100.0,
                Money::from_micros(mean, spec.currency),
                Money::from_micros(total, spec.currency),
                clvs.len()
            );
        }
    }
    if let Some(h) = &o.holdout {
        println!(
            "holdout: {} customers, MAE {:.4}, RMSE {:.4}, predicted {:.1} vs actual {:.1} purchases, aggregate error {}",
            h.n_customers,
            h.mae,
            h.rmse,
            h.total_predicted,
            h.total_actual,
            h.aggregate_error
                .map_or("n/a".to_owned(), |e| format!("{:+.2} %", e * 100.0))
        );
        for b in &h.by_frequency {
            println!(
                "  frequency {}{}: {} customers, predicted {:.3}, actual {:.3}",
                b.frequency,
                if b.frequency == 7 { "+" } else { "" },
                b.customers,
                b.mean_predicted,
                b.mean_actual
            );
        }
    }
}

/// A decimal amount in the major unit without the currency code.
fn amount(micros: Option<i64>, currency: Currency) -> String {
    micros
        .map(|m| {
            let s = Money::from_micros(m, currency).to_string();
            s.rsplit_once(' ').map_or(s.clone(), |(v, _)| v.to_owned())
        })
        .unwrap_or_default()
}

fn write_predictions(path: &Path, o: &FitOutcome, currency: Currency) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    w.write_record([
        "customer_id",
        "segment",
        "platform",
        "frequency",
        "recency",
        "T",
        "expected_purchases",
        "p_alive",
        "churn_risk",
        "expected_order_value",
        "clv",
        "currency",
    ])?;
    for (s, p) in o.summaries.iter().zip(&o.predictions) {
        w.write_record([
            p.customer_id.as_str(),
            p.segment.as_deref().unwrap_or(""),
            p.platform.as_deref().unwrap_or(""),
            &s.frequency.to_string(),
            &format!("{:.6}", s.recency),
            &format!("{:.6}", s.age),
            &format!("{:.6}", p.expected_purchases),
            &format!("{:.6}", p.p_alive),
            &format!("{:.6}", p.churn_risk),
            &amount(p.expected_aov_micros, currency),
            &amount(p.clv_micros, currency),
            &currency.to_string(),
        ])?;
    }
    w.flush()?;
    let mut inner = w.into_inner().map_err(|e| e.into_error())?;
    inner.flush()
}
