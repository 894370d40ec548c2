//! The `/v1/ltv` API end to end on a fresh database (SQLite by default,
//! PostgreSQL with `KIKI_TEST_DATABASE_URL`): uploads, fits as jobs and
//! inline, models, predictions, aggregates, tenancy and permissions.

use std::sync::Arc;

use kiki_ltv::{FitOptions, ModelKind, TimeUnit};
use kiki_ltv_service::LtvModule;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, admin, error_fields, identity_app, json, member};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod data_rules;
mod fitting;

const CDNOW_SAMPLE: &str = include_str!("../../../kiki-ltv/tests/fixtures/CDNOW_sample.txt");

async fn app() -> TestApp {
    identity_app()
        .module(Arc::new(LtvModule::new()))
        .spawn()
        .await
}

/// CDNOW_sample.txt (master id, sample id, YYYYMMDD, CDs, dollars) as the
/// upload CSV; customers up to `max_id` only, with a segment and platform
/// derived from the id when `tagged`.
fn cdnow_csv(max_id: u32, tagged: bool) -> String {
    let mut out = String::from(if tagged {
        "customer_id,timestamp,amount,segment,platform\n"
    } else {
        "customer_id,timestamp,amount\n"
    });
    for line in CDNOW_SAMPLE.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let id = f[1].trim_start_matches('0');
        let n: u32 = id.parse().expect("a numeric id");
        if n > max_id {
            continue;
        }
        if tagged {
            let segment = if n.is_multiple_of(3) {
                "vip"
            } else {
                "standard"
            };
            let platform = if n.is_multiple_of(2) {
                "meta"
            } else {
                "google"
            };
            out.push_str(&format!("{id},{},{},{segment},{platform}\n", f[2], f[4]));
        } else {
            out.push_str(&format!("{id},{},{}\n", f[2], f[4]));
        }
    }
    out
}

async fn upload_csv(c: &Caller<'_>, csv: &str) -> (u16, Value) {
    let resp = c
        .request(reqwest::Method::POST, "/v1/ltv/transactions")
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .expect("upload sent");
    json(resp).await
}

/// Polls a job until it finishes; its final record.
async fn wait_for_job(c: &Caller<'_>, location: &str) -> Value {
    // A hang guard, not a timing assertion: a fit of CDNOW takes well under a second.
    for _ in 0..2400 {
        let job = c.get_ok(location).await;
        if matches!(
            job["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("job {location} did not finish");
}

fn param(model: &Value, name: &str) -> f64 {
    model["model"]["params"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no parameter {name} in {model}"))
}

#[tokio::test]
async fn a_csv_upload_is_stored_once_even_when_sent_twice_and_keeps_identical_rows_within_it() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let csv = "customer_id,timestamp,amount,order_id\nc1,2024-01-01,10.00,o1\nc1,2024-01-01,10.00,o2\nc2,2024-02-01T10:00:00Z,5.5,\nc3,2024-03-01,7,\nc3,2024-03-01,7,\n";
    let (status, body) = upload_csv(&a, csv).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["received"], &body["inserted"], &body["duplicates"]),
        (&json!(5), &json!(5), &json!(0))
    );
    let (status, body2) = upload_csv(&a, csv).await;
    assert_eq!(status, 200, "{body2}");
    assert_eq!(
        (&body2["received"], &body2["inserted"], &body2["duplicates"]),
        (&json!(5), &json!(0), &json!(5))
    );
    assert_ne!(
        body["upload_id"], body2["upload_id"],
        "each upload has its own id"
    );
    let c1 = a.get_ok("/v1/ltv/customers/c1").await;
    assert_eq!(c1["transactions"], 2);
    assert_eq!(
        c1["total_spent"],
        json!({"micros": 20_000_000, "currency": "USD"})
    );
    assert_eq!(c1["prediction"], Value::Null);
    // Two identical rows in one file are two orders.
    assert_eq!(a.get_ok("/v1/ltv/customers/c3").await["transactions"], 2);
}

#[tokio::test]
async fn a_json_upload_with_bad_rows_is_refused_by_row_and_field_and_stores_nothing() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let body = json!({"transactions": [
        {"customer_id": "ok", "timestamp": "2024-01-01", "amount": "10.00"},
        {"customer_id": "x", "timestamp": "not a date", "amount": "1"},
        {"customer_id": "y", "timestamp": "2024-01-02", "amount": "ten"},
    ]});
    let (status, err) = json(a.post("/v1/ltv/transactions", &body).await).await;
    assert_eq!(status, 422, "{err}");
    let rows: Vec<(u64, String)> = err["error"]["details"]["rows"]
        .as_array()
        .expect("rows listed")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or(0),
                r["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![(2, "timestamp".to_owned()), (3, "amount".to_owned())]
    );
    assert_eq!(error_fields(&err), vec!["timestamp", "amount"]);
    let (status, _) = json(a.get("/v1/ltv/customers/ok").await).await;
    assert_eq!(status, 404, "the valid row was not stored either");

    let good = json!({"currency": "EUR", "transactions": [
        {"customer_id": "ok", "timestamp": 1704067200, "amount": 10.5, "segment": "vip"}
    ]});
    let (status, body) = json(a.post("/v1/ltv/transactions", &good).await).await;
    assert_eq!(
        (status, body["inserted"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
}

#[tokio::test]
async fn a_csv_upload_with_bad_lines_names_the_file_lines() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let csv =
        "customer_id,timestamp,amount\nc1,2024-01-01,10\nc2,yesterday,3\n,2024-01-01,1.1234567\n";
    let (status, err) = upload_csv(&a, csv).await;
    assert_eq!(status, 422, "{err}");
    let lines: Vec<u64> = err["error"]["details"]["rows"]
        .as_array()
        .expect("rows listed")
        .iter()
        .filter_map(|r| r["line"].as_u64())
        .collect();
    assert_eq!(lines, vec![3, 4, 4]);
    assert_eq!(err["error"]["details"]["total"], 3);
    let (status, err) = json(
        a.request(reqwest::Method::POST, "/v1/ltv/transactions")
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(status, 415, "{err}");
}

#[tokio::test]
async fn a_fit_job_on_cdnow_reproduces_the_engine_and_published_bgnbd_parameters() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let (status, body) = upload_csv(&a, &cdnow_csv(u32::MAX, false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["inserted"], 6919,
        "same-day orders of equal value are all kept"
    );

    let resp = a
        .post(
            "/v1/ltv/fits",
            &json!({"model": "bgnbd", "gamma_gamma": true, "unit": "weeks",
                    "calibration_end": "1997-09-30", "observation_end": "1998-06-30"}),
        )
        .await;
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("a Location header");
    let (status, accepted) = json(resp).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(
        location,
        format!("/v1/jobs/{}", accepted["job_id"].as_str().unwrap_or(""))
    );
    let job = wait_for_job(&a, &location).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["progress"], 1.0);
    let model_id = job["result"]["model_id"]
        .as_str()
        .expect("model id")
        .to_owned();

    let model = a.get_ok(&format!("/v1/ltv/models/{model_id}")).await;
    assert_eq!(model, a.get_ok("/v1/ltv/models/current").await);
    assert_eq!(model["version"], 1);
    assert_eq!(model["customer_count"], 2357);
    assert_eq!(model["model"]["kind"], "bg_nbd");
    assert_eq!(model["model"]["converged"], true);
    assert!(
        model["model"]["std_errors"]["r"].as_f64().is_some(),
        "{model}"
    );

    // The same fit straight through the engine.
    let cal = OffsetDateTime::parse("1997-09-30T00:00:00Z", &Rfc3339).expect("date");
    let end = OffsetDateTime::parse("1998-06-30T00:00:00Z", &Rfc3339).expect("date");
    let txs = kiki_ltv::parse_transactions_csv(
        cdnow_csv(u32::MAX, false).as_bytes(),
        &kiki_ltv::CsvOptions::default(),
    )
    .expect("the fixture parses");
    let split =
        kiki_ltv::calibration_holdout_split(&txs, cal, end, TimeUnit::Weeks).expect("split");
    let calibration: Vec<_> = split.iter().map(|c| c.calibration.clone()).collect();
    let opts = FitOptions {
        time_unit: TimeUnit::Weeks,
        ..FitOptions::default()
    };
    let engine = kiki_ltv::fit(ModelKind::BgNbd, &calibration, &opts, &mut |_| {}).expect("fit");
    for (name, published) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        let ours = param(&model, name);
        let direct = engine.params[name];
        assert!(
            (ours - direct).abs() <= 1e-9 * direct.abs().max(1.0),
            "{name}: {ours} vs {direct}"
        );
        assert!(
            (ours - published).abs() < 1e-3,
            "{name}: {ours} vs published {published}"
        );
    }
    assert!((model["model"]["log_likelihood"].as_f64().unwrap_or(0.0) + 9582.43).abs() < 0.01);

    // The holdout report (1653.4 predicted vs 1882 actual, as in the engine's tests).
    let holdout = a
        .get_ok(&format!("/v1/ltv/models/{model_id}/holdout"))
        .await;
    assert_eq!(holdout["total_actual"], 1882.0);
    assert!(
        (holdout["total_predicted"].as_f64().unwrap_or(0.0) - 1653.41).abs() < 0.5,
        "{holdout}"
    );
    assert!(
        holdout["by_frequency"]
            .as_array()
            .is_some_and(|b| b.len() == 8)
    );

    // Stored predictions: paged by CLV, one customer, and by id through predict.
    let page = a.get_ok("/v1/ltv/customers?limit=5&sort=clv").await;
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    let clvs: Vec<i64> = items
        .iter()
        .filter_map(|i| i["clv"]["micros"].as_i64())
        .collect();
    assert!(clvs.windows(2).all(|w| w[0] >= w[1]), "{clvs:?}");
    let next = page["next_cursor"].as_str().expect("a next page");
    let page2 = a
        .get_ok(&format!("/v1/ltv/customers?limit=5&sort=clv&cursor={next}"))
        .await;
    assert!(page2["items"][0]["clv"]["micros"].as_i64() <= clvs.last().copied());
    let top = items[0]["customer_id"].as_str().expect("id").to_owned();
    let customer = a.get_ok(&format!("/v1/ltv/customers/{top}")).await;
    assert_eq!(customer["prediction"]["customer_id"], top.as_str());
    assert!(
        customer["prediction"]["p_alive"]
            .as_f64()
            .is_some_and(|p| (0.0..=1.0).contains(&p))
    );

    let (status, predicted) = json(
        a.post("/v1/ltv/predict", &json!({"customer_ids": [top, "nobody"]}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{predicted}");
    assert_eq!(predicted["customers"][0], customer["prediction"]);
    assert_eq!(predicted["missing"], json!(["nobody"]));

    // Ad-hoc RFM rows under the current model: E[Y] grows with frequency.
    let (status, adhoc) = json(
        a.post(
            "/v1/ltv/predict",
            &json!({"rows": [
                {"frequency": 2, "recency": 30.43, "T": 38.86,
                 "monetary": {"micros": 30_000_000, "currency": "USD"}},
                {"frequency": 6, "recency": 38.0, "T": 38.86}
            ]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{adhoc}");
    let rows = adhoc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert!(rows[0]["clv"]["micros"].as_i64().is_some_and(|v| v > 0));
    assert_eq!(rows[0]["clv"]["currency"], "USD");
    assert_eq!(rows[1]["clv"], Value::Null);
    assert!(rows[1]["expected_purchases"].as_f64() > rows[0]["expected_purchases"].as_f64());

    // The fit is audited and explained.
    let audit = a.get_ok("/v1/audit?action=ltv.model.fitted").await;
    let entries = audit["items"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["target_id"], model_id.as_str());
    let decisions = a
        .get_ok("/v1/decisions?engine=kiki-ltv&kind=ltv_model_fitted")
        .await;
    let d = &decisions["items"][0];
    assert_eq!(d["subject_id"], model_id.as_str());
    assert_eq!(
        d["output"]["params"]["r"].as_f64(),
        Some(param(&model, "r"))
    );
    assert!(
        d["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("BG/NBD") && e.contains("2357")),
        "{d}"
    );
}

#[tokio::test]
async fn aggregates_group_the_current_predictions_by_segment_and_platform() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let (status, _) = json(a.get("/v1/ltv/aggregates?by=segment").await).await;
    assert_eq!(status, 409, "no model yet");
    let (status, body) = upload_csv(&a, &cdnow_csv(600, true)).await;
    assert_eq!(status, 200, "{body}");
    let (status, model) = json(
        a.post(
            "/v1/ltv/fits?wait=true",
            &json!({"model": "bgnbd", "unit": "weeks"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{model}");
    let customers = model["customer_count"].as_u64().expect("count");
    assert_eq!(customers, 600);

    for (by, keys) in [
        ("segment", ["standard", "vip"]),
        ("platform", ["google", "meta"]),
    ] {
        let agg = a.get_ok(&format!("/v1/ltv/aggregates?by={by}")).await;
        assert_eq!(agg["model_id"], model["id"]);
        let groups = agg["groups"].as_array().expect("groups");
        let found: Vec<&str> = groups.iter().filter_map(|g| g["key"].as_str()).collect();
        assert_eq!(found, keys);
        let total: u64 = groups.iter().filter_map(|g| g["count"].as_u64()).sum();
        assert_eq!(total, customers);
        for g in groups {
            let q: Vec<i64> = ["p25_clv", "p50_clv", "p75_clv"]
                .iter()
                .filter_map(|k| g[*k]["micros"].as_i64())
                .collect();
            assert!(q.len() == 3 && q[0] <= q[1] && q[1] <= q[2], "{g}");
            let pa = g["p50_p_alive"].as_f64().unwrap_or(-1.0);
            assert!((0.0..=1.0).contains(&pa), "{g}");
        }
    }
    // Every customer as CSV, streamed page by page (600 > one page of 500).
    let resp = a
        .request(reqwest::Method::GET, "/v1/ltv/customers")
        .header("accept", "text/csv")
        .send()
        .await
        .expect("export sent");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 601, "a header and 600 customers");
    assert!(
        lines[0].starts_with("customer_id,segment,platform,"),
        "{}",
        lines[0]
    );
    let ids: std::collections::BTreeSet<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 600, "no customer twice");
    let in_file: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert!(
        in_file.windows(2).all(|w| w[0] < w[1]),
        "customer id order without a sort"
    );
    let json_page = a.get_ok("/v1/ltv/customers?sort=customer_id&limit=1").await;
    let first = &json_page["items"][0];
    let fields: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(fields[0], first["customer_id"].as_str().unwrap());
    assert_eq!(fields[12], "USD");
    // Money columns are decimals in the major unit.
    let clv = first["clv"]["micros"].as_i64().expect("a CLV");
    assert_eq!(
        fields[11],
        format!(
            "{}.{:02}",
            clv / 1_000_000,
            (clv % 1_000_000 + 5_000) / 10_000
        )
    );
    let (status, e) = json(a.get("/v1/ltv/customers?format=xml").await).await;
    assert_eq!((status, error_fields(&e)), (422, vec!["format".to_owned()]));
    // Above the cap (or below 1) is refused naming it, never cut silently,
    // for the JSON page, the CSV export and the model list.
    for path in [
        "/v1/ltv/customers?limit=501",
        "/v1/ltv/customers?limit=0",
        "/v1/ltv/customers?limit=100000&format=csv",
        "/v1/ltv/models?limit=501",
    ] {
        let (status, e) = json(a.get(path).await).await;
        assert_eq!(
            (status, error_fields(&e)),
            (422, vec!["limit".to_owned()]),
            "{path}: {e}"
        );
        assert!(e.to_string().contains("between 1 and 500"), "{e}");
    }
    assert_eq!(
        a.get_ok("/v1/ltv/customers?limit=500").await["items"]
            .as_array()
            .map(Vec::len),
        Some(500)
    );
    // vip is every third id: 200 of the 600.
    let agg = a.get_ok("/v1/ltv/aggregates?by=segment").await;
    assert_eq!(agg["groups"][1]["count"], 200);
    let (status, err) = json(a.get("/v1/ltv/aggregates?by=colour").await).await;
    assert_eq!((status, error_fields(&err)), (422, vec!["by".to_owned()]));
}

#[tokio::test]
async fn predicting_before_a_fit_is_a_conflict_and_bad_rows_are_named() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let rows = json!({"rows": [{"frequency": 1, "recency": 2, "T": 3}]});
    let (status, err) = json(a.post("/v1/ltv/predict", &rows).await).await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("No lifetime value model"))
    );
    let (status, _) = json(a.get("/v1/ltv/models/current").await).await;
    assert_eq!(status, 409);

    upload_csv(&a, &cdnow_csv(300, false)).await;
    let (status, model) = json(a.post("/v1/ltv/fits?wait=true", &json!({})).await).await;
    assert_eq!(status, 201, "{model}");
    let bad = json!({"rows": [
        {"frequency": 1, "recency": 2, "T": 3},
        {"frequency": 1, "recency": 5, "T": 3},
        {"frequency": 2, "recency": 1, "T": 3, "monetary": {"micros": -4_000_000, "currency": "USD"}},
        {"frequency": 2, "recency": 1, "T": 3, "monetary": {"micros": 4_000_000, "currency": "EUR"}}
    ]});
    let (status, err) = json(a.post("/v1/ltv/predict", &bad).await).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(
        error_fields(&err),
        vec!["rows[2].monetary", "rows[3].monetary"]
    );
    assert!(err.to_string().contains("model's currency, USD"), "{err}");
    let bad = json!({"rows": [
        {"frequency": 1, "recency": 2, "T": 3},
        {"frequency": 1, "recency": 5, "T": 3}
    ]});
    let (status, err) = json(a.post("/v1/ltv/predict", &bad).await).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(error_fields(&err), vec!["rows[1]"]);
    let (status, err) = json(
        a.post("/v1/ltv/predict", &json!({"rows": [{"frequency": 1}]}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{err}");
}

#[tokio::test]
async fn another_organisation_sees_none_of_the_models_or_customers() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let b = admin(&app, "b@example.com", "Shop B").await.caller(&app);
    upload_csv(&a, &cdnow_csv(300, false)).await;
    let (status, model) = json(a.post("/v1/ltv/fits?wait=true", &json!({})).await).await;
    assert_eq!(status, 201, "{model}");
    let id = model["id"].as_str().expect("id");

    for path in [
        format!("/v1/ltv/models/{id}"),
        format!("/v1/ltv/models/{id}/holdout"),
        "/v1/ltv/customers/4".to_owned(),
    ] {
        let (status, _) = json(b.get(&path).await).await;
        assert_eq!(status, 404, "{path}");
    }
    assert_eq!(b.get_ok("/v1/ltv/models").await["items"], json!([]));
    assert_eq!(b.get_ok("/v1/ltv/customers").await["items"], json!([]));
    let (status, _) = json(b.get("/v1/ltv/models/current").await).await;
    assert_eq!(status, 409);
    let (status, _) = json(
        b.post(
            "/v1/ltv/predict",
            &json!({"model_id": id, "rows": [{"frequency": 0, "recency": 0, "T": 1}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(a.get_ok("/v1/ltv/models").await["items"][0]["id"], id);
}

#[tokio::test]
async fn a_viewer_can_read_but_not_upload_or_fit() {
    let app = app().await;
    let owner = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let viewer = member(&app, &owner, "viewer", "v@example.com")
        .await
        .caller(&app);
    let (status, _) = upload_csv(&viewer, "customer_id,timestamp,amount\nc,2024-01-01,1\n").await;
    assert_eq!(status, 403);
    let (status, _) = json(viewer.post("/v1/ltv/fits", &json!({})).await).await;
    assert_eq!(status, 403);
    assert_eq!(viewer.get_ok("/v1/ltv/models").await["items"], json!([]));
}

#[tokio::test]
async fn data_without_repeat_buyers_fails_the_job_with_the_engines_message() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let csv = "customer_id,timestamp,amount\nc1,2024-01-01,10\nc2,2024-01-05,12\nc3,2024-02-01,8\n";
    upload_csv(&a, csv).await;
    let resp = a.post("/v1/ltv/fits", &json!({"unit": "days"})).await;
    let (status, accepted) = json(resp).await;
    assert_eq!(status, 202, "{accepted}");
    let job = wait_for_job(&a, accepted["location"].as_str().expect("location")).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 1, "a data error is not retried");
    assert!(
        job["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("No customer made a repeat purchase")),
        "{job}"
    );
    let (status, err) = json(
        a.post("/v1/ltv/fits?wait=true", &json!({"unit": "days"}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("repeat purchase"))
    );
    let (status, err) = json(a.post("/v1/ltv/fits", &json!({"model": "neural"})).await).await;
    assert_eq!(status, 422, "{err}");
    let (status, err) = json(a.post("/v1/ltv/fits", &json!({"discount_rate": 3})).await).await;
    assert_eq!(
        (status, error_fields(&err)),
        (422, vec!["discount_rate".to_owned()])
    );
    let (status, _) = json(a.get("/v1/ltv/models/current").await).await;
    assert_eq!(status, 409, "failed fits store no model");
}

#[tokio::test]
async fn customer_pages_list_every_customer_once_in_each_order() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let (status, body) = upload_csv(&a, &cdnow_csv(300, false)).await;
    assert_eq!(status, 200, "{body}");
    let (status, model) = json(
        a.post(
            "/v1/ltv/fits?wait=true",
            &json!({"model": "bgnbd", "unit": "weeks"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{model}");
    let customers = model["customer_count"].as_u64().expect("count") as usize;

    let mut first_clv_cursor = None;
    for sort in ["clv", "churn_risk", "customer_id"] {
        let mut seen: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("/v1/ltv/customers?limit=37&sort={sort}&cursor={c}"),
                None => format!("/v1/ltv/customers?limit=37&sort={sort}"),
            };
            let page = a.get_ok(&url).await;
            seen.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => {
                    if sort == "clv" && first_clv_cursor.is_none() {
                        first_clv_cursor = Some(next.to_owned());
                    }
                    cursor = Some(next.to_owned());
                }
                None => break,
            }
        }
        let ids: std::collections::BTreeSet<&str> = seen
            .iter()
            .filter_map(|i| i["customer_id"].as_str())
            .collect();
        assert_eq!(seen.len(), customers, "{sort}: every row once");
        assert_eq!(ids.len(), customers, "{sort}: no customer twice");
        let key = |i: &Value| match sort {
            "clv" => i["clv"]["micros"].as_f64().unwrap_or(f64::NEG_INFINITY),
            _ => i["churn_risk"].as_f64().unwrap_or_default(),
        };
        if sort != "customer_id" {
            assert!(
                seen.windows(2).all(|w| key(&w[0]) >= key(&w[1])),
                "{sort}: in order"
            );
        }
    }

    // A cursor of another order, or one this API never issued, names `cursor`.
    let clv_cursor = first_clv_cursor.expect("more than one page");
    for url in [
        format!("/v1/ltv/customers?sort=churn_risk&cursor={clv_cursor}"),
        "/v1/ltv/customers?cursor=bm90IGEga2V5".to_owned(),
        "/v1/ltv/models?cursor=bm90IGEga2V5".to_owned(),
    ] {
        let (status, err) = json(a.get(&url).await).await;
        assert_eq!(
            (status, error_fields(&err)),
            (422, vec!["cursor".to_owned()]),
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_csv_upload_reads_common_column_names_and_the_columns_it_is_told() {
    let app = app().await;
    let owner = admin(&app, "owner@columns.test", "Columns").await;
    let c = owner.caller(&app);
    // Common names, no parameters.
    let (status, body) = upload_csv(
        &c,
        "email,order_date,total\nann@shop.example,2024-03-01,35.50\nann@shop.example,2024-04-01,\"$1,029.33\"\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["inserted"], 2, "{body}");
    // The user's own names, given as parameters.
    let resp = c
        .request(
            reqwest::Method::POST,
            "/v1/ltv/transactions?customer_col=buyer&date_col=when&amount_col=paid",
        )
        .header("content-type", "text/csv")
        .body("buyer,when,paid\nbob,2024-03-02,12.00\n")
        .send()
        .await
        .expect("upload sent");
    let (status, body) = json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["inserted"], 1, "{body}");
    // A column that is not there is named.
    let resp = c
        .request(
            reqwest::Method::POST,
            "/v1/ltv/transactions?amount_col=price_eur",
        )
        .header("content-type", "text/csv")
        .body("customer_id,timestamp,amount\nbob,2024-03-02,12.00\n")
        .send()
        .await
        .expect("upload sent");
    let (status, body) = json(resp).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["amount_col"]);
    assert!(body.to_string().contains("price_eur"), "{body}");
    // A blank column name is refused whatever the body.
    let resp = c
        .request(reqwest::Method::POST, "/v1/ltv/transactions?date_col=%20")
        .json(&json!({"currency": "USD", "transactions": []}))
        .send()
        .await
        .expect("upload sent");
    let (status, body) = json(resp).await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["date_col".to_owned()])
    );
}
