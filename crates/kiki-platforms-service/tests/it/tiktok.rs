//! A TikTok ad set on the sandbox: TikTok's in-feed ads carry ad text and
//! no headline, so a creative with primary text only deploys and one
//! without its ad text is refused naming `primary_text`.

use kiki_core::{OrgId, TenantScope};
use kiki_platforms::{CreativeSpec, PlatformError};
use kiki_platforms_service::{DeployOutcome, PlatformsError};
use kiki_test_support::identity::admin;
use kiki_twin::Platform;
use serde_json::json;
use uuid::Uuid;

use crate::*;

fn tiktok_creative(primary_text: Option<&str>) -> CreativeSpec {
    CreativeSpec {
        kiki_id: Uuid::now_v7().to_string(),
        name: "Serum clip".into(),
        headlines: vec![],
        descriptions: vec![],
        primary_text: primary_text.map(str::to_owned),
        call_to_action: Some("Shop now".into()),
        link_url: "https://shop.example.com/serum".into(),
        approved: true,
    }
}

#[tokio::test]
async fn a_tiktok_creative_needs_its_ad_text_not_a_headline() {
    let (app, _clock) = spawn(json!({})).await;
    let boss = admin(&app, "owner@tiktok.test", "TikTok Org").await;
    let c = boss.caller(&app);
    let (status, v) = post(
        &c,
        "/v1/platforms/connections",
        &json!({"platform": "tiktok", "mode": "sandbox", "industry": "ecommerce"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let scope = TenantScope::single(OrgId(boss.org_id));

    let d = deployment(tiktok_creative(Some(
        "Winter skin, sorted. Tap to shop the serum.",
    )));
    match service(&app)
        .deploy_ad_set(&scope, Platform::Tiktok, &d)
        .await
        .expect("a TikTok creative with ad text deploys")
    {
        DeployOutcome::Deployed {
            external_id, ads, ..
        } => {
            assert!(external_id.starts_with("sbx-as-"), "{external_id}");
            assert_eq!(ads, 1);
        }
        other => panic!("not deployed: {other:?}"),
    }

    let d = deployment(tiktok_creative(Some("   ")));
    let e = service(&app)
        .deploy_ad_set(&scope, Platform::Tiktok, &d)
        .await
        .expect_err("a TikTok creative without ad text is refused");
    match &e {
        PlatformsError::Platform {
            source: PlatformError::InvalidRequest { field, .. },
            ..
        } => assert_eq!(field.as_deref(), Some("primary_text"), "{e}"),
        other => panic!("unexpected error: {other:?}"),
    }
}
