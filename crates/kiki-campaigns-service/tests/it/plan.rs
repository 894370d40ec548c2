//! The plan endpoint: the rule planner from a goal, a landing page read
//! through the outbound client, and the language-model path against a local
//! OpenAI-compatible server (valid, repaired, refused, rate-limited).

use kiki_test_support::identity::{admin, error_fields};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::*;

const GOAL: &str = "Launch our new serum with $100k over 60 days, target ROI 3x, US women 25-44";

fn completion(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    }))
}

fn llm_section(server: &MockServer) -> Value {
    json!({"llm": {"base_url": format!("{}/v1", server.uri()), "model": "test-model", "api_key": "sk-test-secret-123456", "timeout_secs": 5}})
}

fn assumption<'a>(plan: &'a Value, field: &str) -> &'a Value {
    plan["assumptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["field"] == field)
        .unwrap_or_else(|| panic!("no assumption for {field}: {plan}"))
}

#[tokio::test]
async fn the_rule_planner_reads_a_goal_into_a_plan_that_can_be_stored() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@plan.test", "Plan Org").await;
    let c = boss.caller(&app);
    let (status, v) = post(&c, "/v1/campaigns/plan", &json!({"goal": GOAL})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["planner"]["kind"], "rules");
    let plan = &v["plan"];
    assert_eq!(plan["draft"]["total_budget"]["micros"], 100_000_000_000i64);
    assert_eq!(plan["draft"]["daily_budget"]["micros"], 1_666_660_000i64);
    assert_eq!(plan["duration_days"], 60);
    assert_eq!(plan["draft"]["target_roi"], 3.0);
    assert_eq!(plan["draft"]["industry"], "ecommerce");
    assert!(
        plan["ltv"]["source"]
            .as_str()
            .unwrap()
            .contains("industry prior"),
        "{}",
        plan["ltv"]
    );
    assert!(plan["margin_source"].as_str().unwrap().contains("100 %"));
    assert_eq!(
        assumption(plan, "draft.total_budget")["origin"]["kind"],
        "extracted"
    );
    assert_eq!(
        assumption(plan, "draft.daily_budget")["origin"]["kind"],
        "inferred"
    );
    // The brand is the organisation's name; the landing page is missing.
    assert_eq!(plan["draft"]["brand_name"], "Plan Org");
    assert_eq!(plan["missing"], json!(["landing_url"]));
    let mut draft = plan["draft"].clone();
    draft["landing_url"] = json!("https://shop.example/serum");
    let (status, stored) = post(&c, "/v1/campaigns", &draft).await;
    assert_eq!(status, 201, "{stored}");
    // Nothing to plan from.
    let (status, e) = post(&c, "/v1/campaigns/plan", &json!({})).await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["goal"]);
}

#[tokio::test]
async fn a_landing_page_is_read_and_a_private_address_is_refused() {
    let site = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/serum"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string(
                    r#"<html lang="en"><head><title>Vitamin C Serum | Lumière</title>
            <meta property="og:site_name" content="Lumière">
            <meta name="description" content="A daily serum for brighter skin."></head>
            <body><h1>Vitamin C Serum</h1></body></html>"#,
                ),
        )
        .mount(&site)
        .await;
    let url = format!("{}/serum", site.uri());

    // By default the planner reads public pages only: 127.0.0.1 is refused.
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@page.test", "Page Org").await;
    let (status, e) = post(
        &boss.caller(&app),
        "/v1/campaigns/plan",
        &json!({"url": url}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["url"]);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("private or local"),
        "{e}"
    );

    let (app, _clock) = spawn_with(Some(json!({"allow_private_pages": true}))).await;
    let boss = admin(&app, "owner@page2.test", "Page Org").await;
    let c = boss.caller(&app);
    let (status, v) = post(
        &c,
        "/v1/campaigns/plan",
        &json!({"url": url, "goal": "$3,000 over 30 days"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["page"]["facts"]["brand"], "Lumière", "{}", v["page"]);
    assert_eq!(v["page"]["status"], 200);
    assert_eq!(v["plan"]["draft"]["brand_name"], "Lumière");
    assert_eq!(v["plan"]["draft"]["landing_url"], url.as_str());
    assert_eq!(v["plan"]["missing"], json!([]));
    let (status, e) = post(
        &c,
        "/v1/campaigns/plan",
        &json!({"url": "ftp://files.example/x"}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
}

#[tokio::test]
async fn the_language_model_proposes_and_a_malformed_answer_is_repaired_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(
            "Here you go: {\"product\": \"serum\", \"daily_budget_major\": 500",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(
            r#"{"product": "Vitamin C serum", "daily_budget_major": 500, "duration_days": 30, "target_roi": 2.5, "countries": ["FR"], "industry": "ecommerce", "kind": "shopping", "channels": ["meta", "google"]}"#,
        ))
        .mount(&server)
        .await;
    let (app, _clock) = spawn_with(Some(llm_section(&server))).await;
    let boss = admin(&app, "owner@llm.test", "LLM Org").await;
    let c = boss.caller(&app);
    let (status, v) = post(
        &c,
        "/v1/campaigns/plan",
        &json!({"goal": "Sell our serum in France"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["planner"]["kind"], "llm", "{}", v["planner"]);
    assert_eq!(v["planner"]["model"], "test-model");
    assert_eq!(v["planner"]["repaired"], true);
    assert_eq!(v["planner"]["usage"]["total_tokens"], 240);
    let plan = &v["plan"];
    assert_eq!(plan["draft"]["daily_budget"]["micros"], 500_000_000);
    assert_eq!(plan["duration_days"], 30);
    assert_eq!(
        assumption(plan, "draft.daily_budget")["origin"],
        json!({"kind": "inferred", "from": "language model test-model"})
    );
    // The transcript is kept with the audit log, the key nowhere in it.
    let (_, audit) = get(&c, "/v1/audit?action=campaigns.plan.asked_model").await;
    let entry = audit["items"][0].to_string();
    assert!(entry.contains("transcript"), "{entry}");
    assert!(!entry.contains("sk-test-secret"), "{entry}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let auth = requests[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(auth, "Bearer sk-test-secret-123456");
}

#[tokio::test]
async fn an_invalid_or_refused_model_answer_falls_back_to_the_rule_planner() {
    // Schema-invalid twice: the rule planner answers and says why.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(
            r#"{"duration_days": 9000, "kind": "billboards"}"#,
        ))
        .mount(&server)
        .await;
    let (app, _clock) = spawn_with(Some(llm_section(&server))).await;
    let boss = admin(&app, "owner@fallback.test", "Fallback Org").await;
    let c = boss.caller(&app);
    let (status, v) = post(&c, "/v1/campaigns/plan", &json!({"goal": GOAL})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["planner"]["kind"], "rules");
    assert!(
        v["planner"]["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("test-model"),
        "{}",
        v["planner"]
    );
    assert_eq!(v["plan"]["duration_days"], 60);

    // Rate-limited: the rule planner answers.
    let limited = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .mount(&limited)
        .await;
    let (app, _clock) = spawn_with(Some(llm_section(&limited))).await;
    let boss = admin(&app, "owner@limited.test", "Limited Org").await;
    let (status, v) = post(
        &boss.caller(&app),
        "/v1/campaigns/plan",
        &json!({"goal": GOAL}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["planner"]["kind"], "rules");
    assert!(v["planner"]["fallback_reason"].is_string());
}

#[tokio::test]
async fn creatives_come_from_the_model_when_one_is_configured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(
            r#"{"variants": [{"headlines": ["Lumière Vitamin C serum for brighter mornings"], "descriptions": ["Daily care for brighter skin."], "primary_text": "Meet the serum our customers reorder."}]}"#,
        ))
        .mount(&server)
        .await;
    let (app, _clock) = spawn_with(Some(llm_section(&server))).await;
    let boss = admin(&app, "owner@copy.test", "Copy Org").await;
    let c = boss.caller(&app);
    let (status, v) = post(
        &c,
        "/v1/creatives/generate",
        &json!({"channel": "google", "count": 1, "brief": {
            "brand": "Lumière", "product": "Vitamin C serum", "key_message": "Brighter skin",
            "audience": "women 25-44", "industry": "ecommerce", "landing_url": "https://shop.example/serum"}}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v[0]["source"], "llm");
    let heads = v[0]["copy"]["headlines"].as_array().unwrap();
    assert!(heads.len() >= 3, "topped up to Google's minimum: {heads:?}");
    assert!(
        heads
            .iter()
            .all(|h| h.as_str().unwrap().chars().count() <= 30),
        "{heads:?}"
    );
    assert_eq!(v[0]["review"]["limits"], json!([]));
}

#[tokio::test]
async fn an_image_comes_from_the_images_endpoint_when_one_is_configured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "created": 1,
            "data": [{"url": "https://images.example/serum.png", "revised_prompt": "A serum bottle"}]
        })))
        .mount(&server)
        .await;
    let mut section = llm_section(&server);
    section["llm"]["image_model"] = json!("test-image-model");
    let (app, _clock) = spawn_with(Some(section)).await;
    let boss = admin(&app, "owner@image.test", "Image Org").await;
    let c = boss.caller(&app);
    let (status, cr) = post(
        &c,
        "/v1/creatives",
        &json!({"channel": "meta", "copy": {"headlines": ["Image Org serum"], "primary_text": "Daily care."}}),
    )
    .await;
    assert_eq!(status, 201, "{cr}");
    let id = cr["id"].as_str().unwrap();
    let (status, v) = post(
        &c,
        &format!("/v1/creatives/{id}/image"),
        &json!({"size": "1024x1536"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["media_url"], "https://images.example/serum.png");
    let requests = server.received_requests().await.unwrap();
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["model"], "test-image-model");
    assert_eq!(sent["size"], "1024x1536");

    // Without an image model: 409 and the prompt stays for the user's tools.
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@noimage.test", "No Image Org").await;
    let c = boss.caller(&app);
    let (_, cr) = post(
        &c,
        "/v1/creatives",
        &json!({"channel": "meta", "copy": {"headlines": ["No Image Org serum"], "primary_text": "Daily care."}}),
    )
    .await;
    let id = cr["id"].as_str().unwrap();
    let (status, e) = post(&c, &format!("/v1/creatives/{id}/image"), &json!({})).await;
    assert_eq!(status, 409, "{e}");
}

/// The stored (encrypted) key column of the organisation's model.
async fn stored_key(app: &kiki_test_support::TestApp) -> Option<String> {
    use sea_query::{Alias, Query};
    let stmt = Query::select()
        .column(Alias::new("api_key"))
        .from(Alias::new("campaign_llm_settings"))
        .to_owned();
    let row: Option<(Option<String>,)> = app.state.db.fetch_optional(&stmt).await.unwrap();
    row.and_then(|r| r.0)
}

#[tokio::test]
async fn an_organisation_brings_its_own_model_with_its_key_encrypted_at_rest() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(
            r#"{"product": "serum", "daily_budget_major": 200, "duration_days": 20}"#,
        ))
        .mount(&server)
        .await;
    // The fake model listens on loopback: this deployment allows private addresses.
    let (app, _clock) = spawn_with(Some(json!({"allow_private_pages": true}))).await;
    let boss = admin(&app, "owner@ownmodel.test", "Own Model Org").await;
    let c = boss.caller(&app);
    let (status, v) = get(&c, "/v1/campaign-settings/llm").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["source"], "none");

    let body = json!({"base_url": format!("{}/v1/", server.uri()), "model": "org-model",
                      "api_key": "sk-org-key-987654"});
    let (status, v) = put(&c, "/v1/campaign-settings/llm", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["source"], "organisation");
    assert_eq!(v["api_key_set"], true);
    assert_eq!(v["base_url"], format!("{}/v1", server.uri()));
    assert!(!v.to_string().contains("sk-org-key"), "{v}");
    let at_rest = stored_key(&app).await.expect("a stored key");
    assert!(at_rest.starts_with("v1:"), "encrypted: {at_rest}");
    assert!(!at_rest.contains("sk-org-key"));

    let (status, v) = post(&c, "/v1/campaigns/plan", &json!({"goal": "Sell our serum"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["planner"]["kind"], "llm", "{}", v["planner"]);
    assert_eq!(v["planner"]["model"], "org-model");
    // Rewritten without a key: the stored one stays and is still sent.
    let (status, v) = put(
        &c,
        "/v1/campaign-settings/llm",
        &json!({"base_url": format!("{}/v1", server.uri()), "model": "org-model-2"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["api_key_set"], true);
    let (_, v) = post(&c, "/v1/campaigns/plan", &json!({"goal": "Sell our serum"})).await;
    assert_eq!(v["planner"]["model"], "org-model-2");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        let auth = r.headers.get("authorization").unwrap().to_str().unwrap();
        assert_eq!(auth, "Bearer sk-org-key-987654");
    }
    let (_, audit) = get(&c, "/v1/audit?action=campaigns.llm_settings.set").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(2));
    assert!(!audit.to_string().contains("sk-org-key"), "{audit}");

    // Bad input names the field.
    let (status, e) = put(
        &c,
        "/v1/campaign-settings/llm",
        &json!({"base_url": "ftp://models.example", "model": " "}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    let fields: Vec<&str> = e["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["model"], "{e}");

    let r = c
        .send(reqwest::Method::DELETE, "/v1/campaign-settings/llm", None)
        .await;
    assert_eq!(r.status(), 204);
    let (_, v) = get(&c, "/v1/campaign-settings/llm").await;
    assert_eq!(v["source"], "none");
    assert_eq!(stored_key(&app).await, None);
    let r = c
        .send(reqwest::Method::DELETE, "/v1/campaign-settings/llm", None)
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn an_organisation_model_on_the_servers_own_network_is_refused() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@privatemodel.test", "Private Model Org").await;
    let c = boss.caller(&app);
    for url in [
        "http://127.0.0.1:11434/v1",
        "http://10.0.0.5/v1",
        "https://user:pw@api.example/v1",
    ] {
        let (status, e) = put(
            &c,
            "/v1/campaign-settings/llm",
            &json!({"base_url": url, "model": "m"}),
        )
        .await;
        assert_eq!(status, 422, "{url}: {e}");
        assert_eq!(
            e["error"]["details"]["fields"][0]["field"], "base_url",
            "{e}"
        );
    }
    let (_, v) = get(&c, "/v1/campaign-settings/llm").await;
    assert_eq!(v["source"], "none");
}

/// The model's key rotated in Vault reaches the planner through the live
/// configuration without a restart.
#[tokio::test]
async fn a_rotated_model_key_is_used_without_a_restart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(
            r#"{"product": "serum", "daily_budget_major": 50, "duration_days": 30, "target_roi": 2.0, "countries": ["FR"], "industry": "ecommerce", "kind": "shopping", "channels": ["google"]}"#,
        ))
        .mount(&server)
        .await;
    let (app, _clock) = spawn_with(Some(llm_section(&server))).await;
    let boss = admin(&app, "owner@rotate.test", "Rotate Org").await;
    let c = boss.caller(&app);
    let live = app
        .state
        .services
        .get::<kiki_server::vault::LiveConfig>()
        .expect("the live configuration is shared");
    let mut rotated = (*live.current()).clone();
    let mut section = llm_section(&server);
    section["llm"]["api_key"] = json!("sk-rotated-secret-654321");
    rotated.set_section("campaigns", section);
    live.publish(rotated);

    // The service applies the change from its own task; ask until it has.
    let mut last = String::new();
    for _ in 0..200 {
        let (status, v) = post(&c, "/v1/campaigns/plan", &json!({"goal": "Sell serum"})).await;
        assert_eq!(status, 200, "{v}");
        let requests = server.received_requests().await.unwrap();
        last = requests
            .last()
            .and_then(|r| r.headers.get("authorization"))
            .map(|h| h.to_str().unwrap().to_owned())
            .unwrap_or_default();
        if last == "Bearer sk-rotated-secret-654321" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(last, "Bearer sk-rotated-secret-654321");
}
