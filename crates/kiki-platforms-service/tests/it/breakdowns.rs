//! Country and device breakdowns through the sync: a Google sandbox ad set
//! targeting two countries runs five days; the sync stores its campaign days
//! broken down by country and by device, and each day's rows add up exactly
//! to the campaign's metrics of that day. A second sync replaces the days;
//! another organisation reads nothing.

use std::collections::BTreeMap;

use kiki_core::{OrgId, TenantScope};
use kiki_platforms::{BreakdownDimension, CreativeSpec};
use kiki_test_support::identity::{Caller, PASSWORD, admin, sign_in};
use kiki_twin::Platform;
use serde_json::{Value, json};
use time::macros::date;
use uuid::Uuid;

use crate::*;

fn micros(v: &Value) -> i64 {
    v["micros"].as_i64().unwrap_or_else(|| panic!("money: {v}"))
}

#[tokio::test]
async fn a_sync_stores_breakdowns_that_add_up_to_the_campaign_days() {
    let (app, clock) = spawn(json!({})).await;
    let boss = admin(&app, "owner@dims.test", "Dims Org").await;
    let c = boss.caller(&app);
    connect_google_sandbox(&c).await;
    let mut d = deployment(CreativeSpec {
        kiki_id: Uuid::now_v7().to_string(),
        name: "Serum".into(),
        headlines: vec!["Light daily serum".into()],
        descriptions: vec!["A light serum for winter.".into()],
        primary_text: None,
        call_to_action: None,
        link_url: "https://shop.example.com/serum".into(),
        approved: true,
    });
    d.ad_set.targeting.countries = vec!["US".into(), "de".into()];
    let scope = TenantScope::single(OrgId(boss.org_id));
    service(&app)
        .deploy_ad_set(&scope, Platform::Google, &d)
        .await
        .expect("the ad set deploys");
    clock.advance(time::Duration::days(5));
    let c = Caller::new(
        &app,
        sign_in(&app, "owner@dims.test", PASSWORD)
            .await
            .access_token,
    );
    sync(&c).await;

    // The campaign's days as the sync stored them, by day.
    let (status, metrics) = get(
        &c,
        "/v1/platforms/metrics?level=campaign&since=2026-11-01&until=2026-12-31",
    )
    .await;
    assert_eq!(status, 200, "{metrics}");
    let mut campaign: BTreeMap<String, (i64, i64, i64, f64, i64)> = BTreeMap::new();
    for m in metrics.as_array().unwrap() {
        campaign.insert(
            m["day"].as_str().unwrap().to_owned(),
            (
                micros(&m["spend"]),
                m["impressions"].as_i64().unwrap(),
                m["clicks"].as_i64().unwrap(),
                m["conversions"].as_f64().unwrap(),
                micros(&m["conversion_value"]),
            ),
        );
    }
    assert!(campaign.len() >= 5, "{metrics}");
    assert!(campaign.values().any(|v| v.0 > 0));

    let svc = service(&app);
    for (dimension, allowed) in [
        (BreakdownDimension::Country, vec!["DE", "US"]),
        (
            BreakdownDimension::Device,
            vec!["connected_tv", "desktop", "mobile", "other", "tablet"],
        ),
    ] {
        let b = svc
            .breakdown_metrics(
                &scope,
                dimension,
                date!(2026 - 11 - 01),
                date!(2026 - 12 - 31),
                100_000,
            )
            .await
            .unwrap();
        let mut sums: BTreeMap<String, (i64, i64, i64, f64, i64)> = BTreeMap::new();
        for r in &b.rows {
            assert!(allowed.contains(&r.value.as_str()), "{dimension:?} {r:?}");
            assert_eq!(
                r.campaign_id.as_deref(),
                Some(d.campaign_id.to_string().as_str())
            );
            let s = sums.entry(r.day.clone()).or_default();
            s.0 += r.spend.micros;
            s.1 += r.impressions;
            s.2 += r.clicks;
            s.3 += r.conversions;
            s.4 += r.conversion_value.micros;
        }
        assert_eq!(sums, campaign, "{dimension:?}: the parts add up exactly");
        // Both countries received delivery; Google's device mix has four
        // or five devices a day.
        let values: std::collections::BTreeSet<&str> =
            b.rows.iter().map(|r| r.value.as_str()).collect();
        assert!(values.len() >= 2, "{values:?}");
        assert!(!b.coverage.is_empty());
        assert!(
            b.coverage
                .iter()
                .all(|c| c.reported && c.platform == Platform::Google),
            "{:?}",
            b.coverage
        );
    }

    // Synced again: the days are replaced, not added to.
    let before = svc
        .breakdown_metrics(
            &scope,
            BreakdownDimension::Device,
            date!(2026 - 11 - 01),
            date!(2026 - 12 - 31),
            100_000,
        )
        .await
        .unwrap();
    sync(&c).await;
    let after = svc
        .breakdown_metrics(
            &scope,
            BreakdownDimension::Device,
            date!(2026 - 11 - 01),
            date!(2026 - 12 - 31),
            100_000,
        )
        .await
        .unwrap();
    assert_eq!(before.rows, after.rows);

    // Another organisation reads nothing of it.
    let other = admin(&app, "owner@other-dims.test", "Other Org").await;
    let theirs = svc
        .breakdown_metrics(
            &TenantScope::single(OrgId(other.org_id)),
            BreakdownDimension::Country,
            date!(2026 - 11 - 01),
            date!(2026 - 12 - 31),
            100_000,
        )
        .await
        .unwrap();
    assert!(theirs.rows.is_empty() && theirs.coverage.is_empty());
}
