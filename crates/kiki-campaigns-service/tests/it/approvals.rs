//! Approvals: four-eyes, the gate override, rejections and revisions,
//! comments, budget raises above the threshold.

use kiki_test_support::identity::{admin, error_fields, latest_mail, member};
use serde_json::json;

use crate::*;

#[tokio::test]
async fn four_eyes_refuses_the_requester_and_accepts_another_approver() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@eyes.test", "Eyes Org").await;
    let c = boss.caller(&app);
    let manager = member(&app, &c, "manager", "manager@eyes.test").await;
    let m = manager.caller(&app);
    let viewer = member(&app, &c, "viewer", "viewer@eyes.test").await;
    let v = viewer.caller(&app);

    let (status, _) = put(
        &c,
        "/v1/campaign-settings",
        &json!({"approval_threshold": {"amount": "50", "currency": "USD"}, "four_eyes": true}),
    )
    .await;
    assert_eq!(status, 200);
    let id = create(&m, &good_campaign("Eyes")).await;
    let (status, body) = act(&m, &id, "submit").await;
    assert_eq!(status, 200, "{body}");
    let approval = pending_approval(&c, &id).await;
    // The approvers are told; under four-eyes not the requester, and never
    // a member without budget.approve.
    let (subject, text) = latest_mail(&app, "owner@eyes.test")
        .await
        .expect("a mail to the owner");
    assert_eq!(subject, "A campaign waits for your approval");
    assert!(text.contains("\"Eyes\""), "{text}");
    assert!(text.contains(&approval), "{text}");
    assert!(latest_mail(&app, "manager@eyes.test").await.is_none());
    assert!(latest_mail(&app, "viewer@eyes.test").await.is_none());

    // The requester may not approve their own request.
    let (status, e) = post(
        &m,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 403, "{e}");
    // A viewer has no budget.approve.
    let (status, _) = post(
        &v,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 403);
    // A comment from anyone who can read.
    let (status, a) = post(
        &v,
        &format!("/v1/approvals/{approval}/comments"),
        &json!({"body": "Looks fine to me."}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["comments"][0]["body"], "Looks fine to me.");
    let (status, e) = post(
        &v,
        &format!("/v1/approvals/{approval}/comments"),
        &json!({"body": "   "}),
    )
    .await;
    assert_eq!(status, 422, "{e}");

    // Another member approves.
    let (status, a) = post(
        &c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["decided_by"], format!("user:{}", boss.user_id));
    let (_, camp) = get(&c, &format!("/v1/campaigns/{id}")).await;
    assert_eq!(camp["status"], "approved");
    // Decided once.
    let (status, _) = post(
        &c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "reject"}),
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn a_launch_the_gate_refused_is_approved_only_with_an_override_reason() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@override.test", "Override Org").await;
    let c = boss.caller(&app);
    let id = create(&c, &bad_campaign("Risky")).await;
    let (status, v) = act(&c, &id, "submit").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "pending_approval");
    assert_eq!(v["gate"]["approved"], false, "{v}");
    let approval = pending_approval(&c, &id).await;
    let (status, e) = post(
        &c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["override_reason"]);
    let (status, a) = post(
        &c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve", "override_reason": "Brand launch: awareness is the goal."}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    // The override is the twin's, recorded on its simulation.
    let sim = v["gate"]["simulation_id"].as_str().unwrap();
    let (_, s) = get(&c, &format!("/v1/simulations/{sim}")).await;
    assert_eq!(s["approval"]["approved"], true, "{s}");
    assert_eq!(s["approval"]["decided_by_kind"], "user");
    let (_, d) = get(
        &c,
        &format!("/v1/decisions?kind=launch_gate_override&subject_id={sim}"),
    )
    .await;
    assert_eq!(d["items"].as_array().map(Vec::len), Some(1), "{d}");
}

#[tokio::test]
async fn a_rejected_launch_goes_back_to_draft_through_revise() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@reject.test", "Reject Org").await;
    let c = boss.caller(&app);
    let id = create(&c, &good_campaign("No")).await;
    act(&c, &id, "submit").await;
    let approval = pending_approval(&c, &id).await;
    let (status, a) = post(
        &c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "reject", "comment": "Not this quarter."}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["status"], "rejected");
    assert_eq!(a["decision_comment"], "Not this quarter.");
    let (_, v) = get(&c, &format!("/v1/campaigns/{id}")).await;
    assert_eq!(v["status"], "rejected");
    let (status, v) = act(&c, &id, "revise").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "draft");
    // Withdrawing a submission withdraws its approval.
    act(&c, &id, "submit").await;
    let again = pending_approval(&c, &id).await;
    let (status, _) = act(&c, &id, "withdraw").await;
    assert_eq!(status, 200);
    let (_, a) = get(&c, &format!("/v1/approvals/{again}")).await;
    assert_eq!(a["status"], "withdrawn");
    // approve/reject are not campaign actions.
    act(&c, &id, "submit").await;
    let (status, e) = act(&c, &id, "approve").await;
    assert_eq!(status, 409, "{e}");
}

#[tokio::test]
async fn a_budget_raise_above_the_threshold_waits_for_approval() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@budget.test", "Budget Org").await;
    let c = boss.caller(&app);
    let (status, _) = put(
        &c,
        "/v1/campaign-settings",
        &json!({"approval_threshold": {"micros": 50_000_000, "currency": "USD"}}),
    )
    .await;
    assert_eq!(status, 200);
    let id = live(&c, "Budget").await;

    // A small raise applies now.
    let (status, v) = post(
        &c,
        &format!("/v1/campaigns/{id}/budget"),
        &json!({"daily_budget": {"micros": 140_000_000, "currency": "USD"}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["applied"], true);
    assert_eq!(
        v["campaign"]["ad_sets"][0]["daily_budget"]["micros"],
        98_000_000
    );

    // A large one waits.
    let (status, v) = post(
        &c,
        &format!("/v1/campaigns/{id}/budget"),
        &json!({"daily_budget": {"micros": 400_000_000, "currency": "USD"}, "reason": "Sales are strong."}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["applied"], false);
    assert_eq!(
        v["campaign"]["draft"]["daily_budget"]["micros"],
        140_000_000
    );
    assert_eq!(v["approval"]["kind"], "budget_increase");
    assert_eq!(v["approval"]["daily_budget"]["micros"], 400_000_000);
    let approval = v["approval"]["id"].as_str().unwrap().to_owned();
    let (_, text) = latest_mail(&app, "owner@budget.test")
        .await
        .expect("a mail to the approver");
    assert!(
        text.contains(
            "raising the daily budget of the campaign \"Budget\" from $140.00 to $400.00. The raise of $260.00 a day is above the approval threshold of $50.00."
        ),
        "{text}"
    );
    let (status, _) = post(
        &c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, camp) = get(&c, &format!("/v1/campaigns/{id}")).await;
    assert_eq!(camp["draft"]["daily_budget"]["micros"], 400_000_000);
    assert_eq!(camp["ad_sets"][1]["daily_budget"]["micros"], 120_000_000);
    assert_eq!(camp["status"], "active");

    // Another currency is named.
    let (status, e) = post(
        &c,
        &format!("/v1/campaigns/{id}/budget"),
        &json!({"daily_budget": {"micros": 1, "currency": "EUR"}}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["daily_budget.currency"]);

    // Settings in another currency than the campaign's cannot be compared
    // without an exchange rate: however high, a raise waits, and the
    // approval says why; a cut still applies.
    let (status, body) = put(
        &c,
        "/v1/campaign-settings",
        &json!({"approval_threshold": {"amount": "100000", "currency": "EUR"}, "max_daily_budget": {"amount": "200000", "currency": "EUR"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, v) = post(
        &c,
        &format!("/v1/campaigns/{id}/budget"),
        &json!({"daily_budget": {"amount": "401", "currency": "USD"}}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let why = v["approval"]["comments"][0]["body"].as_str().unwrap();
    assert_eq!(
        why,
        "The organisation's cap of €200,000.00 a day is in EUR, the campaign is in USD, and there is no exchange rate to compare them, so the new daily budget of $401.00 could not be checked against the cap. The approval threshold of €100,000.00 is in EUR, the campaign is in USD, and there is no exchange rate to compare them, so every raise waits for approval.",
        "{v}"
    );
    assert_eq!(v["approval"]["comments"][0]["author"], "system:campaigns");
    let (status, v) = post(
        &c,
        &format!("/v1/campaigns/{id}/budget"),
        &json!({"daily_budget": {"amount": "300", "currency": "USD"}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["applied"], true);
}

#[tokio::test]
async fn settings_amounts_are_money_in_one_currency() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@money.test", "Money Org").await;
    let c = boss.caller(&app);

    // Before any are saved: the `[campaigns]` threshold in the
    // organisation's reporting currency.
    let (_, s) = get(&c, "/v1/campaign-settings").await;
    assert_eq!(
        s["approval_threshold"],
        json!({"micros": 100_000_000, "currency": "USD"}),
        "{s}"
    );
    assert_eq!(s["max_daily_budget"], serde_json::Value::Null, "{s}");
    let (status, o) = kiki_test_support::identity::json(
        c.patch(
            &format!("/v1/organisations/{}", boss.org_id),
            &json!({"reporting_currency": "EUR"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{o}");
    let (_, s) = get(&c, "/v1/campaign-settings").await;
    assert_eq!(s["approval_threshold"]["currency"], "EUR", "{s}");

    // Saved amounts keep their currency; the cap shares the threshold's.
    let (status, s) = put(
        &c,
        "/v1/campaign-settings",
        &json!({"approval_threshold": {"amount": "75.5", "currency": "GBP"}, "max_daily_budget": {"micros": 900_000_000, "currency": "GBP"}}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (
            s["approval_threshold"].clone(),
            s["max_daily_budget"].clone()
        ),
        (
            json!({"micros": 75_500_000, "currency": "GBP"}),
            json!({"micros": 900_000_000, "currency": "GBP"})
        )
    );
    for (body, field) in [
        (
            json!({"approval_threshold": {"amount": "75", "currency": "GBP"}, "max_daily_budget": {"amount": "900", "currency": "USD"}}),
            "max_daily_budget.currency",
        ),
        (
            json!({"approval_threshold": {"amount": "75", "micros": 75_000_000, "currency": "GBP"}}),
            "approval_threshold",
        ),
        (
            json!({"approval_threshold": {"micros": -1, "currency": "GBP"}}),
            "approval_threshold",
        ),
        (
            json!({"approval_threshold": {"amount": "75", "currency": "GBP"}, "max_daily_budget": {"micros": 0, "currency": "GBP"}}),
            "max_daily_budget",
        ),
    ] {
        let (status, e) = put(&c, "/v1/campaign-settings", &body).await;
        assert_eq!(status, 422, "{body}: {e}");
        assert!(
            error_fields(&e).iter().any(|f| f.starts_with(field)),
            "{field} in {e}"
        );
    }
    // The old shape is refused, naming its field.
    let (status, e) = put(
        &c,
        "/v1/campaign-settings",
        &json!({"approval_threshold_micros": 50_000_000}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert!(e.to_string().contains("approval_threshold"), "{e}");
    let (_, a) = get(&c, "/v1/audit?action=campaigns.settings.updated").await;
    assert_eq!(
        a["items"][0]["details"]["max_daily_budget"],
        json!({"micros": 900_000_000, "currency": "GBP"}),
        "{a}"
    );
}
