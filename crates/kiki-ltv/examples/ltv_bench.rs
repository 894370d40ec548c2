//! The Rust side of the side-by-side benchmark in bench/ltv: reads a
//! summary CSV, fits a purchase model (and Gamma-Gamma when the file has
//! spend), predicts every customer, and prints timings and estimates as
//! JSON. `generate` writes the simulated data sets both sides read.
//!
//! ```text
//! ltv_bench fit <summary.csv> [bg_nbd|pareto_nbd|modified_bg_nbd] [days|weeks]
//! ltv_bench generate <out.csv> <customers> <seed>
//! ltv_bench transactions <out.csv> <customers> <seed>
//! ltv_bench stages <orders.csv>
//! ```
//!
//! `stages` times each step of the whole process on an order file (read,
//! summarise, fit, Gamma-Gamma, predict) and prints the times as JSON.
//!
//! `transactions` writes raw orders (`customer_id,date,amount`, one line an
//! order, in date order) for the whole-process benchmark.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use kiki_ltv::simulate::{self, SimulationOptions};
use kiki_ltv::{
    BgNbdParams, FitOptions, GammaGamma, GammaGammaParams, ModelKind, PredictOptions,
    SummaryCsvOptions, TimeUnit, fit, parse_summary_csv, predict_batch,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("fit") => run_fit(&args[2..]),
        Some("generate") => run_generate(&args[2..]),
        Some("transactions") => run_transactions(&args[2..]),
        Some("stages") => run_stages(&args[2..]),
        _ => Err("usage: ltv_bench fit <csv> [model] [days|weeks] | ltv_bench generate <out.csv> <n> <seed> | ltv_bench transactions <out.csv> <n> <seed>".into()),
    };
    if let Err(e) = result {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

/// CPU seconds used by this process so far (all threads), from
/// /proc/self/stat; the machine is shared, so CPU time is reported beside
/// wall time. 0 where /proc is missing.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at ")".
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    (ticks(11) + ticks(12)) / 100.0
}

fn run_fit(args: &[String]) -> Result<(), String> {
    let path = args.first().ok_or("missing the CSV path")?;
    let kind = match args.get(1).map(String::as_str).unwrap_or("bg_nbd") {
        "bg_nbd" => ModelKind::BgNbd,
        "pareto_nbd" => ModelKind::ParetoNbd,
        "modified_bg_nbd" => ModelKind::ModifiedBgNbd,
        other => return Err(format!("unknown model {other}")),
    };
    let unit = match args.get(2).map(String::as_str).unwrap_or("days") {
        "weeks" => TimeUnit::Weeks,
        _ => TimeUnit::Days,
    };

    let t0 = Instant::now();
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let customers = parse_summary_csv(std::io::BufReader::new(file), &SummaryCsvOptions::default())
        .map_err(|e| e.to_string())?;
    let read_s = t0.elapsed().as_secs_f64();

    let options = FitOptions {
        time_unit: unit,
        ..FitOptions::default()
    };
    let (t1, c1) = (Instant::now(), cpu_seconds());
    let model = fit(kind, &customers, &options, &mut |_| {}).map_err(|e| e.to_string())?;
    let fit_s = t1.elapsed().as_secs_f64();
    let fit_cpu_s = cpu_seconds() - c1;

    let has_spend = customers.iter().any(|c| c.monetary_micros > 0);
    let t2 = Instant::now();
    let spend = if has_spend {
        Some(GammaGamma::fit(&customers, &options, &mut |_| {}).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let spend_fit_s = t2.elapsed().as_secs_f64();

    // Twelve monthly periods at 1 % a month, as `lifetimes`'
    // customer_lifetime_value counts them: 30 days, or 4.345 weeks.
    let horizon = PredictOptions {
        periods: 12,
        period_days: if unit == TimeUnit::Weeks {
            4.345 * 7.0
        } else {
            30.0
        },
        discount_rate: 0.01,
    };
    let (t3, c3) = (Instant::now(), cpu_seconds());
    let predictions =
        predict_batch(&model, spend.as_ref(), &customers, &horizon).map_err(|e| e.to_string())?;
    let predict_s = t3.elapsed().as_secs_f64();
    let predict_cpu_s = cpu_seconds() - c3;

    let expected: f64 = predictions.iter().map(|p| p.expected_purchases).sum();
    let p_alive: f64 =
        predictions.iter().map(|p| p.p_alive).sum::<f64>() / predictions.len() as f64;
    let clv: i64 = predictions.iter().filter_map(|p| p.clv_micros).sum();
    let out = serde_json::json!({
        "engine": "kiki-ltv",
        "model": kind,
        "customers": customers.len(),
        "patterns": model.n_patterns,
        "read_s": read_s,
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "spend_fit_s": spend_fit_s,
        "predict_s": predict_s,
        "predict_cpu_s": predict_cpu_s,
        "params": model.params,
        "log_likelihood": model.log_likelihood,
        "iterations": model.iterations,
        "converged": model.converged,
        "spend_params": spend.as_ref().map(|s| serde_json::json!({"p": s.params.p, "q": s.params.q, "gamma": s.params.gamma})),
        "sum_expected_purchases": expected,
        "mean_p_alive": p_alive,
        "sum_clv": clv as f64 / 1e6,
    });
    println!("{out}");
    Ok(())
}

/// Simulated BG/NBD customers in days (CDNOW's weekly estimates over 7),
/// ages from 30 days to two years, recorded on whole days, with
/// Gamma-Gamma spend at CDNOW's estimates.
fn run_generate(args: &[String]) -> Result<(), String> {
    let path = args.first().ok_or("missing the output path")?;
    let n: usize = args
        .get(1)
        .and_then(|v| v.parse().ok())
        .ok_or("missing the customer count")?;
    let seed: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(42);
    let params = BgNbdParams {
        r: 0.243,
        alpha: 4.414 * 7.0,
        a: 0.793,
        b: 2.426,
    };
    let options = SimulationOptions {
        customers: n,
        min_age: 30.0,
        max_age: 730.0,
        time_step: Some(1.0),
        seed,
    };
    let mut customers = simulate::bgnbd(&params, &options).map_err(|e| e.to_string())?;
    let spend = GammaGammaParams {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };
    simulate::gamma_gamma_spend(&spend, &mut customers, seed + 1).map_err(|e| e.to_string())?;
    let mut w = BufWriter::new(File::create(path).map_err(|e| format!("{path}: {e}"))?);
    let io = |e: std::io::Error| e.to_string();
    writeln!(w, "customer_id,frequency,recency,T,monetary_value").map_err(io)?;
    for c in &customers {
        let m = c.monetary_micros;
        writeln!(
            w,
            "{},{},{},{},{}.{:06}",
            c.customer_id,
            c.frequency,
            c.recency,
            c.age,
            m / 1_000_000,
            m % 1_000_000
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(())
}

/// Raw orders of simulated BG/NBD customers (CDNOW's estimates in days, as
/// `generate`): each customer's first order 30 to 730 days before
/// 2024-12-31, repeat orders at exponential gaps in continuous time until
/// they leave (probability p after each repeat order) or the observation
/// ends, recorded by calendar day (so some customers order twice on one
/// day), each order worth a Gamma(p, ν) amount with ν ~ Gamma(q, γ) per
/// customer (CDNOW's spend estimates), written in cents. Lines are sorted by
/// date, as an order export is.
fn run_transactions(args: &[String]) -> Result<(), String> {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Beta, Distribution, Exp, Gamma};

    let path = args.first().ok_or("missing the output path")?;
    let n: usize = args
        .get(1)
        .and_then(|v| v.parse().ok())
        .ok_or("missing the customer count")?;
    let seed: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(42);
    let rates = Gamma::new(0.243, 1.0 / (4.414 * 7.0)).map_err(|e| e.to_string())?;
    let dropout = Beta::new(0.793, 2.426).map_err(|e| e.to_string())?;
    let scales = Gamma::new(3.74, 1.0 / 15.44).map_err(|e| e.to_string())?;
    let end = time::macros::date!(2024 - 12 - 31);
    let mut rng = StdRng::seed_from_u64(seed);
    // (day offset before the end, customer, cents)
    let mut orders: Vec<(u16, u32, u32)> = Vec::with_capacity(n * 5 / 2);
    for customer in 0..n as u32 {
        let age = 30.0 + rng.random::<f64>() * 700.0;
        let lambda: f64 = rates.sample(&mut rng);
        let p: f64 = dropout.sample(&mut rng);
        let nu: f64 = scales.sample(&mut rng);
        let spend = Gamma::new(6.25, 1.0 / nu).map_err(|e| e.to_string())?;
        let mut order = |t: f64, rng: &mut StdRng| {
            let cents = (spend.sample(rng) * 100.0).round().clamp(1.0, 1e9) as u32;
            orders.push(((age - t).ceil() as u16, customer, cents));
        };
        order(0.0, &mut rng);
        let Ok(gap) = Exp::new(lambda) else { continue };
        let mut t = 0.0;
        loop {
            t += gap.sample(&mut rng);
            if t >= age {
                break;
            }
            order(t, &mut rng);
            if rng.random::<f64>() < p {
                break;
            }
        }
    }
    // Oldest first; the same day in customer order.
    orders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut w = BufWriter::new(File::create(path).map_err(|e| format!("{path}: {e}"))?);
    let io = |e: std::io::Error| e.to_string();
    writeln!(w, "customer_id,date,amount").map_err(io)?;
    let mut last_offset = u16::MAX;
    let mut date = String::new();
    for (offset, customer, cents) in &orders {
        if *offset != last_offset {
            let d = end - time::Duration::days(i64::from(*offset));
            date = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
            last_offset = *offset;
        }
        writeln!(w, "c{customer},{date},{}.{:02}", cents / 100, cents % 100).map_err(io)?;
    }
    w.flush().map_err(io)?;
    eprintln!("{} customers, {} orders", n, orders.len());
    Ok(())
}

/// Times each stage of the whole process on an order file.
fn run_stages(args: &[String]) -> Result<(), String> {
    let path = args.first().ok_or("missing the CSV path")?;
    let t = Instant::now();
    let mut marks = Vec::new();
    let mut mark =
        |name: &'static str| marks.push((name, t.elapsed().as_secs_f64(), cpu_seconds()));
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    mark("read_file");
    let log = kiki_ltv::read_transaction_log(&bytes, &kiki_ltv::CsvOptions::default())
        .map_err(|e| e.to_string())?;
    drop(bytes);
    mark("parse");
    let end = log.last_at().ok_or("no orders")?;
    let customers = log.summarize(end, TimeUnit::Days);
    mark("summarise");
    let options = FitOptions {
        time_unit: TimeUnit::Days,
        ..FitOptions::default()
    };
    let model =
        fit(ModelKind::BgNbd, &customers, &options, &mut |_| {}).map_err(|e| e.to_string())?;
    mark("fit");
    let spend = GammaGamma::fit(&customers, &options, &mut |_| {}).map_err(|e| e.to_string())?;
    mark("gamma_gamma");
    let horizon = PredictOptions {
        periods: 12,
        period_days: 365.0 / 12.0,
        discount_rate: 0.008,
    };
    let predictions =
        predict_batch(&model, Some(&spend), &customers, &horizon).map_err(|e| e.to_string())?;
    mark("predict");
    let out = serde_json::json!({
        "orders": log.len(),
        "customers": customers.len(),
        "patterns": model.n_patterns,
        "stages": marks.iter().map(|(n, s, c)| serde_json::json!([n, s, c])).collect::<Vec<_>>(),
        "sum_expected": predictions.iter().map(|p| p.expected_purchases).sum::<f64>(),
        "params": model.params,
    });
    println!("{out}");
    Ok(())
}
