//! Seeded generators of customer summaries from known parameters, following
//! each model's story literally. Used for parameter-recovery tests and the
//! benchmark data sets; the same seed always gives the same customers.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};

use crate::data::CustomerSummary;
use crate::error::LtvError;
use crate::models::{BgBbParams, BgNbdParams, GammaGammaParams, ParetoNbdParams};

/// Who is simulated and how time is recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulationOptions {
    pub customers: usize,
    /// Each customer's age T is drawn uniformly from [min_age, max_age].
    pub min_age: f64,
    pub max_age: f64,
    /// When set, time is recorded on a grid of this step (e.g. 1.0 for
    /// whole days): T and purchase times are floored to it and purchases in
    /// the same cell merge, as [`crate::data::summarize`] does with real
    /// orders. `None` keeps continuous time.
    pub time_step: Option<f64>,
    pub seed: u64,
}

fn invalid(name: &'static str, message: String) -> LtvError {
    LtvError::InvalidOption { name, message }
}

fn check(options: &SimulationOptions) -> Result<(), LtvError> {
    if !(options.min_age.is_finite() && options.max_age.is_finite())
        || options.min_age <= 0.0
        || options.max_age < options.min_age
    {
        return Err(invalid(
            "max_age",
            format!(
                "ages must satisfy 0 < min_age ≤ max_age, not [{}, {}].",
                options.min_age, options.max_age
            ),
        ));
    }
    if let Some(step) = options.time_step
        && !(step.is_finite() && step > 0.0)
    {
        return Err(invalid(
            "time_step",
            format!("the time step must be positive, not {step}."),
        ));
    }
    Ok(())
}

fn gamma(shape: f64, rate: f64) -> Result<Gamma<f64>, LtvError> {
    Gamma::new(shape, 1.0 / rate).map_err(|e| invalid("params", format!("{e}.")))
}

fn beta(a: f64, b: f64) -> Result<Beta<f64>, LtvError> {
    Beta::new(a, b).map_err(|e| invalid("params", format!("{e}.")))
}

/// Turns purchase times (after the first purchase at 0) into a summary.
fn record(id: usize, times: &[f64], age: f64, step: Option<f64>) -> CustomerSummary {
    let (frequency, recency, age) = match step {
        None => (
            times.len() as f64,
            times.last().copied().unwrap_or(0.0),
            age,
        ),
        Some(step) => {
            let mut cells: Vec<f64> = times
                .iter()
                .map(|t| (t / step).floor())
                .filter(|c| *c >= 1.0)
                .collect();
            cells.dedup();
            let last = cells.last().copied().unwrap_or(0.0);
            (cells.len() as f64, last * step, (age / step).floor() * step)
        }
    };
    CustomerSummary::new(format!("sim-{id}"), frequency, recency, age, 0)
}

/// Draws each customer's age T, lets `customer` push its repeat purchase
/// times (all before T) and records the result.
fn simulate_continuous(
    options: &SimulationOptions,
    mut customer: impl FnMut(&mut StdRng, f64, &mut Vec<f64>),
) -> Result<Vec<CustomerSummary>, LtvError> {
    check(options)?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut times = Vec::new();
    let mut out = Vec::with_capacity(options.customers);
    for id in 0..options.customers {
        let u: f64 = rng.random();
        let age = options.min_age + u * (options.max_age - options.min_age);
        times.clear();
        customer(&mut rng, age, &mut times);
        out.push(record(id, &times, age, options.time_step));
    }
    Ok(out)
}

fn bg_family(
    params: &BgNbdParams,
    options: &SimulationOptions,
    modified: bool,
) -> Result<Vec<CustomerSummary>, LtvError> {
    params.validate()?;
    let rates = gamma(params.r, params.alpha)?;
    let dropout = beta(params.a, params.b)?;
    simulate_continuous(options, |rng, age, times| {
        let lambda = rates.sample(rng);
        let p = dropout.sample(rng);
        if modified && rng.random::<f64>() < p {
            return;
        }
        let Ok(gap) = Exp::new(lambda) else { return };
        let mut t = 0.0;
        loop {
            t += gap.sample(rng);
            if t >= age {
                return;
            }
            times.push(t);
            if rng.random::<f64>() < p {
                return;
            }
        }
    })
}

/// BG/NBD: λ ~ Gamma(r, α), p ~ Beta(a, b); after each repeat purchase
/// the customer leaves with probability p.
pub fn bgnbd(
    params: &BgNbdParams,
    options: &SimulationOptions,
) -> Result<Vec<CustomerSummary>, LtvError> {
    bg_family(params, options, false)
}

/// MBG/NBD: as BG/NBD, and the customer may also leave right after the
/// first purchase.
pub fn modified_bgnbd(
    params: &BgNbdParams,
    options: &SimulationOptions,
) -> Result<Vec<CustomerSummary>, LtvError> {
    bg_family(params, options, true)
}

/// Pareto/NBD: λ ~ Gamma(r, α), lifetime τ ~ Exp(μ) with μ ~ Gamma(s, β).
pub fn pareto_nbd(
    params: &ParetoNbdParams,
    options: &SimulationOptions,
) -> Result<Vec<CustomerSummary>, LtvError> {
    params.validate()?;
    let rates = gamma(params.r, params.alpha)?;
    let deaths = gamma(params.s, params.beta)?;
    simulate_continuous(options, |rng, age, times| {
        let lambda = rates.sample(rng);
        let mu = deaths.sample(rng);
        let lifetime = Exp::new(mu).map_or(f64::INFINITY, |d| d.sample(rng));
        let Ok(gap) = Exp::new(lambda) else { return };
        let end = lifetime.min(age);
        let mut t = 0.0;
        loop {
            t += gap.sample(rng);
            if t >= end {
                return;
            }
            times.push(t);
        }
    })
}

/// BG/BB over `opportunities` periods: at each one an active customer
/// first leaves with probability θ ~ Beta(γ, δ), then buys with
/// probability p ~ Beta(α, β).
pub fn bgbb(
    params: &BgBbParams,
    customers: usize,
    opportunities: u32,
    seed: u64,
) -> Result<Vec<CustomerSummary>, LtvError> {
    params.validate()?;
    let buy = beta(params.alpha, params.beta)?;
    let leave = beta(params.gamma, params.delta)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(customers);
    for id in 0..customers {
        let p = buy.sample(&mut rng);
        let theta = leave.sample(&mut rng);
        let (mut x, mut last) = (0u32, 0u32);
        for k in 1..=opportunities {
            if rng.random::<f64>() < theta {
                break;
            }
            if rng.random::<f64>() < p {
                x += 1;
                last = k;
            }
        }
        out.push(CustomerSummary::new(
            format!("sim-{id}"),
            f64::from(x),
            f64::from(last),
            f64::from(opportunities),
            0,
        ));
    }
    Ok(out)
}

/// Fills `monetary_micros` of customers with repeat purchases with the mean
/// of `frequency` Gamma(p, ν) order values, ν ~ Gamma(q, γ) per customer
/// (values in the currency's major unit, stored as micros).
pub fn gamma_gamma_spend(
    params: &GammaGammaParams,
    customers: &mut [CustomerSummary],
    seed: u64,
) -> Result<(), LtvError> {
    params.validate()?;
    let scales = gamma(params.q, params.gamma)?;
    let mut rng = StdRng::seed_from_u64(seed);
    for c in customers.iter_mut() {
        let nu = scales.sample(&mut rng);
        if c.frequency <= 0.0 {
            c.monetary_micros = 0;
            continue;
        }
        let order = gamma(params.p, nu)?;
        let n = c.frequency as u64;
        let total: f64 = (0..n).map(|_| order.sample(&mut rng)).sum();
        let mean = total / n as f64;
        c.monetary_micros = (mean * kiki_core::money::MICROS_PER_UNIT as f64)
            .round()
            .clamp(1.0, 9.0e18) as i64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: BgNbdParams = BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    fn options(seed: u64) -> SimulationOptions {
        SimulationOptions {
            customers: 2_000,
            min_age: 30.0,
            max_age: 40.0,
            time_step: None,
            seed,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_customers_and_another_seed_does_not() {
        let a = bgnbd(&PARAMS, &options(7)).unwrap();
        let b = bgnbd(&PARAMS, &options(7)).unwrap();
        let c = bgnbd(&PARAMS, &options(8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn simulated_summaries_are_valid_model_input() {
        let mut opts = options(1);
        opts.time_step = Some(1.0 / 7.0);
        for data in [
            bgnbd(&PARAMS, &opts).unwrap(),
            modified_bgnbd(&PARAMS, &opts).unwrap(),
            pareto_nbd(
                &ParetoNbdParams {
                    r: 0.55,
                    alpha: 10.6,
                    s: 0.6,
                    beta: 11.7,
                },
                &opts,
            )
            .unwrap(),
        ] {
            let rows: Vec<crate::rows::RfmRow> = data.iter().map(Into::into).collect();
            crate::rows::validate(&rows, crate::rows::TimeKind::Continuous, false).unwrap();
            assert!(data.iter().any(|c| c.frequency > 0.0));
            // Grid times are multiples of the step.
            assert!(
                data.iter()
                    .all(|c| ((c.recency * 7.0).round() - c.recency * 7.0).abs() < 1e-9)
            );
        }
    }

    #[test]
    fn mean_purchases_match_the_model_expectation() {
        // E[X(t)] at fixed T = 39 from 40 000 simulated customers.
        let opts = SimulationOptions {
            customers: 40_000,
            min_age: 39.0,
            max_age: 39.0,
            time_step: None,
            seed: 3,
        };
        let data = bgnbd(&PARAMS, &opts).unwrap();
        let mean = data.iter().map(|c| c.frequency).sum::<f64>() / data.len() as f64;
        let expect = PARAMS.expected_purchases(39.0, false).unwrap();
        assert!((mean - expect).abs() < 0.03 * expect, "{mean} vs {expect}");
    }

    #[test]
    fn bad_options_are_rejected() {
        let mut opts = options(1);
        opts.min_age = 0.0;
        assert!(matches!(
            bgnbd(&PARAMS, &opts),
            Err(LtvError::InvalidOption { .. })
        ));
        let mut opts = options(1);
        opts.time_step = Some(-1.0);
        assert!(matches!(
            bgnbd(&PARAMS, &opts),
            Err(LtvError::InvalidOption {
                name: "time_step",
                ..
            })
        ));
    }
}
