//! The approvals queue: pending requests with the budget asked and the
//! twin's verdict, decided by form POST with a comment; four-eyes (the
//! requester is offered no button and refused with a page that says why);
//! roles without `budget.approve`; decided requests below.

use kiki_test_support::identity::{admin, json, member};
use serde_json::json;

use crate::campaigns::{id_of, submitted};
use crate::security::assert_no_inline_code;
use crate::*;

#[tokio::test]
async fn a_pending_request_is_decided_by_another_member_under_four_eyes() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "queue@shop.example", "Queue Shop").await;
    let c = boss.caller(&app);
    let (status, v) = json(
        c.send(
            reqwest::Method::PUT,
            "/v1/campaign-settings",
            Some(&json!({"approval_threshold": {"micros": 100_000_000, "currency": "USD"}, "four_eyes": true})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;

    let empty = b.get("/app/approvals").await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert!(empty.body.contains("Nothing waits for approval."));
    assert!(empty.body.contains("No request has been decided yet."));
    assert!(
        empty
            .body
            .contains("<a href=\"/app/approvals?range=30d\" aria-current=\"page\">Approvals</a>")
    );

    let campaign = submitted(&c, "Needs a yes").await;
    let id = id_of(&campaign);
    let (_, list) = json(c.get("/v1/approvals?status=pending").await).await;
    let approval = list["items"][0]["id"].as_str().unwrap().to_owned();

    // The requester: the request, the budget, the twin's verdict, no buttons.
    let page = b.get("/app/approvals").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/approvals", &page.body);
    let t = text(&page.body);
    assert!(t.contains("Waiting for a decision (1)"), "{t}");
    assert!(t.contains("Needs a yes Launch"), "{t}");
    assert!(t.contains("Budget asked $100.00 a day"), "{t}");
    assert!(t.contains("The twin approves"), "{t}");
    assert!(t.contains("Asked by you"), "{t}");
    assert!(page.body.contains("four eyes"));
    assert!(!page.body.contains("value=\"approve\""));
    assert!(page.body.contains("You asked for this"));
    // And refused with a page that says why.
    let csrf = page.input("csrf");
    let path = format!("/app/approvals/{approval}/decision");
    let refused = b
        .post(&path, &[("csrf", &csrf), ("decision", "approve")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("four eyes"), "{}", refused.body);
    let (_, still) = json(c.get(&format!("/v1/campaigns/{id}")).await).await;
    assert_eq!(still["status"], "pending_approval");

    // A viewer sees the queue without buttons and is refused.
    let viewer = member(&app, &c, "viewer", "viewer@queue.example").await;
    let mut v = Browser::new(&app);
    v.sign_in(&viewer.email).await;
    let seen = v.get("/app/approvals").await;
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains("Needs a yes"));
    assert!(!seen.body.contains("value=\"approve\""));
    assert!(seen.body.contains("Your role cannot approve budgets."));
    let vcsrf = seen.input("csrf");
    let no = v
        .post(&path, &[("csrf", &vcsrf), ("decision", "approve")])
        .await;
    assert_eq!(no.status, 403);
    assert!(no.body.contains("budget.approve"), "{}", no.body);

    // Another manager decides, with a comment; a missing token first.
    let manager = member(&app, &c, "manager", "manager@queue.example").await;
    let mut m = Browser::new(&app);
    m.sign_in(&manager.email).await;
    let page = m.get("/app/approvals").await;
    assert!(page.body.contains("value=\"approve\""), "{}", page.body);
    assert!(text(&page.body).contains("Asked by user:"));
    let mcsrf = page.input("csrf");
    let no_token = m
        .post(&path, &[("decision", "approve"), ("comment", "x")])
        .await;
    assert_eq!(no_token.status, 403);
    let done = m
        .post(
            &path,
            &[
                ("csrf", &mcsrf),
                ("decision", "approve"),
                ("comment", "Budget agreed with finance."),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/app/approvals?done=approved");
    let (_, now) = json(c.get(&format!("/v1/campaigns/{id}")).await).await;
    assert_eq!(now["status"], "approved");
    let after = m.get(done.location()).await;
    let t = text(&after.body);
    assert!(t.contains("The request is approved."), "{t}");
    assert!(t.contains("Nothing waits for approval."));
    assert!(
        t.contains("Needs a yes Launch approved $100.00 a day you"),
        "{t}"
    );
    assert!(t.contains("Budget agreed with finance."));
    // Deciding again is a conflict.
    let again = m
        .post(&path, &[("csrf", &mcsrf), ("decision", "reject")])
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
}

#[tokio::test]
async fn without_four_eyes_the_requester_rejects_and_decided_requests_come_newest_first() {
    let (app, _, clock) = spawn().await;
    let boss = admin(&app, "solo@shop.example", "Solo Shop").await;
    let c = boss.caller(&app);
    let first = id_of(&submitted(&c, "First ask").await);
    let second = id_of(&submitted(&c, "Second ask").await);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get("/app/approvals").await;
    assert!(text(&page.body).contains("Waiting for a decision (2)"));
    let csrf = page.input("csrf");
    let (_, list) = json(c.get("/v1/approvals?status=pending").await).await;
    let of = |campaign: uuid::Uuid| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["campaign_id"] == campaign.to_string())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (campaign, decision) in [(second, "reject"), (first, "approve")] {
        let done = b
            .post(
                &format!("/app/approvals/{}/decision", of(campaign)),
                &[("csrf", &csrf), ("decision", decision)],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        clock.advance(time::Duration::minutes(5));
    }
    let page = b.get("/app/approvals?done=rejected").await;
    assert!(page.body.contains("The request is rejected."));
    let t = text(&page.body);
    // The later decision (approving the first) comes first.
    let a = t.find("First ask Launch approved").expect("the approval");
    let r = t.find("Second ask Launch rejected").expect("the rejection");
    assert!(a < r, "{t}");
    let (_, v) = json(c.get(&format!("/v1/campaigns/{second}")).await).await;
    assert_eq!(v["status"], "rejected");
    // A decision the form does not know is refused.
    let bad = b
        .post(
            &format!("/app/approvals/{}/decision", uuid::Uuid::new_v4()),
            &[("csrf", &csrf), ("decision", "maybe")],
        )
        .await;
    assert_eq!(bad.status, 400);
}
