//! An agency's roll-up: with `scope=clients` the agency's figures are its
//! own plus each client's, each client's profit at its own margin, and the
//! organisation breakdown tells them apart.

use kiki_test_support::identity::client_org;
use serde_json::{Value, json};

use crate::*;

const P: &str = "since=2026-02-27&until=2026-03-01&currency=USD";

#[tokio::test]
async fn an_agency_roll_up_is_the_sum_of_its_clients() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "agency").await;
    let agency = boss.caller(&app);
    let client = client_org(&agency, "Client One").await;
    feed(&svc, boss.org_id, &Ids::default()).await;
    let client_ids = Ids::default();
    feed(&svc, client, &client_ids).await;
    // The client counts profit at 25 %; the agency has no margin (100 %).
    let (status, org) = json(
        agency
            .in_org(client)
            .patch(
                &format!("/v1/organisations/{client}"),
                &json!({"contribution_margin_bps": 2500}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{org}");

    let figures = |s: &Value| in_currency(s, "USD")["current"].clone();
    let (_, own) = get(&agency, &format!("/v1/analytics/summary?{P}")).await;
    let (_, theirs) = get(
        &agency.in_org(client),
        &format!("/v1/analytics/summary?{P}"),
    )
    .await;
    let (status, all) = get(&agency, &format!("/v1/analytics/summary?{P}&scope=clients")).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["scope"], "clients");
    assert_eq!(all["organisations"].as_array().unwrap().len(), 2);
    let (own, theirs, all_f) = (figures(&own), figures(&theirs), figures(&all));
    for amount in ["spend", "revenue", "gross_profit", "profit_after_ad_spend"] {
        assert_eq!(
            micros(&all_f[amount]),
            micros(&own[amount]) + micros(&theirs[amount]),
            "{amount}"
        );
    }
    for count in ["impressions", "clicks", "active_campaigns"] {
        assert_eq!(
            all_f[count].as_i64().unwrap(),
            own[count].as_i64().unwrap() + theirs[count].as_i64().unwrap(),
            "{count}"
        );
    }
    assert_eq!(all_f["conversions"], 18.0);
    // $1,000 at 100 % + $1,000 at 25 %.
    assert_eq!(micros(&all_f["gross_profit"]), 1_250_000_000);
    // The ratio of the sums: ($2,000) / ($800).
    assert_eq!(all_f["roas"], 2.5);

    // Side by side.
    let (_, by_org) = get(
        &agency,
        &format!("/v1/analytics/breakdown?{P}&scope=clients&by=organisation"),
    )
    .await;
    let orgs: Vec<String> = by_org["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["organisation_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(orgs.len(), 2);
    assert!(orgs.contains(&client.to_string()) && orgs.contains(&boss.org_id.to_string()));
    // The time series of the roll-up is the sum of both, day by day.
    let (_, t) = get(
        &agency,
        &format!("/v1/analytics/timeseries?{P}&scope=clients"),
    )
    .await;
    let spend: Vec<i64> = t["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| micros(&p["spend"]))
        .collect();
    assert_eq!(spend, [300_000_000, 0, 500_000_000]);

    // The client alone cannot reach the agency: its own rows only.
    let (_, from_client) = get(
        &agency.in_org(client),
        &format!("/v1/analytics/summary?{P}&scope=clients"),
    )
    .await;
    assert_eq!(from_client["organisations"], json!([client]));
    assert_eq!(micros(&figures(&from_client)["spend"]), 400_000_000);

    // New metrics of the client reach the agency's roll-up at once: the
    // cached answer is dropped (the client's meta days, doubled: +$300).
    let period = kiki_analytics::Period::new(
        time::macros::date!(2026 - 02 - 20),
        time::macros::date!(2026 - 03 - 02),
    )
    .unwrap();
    svc.record_daily(
        &TenantScope::single(OrgId(client)),
        "meta",
        period,
        &meta_rows(&client_ids, 2.0),
    )
    .await
    .unwrap();
    let (_, again) = get(&agency, &format!("/v1/analytics/summary?{P}&scope=clients")).await;
    assert_eq!(
        micros(&figures(&again)["spend"]),
        micros(&all_f["spend"]) + 300_000_000
    );
}
