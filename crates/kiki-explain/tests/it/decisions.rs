//! Decision records against a real database: transactions, filters,
//! pagination and tenant isolation.

use std::sync::Arc;

use kiki_core::{OrgId, PageRequest, TenantScope, TestClock};
use kiki_explain::{DecisionFilter, Decisions, ExplainError, NewDecision};
use kiki_store::testing::{TestDb, fresh_db};
use serde_json::json;
use time::Duration;
use time::macros::datetime;
use uuid::Uuid;

struct Fixture {
    db: TestDb,
    clock: TestClock,
    decisions: Decisions,
}

async fn fixture() -> Fixture {
    let db = fresh_db().await;
    let clock = TestClock::at(datetime!(2026-03-01 10:00:00.123456789 UTC));
    let decisions = Decisions::new(db.db().clone(), Arc::new(clock.clone()));
    Fixture {
        db,
        clock,
        decisions,
    }
}

fn decision(org: Option<OrgId>, engine: &str, kind: &str, subject_id: &str) -> NewDecision {
    NewDecision {
        org_id: org,
        engine: engine.into(),
        engine_version: "2.1".into(),
        kind: kind.into(),
        subject_kind: "campaign".into(),
        subject_id: subject_id.into(),
        inputs: json!({"roas": 1.8, "target": {"roas": 2.0, "window_days": 7}}),
        output: json!({"action": "reduce_bid", "factor": 0.9}),
        confidence: Some(0.82),
        explanation: "ROAS over 7 days is below target, so the bid was reduced by 10%.".into(),
        audit_entry_id: None,
    }
}

fn ids(page: &kiki_core::Page<kiki_explain::Decision>) -> Vec<Uuid> {
    page.items.iter().map(|d| d.id).collect()
}

#[tokio::test]
async fn a_recorded_decision_reads_back_whole() {
    let f = fixture().await;
    let org = OrgId::new();
    let audit_id = Uuid::now_v7();
    let recorded = f
        .decisions
        .record_now(NewDecision {
            audit_entry_id: Some(audit_id),
            ..decision(Some(org), "bidder.margin_guardian", "bid_adjusted", "c1")
        })
        .await
        .unwrap();
    assert_eq!(
        recorded.decided_at,
        datetime!(2026-03-01 10:00:00.123456 UTC)
    );
    let got = f
        .decisions
        .get(&TenantScope::single(org), recorded.id)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(got.org_id, Some(org));
    assert_eq!(got.engine, "bidder.margin_guardian");
    assert_eq!(got.engine_version, "2.1");
    assert_eq!(got.kind, "bid_adjusted");
    assert_eq!(got.subject_kind, "campaign");
    assert_eq!(got.subject_id, "c1");
    assert_eq!(got.inputs, recorded.inputs);
    assert_eq!(got.output, json!({"action": "reduce_bid", "factor": 0.9}));
    assert_eq!(got.confidence, Some(0.82));
    assert_eq!(got.explanation, recorded.explanation);
    assert_eq!(got.audit_entry_id, Some(audit_id));
    assert_eq!(got.decided_at, recorded.decided_at);

    let none_conf = f
        .decisions
        .record_now(NewDecision {
            confidence: None,
            ..decision(Some(org), "e", "k", "c2")
        })
        .await
        .unwrap();
    let got = f
        .decisions
        .get(&TenantScope::single(org), none_conf.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.confidence, None);
    assert_eq!(got.audit_entry_id, None);
}

#[tokio::test]
async fn a_record_stored_with_micros_fields_reads_back_as_money_in_its_currency() {
    let f = fixture().await;
    let org = OrgId::new();
    let recorded = f
        .decisions
        .record_now(NewDecision {
            inputs: json!({
                "currency": "EUR",
                "bid_price_micros": 2_500_000,
                "cap": {"micros": 9, "currency": "EUR"},
            }),
            output: json!({"status": "refused", "booked_micros": 0}),
            ..decision(Some(org), "bidder.notices", "price_above_bid", "b1")
        })
        .await
        .unwrap();
    let bare = f
        .decisions
        .record_now(NewDecision {
            inputs: json!({"window_micros": 5}),
            output: json!({}),
            ..decision(Some(org), "e", "k", "b2")
        })
        .await
        .unwrap();
    let scope = TenantScope::single(org);
    let got = f.decisions.get(&scope, recorded.id).await.unwrap().unwrap();
    assert_eq!(
        got.inputs,
        json!({
            "currency": "EUR",
            "bid_price": {"micros": 2_500_000, "currency": "EUR"},
            "cap": {"micros": 9, "currency": "EUR"},
        })
    );
    assert_eq!(
        got.output,
        json!({"status": "refused", "booked": {"micros": 0, "currency": "EUR"}})
    );
    // With no currency named, a figure is not given a guessed one.
    let got = f.decisions.get(&scope, bare.id).await.unwrap().unwrap();
    assert_eq!(got.inputs, json!({"window_micros": 5}));
}

#[tokio::test]
async fn a_decision_recorded_in_a_rolled_back_transaction_leaves_nothing() {
    let f = fixture().await;
    let org = OrgId::new();
    let mut tx = f.db.begin().await.unwrap();
    let ghost = f
        .decisions
        .record(&mut tx, decision(Some(org), "e", "k", "c1"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let scope = TenantScope::single(org);
    assert!(f.decisions.get(&scope, ghost.id).await.unwrap().is_none());
    let page = f
        .decisions
        .list(&scope, &DecisionFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert!(page.items.is_empty());

    // Committed, it is there.
    let mut tx = f.db.begin().await.unwrap();
    let kept = f
        .decisions
        .record(&mut tx, decision(Some(org), "e", "k", "c1"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(f.decisions.get(&scope, kept.id).await.unwrap().is_some());
}

#[tokio::test]
async fn invalid_decisions_are_rejected_naming_the_field() {
    let f = fixture().await;
    let cases = [
        (
            NewDecision {
                engine: "".into(),
                ..decision(None, "e", "k", "s")
            },
            "engine",
        ),
        (
            NewDecision {
                confidence: Some(1.5),
                ..decision(None, "e", "k", "s")
            },
            "confidence",
        ),
    ];
    for (d, field) in cases {
        match f.decisions.record_now(d).await {
            Err(ExplainError::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("expected Invalid({field}), got {other:?}"),
        }
    }
}

#[tokio::test]
async fn list_filters_by_engine_kind_subject_and_time() {
    let f = fixture().await;
    let org = OrgId::new();
    let t0 = datetime!(2026-03-01 10:00:00.123456 UTC);
    let specs = [
        ("bidder", "bid_adjusted", "c1"),
        ("bidder", "bid_paused", "c2"),
        ("allocator", "budget_moved", "c1"),
        ("bidder", "bid_adjusted", "c2"),
    ];
    let mut recorded = Vec::new();
    for (engine, kind, subject) in specs {
        recorded.push(
            f.decisions
                .record_now(decision(Some(org), engine, kind, subject))
                .await
                .unwrap()
                .id,
        );
        f.clock.advance(Duration::hours(1));
    }
    let scope = TenantScope::single(org);
    let r = &recorded;
    let cases: Vec<(DecisionFilter, Vec<Uuid>)> = vec![
        (DecisionFilter::default(), vec![r[3], r[2], r[1], r[0]]),
        (
            DecisionFilter {
                engine: Some("bidder".into()),
                ..Default::default()
            },
            vec![r[3], r[1], r[0]],
        ),
        (
            DecisionFilter {
                engine: Some("bidder".into()),
                kind: Some("bid_adjusted".into()),
                ..Default::default()
            },
            vec![r[3], r[0]],
        ),
        (
            DecisionFilter {
                subject_kind: Some("campaign".into()),
                subject_id: Some("c1".into()),
                ..Default::default()
            },
            vec![r[2], r[0]],
        ),
        (
            DecisionFilter {
                subject_kind: Some("ad_set".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            DecisionFilter {
                from: Some(t0 + Duration::hours(1)),
                to: Some(t0 + Duration::hours(3)),
                ..Default::default()
            },
            vec![r[2], r[1]],
        ),
    ];
    for (filter, expected) in cases {
        let page = f
            .decisions
            .list(&scope, &filter, &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(ids(&page), expected, "{filter:?}");
    }
}

#[tokio::test]
async fn pages_neither_skip_nor_repeat_decisions_that_share_a_time() {
    let f = fixture().await;
    let org = OrgId::new();
    let mut recorded = Vec::new();
    // Three at one instant, then four more a second apart.
    for i in 0..7 {
        if i >= 3 {
            f.clock.advance(Duration::seconds(1));
        }
        recorded.push(
            f.decisions
                .record_now(decision(Some(org), "e", "k", &i.to_string()))
                .await
                .unwrap()
                .id,
        );
    }
    let scope = TenantScope::single(org);
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = f
            .decisions
            .list(
                &scope,
                &DecisionFilter::default(),
                &PageRequest {
                    limit: Some(2),
                    cursor,
                },
            )
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        seen.extend(ids(&page));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    // Newest first: later times first, and ids (time-ordered) descending within one time.
    let mut expected = recorded.clone();
    expected.reverse();
    assert_eq!(seen, expected);

    let bad = f
        .decisions
        .list(
            &scope,
            &DecisionFilter::default(),
            &PageRequest {
                limit: Some(2),
                cursor: Some("bm9wZQ".into()),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            bad,
            ExplainError::Invalid {
                field: "cursor",
                ..
            }
        ),
        "{bad:?}"
    );
}

#[tokio::test]
async fn another_organisation_can_neither_list_nor_get_a_decision() {
    let f = fixture().await;
    let a = OrgId::new();
    let b = OrgId::new();
    let of_a = f
        .decisions
        .record_now(decision(Some(a), "e", "k", "c1"))
        .await
        .unwrap();
    let of_b = f
        .decisions
        .record_now(decision(Some(b), "e", "k", "c1"))
        .await
        .unwrap();
    let platform = f
        .decisions
        .record_now(decision(None, "e", "k", "c1"))
        .await
        .unwrap();

    let scope_b = TenantScope::single(b);
    let listed = f
        .decisions
        .list(
            &scope_b,
            &DecisionFilter::default(),
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(ids(&listed), vec![of_b.id]);
    assert!(f.decisions.get(&scope_b, of_a.id).await.unwrap().is_none());
    assert!(
        f.decisions
            .get(&scope_b, platform.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(f.decisions.get(&scope_b, of_b.id).await.unwrap().is_some());

    // An agency scope active on B that reaches A does not get A's decision
    // by id (reads follow the active organisation, like lists); with A
    // active it does.
    let agency = TenantScope::new(b, vec![a, b]);
    assert!(f.decisions.get(&agency, of_a.id).await.unwrap().is_none());
    let agency_on_a = TenantScope::new(a, vec![a, b]);
    assert!(
        f.decisions
            .get(&agency_on_a, of_a.id)
            .await
            .unwrap()
            .is_some()
    );
    let listed = f
        .decisions
        .list(&agency, &DecisionFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(ids(&listed), vec![of_b.id]);
}
