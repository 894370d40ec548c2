//! A day against the simulated exchange: spend lands within 2 % of the daily
//! budget and follows the configured hourly plan.

use kiki_bidder::Bidder;
use kiki_bidder::lineitem::PacingMode;
use kiki_bidder::pacing::PacingCurve;
use kiki_bidder::sim::{DIURNAL, SimConfig, SimReport, banner_line_item, run_day};

use crate::support::{config, usd};

fn run(pacing: PacingMode, sim: SimConfig, daily: f64) -> (SimReport, PacingCurve) {
    let curve = PacingCurve::from_mode(&pacing).unwrap();
    let item = banner_line_item(usd(daily), pacing);
    let id = item.id;
    let b = Bidder::in_memory(config(), 3).unwrap();
    let r = b.load_line_items(&[item], sim.day_start_ms);
    assert_eq!(r.active, 1);
    let report = run_day(&b, &sim);
    // The bidder's books agree with what the exchange billed, to the micro.
    let status = b.line_item_status(id, sim.day_start_ms).unwrap();
    assert_eq!(status.spent_total.micros, report.spend_micros);
    assert_eq!(
        status.account.held.micros, 0,
        "every hold was settled, released or expired"
    );
    (report, curve)
}

fn assert_paced(r: &SimReport, curve: &PacingCurve, daily: f64) {
    let budget = daily * 1_000_000.0;
    let spent = r.spend_micros as f64;
    eprintln!(
        "spent {spent} of {budget}, wins {}, bids {}, win rate {:.3}, no-bids {:?}",
        r.wins, r.bids, r.win_rate, r.no_bids
    );
    for h in 0..24 {
        eprintln!(
            "hour {h:2}: spent {:>9} planned {:>9.0}",
            r.spend_by_hour[h],
            budget * curve.hour_share(h)
        );
    }
    assert!(
        (spent - budget).abs() <= 0.02 * budget,
        "spent {spent}, budget {budget}"
    );
    // Each hour within 15 % of its planned share (the day as a whole within
    // 2 %). The seeded day is reproducible (fixed line-item ids; the throttle's
    // draws hash them). Night hours with thin supply fall short; the shortfall
    // is recovered over the rest of the day in the curve's proportions, so no
    // single hour catches it all up (measured: worst hours −11 % and +12 % in
    // the even plan, ±7 % along the hourly curve).
    for h in 0..24 {
        let planned = budget * curve.hour_share(h);
        let got = r.spend_by_hour[h] as f64;
        assert!(
            (got - planned).abs() <= 0.15 * planned + 0.002 * budget,
            "hour {h}: spent {got}, planned {planned}"
        );
    }
}

#[test]
fn an_even_plan_spends_the_budget_evenly_over_a_day_of_diurnal_traffic() {
    let sim = SimConfig {
        traffic_weights: DIURNAL,
        ..SimConfig::default()
    };
    let (r, curve) = run(PacingMode::Even, sim, 20.0);
    assert_paced(&r, &curve, 20.0);
}

#[test]
fn an_hourly_curve_plan_spends_along_the_curve_in_a_first_price_auction() {
    let mut weights = vec![1.0; 24];
    for (h, w) in weights.iter_mut().enumerate() {
        if (9..18).contains(&h) {
            *w = 3.0;
        }
    }
    // Shading steers the first-price win rate to 30 %, so night hours need more supply.
    let sim = SimConfig {
        first_price: true,
        seed: 11,
        requests: 100_000,
        ..SimConfig::default()
    };
    let (r, curve) = run(PacingMode::HourlyCurve { weights }, sim, 20.0);
    assert_paced(&r, &curve, 20.0);
}
