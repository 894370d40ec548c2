//! Parameter recovery: data simulated from known parameters by the crate's
//! seeded generators are fitted back, within a relative tolerance that
//! shrinks like 1/√n with the number of customers.

use kiki_ltv::simulate::{self, SimulationOptions};
use kiki_ltv::{
    BgBbParams, BgNbdParams, FitOptions, GammaGamma, GammaGammaParams, ModelKind, ParetoNbdParams,
    fit,
};

/// Relative tolerance for n customers: `k / √n`. The constants are about
/// four times the relative standard errors the fits report at these sizes.
fn tolerance(k: f64, n: usize) -> f64 {
    k / (n as f64).sqrt()
}

fn check(label: &str, n: usize, k: f64, fitted: &[f64], truth: &[f64]) {
    let tol = tolerance(k, n);
    for (i, (f, t)) in fitted.iter().zip(truth).enumerate() {
        let rel = (f / t - 1.0).abs();
        assert!(
            rel <= tol,
            "{label} n={n} parameter {i}: fitted {f}, true {t}, relative error {rel:.4} > {tol:.4}"
        );
    }
}

fn continuous(n: usize, seed: u64) -> SimulationOptions {
    SimulationOptions {
        customers: n,
        min_age: 20.0,
        max_age: 60.0,
        time_step: None,
        seed,
    }
}

#[test]
fn bg_nbd_parameters_are_recovered_ever_closer_as_data_grow() {
    let truth = BgNbdParams {
        r: 0.6,
        alpha: 5.0,
        a: 0.8,
        b: 2.5,
    };
    for (n, seed) in [(2_000, 11), (20_000, 12), (200_000, 13)] {
        let data = simulate::bgnbd(&truth, &continuous(n, seed)).unwrap();
        let m = fit(ModelKind::BgNbd, &data, &FitOptions::default(), &mut |_| {}).unwrap();
        assert!(m.converged);
        let v = m.model_params().unwrap().values();
        check(
            "BG/NBD",
            n,
            30.0,
            &v,
            &[truth.r, truth.alpha, truth.a, truth.b],
        );
    }
}

#[test]
fn modified_bg_nbd_parameters_are_recovered() {
    let truth = BgNbdParams {
        r: 0.6,
        alpha: 5.0,
        a: 0.5,
        b: 3.0,
    };
    for (n, seed) in [(5_000, 21), (50_000, 22)] {
        let data = simulate::modified_bgnbd(&truth, &continuous(n, seed)).unwrap();
        let m = fit(
            ModelKind::ModifiedBgNbd,
            &data,
            &FitOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        let v = m.model_params().unwrap().values();
        check(
            "MBG/NBD",
            n,
            30.0,
            &v,
            &[truth.r, truth.alpha, truth.a, truth.b],
        );
    }
}

#[test]
fn pareto_nbd_parameters_are_recovered() {
    let truth = ParetoNbdParams {
        r: 0.8,
        alpha: 8.0,
        s: 0.7,
        beta: 12.0,
    };
    for (n, seed) in [(5_000, 31), (50_000, 32)] {
        let data = simulate::pareto_nbd(&truth, &continuous(n, seed)).unwrap();
        let m = fit(
            ModelKind::ParetoNbd,
            &data,
            &FitOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        let v = m.model_params().unwrap().values();
        check(
            "Pareto/NBD",
            n,
            40.0,
            &v,
            &[truth.r, truth.alpha, truth.s, truth.beta],
        );
    }
}

#[test]
fn bg_bb_parameters_are_recovered() {
    let truth = BgBbParams {
        alpha: 1.2,
        beta: 0.75,
        gamma: 0.66,
        delta: 2.8,
    };
    for (n, seed) in [(5_000, 41), (50_000, 42)] {
        let data = simulate::bgbb(&truth, n, 8, seed).unwrap();
        let m = fit(ModelKind::BgBb, &data, &FitOptions::default(), &mut |_| {}).unwrap();
        let v = m.model_params().unwrap().values();
        check(
            "BG/BB",
            n,
            40.0,
            &v,
            &[truth.alpha, truth.beta, truth.gamma, truth.delta],
        );
    }
}

#[test]
fn gamma_gamma_parameters_are_recovered() {
    let truth = GammaGammaParams {
        p: 6.0,
        q: 3.8,
        gamma: 15.0,
    };
    let purchases = BgNbdParams {
        r: 2.0,
        alpha: 5.0,
        a: 0.5,
        b: 3.0,
    };
    for (n, seed) in [(5_000, 51), (50_000, 52)] {
        let mut data = simulate::bgnbd(&purchases, &continuous(n, seed)).unwrap();
        simulate::gamma_gamma_spend(&truth, &mut data, seed + 100).unwrap();
        let m = GammaGamma::fit(&data, &FitOptions::default(), &mut |_| {}).unwrap();
        let p = m.params;
        check(
            "Gamma-Gamma",
            n,
            30.0,
            &[p.p, p.q, p.gamma],
            &[truth.p, truth.q, truth.gamma],
        );
    }
}
