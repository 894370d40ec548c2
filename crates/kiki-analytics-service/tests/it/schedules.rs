//! Scheduled reports: saved with their recipients checked, taken by the
//! sweep when due (once, however many sweeps run), sent to each recipient
//! as their own copy within their own reach, skipped with a reason when a
//! recipient may no longer receive it; "send now"; tenant isolation,
//! permissions, field errors and the audit trail.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use kiki_analytics_service::AnalyticsModule;
use kiki_core::TestClock;
use kiki_test_support::identity::{Caller, PASSWORD, client_org, identity_app, member, sign_in};
use serde_json::{Value, json};
use time::Duration;

use crate::*;

/// Polls a schedule until its last run is the one at `run_at`.
async fn ran(c: &Caller<'_>, id: &str, run_at: &str) -> Value {
    for _ in 0..1200 {
        let (status, v) = get(c, &format!("/v1/analytics/schedules/{id}")).await;
        assert_eq!(status, 200, "{v}");
        if v["last_run"]["run_at"] == run_at {
            return v;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("schedule {id} did not run at {run_at} within a minute");
}

async fn mails_to(app: &kiki_test_support::TestApp, to: &str) -> Vec<kiki_notify::OutboxMail> {
    app.state
        .platform
        .mail
        .latest_to(to, 10)
        .await
        .expect("the outbox reads")
        .into_iter()
        .filter(|m| m.kind == "analytics_report")
        .collect()
}

#[tokio::test]
async fn a_weekly_report_is_sent_once_to_each_recipient_within_their_reach() {
    // Sunday 1 March 2026, 23:30 UTC.
    let clock = Arc::new(TestClock::at(NOW));
    let app = identity_app()
        .clock(clock.clone())
        .module(Arc::new(AnalyticsModule::new()))
        .spawn()
        .await;
    let svc = service(&app);
    let boss = owner(&app, "schedagency").await;
    let agency = boss.caller(&app);
    let client = client_org(&agency, "Scheduled Client").await;
    feed(&svc, boss.org_id, &Ids::default()).await;
    feed(&svc, client, &Ids::default()).await;
    let analyst = member(
        &app,
        &agency,
        "analyst",
        &format!("analyst-{}@schedagency.example", boss.org_id),
    )
    .await;

    let body = json!({
        "name": "Weekly platforms",
        "report": "breakdown",
        "format": "csv",
        "query": {"by": "platform", "scope": "clients", "currency": "USD"},
        "recipients": [boss.email.to_uppercase(), analyst.email],
        "cadence": "weekly",
        "hour": 8,
        "weekday": 1,
        "time_zone": "UTC"
    });
    let resp = agency
        .request(reqwest::Method::POST, "/v1/analytics/schedules")
        .header("idempotency-key", "schedule-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let saved: Value = resp.json().await.unwrap();
    let id = saved["id"].as_str().unwrap().to_owned();
    assert_eq!(saved["next_run_at"], "2026-03-02T08:00:00Z", "{saved}");
    assert_eq!(saved["recipients"][0], boss.email.to_lowercase());
    assert_eq!(saved["last_run"], Value::Null);
    // The same key again: the first answer, one schedule.
    let again = agency
        .request(reqwest::Method::POST, "/v1/analytics/schedules")
        .header("idempotency-key", "schedule-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let (_, list) = get(&agency, "/v1/analytics/schedules").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // Not due yet: nothing is queued.
    assert_eq!(svc.queue_due_reports().await.unwrap(), 0);
    // Monday 08:00 UTC has passed: one run, however many sweeps look.
    clock.advance(Duration::hours(9));
    let agency = Caller::new(
        &app,
        sign_in(&app, &boss.email, PASSWORD).await.access_token,
    );
    // The app's own sweep (a scheduled job) may take the run first; either
    // way it is taken once, and the mails below are sent once.
    let first = svc.queue_due_reports().await.unwrap();
    assert!(first <= 1, "{first}");
    assert_eq!(svc.queue_due_reports().await.unwrap(), 0);
    let done = ran(&agency, &id, "2026-03-02T08:00:00Z").await;
    assert_eq!(done["next_run_at"], "2026-03-09T08:00:00Z", "{done}");
    let run = &done["last_run"];
    // The ISO week before the run's: 23 February to 1 March.
    assert_eq!(run["since"], "2026-02-23");
    assert_eq!(run["until"], "2026-03-01");
    assert_eq!(run["sent"].as_array().unwrap().len(), 2, "{run}");
    assert_eq!(run["skipped"].as_array().unwrap().len(), 0, "{run}");

    // Each recipient got one mail with their own file's link.
    for person in [&boss.email, &analyst.email] {
        let mails = mails_to(&app, person).await;
        assert_eq!(mails.len(), 1, "{person}");
        let m = &mails[0];
        assert_eq!(m.subject, "Weekly platforms: 2026-02-23 to 2026-03-01");
        assert!(m.text.contains("/v1/analytics/exports/"), "{}", m.text);
        assert!(m.text.contains("client organisations"), "{}", m.text);
    }
    // The owner's copy covers the agency and its client (the agency's
    // reach): the USD spend of both organisations on 27 Feb–1 Mar.
    let sent = run["sent"].as_array().unwrap();
    let boss_copy = sent
        .iter()
        .find(|s| s["recipient"] == boss.email.to_lowercase())
        .unwrap();
    let export_id = boss_copy["export_id"].as_str().unwrap();
    let csv_text = agency
        .get(&format!("/v1/analytics/exports/{export_id}/download"))
        .await
        .text()
        .await
        .unwrap();
    let direct = agency
        .get("/v1/analytics/breakdown?by=platform&scope=clients&currency=USD&since=2026-02-23&until=2026-03-01&format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv_text.lines().skip(1).collect::<Vec<_>>(),
        direct.lines().skip(1).collect::<Vec<_>>(),
        "the copy holds what the owner reads"
    );
    let (_, audit) = get(&agency, "/v1/audit?action=analytics.report_sent").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");

    // The analyst leaves; the next run skips them and says why.
    let (status, _) = json(
        agency
            .delete(&format!("/v1/members/{}", analyst.user_id))
            .await,
    )
    .await;
    assert_eq!(status, 204);
    clock.advance(Duration::days(7));
    let agency = Caller::new(
        &app,
        sign_in(&app, &boss.email, PASSWORD).await.access_token,
    );
    assert_eq!(svc.queue_due_reports().await.unwrap(), 1);
    let done = ran(&agency, &id, "2026-03-09T08:00:00Z").await;
    let run = &done["last_run"];
    assert_eq!(run["sent"].as_array().unwrap().len(), 1, "{run}");
    assert_eq!(run["skipped"][0]["recipient"], analyst.email.to_lowercase());
    assert!(
        run["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no longer"),
        "{run}"
    );
    assert_eq!(mails_to(&app, &analyst.email).await.len(), 1);

    // Send now: a run at this moment, the next run unchanged.
    let (status, queued) = json(
        agency
            .post(&format!("/v1/analytics/schedules/{id}/run"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["schedule_id"], id.as_str());
    let now = "2026-03-09T08:30:00Z";
    let done = ran(&agency, &id, now).await;
    assert_eq!(done["next_run_at"], "2026-03-16T08:00:00Z");
    assert_eq!(mails_to(&app, &boss.email).await.len(), 3);

    // Disabled: it keeps its settings and is never due.
    let mut off = body.clone();
    off["enabled"] = json!(false);
    off["recipients"] = json!([boss.email]);
    let (status, v) = json(
        agency
            .send(
                reqwest::Method::PUT,
                &format!("/v1/analytics/schedules/{id}"),
                Some(&off),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["next_run_at"], Value::Null);
    assert_eq!(v["last_run"]["run_at"], now, "the last run stays");
    clock.advance(Duration::days(30));
    assert_eq!(svc.queue_due_reports().await.unwrap(), 0);
    let agency = Caller::new(
        &app,
        sign_in(&app, &boss.email, PASSWORD).await.access_token,
    );

    // Another organisation sees nothing of it.
    let other = owner(&app, "schedother").await;
    let o = other.caller(&app);
    let (status, _) = get(&o, &format!("/v1/analytics/schedules/{id}")).await;
    assert_eq!(status, 404);
    let (status, _) = json(
        o.post(&format!("/v1/analytics/schedules/{id}/run"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let (_, list) = get(&o, "/v1/analytics/schedules").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // Deleted: gone, and audited.
    let resp = agency
        .delete(&format!("/v1/analytics/schedules/{id}"))
        .await;
    assert_eq!(resp.status(), 204);
    let (status, _) = get(&agency, &format!("/v1/analytics/schedules/{id}")).await;
    assert_eq!(status, 404);
    let (_, audit) = get(&agency, "/v1/audit?action=analytics.schedule_deleted").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}

#[tokio::test]
async fn a_client_member_receives_only_their_organisation() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "schedreach").await;
    let agency = boss.caller(&app);
    let client = client_org(&agency, "Reach Client").await;
    feed(&svc, boss.org_id, &Ids::default()).await;
    feed(&svc, client, &Ids::default()).await;
    // A member of the client only (invited inside the client).
    let in_client = agency.in_org(client);
    let local = member(
        &app,
        &in_client,
        "analyst",
        &format!("local-{client}@reachclient.example"),
    )
    .await;
    let (status, saved) = json(
        in_client
            .post(
                "/v1/analytics/schedules",
                &json!({
                    "name": "Daily summary of my shop",
                    "report": "timeseries",
                    "format": "csv",
                    "query": {"granularity": "day", "currency": "USD", "scope": "clients"},
                    "recipients": [local.email, boss.email],
                    "cadence": "daily",
                    "hour": 6,
                    "range_days": 3,
                    "time_zone": "UTC"
                }),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{saved}");
    let id = saved["id"].as_str().unwrap();
    let (status, q) = json(
        in_client
            .post(&format!("/v1/analytics/schedules/{id}/run"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{q}");
    let done = ran(&in_client, id, "2026-03-01T23:30:00Z").await;
    let run = &done["last_run"];
    // The three days before 1 March (UTC).
    assert_eq!(
        (run["since"].as_str(), run["until"].as_str()),
        (Some("2026-02-26"), Some("2026-02-28"))
    );
    assert_eq!(run["sent"].as_array().unwrap().len(), 2, "{run}");
    // The client's own member reads the client alone; the agency's owner,
    // acting in the client, reaches the client alone too (a client has
    // no clients): both copies hold the same rows.
    let mut bodies = Vec::new();
    for s in run["sent"].as_array().unwrap() {
        let export_id = s["export_id"].as_str().unwrap();
        let text = in_client
            .get(&format!("/v1/analytics/exports/{export_id}/download"))
            .await
            .text()
            .await
            .unwrap();
        bodies.push(text);
    }
    assert_eq!(
        bodies[0].lines().skip(1).collect::<Vec<_>>(),
        bodies[1].lines().skip(1).collect::<Vec<_>>()
    );
    let mails = mails_to(&app, &local.email).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].text.contains("It covers Reach Client."),
        "{}",
        mails[0].text
    );
}

#[tokio::test]
async fn bad_schedules_are_refused_naming_the_field_and_viewers_may_not_schedule() {
    let (app, _svc) = spawn().await;
    let boss = owner(&app, "schedbad").await;
    let c = boss.caller(&app);
    let base = json!({
        "name": "Report",
        "report": "timeseries",
        "format": "pdf",
        "recipients": [boss.email],
        "cadence": "daily",
        "hour": 7
    });
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let stranger = format!("stranger-{}@elsewhere.example", boss.org_id);
    for (body, field) in [
        (with("name", json!("  ")), "name"),
        (with("hour", json!(24)), "hour"),
        (with("cadence", json!("weekly")), "weekday"),
        (with("weekday", json!(3)), "weekday"),
        (with("time_zone", json!("Mars/Olympus")), "time_zone"),
        (with("range_days", json!(0)), "range_days"),
        (with("recipients", json!([])), "recipients"),
        (
            with("recipients", json!(["not an address"])),
            "recipients[0]",
        ),
        (with("recipients", json!([stranger])), "recipients[0]"),
        (
            with("recipients", json!([boss.email, boss.email])),
            "recipients[1]",
        ),
        (with("query", json!({"since": "2026-01-01"})), "query.since"),
        (with("query", json!({"granularity": "hour"})), "query"),
        (with("format", json!("json")), "format"),
    ] {
        let (status, e) = json(c.post("/v1/analytics/schedules", &body).await).await;
        assert!(status == 422 || status == 400, "{body}: {status} {e}");
        assert!(e.to_string().contains(field), "{field}: {e}");
    }
    let mut monthly = with("cadence", json!("monthly"));
    monthly["day_of_month"] = json!(29);
    let (status, e) = json(c.post("/v1/analytics/schedules", &monthly).await).await;
    assert_eq!(status, 422, "{e}");
    assert!(e.to_string().contains("day_of_month"), "{e}");

    // A viewer may read analytics but not export: not a recipient, and
    // not allowed to schedule.
    let viewer = member(
        &app,
        &c,
        "viewer",
        &format!("viewer-{}@schedbad.example", boss.org_id),
    )
    .await;
    let (status, e) = json(
        c.post(
            "/v1/analytics/schedules",
            &with("recipients", json!([viewer.email])),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert!(e.to_string().contains("may not read and export"), "{e}");
    let v = viewer.caller(&app);
    let (status, _) = json(v.post("/v1/analytics/schedules", &base).await).await;
    assert_eq!(status, 403);
    let (status, _) = get(&v, "/v1/analytics/schedules").await;
    assert_eq!(status, 403);
}
