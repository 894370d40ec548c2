//! The contract: launching a campaign with two ad sets and three ads through
//! the port sends exactly these Graph API requests, in this order.

use kiki_platforms::{
    AdPlatform, AdSetSpec, AdSpec, BidStrategy, CampaignSpec, CreativeSpec, DeliveryStatus,
    Objective, Targeting,
};
use serde_json::{Value, json};
use time::macros::date;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::support::*;

/// Answers a batch of ad creations with one id per item, from its name.
struct BatchOfAds;

impl Respond for BatchOfAds {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&req.body).expect("a form body");
        let batch = &form.iter().find(|(k, _)| k == "batch").expect("batch").1;
        let items: Vec<Value> = serde_json::from_str(batch).expect("a JSON list");
        let answers: Vec<Value> = items
            .iter()
            .map(|item| {
                let body: Vec<(String, String)> =
                    serde_urlencoded::from_str(item["body"].as_str().unwrap()).unwrap();
                let name = &body.iter().find(|(k, _)| k == "name").unwrap().1;
                json!({"code": 200, "body": json!({"id": format!("ad-{name}")}).to_string()})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(answers)
    }
}

async fn answer(server: &MockServer, verb: &str, at: &str, contains: &str, body: Value) {
    Mock::given(method(verb))
        .and(path(at))
        .and(body_string_contains(contains))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

fn ad_set(name: &str, budget_micros: i64, bid: BidStrategy) -> AdSetSpec {
    AdSetSpec {
        name: name.to_owned(),
        status: DeliveryStatus::Paused,
        daily_budget_micros: budget_micros,
        bid,
        targeting: Targeting {
            countries: vec!["US".into(), "CA".into()],
            age_min: Some(25),
            age_max: Some(54),
            interests: vec![],
        },
        audience_size: None,
        start: Some(date!(2025 - 03 - 01)),
        end: Some(date!(2025 - 03 - 31)),
    }
}

fn creative(n: u32) -> CreativeSpec {
    CreativeSpec {
        kiki_id: format!("cr-{n}"),
        name: format!("Creative {n}"),
        headlines: vec![format!("Headline {n}"), "unused second headline".into()],
        descriptions: vec![format!("Description {n}")],
        primary_text: Some(format!("Primary text {n}")),
        call_to_action: Some("Shop now".into()),
        link_url: "https://shop.example/spring".into(),
        approved: true,
    }
}

fn ad(name: &str, creative_id: &str) -> AdSpec {
    AdSpec {
        name: name.to_owned(),
        status: DeliveryStatus::Paused,
        creative_external_id: creative_id.to_owned(),
    }
}

#[tokio::test]
async fn launch_a_campaign_with_two_ad_sets_and_three_ads() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v21.0/act_1001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "act_1001", "name": "Spring Shop", "currency": "USD",
            "timezone_name": "America/New_York", "account_status": 1
        })))
        .expect(1)
        .mount(&server)
        .await;
    answer(
        &server,
        "POST",
        "/v21.0/act_1001/campaigns",
        "name=Spring",
        json!({"id": "c1"}),
    )
    .await;
    answer(
        &server,
        "POST",
        "/v21.0/act_1001/adsets",
        "name=Prospecting",
        json!({"id": "as1"}),
    )
    .await;
    answer(
        &server,
        "POST",
        "/v21.0/act_1001/adsets",
        "name=Retargeting",
        json!({"id": "as2"}),
    )
    .await;
    for n in 1..=3 {
        answer(
            &server,
            "POST",
            "/v21.0/act_1001/adcreatives",
            &format!("name=Creative+{n}"),
            json!({"id": format!("cr{n}")}),
        )
        .await;
    }
    Mock::given(method("POST"))
        .and(path("/v21.0/"))
        .respond_with(BatchOfAds)
        .expect(2)
        .mount(&server)
        .await;

    let meta = meta(&server);
    let acc = account();
    let info = meta.verify(&acc).await.unwrap();
    assert_eq!(
        (
            info.name.as_str(),
            info.currency.as_str(),
            info.time_zone.as_str()
        ),
        ("Spring Shop", "USD", "America/New_York")
    );
    let campaign = meta
        .create_campaign(
            &acc,
            &CampaignSpec {
                name: "Spring sale".into(),
                objective: Objective::Sales,
                status: DeliveryStatus::Paused,
                daily_budget_micros: None,
                start: Some(date!(2025 - 03 - 01)),
                end: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(campaign, "c1");
    let prospecting = meta
        .create_ad_set(
            &acc,
            &campaign,
            &ad_set("Prospecting", 50_000_000, BidStrategy::HighestValue),
        )
        .await
        .unwrap();
    let retargeting = meta
        .create_ad_set(
            &acc,
            &campaign,
            &ad_set(
                "Retargeting",
                30_259_999,
                BidStrategy::TargetRoas { bps: 25_000 },
            ),
        )
        .await
        .unwrap();
    assert_eq!((prospecting.as_str(), retargeting.as_str()), ("as1", "as2"));
    let mut creatives = Vec::new();
    for n in 1..=3 {
        creatives.push(meta.upload_creative(&acc, &creative(n)).await.unwrap());
    }
    assert_eq!(creatives, ["cr1", "cr2", "cr3"]);
    let first = meta
        .create_ads(
            &acc,
            &prospecting,
            &[ad("P1", &creatives[0]), ad("P2", &creatives[1])],
        )
        .await
        .unwrap();
    let second = meta
        .create_ads(&acc, &retargeting, &[ad("R1", &creatives[2])])
        .await
        .unwrap();
    assert_eq!(first, vec![Ok("ad-P1".to_owned()), Ok("ad-P2".to_owned())]);
    assert_eq!(second, vec![Ok("ad-R1".to_owned())]);

    // Exactly these requests, in this order, with exactly these parameters.
    let requests = seen(&server).await;
    assert_token_only_in_header(&requests);
    let ad_set_params = |name: &str, campaign: &str, budget: &str, bid: &[(&str, &str)]| {
        let mut p = vec![
            ("campaign_id", campaign.to_owned()),
            ("name", name.to_owned()),
            ("daily_budget", budget.to_owned()),
            ("billing_event", "IMPRESSIONS".to_owned()),
            ("optimization_goal", "VALUE".to_owned()),
            (
                "promoted_object",
                r#"{"pixel_id":"PX1","custom_event_type":"PURCHASE"}"#.to_owned(),
            ),
            (
                "targeting",
                r#"{"geo_locations":{"countries":["US","CA"]},"age_min":25,"age_max":54}"#
                    .to_owned(),
            ),
            // Midnight in New York: EST on 1 March, EDT on 1 April.
            ("start_time", "2025-03-01T00:00:00-0500".to_owned()),
            ("end_time", "2025-04-01T00:00:00-0400".to_owned()),
            ("status", "PAUSED".to_owned()),
        ];
        p.extend(bid.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let pairs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        params(&pairs)
    };
    let creative_params = |n: u32| {
        let story = json!({
            "page_id": "PAGE1",
            "link_data": {
                "link": "https://shop.example/spring",
                "name": format!("Headline {n}"),
                "message": format!("Primary text {n}"),
                "description": format!("Description {n}"),
                "call_to_action": {"type": "SHOP_NOW", "value": {"link": "https://shop.example/spring"}}
            }
        })
        .to_string();
        params(&[
            ("name", &format!("Creative {n}")),
            ("object_story_spec", &story),
        ])
    };
    let batch_params = |ads: &[(&str, &str, &str)]| {
        let items: Vec<Value> = ads
            .iter()
            .map(|(name, ad_set, creative)| {
                json!({
                    "method": "POST",
                    "relative_url": "v21.0/act_1001/ads",
                    "body": serde_urlencoded::to_string([
                        ("name", *name),
                        ("adset_id", *ad_set),
                        ("creative", &json!({"creative_id": creative}).to_string()),
                        ("status", "PAUSED"),
                    ]).unwrap(),
                })
            })
            .collect();
        params(&[
            ("batch", &Value::Array(items).to_string()),
            ("include_headers", "false"),
        ])
    };
    let expected: Vec<(&str, &str, _)> = vec![
        (
            "GET",
            "/v21.0/act_1001",
            params(&[("fields", "name,currency,timezone_name,account_status")]),
        ),
        (
            "POST",
            "/v21.0/act_1001/campaigns",
            params(&[
                ("name", "Spring sale"),
                ("objective", "OUTCOME_SALES"),
                ("status", "PAUSED"),
                ("special_ad_categories", "[]"),
                ("start_time", "2025-03-01T00:00:00-0500"),
            ]),
        ),
        (
            "POST",
            "/v21.0/act_1001/adsets",
            ad_set_params(
                "Prospecting",
                "c1",
                "5000",
                &[("bid_strategy", "LOWEST_COST_WITHOUT_CAP")],
            ),
        ),
        (
            "POST",
            "/v21.0/act_1001/adsets",
            // 30.259999 USD: 3025 cents, rounded down, never up.
            ad_set_params(
                "Retargeting",
                "c1",
                "3025",
                &[
                    ("bid_strategy", "LOWEST_COST_WITH_MIN_ROAS"),
                    ("bid_constraints", r#"{"roas_average_floor":25000}"#),
                ],
            ),
        ),
        ("POST", "/v21.0/act_1001/adcreatives", creative_params(1)),
        ("POST", "/v21.0/act_1001/adcreatives", creative_params(2)),
        ("POST", "/v21.0/act_1001/adcreatives", creative_params(3)),
        (
            "POST",
            "/v21.0/",
            batch_params(&[("P1", "as1", "cr1"), ("P2", "as1", "cr2")]),
        ),
        ("POST", "/v21.0/", batch_params(&[("R1", "as2", "cr3")])),
    ];
    assert_eq!(requests.len(), expected.len(), "{requests:#?}");
    for (i, (got, (verb, at, want))) in requests.iter().zip(&expected).enumerate() {
        assert_eq!(
            (got.method.as_str(), got.path.as_str()),
            (*verb, *at),
            "request {i}"
        );
        assert_eq!(&got.params, want, "request {i}: {verb} {at}");
    }
}

#[tokio::test]
async fn a_batch_item_meta_refuses_fails_alone() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"code": 200, "body": "{\"id\":\"ad-9\"}"},
            {"code": 400, "body": json!({"error": {
                "message": "Invalid parameter", "code": 100, "error_subcode": 1487079,
                "error_user_title": "Creative Not Found",
                "error_data": {"blame_field_specs": [["creative"]]}
            }}).to_string()},
            null
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let out = meta(&server)
        .create_ads(
            &account(),
            "as1",
            &[ad("A", "cr1"), ad("B", "missing"), ad("C", "cr3")],
        )
        .await
        .unwrap();
    assert_eq!(out[0], Ok("ad-9".to_owned()));
    assert!(
        matches!(&out[1], Err(kiki_platforms::PlatformError::InvalidRequest { field: Some(f), .. }) if f == "creative"),
        "{:?}",
        out[1]
    );
    assert_eq!(out[2].as_ref().unwrap_err().code(), "transient");
}

#[tokio::test]
async fn a_creative_without_a_page_is_refused_naming_the_setting() {
    let server = MockServer::start().await;
    let mut cfg = config(&server);
    cfg.page_id = None;
    let meta = kiki_meta_ads::MetaAds::new(outbound(1), cfg);
    let e = meta
        .upload_creative(&account(), &creative(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, kiki_platforms::PlatformError::InvalidRequest { field: Some(f), .. } if f == "meta.page_id"),
        "{e:?}"
    );
    assert!(seen(&server).await.is_empty(), "nothing was sent");
}
