//! `kiki serve --roles …`: the OpenRTB endpoints only under the bidder role.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_bidder_only_process_answers_openrtb_and_has_no_rest_api() {
    let app = app_with(json!({}), "bidder").await;
    let r = bid(&app, fixture("banner_site_2_6.json")).await;
    assert_eq!(r.status(), 204, "no line items: a no-bid");
    assert_eq!(r.headers()["x-openrtb-version"], "2.6");
    assert_eq!(app.get("/v1/bidder/line-items").await.status(), 404);
}

#[tokio::test]
async fn an_api_only_process_has_no_openrtb_endpoints() {
    let app = app_with(json!({}), "api").await;
    assert_eq!(
        bid(&app, fixture("banner_site_2_6.json")).await.status(),
        404
    );
    assert_eq!(app.get("/v1/bidder/line-items").await.status(), 401);
}
