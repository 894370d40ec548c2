//! A change and its record: the audit entry, the decision linked to it and
//! the events commit together, or nothing is left.

use std::sync::Arc;

use kiki_core::{OrgId, TenantScope, TestClock};
use kiki_explain::{Decisions, NewDecision, RecordError, Recorder};
use kiki_shield::{Actor, AuditEvent, AuditLog};
use kiki_store::EventBus;
use kiki_store::testing::{TestDb, fresh_db};
use serde_json::json;
use time::macros::datetime;

#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
struct ThingChanged {
    thing: String,
}

impl kiki_store::Event for ThingChanged {
    const KIND: &'static str = "test.thing_changed";
    const DESCRIPTION: &'static str = "A thing changed (tests only).";
}

struct Fixture {
    _db: TestDb,
    audit: AuditLog,
    decisions: Decisions,
    events: EventBus,
    recorder: Recorder,
}

async fn fixture() -> Fixture {
    let db = fresh_db().await;
    let clock = Arc::new(TestClock::at(datetime!(2026-03-01 10:00 UTC)));
    let audit = AuditLog::new(db.db().clone(), clock.clone());
    let decisions = Decisions::new(db.db().clone(), clock.clone());
    let events = EventBus::in_process();
    let recorder = Recorder::new(db.db().clone(), clock, audit.clone(), decisions.clone())
        .with_events(events.clone());
    Fixture {
        _db: db,
        audit,
        decisions,
        events,
        recorder,
    }
}

fn decision(org: OrgId) -> NewDecision {
    NewDecision {
        org_id: Some(org),
        engine: "test.engine".into(),
        engine_version: "1".into(),
        kind: "thing_paused".into(),
        subject_kind: "thing".into(),
        subject_id: "t1".into(),
        inputs: json!({ "spend": 10 }),
        output: json!({ "status": "paused" }),
        confidence: None,
        explanation: "The thing spent its budget, so it was paused.".into(),
        audit_entry_id: None,
    }
}

fn event(org: OrgId) -> AuditEvent {
    AuditEvent::new(
        Some(org),
        Actor::System("test.engine".into()),
        "thing.paused",
    )
    .target("thing", "t1")
}

#[tokio::test]
async fn a_committed_change_keeps_its_entry_its_linked_decision_and_publishes_after() {
    let f = fixture().await;
    let org = OrgId::new();
    let mut rx = f.events.subscribe();
    let mut change = f.recorder.begin().await.expect("begin");
    let entry = change.audit(event(org)).await.expect("audit");
    let recorded = change
        .decision(NewDecision {
            audit_entry_id: Some(entry.id),
            ..decision(org)
        })
        .await
        .expect("decision");
    change.publish(Some(org), &ThingChanged { thing: "t1".into() });
    assert!(
        rx.try_recv().is_err(),
        "nothing is published before the commit"
    );
    change.commit().await.expect("commit");

    let published = rx.try_recv().expect("published after the commit");
    assert_eq!(published.kind, "test.thing_changed");
    assert_eq!(published.org_id, Some(org));
    assert_eq!(published.payload, json!({ "thing": "t1" }));

    let scope = TenantScope::single(org);
    let stored = f
        .decisions
        .get(&scope, recorded.id)
        .await
        .expect("read")
        .expect("the decision is stored");
    let entry_id = stored.audit_entry_id.expect("linked to its audit entry");
    let chain = f.audit.verify(Some(org)).await.expect("verify");
    assert!(chain.ok);
    assert_eq!(chain.entries_checked, 1);
    let entries = f
        .audit
        .list(&scope, &Default::default(), &Default::default())
        .await
        .expect("list");
    assert_eq!(entries.items.len(), 1);
    assert_eq!(entries.items[0].id, entry_id);
}

#[tokio::test]
async fn a_dropped_change_leaves_no_entry_no_decision_and_no_event() {
    let f = fixture().await;
    let org = OrgId::new();
    let mut rx = f.events.subscribe();
    let recorded = {
        let mut change = f.recorder.begin().await.expect("begin");
        change.audit(event(org)).await.expect("audit");
        let d = change.decision(decision(org)).await.expect("decision");
        change.publish(Some(org), &ThingChanged { thing: "t1".into() });
        d
    };
    assert!(rx.try_recv().is_err());
    let scope = TenantScope::single(org);
    assert!(
        f.decisions
            .get(&scope, recorded.id)
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(
        f.audit
            .verify(Some(org))
            .await
            .expect("verify")
            .entries_checked,
        0
    );
}

#[tokio::test]
async fn a_refused_decision_fails_the_change() {
    let f = fixture().await;
    let org = OrgId::new();
    let mut change = f.recorder.begin().await.expect("begin");
    let bad = NewDecision {
        confidence: Some(2.0),
        ..decision(org)
    };
    change.audit(event(org)).await.expect("audit");
    let err = change
        .decision(bad)
        .await
        .expect_err("a confidence above 1 is refused");
    assert!(matches!(err, RecordError::Decision(_)), "{err:?}");
    drop(change);
    assert_eq!(
        f.audit
            .verify(Some(org))
            .await
            .expect("verify")
            .entries_checked,
        0
    );
}
