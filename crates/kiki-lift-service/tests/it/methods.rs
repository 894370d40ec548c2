//! The other estimators through the API: time-based regression on
//! google/matched_markets' `salesandcost` example and Trimmed Match on
//! google/trimmed_match's 32-pair vector (both `kiki-lift`'s fixtures, with
//! the figures their reference implementations publish), each re-run
//! offline to the same hashes; an audience holdout on seeded users with a
//! known effect; and each method's own bad field named.

use std::collections::{BTreeMap, BTreeSet};

use kiki_lift_service::domain::panel::upload_from_csv;
use kiki_lift_service::domain::{LiftPlan, analyze_plan, content_hash};
use kiki_test_support::identity::admin;
use serde_json::json;

use super::*;

const SALES_AND_COST: &str = include_str!("../../../kiki-lift/tests/fixtures/tbr_salesandcost.csv");
const GEO_ASSIGNMENT: &str =
    include_str!("../../../kiki-lift/tests/fixtures/tbr_geoassignment.csv");
const PAIRS: &str = include_str!("../../../kiki-lift/tests/fixtures/trimmed_match_pairs.json");

fn close(v: &Value, want: f64, tol: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() <= tol)
}

/// Uploads CSV text with a query string.
async fn upload_csv_with(c: &Caller<'_>, id: &str, query: &str, csv: &str) -> (u16, Value) {
    let resp = c
        .request(
            reqwest::Method::POST,
            &format!("/v1/experiments/lift/{id}/panel?{query}"),
        )
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .expect("upload sent");
    json(resp).await
}

/// The `salesandcost` file with a zero row for each geo-day it has none of
/// (75 of them; matched_markets' per-group sums count them as zero too).
fn sales_and_cost() -> String {
    let mut cells: BTreeMap<(String, String), String> = BTreeMap::new();
    let (mut days, mut geos) = (BTreeSet::new(), BTreeSet::new());
    for line in SALES_AND_COST.lines().skip(1) {
        let mut f = line.split(',');
        let (day, geo) = (f.next().unwrap(), f.next().unwrap().trim_matches('"'));
        let rest: Vec<&str> = f.collect();
        days.insert(day.to_owned());
        geos.insert(geo.to_owned());
        cells.insert((day.to_owned(), geo.to_owned()), rest.join(","));
    }
    let mut out = String::from("date,geo,sales,cost\n");
    let mut filled = 0;
    for d in &days {
        for g in &geos {
            let v = cells
                .get(&(d.clone(), g.clone()))
                .cloned()
                .unwrap_or_else(|| {
                    filled += 1;
                    "0,0".into()
                });
            out.push_str(&format!("{d},{g},{v}\n"));
        }
    }
    assert_eq!(filled, 75);
    out
}

/// matched_markets' groups: (treatment, control).
fn groups() -> (Vec<String>, Vec<String>) {
    let (mut treatment, mut control) = (Vec::new(), Vec::new());
    for line in GEO_ASSIGNMENT.lines().skip(1) {
        let (geo, group) = line.split_once(',').unwrap();
        let geo = geo.trim_matches('"').to_owned();
        match group.trim() {
            "2" => treatment.push(geo),
            _ => control.push(geo),
        }
    }
    (treatment, control)
}

fn tbr_experiment() -> Value {
    let (treatment, control) = groups();
    json!({
        "name": "Matched markets",
        "plan": {
            "method": "tbr", "kpi": "sales", "cost_kpi": "cost",
            "treated": treatment, "control": control,
            "pre_start": "2015-01-05", "test_start": "2015-02-16", "test_end": "2015-03-15",
            "alpha": 0.1, "alternative": "greater"
        }
    })
}

/// Registers, starts and analyses `id`; the analysis.
async fn register_and_analyse(c: &Caller<'_>, id: &str) -> Value {
    let (status, v) = post_empty(c, &format!("/v1/experiments/lift/{id}/register")).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = post_empty(c, &format!("/v1/experiments/lift/{id}/start")).await;
    assert_eq!(status, 200, "{v}");
    let (status, a) = post_empty(c, &format!("/v1/experiments/lift/{id}/analyses")).await;
    assert_eq!(status, 201, "{a}");
    a
}

/// The stored plan re-run offline on `csv` gives the analysis's hashes.
async fn rerun_offline(c: &Caller<'_>, id: &str, csv: &str, value_col: &str, a: &Value) {
    let (_, exp) = get(c, &format!("/v1/experiments/lift/{id}")).await;
    let plan: LiftPlan = serde_json::from_value(exp["plan"].clone()).unwrap();
    assert_eq!(content_hash(&plan), exp["plan_hash"].as_str().unwrap());
    let columns = kiki_lift_service::domain::panel::CsvColumnNames {
        value: Some(value_col.into()),
        ..Default::default()
    };
    let up = upload_from_csv(csv.as_bytes(), &columns, None, usize::MAX).unwrap();
    let (result, inputs) = analyze_plan(&plan, &up.panel, up.cost.as_ref()).unwrap();
    assert_eq!(content_hash(&inputs), a["inputs_hash"].as_str().unwrap());
    assert_eq!(
        content_hash(&serde_json::to_value(&result).unwrap()),
        a["result_hash"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tbr_reproduces_matched_markets_fixed_cost_iroas_through_the_api() {
    let app = spawn().await;
    let owner = admin(&app, "tbr@lift.test", "Lift agency").await;
    let c = owner.caller(&app);
    let id = create(&c, &tbr_experiment()).await;
    let csv = sales_and_cost();
    let (status, panel) = upload_csv_with(&c, &id, "value_col=sales", &csv).await;
    assert_eq!(status, 200, "{panel}");
    assert_eq!(panel["markets"].as_array().map(Vec::len), Some(100));

    let a = register_and_analyse(&c, &id).await;
    assert_eq!(a["method"], "tbr", "{a}");
    assert!(a.get("estimate").is_none(), "{a}");
    let t = &a["tbr"];
    // matched_markets' testFixedCostIROASSummary (level 0.9, one tail):
    // iROAS 2.946742, lower bound 2.826194 (precision 0.120548),
    // incremental response 147,337.122, on a spend of 50,000.
    assert!(close(&t["iroas"], 2.946742, 0.5e-6), "{t}");
    assert!(
        close(&t["iroas_interval"]["lower"], 2.826194, 0.5e-6),
        "{t}"
    );
    assert!(t["iroas_interval"]["upper"].is_null(), "{t}");
    assert!(close(&t["incremental"], 147_337.122, 0.5e-3), "{t}");
    assert!(close(&t["incremental_cost"], 50_000.0, 1e-6), "{t}");
    assert!(close(&t["lift"], 0.173964, 0.5e-6), "{t}");
    assert_eq!(t["df"], 40.0);
    assert_eq!(
        (t["pre_days"].as_u64(), t["test_days"].as_u64()),
        (Some(42), Some(28))
    );

    rerun_offline(&c, &id, &csv, "sales", &a).await;
    let (status, list) = get(&c, &format!("/v1/experiments/lift/{id}/analyses")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["tbr"], a["tbr"]);
}

/// google/trimmed_match's 32 pairs as a panel: a pre-period day, then one
/// test day on which each pair's treated market has the published
/// response and cost differences over its control.
fn pairs_csv(set: &Value) -> (String, Vec<Value>) {
    let y = set["delta_response"].as_array().unwrap();
    let x = set["delta_cost"].as_array().unwrap();
    let mut csv = String::from("market,date,value,cost\n");
    let mut pairs = Vec::new();
    for (i, (y, x)) in y.iter().zip(x).enumerate() {
        let (t, c) = (format!("t{i:02}"), format!("c{i:02}"));
        for m in [&t, &c] {
            csv.push_str(&format!("{m},2024-03-01,1,0\n"));
        }
        csv.push_str(&format!(
            "{t},2024-03-02,{},{}\n",
            y.as_f64().unwrap(),
            x.as_f64().unwrap()
        ));
        csv.push_str(&format!("{c},2024-03-02,0,0\n"));
        pairs.push(json!({"treated": t, "control": c}));
    }
    (csv, pairs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimmed_match_reproduces_the_published_thirty_two_pair_estimates_through_the_api() {
    let app = spawn().await;
    let owner = admin(&app, "tm@lift.test", "Lift agency").await;
    let c = owner.caller(&app);
    let fx: Value = serde_json::from_str(PAIRS).unwrap();
    let set = &fx["thirty_two_pairs"];
    let tol = set["tolerance"].as_f64().unwrap();
    let (csv, pairs) = pairs_csv(set);

    // The data-driven trim, and a fixed trim of one pair per tail.
    for (trim, want) in [
        (None, &set["data_driven"]),
        (Some(1.0 / 32.0), &set["trim_1_32"]),
    ] {
        let mut plan = json!({
            "method": "trimmed_match", "kpi": "conversions", "cost_kpi": "spend",
            "pairs": pairs,
            "max_trim_rate": set["max_trim_rate"],
            "pre_start": "2024-03-01", "test_start": "2024-03-02", "test_end": "2024-03-02",
            "alpha": 0.1
        });
        if let Some(r) = trim {
            plan["trim_rate"] = json!(r);
        }
        let id = create(&c, &json!({"name": "Paired geos", "plan": plan})).await;
        let (status, v) = upload_csv(&c, &id, &csv).await;
        assert_eq!(status, 200, "{v}");
        let a = register_and_analyse(&c, &id).await;
        assert_eq!(a["method"], "trimmed_match", "{a}");
        let t = &a["trimmed_match"];
        // estimator_test.cc's Report(): estimate, standard error, trim
        // rate and 90 % interval, published to six decimals.
        for (got, key) in [
            (&t["iroas"], "estimate"),
            (&t["std_error"], "std_error"),
            (&t["trim_rate"], "trim_rate"),
            (&t["iroas_interval"]["lower"], "ci_low"),
            (&t["iroas_interval"]["upper"], "ci_up"),
        ] {
            let w = want[key].as_f64().unwrap();
            assert!(close(got, w, tol), "{key}: got {got}, published {w}: {t}");
        }
        assert_eq!(t["pairs"], 32);
        rerun_offline(&c, &id, &csv, "value", &a).await;
    }
}

/// `users` seeded users split 50/50 by `salt`; 40 % reachable (a real or
/// ghost bid); base conversion 5 %, plus `lift` for reachable treated
/// users only; revenue 40 ± 15 per conversion. Each user's logged arm is
/// the hash's.
fn simulated_users(seed: u64, users: usize, lift: f64, salt: &str) -> Vec<Value> {
    use kiki_lift::{Arm, SplitMix64, assign_arm};
    let mut rng = SplitMix64::new(seed);
    (0..users)
        .map(|i| {
            let user_id = format!("u{i}");
            let arm = assign_arm(salt, &user_id, 0.5);
            let reachable = rng.bernoulli(0.4);
            let treated = arm == Arm::Treatment;
            let p = 0.05 + if reachable && treated { lift } else { 0.0 };
            let converted = rng.bernoulli(p);
            let revenue = if converted {
                (40.0 + 15.0 * rng.normal()).max(1.0)
            } else {
                0.0
            };
            json!({
                "user_id": user_id, "converted": converted, "revenue": revenue,
                "would_have_bid": reachable,
                "arm": if treated { "treatment" } else { "control" }
            })
        })
        .collect()
}

fn holdout_experiment(population: &str) -> Value {
    json!({
        "name": "Retargeting holdout",
        "plan": {
            "method": "holdout", "kpi": "purchases",
            "salt": "retargeting-2026-05", "treatment_share": 0.5, "population": population,
            "pre_start": "2026-04-01", "test_start": "2026-05-01", "test_end": "2026-05-31",
            "alpha": 0.1
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holdout_recovers_a_seeded_effect_among_the_users_it_could_reach() {
    let app = spawn().await;
    let owner = admin(&app, "holdout@lift.test", "Lift agency").await;
    let c = owner.caller(&app);
    let users = simulated_users(11, 20_000, 0.05, "retargeting-2026-05");
    let reachable = users.iter().filter(|u| u["would_have_bid"] == true).count();

    // Registered before the test: no data to check a holdout against.
    let id = create(&c, &holdout_experiment("would_have_bid")).await;
    let (status, v) = post_empty(&c, &format!("/v1/experiments/lift/{id}/register")).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["pre_period_hash"].is_null(), "{v}");
    let (status, v) = post_empty(&c, &format!("/v1/experiments/lift/{id}/start")).await;
    assert_eq!(status, 200, "{v}");
    // A daily panel is refused; the users are taken.
    let (status, v) = upload_csv(&c, &id, GEOLIFT_TEST).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["rows"], "{v}");
    let (status, panel) = post(
        &c,
        &format!("/v1/experiments/lift/{id}/panel"),
        &json!({"users": users}),
    )
    .await;
    assert_eq!(status, 200, "{panel}");
    assert_eq!(panel["users"], 20_000);
    assert_eq!(panel["markets"], json!(["control", "treatment"]));

    let (status, a) = post_empty(&c, &format!("/v1/experiments/lift/{id}/analyses")).await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["method"], "holdout", "{a}");
    let h = &a["holdout"];
    // Among reachable users the seeded effect is the full 5 points on a
    // 5 % base: it lies in the 90 % interval, far from zero.
    assert_eq!(
        h["treatment"]["users"].as_u64().unwrap() + h["control"]["users"].as_u64().unwrap(),
        reachable as u64,
        "{h}"
    );
    let d = &h["conversion_rate"];
    let (lo, hi) = (
        d["interval"]["lower"].as_f64().unwrap(),
        d["interval"]["upper"].as_f64().unwrap(),
    );
    assert!(lo < 0.05 && 0.05 < hi, "{d}");
    assert!(lo > 0.0, "{d}");
    assert!(d["p_value"].as_f64().unwrap() < 0.001, "{d}");
    let (rlo, rhi) = (
        d["relative_interval"]["lower"].as_f64().unwrap(),
        d["relative_interval"]["upper"].as_f64().unwrap(),
    );
    assert!(rlo < 1.0 && 1.0 < rhi, "relative lift around 100 %: {d}");
    assert_eq!(h["assignment_mismatches"], 0);

    // Re-run offline: the same inputs give the same hashes.
    let (_, exp) = get(&c, &format!("/v1/experiments/lift/{id}")).await;
    let plan: LiftPlan = serde_json::from_value(exp["plan"].clone()).unwrap();
    let rows: Vec<kiki_lift_service::domain::panel::UserRow> =
        serde_json::from_value(json!(users)).unwrap();
    let arms = kiki_lift::PanelData {
        units: vec!["control".into(), "treatment".into()],
        periods: vec![],
        values: vec![vec![], vec![]],
        filled: vec![],
    };
    let (result, inputs) =
        kiki_lift_service::domain::analysis::analyze_users(&plan, arms, &rows).unwrap();
    assert_eq!(content_hash(&inputs), a["inputs_hash"].as_str().unwrap());
    assert_eq!(
        content_hash(&serde_json::to_value(&result).unwrap()),
        a["result_hash"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_methods_bad_field_is_named() {
    let app = spawn().await;
    let owner = admin(&app, "bad@lift.test", "Lift agency").await;
    let c = owner.caller(&app);

    let mut tbr = tbr_experiment();
    let first_treated = tbr["plan"]["treated"][0].clone();
    tbr["plan"]["control"] = json!([first_treated, "2"]);
    tbr["plan"]["alternative"] = json!("less");
    let (status, v) = post(&c, "/v1/experiments/lift", &tbr).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["plan.control[0]", "plan.alternative"], "{v}");

    let tm = json!({"name": "Paired geos", "plan": {
        "method": "trimmed_match", "kpi": "conversions",
        "pairs": [{"treated": "a", "control": "b"}, {"treated": "c", "control": "a"},
                  {"treated": "e", "control": "f"}],
        "trim_rate": 0.4,
        "pre_start": "2024-03-01", "test_start": "2024-03-02", "test_end": "2024-03-02"
    }});
    let (status, v) = post(&c, "/v1/experiments/lift", &tm).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(
        fields(&v),
        ["plan.pairs[1].control", "plan.trim_rate", "plan.cost_kpi"],
        "{v}"
    );

    let mut holdout = holdout_experiment("all");
    holdout["plan"]["treatment_share"] = json!(1.0);
    holdout["plan"]["salt"] = json!(" ");
    let (status, v) = post(&c, "/v1/experiments/lift", &holdout).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["plan.salt", "plan.treatment_share"], "{v}");

    // A field of another method is refused, naming it.
    let mut stray = walkthrough();
    stray["plan"]["control"] = json!(["dallas"]);
    let (status, v) = post(&c, "/v1/experiments/lift", &stray).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["plan"], "{v}");
    assert!(
        v.to_string().contains("`control` belongs to a `tbr` plan"),
        "{v}"
    );

    // A TBR plan naming a cost its panel lacks is refused at analysis.
    let id = create(&c, &tbr_experiment()).await;
    let no_cost: String = sales_and_cost()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_owned() + "\n")
        .collect();
    let (status, v) = upload_csv_with(&c, &id, "value_col=sales", &no_cost).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = post_empty(&c, &format!("/v1/experiments/lift/{id}/register")).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = post_empty(&c, &format!("/v1/experiments/lift/{id}/analyses")).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["plan.cost_kpi"], "{v}");
    // Users are a holdout's only.
    let users = json!({"users": [{"user_id": "u1", "converted": true}]});
    let (status, v) = post(&c, &format!("/v1/experiments/lift/{id}/panel"), &users).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["users"], "{v}");
}
