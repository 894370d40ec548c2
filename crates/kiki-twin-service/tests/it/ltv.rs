//! With the LTV module mounted, a simulation's market model takes each
//! platform's customer value from the organisation's fitted LTV model (mean
//! and spread of CLV per acquisition platform) instead of the industry prior.

use std::sync::Arc;

use kiki_core::TestClock;
use kiki_ltv_service::{LtvModule, LtvService};
use kiki_test_support::identity::{admin, identity_app, json};
use serde_json::{Value, json};

use crate::{NOW, post, request};

const CDNOW_SAMPLE: &str = include_str!("../../../kiki-ltv/tests/fixtures/CDNOW_sample.txt");

/// The CDNOW sample as an upload, odd customers acquired on Google and even
/// ones on Meta.
fn cdnow_by_platform() -> String {
    let mut out = String::from("customer_id,timestamp,amount,platform\n");
    for line in CDNOW_SAMPLE.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let id: u32 = f[1].trim_start_matches('0').parse().expect("numeric id");
        let platform = if id.is_multiple_of(2) {
            "meta"
        } else {
            "google"
        };
        out.push_str(&format!("{id},{},{},{platform}\n", f[2], f[4]));
    }
    out
}

#[tokio::test]
async fn a_simulation_reads_platform_ltv_from_the_fitted_ltv_model() {
    let clock = TestClock::at(NOW);
    let app = identity_app()
        .clock(Arc::new(clock.clone()))
        .module(Arc::new(LtvModule::new()))
        .module(Arc::new(
            kiki_twin_service::TwinModule::new().with_ltv_module(),
        ))
        .spawn()
        .await;
    let boss = admin(&app, "owner@ltv-twin.test", "LTV Twin Org").await;
    let c = boss.caller(&app);

    let resp = c
        .request(reqwest::Method::POST, "/v1/ltv/transactions")
        .header("content-type", "text/csv")
        .body(cdnow_by_platform())
        .send()
        .await
        .expect("upload sent");
    let (status, body) = json(resp).await;
    assert_eq!(status, 200, "{body}");
    let (status, model) = post(
        &c,
        "/v1/ltv/fits?wait=true",
        &json!({"model": "bgnbd", "gamma_gamma": true, "unit": "weeks"}),
    )
    .await;
    assert_eq!(status, 201, "{model}");

    let ltv = app
        .state
        .services
        .get::<LtvService>()
        .expect("the LTV module provides its service");
    let org = kiki_core::OrgId(boss.org_id);
    let by_platform = ltv
        .platform_ltv(&kiki_core::TenantScope::single(org), "USD")
        .await
        .expect("platform LTV");
    assert_eq!(by_platform.len(), 2, "{by_platform:?}");
    let meta = by_platform
        .iter()
        .find(|p| p.platform == "meta")
        .expect("meta");
    assert!(meta.customers > 1000 && meta.mean_micros > 0 && meta.std_dev_micros > 0);

    let (status, sim) = post(&c, "/v1/simulations", &request(7, 500)).await;
    assert_eq!(status, 200, "{sim}");
    let model_id = sim["model_id"].as_str().expect("model id").to_owned();
    let (status, market) = crate::get(&c, &format!("/v1/twin/models/{model_id}")).await;
    assert_eq!(status, 200, "{market}");
    let platforms = market["model"]["platforms"].as_array().expect("platforms");
    let meta_model: &Value = platforms
        .iter()
        .find(|p| p["platform"] == "meta")
        .expect("meta in the market model");
    // The LTV distribution's mean is the LTV model's mean CLV (major units).
    let mean = meta_model["ltv"]["mean"].as_f64().expect("ltv mean");
    let expected = meta.mean_micros as f64 / 1e6;
    assert!(
        (mean - expected).abs() <= 1e-6 * expected.max(1.0),
        "market model LTV mean {mean}, LTV service {expected}"
    );
    // With a fitted model and no value basis asked for, customers are valued
    // at their lifetime value, and the response names the model.
    assert_eq!(sim["options"]["value_basis"], "ltv", "{}", sim["options"]);
    assert_eq!(sim["report"]["result"]["value_basis"], "ltv");
    let source = sim["report"]["value_source"]
        .as_str()
        .expect("a value source");
    assert!(
        source.starts_with("LTV model 1, fitted 2026-11-24, mean CLV $"),
        "{source}"
    );
    assert!(
        source.ends_with("per acquisition platform where customers carry one"),
        "{source}"
    );
    assert_eq!(sim["gate"]["inputs"]["value_source"], source);
    let reason = sim["gate"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("Customer value: {source}.")),
        "{reason}"
    );
    // Asked for first-order revenue, the response says which model it set aside.
    let mut asked = request(7, 500);
    asked["options"]["value_basis"] = json!("revenue");
    let (status, sim) = post(&c, "/v1/simulations", &asked).await;
    assert_eq!(status, 200, "{sim}");
    assert_eq!(sim["report"]["result"]["value_basis"], "revenue");
    assert!(
        sim["report"]["value_source"]
            .as_str()
            .unwrap()
            .starts_with("first-order revenue, as requested (not LTV model 1"),
        "{}",
        sim["report"]["value_source"]
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_twin_wired_to_ltv_does_not_start_without_the_ltv_module() {
    let db = kiki_store::testing::fresh_db().await;
    let mut config = kiki_server::Config::default();
    config.database.url = db.url().to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = kiki_server::Application::build_with(
        config,
        kiki_server::BuildOptions {
            listener: Some(listener),
            modules: vec![Arc::new(
                kiki_twin_service::TwinModule::new().with_ltv_module(),
            )],
            ..Default::default()
        },
    )
    .await
    .expect_err("start-up fails");
    let text = format!("{err:#}");
    assert!(text.contains("twin"), "{text}");
    assert!(text.contains("LtvService"), "{text}");
    db.cleanup().await;
}
