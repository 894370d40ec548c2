//! `kiki ltv fit` as a real process: the CDNOW sample fitted offline prints
//! the published BG/NBD parameters and a holdout report and writes one
//! prediction per customer; bad input exits 2 with a message, never a panic.

use std::path::Path;
use std::process::{Command, Output};

const CDNOW_SAMPLE: &str = include_str!("../../kiki-ltv/tests/fixtures/CDNOW_sample.txt");

fn kiki() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiki"));
    for (k, _) in std::env::vars() {
        if k.starts_with("KIKI__") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

/// CDNOW_sample.txt (master id, sample id, YYYYMMDD, CDs, dollars) as the
/// importer's CSV.
fn write_cdnow_csv(path: &Path) {
    let mut out = String::from("customer_id,timestamp,amount\n");
    for line in CDNOW_SAMPLE.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        out.push_str(&format!(
            "{},{},{}\n",
            f[1].trim_start_matches('0'),
            f[2],
            f[4]
        ));
    }
    std::fs::write(path, out).expect("fixture written");
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The value printed on the parameter line `  name   value  (se …)`.
fn printed_param(stdout: &str, name: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(name)).then(|| words.next()?.parse::<f64>().ok())?
        })
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{stdout}"))
}

#[test]
fn ltv_fit_on_cdnow_prints_the_published_bgnbd_parameters_and_writes_predictions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("cdnow.csv");
    let out_csv = dir.path().join("predictions.csv");
    write_cdnow_csv(&input);
    let out = kiki()
        .args(["ltv", "fit"])
        .arg(&input)
        .args([
            "--model",
            "bgnbd",
            "--gamma-gamma",
            "--unit",
            "weeks",
            "--calibration-end",
            "1997-09-30",
            "--observation-end",
            "1998-06-30",
            "--out",
        ])
        .arg(&out_csv)
        .output()
        .expect("kiki runs");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for (name, published) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        let v = printed_param(&stdout, name);
        assert!(
            (v - published).abs() < 1e-3,
            "{name} = {v}, published {published}"
        );
    }
    assert!(stdout.contains("log-likelihood -9582.429"), "{stdout}");
    assert!(stdout.contains("converged yes"), "{stdout}");
    assert!(
        stdout.contains("(se "),
        "standard errors are printed: {stdout}"
    );
    assert!(
        stdout.contains("holdout: 2357 customers, MAE ") && stdout.contains("actual 1882.0"),
        "{stdout}"
    );
    assert!(stdout.contains("gamma-gamma: p "), "{stdout}");

    let written = std::fs::read_to_string(&out_csv).expect("predictions written");
    let mut lines = written.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("customer_id,segment,platform"))
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2357);
    assert!(rows.iter().all(|r| r.ends_with(",USD")));
}

#[test]
fn ltv_fit_exits_2_with_a_message_for_a_missing_file_or_bad_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = kiki()
        .args(["ltv", "fit"])
        .arg(dir.path().join("nope.csv"))
        .output()
        .expect("kiki runs");
    let (_, stderr) = text(&missing);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot open") && stderr.contains("nope.csv"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "customer_id,timestamp,amount\nc1,2024-01-01,10\nc2,soon,3\nc3,2024-01-02,lots\n",
    )
    .expect("written");
    let out = kiki()
        .args(["ltv", "fit"])
        .arg(&bad)
        .output()
        .expect("kiki runs");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("2 bad value(s)"), "{stderr}");
    assert!(stderr.contains("line 3, timestamp"), "{stderr}");
    assert!(stderr.contains("line 4, amount"), "{stderr}");

    let once = dir.path().join("once.csv");
    std::fs::write(
        &once,
        "customer_id,timestamp,amount\nc1,2024-01-01,10\nc2,2024-01-03,3\n",
    )
    .expect("written");
    let out = kiki()
        .args(["ltv", "fit"])
        .arg(&once)
        .output()
        .expect("kiki runs");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("No customer made a repeat purchase"),
        "{stderr}"
    );

    let out = kiki()
        .args(["ltv", "fit"])
        .arg(&once)
        .args(["--discount-rate", "7"])
        .output()
        .expect("kiki runs");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--discount-rate"), "{stderr}");
}

/// The CDNOW sample with a shop's own headers and formatted amounts.
fn write_shop_csv(path: &Path, headers: &str) {
    let mut out = format!("{headers}\n");
    for line in CDNOW_SAMPLE.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let date = format!("{}-{}-{}", &f[2][..4], &f[2][4..6], &f[2][6..]);
        out.push_str(&format!(
            "c{},{date},\"${}\"\n",
            f[1].trim_start_matches('0'),
            f[4]
        ));
    }
    std::fs::write(path, out).expect("fixture written");
}

#[test]
fn ltv_fit_reads_a_shops_own_headers_and_prints_clv_by_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Recognised without flags: email / order_date / total, "$12.34".
    let recognised = dir.path().join("orders.csv");
    write_shop_csv(&recognised, "email,order_date,total");
    let out = kiki()
        .args(["ltv", "fit", "--model", "bg_nbd"])
        .arg(&recognised)
        .output()
        .expect("kiki runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("BG/NBD"), "{stdout}");
    assert!(
        stdout.contains("gamma-gamma: p"),
        "CLV by default:\n{stdout}"
    );
    assert!(
        stdout.contains("CLV over 365 days at 10.0 % a year: mean "),
        "{stdout}"
    );
    assert!(!stdout.contains("no CLV"), "{stdout}");

    // Named with flags when the names are the shop's own.
    let named = dir.path().join("export.csv");
    write_shop_csv(&named, "Kunde,Bestelldatum,Umsatz");
    let out = kiki()
        .args(["ltv", "fit", "--no-spend-model"])
        .args(["--customer-col", "Kunde", "--date-col", "Bestelldatum"])
        .args(["--amount-col", "Umsatz"])
        .arg(&named)
        .output()
        .expect("kiki runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("no CLV: the spend model was skipped"),
        "{stdout}"
    );

    // Without the flags the message names what the file has and what would do.
    let out = kiki()
        .args(["ltv", "fit"])
        .arg(&named)
        .output()
        .expect("kiki runs");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("it has: Kunde, Bestelldatum, Umsatz"),
        "{stderr}"
    );
    assert!(stderr.contains("`order_date`"), "{stderr}");
}

#[test]
fn ltv_fit_without_repeat_spend_forecasts_purchases_and_says_why_there_is_no_clv() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Repeat purchases, but every one of them is free: no order values to
    // fit the spend model on.
    let mut csv = String::from("customer_id,timestamp,amount\n");
    for c in 0..60 {
        csv.push_str(&format!("c{c},2024-01-{:02},0\n", 1 + c % 20));
        if c % 2 == 0 {
            csv.push_str(&format!("c{c},2024-03-{:02},0\n", 1 + c % 25));
        }
    }
    let path = dir.path().join("free.csv");
    std::fs::write(&path, csv).expect("written");
    let out = kiki()
        .args(["ltv", "fit"])
        .arg(&path)
        .output()
        .expect("kiki runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{stdout}");
    assert!(
        stdout.contains("no CLV: The Gamma-Gamma spend model cannot be used"),
        "{stdout}"
    );
}
