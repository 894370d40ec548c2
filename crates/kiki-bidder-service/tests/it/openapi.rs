//! The bidder's part of the OpenAPI document: real request schemas with
//! their constraints and examples, and every status a route can answer.

use serde_json::{Value, json};

use crate::support::*;

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "schema {name} missing");
    s
}

fn body_ref(op: &Value) -> String {
    op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("no request body schema: {op}"))
        .to_owned()
}

#[tokio::test]
async fn every_bidder_request_body_has_its_schema_constraints_and_example() {
    let app = app_with(json!({}), "all").await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/v1/bidder/line-items", "post"),
        ("/v1/bidder/line-items/{id}", "put"),
    ] {
        assert_eq!(
            body_ref(&paths[path][method]),
            "#/components/schemas/LineItemBody",
            "{method} {path}"
        );
    }
    assert_eq!(
        body_ref(&paths["/v1/bidder/segments"]["put"]),
        "#/components/schemas/SegmentsReplace"
    );
    let li = schema(&doc, "LineItemBody");
    let required: Vec<&str> = li["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in ["flight", "budget", "creatives", "ltv_baseline"] {
        assert!(required.contains(&f), "{f} not required: {required:?}");
    }
    assert!(!required.contains(&"campaign_id") && li["properties"]["id"].is_null());
    assert_eq!(li["properties"]["creatives"]["minItems"], 1);
    assert!(
        li["example"]["creatives"][0]["markup"]
            .as_str()
            .unwrap()
            .contains("${KIKI_CLICK_URL}")
    );
    let margin = schema(&doc, "MarginSettings");
    assert_eq!(margin["properties"]["bid_share"]["maximum"], 1.0);
    assert_eq!(margin["properties"]["bid_share"]["exclusiveMinimum"], 0.0);
    let daypart = schema(&doc, "Daypart");
    assert_eq!(daypart["properties"]["end_hour"]["maximum"], 24);
    let segs = schema(&doc, "SegmentsReplace");
    assert_eq!(segs["properties"]["segments"]["maxItems"], 10_000);
    assert!(segs["example"]["segments"].is_array());
    // The bidder's segment is `BidderSegment`: the LTV context's
    // `SegmentValue` (its aggregates) keeps its own name.
    let segment = schema(&doc, "BidderSegment");
    assert_eq!(segment["properties"]["segment"]["maxLength"], 200);
    assert_eq!(
        segs["properties"]["segments"]["items"]["$ref"],
        "#/components/schemas/BidderSegment"
    );
    // The example is a line item the API takes.
    let o = owner(&app).await;
    let mut example = li["example"].clone();
    example["flight"]["end"] = Value::Null;
    let (status, body) = kiki_test_support::identity::json(
        o.caller(&app).post("/v1/bidder/line-items", &example).await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn every_bidder_route_declares_the_statuses_it_can_answer() {
    let app = app_with(json!({}), "all").await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/bidder") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            seen += 1;
            let responses = op["responses"].as_object().unwrap();
            let mut want = vec!["401", "403", "429"];
            if op["requestBody"].is_object() {
                want.extend(["400", "413", "415", "422"]);
            }
            if path.contains("{id}") {
                want.extend(["400", "404"]);
            }
            for status in want {
                let r = responses
                    .get(status)
                    .unwrap_or_else(|| panic!("{method} {path} does not declare {status}"));
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorEnvelope",
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert_eq!(seen, 10, "every bidder operation was checked");
}

#[tokio::test]
async fn the_openrtb_endpoints_are_documented_with_the_exchange_key_scheme() {
    let app = app_with(json!({}), "all").await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let scheme = &doc["components"]["securitySchemes"]["exchange_key"];
    assert_eq!(scheme["in"], "header", "{scheme}");
    assert_eq!(scheme["name"], "x-kiki-exchange-key");
    for (path, method) in [
        ("/openrtb2/bid", "post"),
        ("/openrtb2/win", "get"),
        ("/openrtb2/billing", "get"),
        ("/openrtb2/loss", "get"),
        ("/openrtb2/imp", "get"),
        ("/openrtb2/click", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(op["responses"]["429"].is_object(), "{method} {path}");
    }
    let bid = &doc["paths"]["/openrtb2/bid"]["post"];
    assert_eq!(bid["security"], json!([{"exchange_key": []}]));
    assert!(bid["requestBody"]["content"]["application/json"]["example"]["imp"].is_array());
    assert!(bid["responses"]["401"].is_object());
}
