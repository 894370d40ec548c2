//! TBR on google/matched_markets' `salesandcost` example, against the
//! figures its `tests/test_tbr_iroas.py` takes from the R implementation
//! (`testFixedCostIROASSummary`: level 0.9, one tail, no cooldown).

use kiki_lift::{
    CsvColumns, LongOptions, MissingCells, Panel, Tails, TbrInput, time_based_regression,
};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn column(value: &str) -> Panel {
    let cols = CsvColumns {
        unit: "geo".into(),
        period: "date".into(),
        value: value.into(),
    };
    // The file has no row for a geo-day without sales (it is what
    // matched_markets' per-group sums see too).
    let options = LongOptions {
        missing: MissingCells::Zero,
    };
    let (panel, load) =
        Panel::parse_long_csv(&fixture("tbr_salesandcost.csv"), &cols, options).unwrap();
    assert_eq!(load.zero_filled_cells, 75);
    panel
}

fn groups() -> (Vec<String>, Vec<String>) {
    let (mut control, mut treatment) = (Vec::new(), Vec::new());
    for line in fixture("tbr_geoassignment.csv").lines().skip(1) {
        let (geo, group) = line.split_once(',').unwrap();
        let geo = geo.trim_matches('"').to_string();
        match group.trim() {
            "1" => control.push(geo),
            "2" => treatment.push(geo),
            other => panic!("unexpected group {other}"),
        }
    }
    (treatment, control)
}

#[test]
fn matched_markets_fixed_cost_iroas_matches_the_published_figures() {
    let sales = column("sales");
    let cost = column("cost");
    let (treatment, control) = groups();
    assert_eq!(treatment.len() + control.len(), 100);
    let pre_start = sales.period_index("2015-01-05").unwrap();
    let test_start = sales.period_index("2015-02-16").unwrap();
    let test_end = sales.period_index("2015-03-15").unwrap() + 1;
    assert_eq!((test_start - pre_start, test_end - test_start), (42, 28));

    // Fixed-cost scenario: spend only in the treatment group, only in the
    // test; the incremental spend is that spend.
    let t_idx = cost.unit_indexes(&treatment).unwrap();
    let c_idx = cost.unit_indexes(&control).unwrap();
    assert_eq!(cost.total(&t_idx, pre_start, test_start), 0.0);
    assert_eq!(cost.total(&c_idx, pre_start, test_end), 0.0);
    let spend = cost.total(&t_idx, test_start, test_end);
    assert!((spend - 50_000.0).abs() < 1e-6, "spend {spend}");

    let mut input = TbrInput::from_panel(
        &sales,
        &treatment,
        &control,
        (pre_start, test_start),
        (test_start, test_end),
    )
    .unwrap();
    input.incremental_spend = Some(spend);
    input.level = 0.9;
    input.tails = Tails::One;
    let r = time_based_regression(&input).unwrap();
    let iroas = r.iroas.as_ref().unwrap();
    // Published to six decimals (three for the response).
    assert!(
        (iroas.estimate - 2.946742).abs() < 0.5e-6,
        "iROAS {}",
        iroas.estimate
    );
    assert!(
        (iroas.precision - 0.120548).abs() < 0.5e-6,
        "precision {}",
        iroas.precision
    );
    let lower = iroas.interval.lower.unwrap();
    assert!((lower - 2.826194).abs() < 0.5e-6, "lower {lower}");
    assert!(iroas.interval.upper.is_none(), "one-sided: no upper bound");
    assert!(
        (r.incremental_response - 147_337.122).abs() < 0.5e-3,
        "incremental {}",
        r.incremental_response
    );
    // The published relative lift and its lower bound are the median and
    // 10th percentile of 10,000 simulated draws of Δ/(observed − Δ) (R, and
    // `TBRiROAS.summary` in Python, which checks them to 1e-3). Those are
    // the same quantiles of the t distribution pushed through a monotone
    // map, computed here exactly: 0.173964 and 0.165669. The simulation's
    // own standard error on them is about 8e-5.
    assert!(
        (r.relative_lift - 0.173998).abs() < 1e-4,
        "lift {}",
        r.relative_lift
    );
    assert!((r.relative_lift - 0.173964).abs() < 0.5e-6);
    let lift_lower = r.relative_lift_interval.lower.unwrap();
    assert!(
        (lift_lower - 0.165686).abs() < 1e-4,
        "lift lower {lift_lower}"
    );
    assert!((r.probability_positive - 1.0).abs() < 1e-9);
    assert_eq!(r.df, 40.0);
    // 75 of the 100 × 93 geo-days have no row; some fall in these 70 days.
    let coverage = r.coverage.unwrap();
    assert!(coverage < 1.0 && coverage > 0.99, "coverage {coverage}");
}
