//! Optimiser tests: the per-platform solve, brute-force grids on small
//! problems, the KKT condition, targets, bounds, and property tests against
//! the LTV-proportional split.
//! The property tests and the cases they found are in `properties.rs`.

mod properties;

use super::*;
use crate::request::PlatformCurveInput;
use kiki_twin::{Hill, ResponseCurve};

fn curve(max_conversions: f64, half_saturation: f64, shape: f64) -> ResponseCurve {
    ResponseCurve {
        max_conversions,
        hill: Hill {
            half_saturation,
            shape,
        },
    }
}

fn input(platform: Platform, c: ResponseCurve, value: f64) -> PlatformCurveInput {
    PlatformCurveInput {
        platform: platform.as_str().into(),
        ad_set_id: None,
        curve: c,
        value_per_conversion_micros: (value * 1e6) as i64,
        min_daily_budget_micros: 0,
        max_daily_budget_micros: None,
    }
}

fn request(
    budget: f64,
    objective: Objective,
    platforms: Vec<PlatformCurveInput>,
) -> AllocationRequest {
    AllocationRequest {
        currency: Currency::USD,
        total_budget_micros: (budget * 1e6) as i64,
        objective,
        platforms,
        target: None,
        contribution_margin: 1.0,
    }
}

const P: [Platform; 10] = [
    Platform::Meta,
    Platform::Google,
    Platform::Tiktok,
    Platform::Linkedin,
    Platform::Snapchat,
    Platform::Pinterest,
    Platform::Microsoft,
    Platform::Amazon,
    Platform::Sandbox,
    Platform::Meta,
];

fn budgets(r: &AllocationResult) -> Vec<i64> {
    r.allocations
        .iter()
        .map(|a| a.daily_budget.micros)
        .collect()
}

#[test]
fn the_marginal_solve_lands_on_the_decreasing_branch() {
    for s in [0.3, 0.7, 1.0, 1.5, 2.0, 4.0] {
        let g = |u: f64| s * u.powf(s - 1.0) / (1.0 + u.powf(s)).powi(2);
        for tau in [1e-6, 1e-3, 0.05, 0.2, 0.45] {
            match solve_marginal(s, tau) {
                Some(u) => {
                    assert!((g(u) / tau - 1.0).abs() < 1e-9, "s={s} tau={tau} u={u}");
                    // Decreasing there: a little further along, g is lower.
                    assert!(g(u * 1.001) < g(u), "s={s} tau={tau}");
                }
                None => {
                    let peak = (1..4000).map(|i| g(i as f64 / 1000.0)).fold(0.0, f64::max);
                    assert!(tau >= peak * 0.999, "s={s} tau={tau} peak={peak}");
                }
            }
        }
    }
    assert_eq!(solve_marginal(1.0, 0.25), Some(1.0));
    assert_eq!(solve_marginal(1.0, 1.0), None);
}

#[test]
fn the_best_response_matches_a_fine_grid_for_every_shape() {
    for shape in [0.5, 1.0, 2.0, 3.5] {
        for (lo, hi) in [(0.0, 1000.0), (50.0, 400.0), (300.0, 350.0)] {
            for b in [0.2, 1.0, 3.0] {
                let l = Line {
                    platform: Platform::Meta,
                    ad_set_id: None,
                    curve: curve(40.0, 200.0, shape),
                    value: 1.0,
                    lo,
                    hi,
                };
                let f = |x: f64| 20.0 * l.curve.conversions(x) - b * x;
                let x = best_response(&l, 20.0, b);
                assert!(x >= lo && x <= hi);
                let grid_best = (0..=20_000)
                    .map(|i| f(lo + (hi - lo) * i as f64 / 20_000.0))
                    .fold(f64::NEG_INFINITY, f64::max);
                assert!(
                    f(x) >= grid_best - 1e-9 * grid_best.abs().max(1.0),
                    "shape={shape} lo={lo} hi={hi} b={b}: {} < {grid_best}",
                    f(x)
                );
            }
        }
    }
}

/// The best objective over a grid of feasible allocations of 2 or 3 platforms.
fn grid_best(req: &AllocationRequest, steps: usize) -> f64 {
    let v = req.to_valid().unwrap();
    let w = Weights::new(&v);
    let n = v.lines.len();
    let step = v.budget / steps as f64;
    let mut best = f64::NEG_INFINITY;
    let mut idx = vec![0usize; n];
    loop {
        let x: Vec<f64> = idx.iter().map(|&k| k as f64 * step).collect();
        let feasible = idx.iter().sum::<usize>() <= steps
            && x.iter()
                .zip(&v.lines)
                .all(|(xi, l)| *xi >= l.lo - 1e-9 && *xi <= l.hi + 1e-9)
            && (v.target.is_none() || constraint(&v, &w, &x) >= -1e-9);
        if feasible {
            best = best.max(objective(&v, &w, &x));
        }
        let mut d = 0;
        loop {
            if d == n {
                return best;
            }
            idx[d] += 1;
            if idx[d] <= steps {
                break;
            }
            idx[d] = 0;
            d += 1;
        }
    }
}

fn check_against_grid(req: &AllocationRequest, steps: usize) {
    let r = allocate(req).unwrap();
    let got = objective_of(req, &budgets(&r)).unwrap();
    let grid = grid_best(req, steps);
    assert!(
        got >= grid - 1e-6 * grid.abs().max(1.0),
        "optimiser {got} is worse than the grid {grid} for {req:?} -> {:?}",
        budgets(&r)
    );
    assert!(r.expected.spend.micros <= req.total_budget_micros);
}

#[test]
fn small_problems_match_a_brute_force_grid() {
    let cases = [
        // (budget, objective, curves as (max conv, k, s, value))
        (
            1000.0,
            Objective::NetProfit,
            vec![(50.0, 300.0, 1.0, 40.0), (30.0, 150.0, 0.8, 60.0)],
        ),
        (
            1000.0,
            Objective::Conversions,
            vec![(50.0, 300.0, 1.0, 40.0), (30.0, 150.0, 0.8, 60.0)],
        ),
        (
            500.0,
            Objective::Revenue,
            vec![(20.0, 400.0, 2.0, 50.0), (25.0, 100.0, 1.0, 30.0)],
        ),
        (
            800.0,
            Objective::NetProfit,
            vec![
                (60.0, 500.0, 2.5, 30.0),
                (10.0, 80.0, 0.6, 45.0),
                (40.0, 200.0, 1.2, 25.0),
            ],
        ),
        (
            300.0,
            Objective::Conversions,
            vec![(5.0, 250.0, 3.0, 1.0), (5.0, 250.0, 3.0, 1.0)],
        ),
        (
            2000.0,
            Objective::NetProfit,
            vec![(10.0, 100.0, 1.0, 20.0), (8.0, 50.0, 1.0, 15.0)],
        ),
    ];
    for (budget, objective, curves) in cases {
        let platforms = curves
            .iter()
            .enumerate()
            .map(|(i, &(m, k, s, v))| input(P[i], curve(m, k, s), v))
            .collect();
        let req = request(budget, objective, platforms);
        let steps = if req.platforms.len() == 2 { 400 } else { 80 };
        check_against_grid(&req, steps);
    }
}

#[test]
fn a_cpa_target_is_met_and_the_constrained_optimum_matches_the_grid() {
    let mut req = request(
        1000.0,
        Objective::Conversions,
        vec![
            input(P[0], curve(50.0, 300.0, 1.0), 40.0),
            input(P[1], curve(30.0, 150.0, 0.8), 60.0),
        ],
    );
    let free = allocate(&req).unwrap();
    let cpa = free.expected.cpa.unwrap().micros;
    // Ask for a CPA 20 % better than the unconstrained one.
    req.target = Some(EfficiencyTarget::MaxCpa {
        max_cpa: Money::from_micros(cpa * 8 / 10, Currency::USD),
    });
    let r = allocate(&req).unwrap();
    assert_eq!(r.target_met, Some(true));
    assert!(r.expected.cpa.unwrap().micros <= cpa * 8 / 10 + 1);
    assert!(
        r.binding_constraints
            .contains(&BindingConstraint::EfficiencyTarget),
        "{:?}",
        r.binding_constraints
    );
    assert!(r.expected.spend.micros < req.total_budget_micros);
    check_against_grid(&req, 400);
}

#[test]
fn a_roas_target_is_met() {
    let mut req = request(
        1000.0,
        Objective::Revenue,
        vec![
            input(P[0], curve(50.0, 300.0, 1.0), 40.0),
            input(P[1], curve(30.0, 150.0, 0.8), 60.0),
        ],
    );
    req.target = Some(EfficiencyTarget::MinRoas { min_roas: 2.5 });
    let r = allocate(&req).unwrap();
    assert_eq!(r.target_met, Some(true));
    assert!(r.expected.roas.unwrap() >= 2.5 - 1e-6);
    check_against_grid(&req, 400);
}

#[test]
fn an_unreachable_target_is_reported_not_hidden() {
    let mut req = request(
        1000.0,
        Objective::Conversions,
        vec![input(P[0], curve(10.0, 300.0, 1.0), 40.0)],
    );
    // Even the first unit of spend costs 30 per conversion (k / max_conv).
    req.target = Some(EfficiencyTarget::MaxCpa {
        max_cpa: Money::from_micros(1_000_000, Currency::USD),
    });
    req.platforms[0].min_daily_budget_micros = 100_000_000;
    let r = allocate(&req).unwrap();
    assert_eq!(r.target_met, Some(false));
    assert_eq!(r.allocations[0].daily_budget.micros, 100_000_000);
}

#[test]
fn interior_platforms_have_equal_marginal_return() {
    let req = request(
        900.0,
        Objective::Revenue,
        vec![
            input(P[0], curve(50.0, 300.0, 1.0), 40.0),
            input(P[1], curve(30.0, 150.0, 0.8), 60.0),
            input(P[2], curve(80.0, 900.0, 0.9), 20.0),
        ],
    );
    let r = allocate(&req).unwrap();
    let m: Vec<f64> = r
        .allocations
        .iter()
        .map(|a| a.marginal_roas.unwrap())
        .collect();
    for a in &r.allocations {
        assert!(a.at_bound.is_none() && a.daily_budget.micros > 0);
    }
    for w in m.windows(2) {
        assert!((w[0] / w[1] - 1.0).abs() < 1e-4, "{m:?}");
    }
    assert!((r.budget_shadow_price / m[0] - 1.0).abs() < 1e-4);
    assert_eq!(r.binding_constraints, [BindingConstraint::TotalBudget]);
}

#[test]
fn net_profit_leaves_budget_unspent_when_the_next_unit_loses_money() {
    // Value per conversion 10, max 20 conversions: at most 200 of value.
    let req = request(
        5000.0,
        Objective::NetProfit,
        vec![input(P[0], curve(20.0, 100.0, 1.0), 10.0)],
    );
    let r = allocate(&req).unwrap();
    // Optimum where 10 · 20 · k/(x+k)² = 1 → x = sqrt(2000·100)... = √20000 − 100.
    let want = (20_000.0_f64).sqrt() - 100.0;
    assert!((r.allocations[0].daily_budget.micros as f64 / 1e6 - want).abs() < 1e-3);
    assert!((r.allocations[0].marginal_roi.unwrap()).abs() < 1e-6);
    assert!(
        !r.binding_constraints
            .contains(&BindingConstraint::TotalBudget)
    );
    assert_eq!(r.budget_shadow_price, 0.0);
}

#[test]
fn net_profit_counts_value_at_the_contribution_margin() {
    // At a 50 % margin the same curve is worth 5 a conversion in profit:
    // 5 · 20 · k/(x+k)² = 1 → x = √10000 − 100 = 0, and at 80 % √16000 − 100.
    let mut req = request(
        5000.0,
        Objective::NetProfit,
        vec![input(P[0], curve(20.0, 100.0, 1.0), 10.0)],
    );
    req.contribution_margin = 0.8;
    let r = allocate(&req).unwrap();
    let want = (16_000.0_f64).sqrt() - 100.0;
    let x = r.allocations[0].daily_budget.micros as f64 / 1e6;
    assert!((x - want).abs() < 1e-3, "{x} vs {want}");
    assert!((r.allocations[0].marginal_roi.unwrap()).abs() < 1e-6);
    let value = r.expected.value.micros as f64;
    let want_profit = 0.8 * value - r.expected.spend.micros as f64;
    assert!((r.expected.net_profit.micros as f64 - want_profit).abs() <= 2.0);
    req.contribution_margin = 1.5;
    assert_eq!(req.validate()[0].field, "contribution_margin");
}

#[test]
fn bounds_are_respected_and_reported_as_binding() {
    let mut platforms = vec![
        input(P[0], curve(50.0, 300.0, 1.0), 40.0),
        input(P[1], curve(1.0, 150.0, 1.0), 1.0),
        input(P[2], curve(80.0, 100.0, 0.9), 90.0),
    ];
    platforms[1].min_daily_budget_micros = 50_000_000;
    platforms[2].max_daily_budget_micros = Some(200_000_000);
    let r = allocate(&request(1000.0, Objective::Revenue, platforms)).unwrap();
    let b = budgets(&r);
    assert_eq!(b[1], 50_000_000);
    assert_eq!(b[2], 200_000_000);
    assert_eq!(b.iter().sum::<i64>(), 1_000_000_000);
    assert_eq!(r.allocations[1].at_bound, Some(BoundHit::Min));
    assert_eq!(r.allocations[2].at_bound, Some(BoundHit::Max));
    assert_eq!(
        r.binding_constraints,
        [
            BindingConstraint::TotalBudget,
            BindingConstraint::MinBudget {
                platform: Platform::Google,
                ad_set_id: None
            },
            BindingConstraint::MaxBudget {
                platform: Platform::Tiktok,
                ad_set_id: None
            },
        ]
    );
}

#[test]
fn identical_platforms_split_the_budget_evenly() {
    let req = request(
        600.0,
        Objective::Conversions,
        (0..3)
            .map(|i| input(P[i], curve(30.0, 200.0, 0.9), 50.0))
            .collect(),
    );
    let b = budgets(&allocate(&req).unwrap());
    for x in &b {
        assert!((x - 200_000_000).abs() <= 2, "{b:?}");
    }
}

#[test]
fn the_ltv_split_follows_the_published_rule() {
    // The original system's test: LTV 120/100/80 → ordered A > B > C, sums to budget.
    let req = request(
        3000.0,
        Objective::NetProfit,
        vec![
            input(P[0], curve(10.0, 100.0, 1.0), 120.0),
            input(P[1], curve(10.0, 100.0, 1.0), 100.0),
            input(P[2], curve(10.0, 100.0, 1.0), 80.0),
        ],
    );
    let s = ltv_proportional_split(&req).unwrap();
    assert_eq!(s, [1_200_000_000, 1_000_000_000, 800_000_000]);
    // With a cap on the first, the rest is shared in proportion.
    let mut capped = req.clone();
    capped.platforms[0].max_daily_budget_micros = Some(600_000_000);
    let s = ltv_proportional_split(&capped).unwrap();
    assert_eq!(s[0], 600_000_000);
    assert_eq!(s.iter().sum::<i64>(), 3_000_000_000);
    assert!((s[1] as f64 / s[2] as f64 - 1.25).abs() < 1e-9);
}

#[test]
fn invalid_requests_name_their_fields() {
    let ok = request(
        100.0,
        Objective::NetProfit,
        vec![
            input(P[0], curve(5.0, 50.0, 1.0), 10.0),
            input(P[1], curve(5.0, 50.0, 1.0), 10.0),
        ],
    );
    assert!(ok.validate().is_empty());
    let fields = |edit: &dyn Fn(&mut AllocationRequest)| -> Vec<String> {
        let mut r = ok.clone();
        edit(&mut r);
        r.validate().into_iter().map(|e| e.field).collect()
    };
    assert_eq!(
        fields(&|r| r.total_budget_micros = -1),
        ["total_budget_micros"]
    );
    assert_eq!(fields(&|r| r.platforms.clear()), ["platforms"]);
    assert_eq!(
        fields(&|r| r.platforms[1].platform = "myspace".into()),
        ["platforms[1].platform"]
    );
    assert_eq!(
        fields(&|r| r.platforms[1].platform = "meta".into()),
        ["platforms[1].platform"]
    );
    // The same platform twice is fine when the ad sets differ.
    assert!(
        fields(&|r| {
            r.platforms[1].platform = "meta".into();
            r.platforms[1].ad_set_id = Some("retargeting".into());
        })
        .is_empty()
    );
    assert_eq!(
        fields(&|r| r.platforms[1].ad_set_id = Some(" ".into())),
        ["platforms[1].ad_set_id"]
    );
    assert_eq!(
        fields(&|r| r.platforms[0].curve.hill.shape = f64::NAN),
        ["platforms[0].curve.hill.shape"]
    );
    assert_eq!(
        fields(&|r| r.platforms[0].curve.max_conversions = -1.0),
        ["platforms[0].curve.max_conversions"]
    );
    assert_eq!(
        fields(&|r| r.platforms[0].min_daily_budget_micros = -5),
        ["platforms[0].min_daily_budget_micros"]
    );
    assert_eq!(
        fields(&|r| {
            r.platforms[0].min_daily_budget_micros = 20_000_000;
            r.platforms[0].max_daily_budget_micros = Some(10_000_000);
        }),
        ["platforms[0].max_daily_budget_micros"]
    );
    assert_eq!(
        fields(&|r| r
            .platforms
            .iter_mut()
            .for_each(|p| p.min_daily_budget_micros = 60_000_000)),
        ["platforms"]
    );
    assert_eq!(
        fields(&|r| r.target = Some(EfficiencyTarget::MinRoas { min_roas: f64::NAN })),
        ["target.min_roas.min_roas"]
    );
    assert_eq!(
        fields(&|r| r.target = Some(EfficiencyTarget::MaxCpa {
            max_cpa: Money::from_micros(0, Currency::USD)
        })),
        ["target.max_cpa.max_cpa"]
    );
    assert!(matches!(
        allocate(&{
            let mut r = ok.clone();
            r.total_budget_micros = 0;
            r
        }),
        Err(AllocError::Invalid(_))
    ));
}

#[test]
fn a_request_round_trips_through_json() {
    let mut req = request(
        100.0,
        Objective::Conversions,
        vec![input(P[0], curve(5.0, 50.0, 1.0), 10.0)],
    );
    req.target = Some(EfficiencyTarget::MaxCpa {
        max_cpa: Money::from_micros(9_000_000, Currency::USD),
    });
    let json = serde_json::to_value(&req).unwrap();
    assert_eq!(json["target"]["max_cpa"]["max_cpa"]["micros"], 9_000_000);
    assert_eq!(json["objective"], "conversions");
    let back: AllocationRequest = serde_json::from_value(json).unwrap();
    assert_eq!(back, req);
    let r = serde_json::to_value(allocate(&req).unwrap()).unwrap();
    assert_eq!(r["binding_constraints"][0]["kind"], "efficiency_target");
    assert_eq!(r["target_met"], true);
}

#[test]
fn the_public_types_render_as_an_openapi_document() {
    use utoipa::OpenApi;
    #[derive(OpenApi)]
    #[openapi(components(schemas(
        AllocationRequest,
        AllocationResult,
        crate::RebalanceInput,
        crate::RebalancePlan
    )))]
    struct Doc;
    let json = Doc::openapi().to_json().unwrap();
    for name in [
        "\"AllocationRequest\"",
        "\"AllocationResult\"",
        "\"RebalancePlan\"",
        "\"efficiency_target\"",
    ] {
        assert!(json.contains(name), "{name} missing");
    }
}
