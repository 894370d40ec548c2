//! The audit log against a real database: appending, listing, filtering,
//! paginating, tenant isolation, verification, and tampering done directly
//! in the database with raw SQL.

use std::collections::HashSet;

use kiki_core::{OrgId, PageRequest, TenantScope, UserId};
use kiki_shield::audit::GENESIS_HASH;
use kiki_shield::{Actor, AuditEvent, AuditFilter, AuditLog, ChainReport, ShieldError, write_csv};
use serde_json::json;
use time::Duration;
use time::macros::datetime;

use crate::support::{fixture, seed};

fn page(limit: u32, cursor: Option<String>) -> PageRequest {
    PageRequest {
        limit: Some(limit),
        cursor,
    }
}

fn assert_broken(report: &ChainReport, seq: i64, reason: &str) {
    assert!(!report.ok, "expected a broken chain: {report:?}");
    let b = report
        .first_broken
        .as_ref()
        .unwrap_or_else(|| panic!("no broken link in {report:?}"));
    assert_eq!((b.seq, b.reason.as_str()), (seq, reason), "{report:?}");
    assert!(!b.message.is_empty());
}

#[tokio::test]
async fn appended_entries_are_chained_masked_and_listed_newest_first() {
    let f = fixture().await;
    let org = OrgId::new();
    let user = UserId::new();
    let first = f
        .log
        .append_now(
            AuditEvent::new(Some(org), Actor::User(user), "auth.login")
                .context(
                    Some("203.0.113.77".parse().unwrap()),
                    Some("Mozilla/5.0".into()),
                    Some("req-1".into()),
                )
                .details(json!({"email": "john@example.com", "password": "hunter2", "mfa": true})),
        )
        .await
        .unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(first.prev_hash, GENESIS_HASH);
    assert_eq!(first.ip.as_deref(), Some("203.0.113.0"));
    assert_eq!(
        first.details,
        json!({"email": "j***@example.com", "password": "***", "mfa": true})
    );
    // The clock said …123456789; storage keeps microseconds.
    assert_eq!(first.occurred_at, datetime!(2026-03-01 10:00:00.123456 UTC));

    f.clock.advance(Duration::seconds(5));
    let second = f
        .log
        .append_now(
            AuditEvent::new(Some(org), Actor::User(user), "member.role_changed")
                .target("membership", "m-1"),
        )
        .await
        .unwrap();
    assert_eq!(second.seq, 2);
    assert_eq!(second.prev_hash, first.hash);
    assert_ne!(second.hash, first.hash);

    let listed = f
        .log
        .list(
            &TenantScope::single(org),
            &AuditFilter::default(),
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.next_cursor, None);
    let seqs: Vec<i64> = listed.items.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [2, 1]);
    let stored = &listed.items[1];
    assert_eq!(stored.id, first.id);
    assert_eq!(stored.org_id, Some(org));
    assert_eq!(stored.hash, first.hash);
    assert_eq!(stored.occurred_at, first.occurred_at);
    assert_eq!(stored.actor_kind, "user");
    assert_eq!(stored.actor_id, Some(user.to_string()));
    assert_eq!(stored.ip.as_deref(), Some("203.0.113.0"));
    assert_eq!(stored.user_agent.as_deref(), Some("Mozilla/5.0"));
    assert_eq!(stored.request_id.as_deref(), Some("req-1"));
    assert_eq!(stored.details, first.details);
    assert_eq!(listed.items[0].target_kind.as_deref(), Some("membership"));
    assert_eq!(listed.items[0].target_id.as_deref(), Some("m-1"));

    let report = f.log.verify(Some(org)).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 2);
    assert_eq!(report.org_id, Some(org));
}

#[tokio::test]
async fn an_empty_action_is_rejected() {
    let f = fixture().await;
    let err = f
        .log
        .append_now(AuditEvent::new(None, Actor::Anonymous, "  "))
        .await
        .unwrap_err();
    assert!(matches!(err, ShieldError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn list_filters_by_actor_action_prefix_target_and_time() {
    let f = fixture().await;
    let org = OrgId::new();
    let alice = UserId::new();
    let bob = UserId::new();
    let t0 = f.now();
    let events = [
        (alice, "auth.login", "user", "a"),
        (bob, "auth.login_failed", "user", "b"),
        (alice, "member.invited", "invitation", "i1"),
        (bob, "AUTH.logout", "user", "b"),
        (alice, "auth.logout", "user", "a"),
    ];
    for (actor, action, kind, id) in events {
        f.log
            .append_now(AuditEvent::new(Some(org), Actor::User(actor), action).target(kind, id))
            .await
            .unwrap();
        f.clock.advance(Duration::hours(1));
    }
    let scope = TenantScope::single(org);
    let cases: Vec<(AuditFilter, Vec<i64>)> = vec![
        (AuditFilter::default(), vec![5, 4, 3, 2, 1]),
        (
            AuditFilter {
                actor_id: Some(alice.to_string()),
                ..Default::default()
            },
            vec![5, 3, 1],
        ),
        (
            AuditFilter {
                action: Some("auth.login".into()),
                ..Default::default()
            },
            vec![1],
        ),
        (
            AuditFilter {
                action: Some("auth.*".into()),
                ..Default::default()
            },
            vec![5, 2, 1],
        ),
        (
            AuditFilter {
                action: Some("*".into()),
                ..Default::default()
            },
            vec![5, 4, 3, 2, 1],
        ),
        (
            AuditFilter {
                action: Some("auth.login*".into()),
                ..Default::default()
            },
            vec![2, 1],
        ),
        (
            AuditFilter {
                action: Some("auth%".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            AuditFilter {
                target_kind: Some("user".into()),
                target_id: Some("b".into()),
                ..Default::default()
            },
            vec![4, 2],
        ),
        (
            AuditFilter {
                from: Some(t0 + Duration::hours(1)),
                to: Some(t0 + Duration::hours(3)),
                ..Default::default()
            },
            vec![3, 2],
        ),
        (
            AuditFilter {
                actor_id: Some(bob.to_string()),
                action: Some("auth.*".into()),
                from: Some(t0 + Duration::minutes(30)),
                ..Default::default()
            },
            vec![2],
        ),
    ];
    for (filter, expected) in cases {
        let got: Vec<i64> = f
            .log
            .list(&scope, &filter, &PageRequest::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(got, expected, "{filter:?}");
    }
}

#[tokio::test]
async fn list_paginates_with_a_cursor_without_gaps_or_repeats() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 7).await;
    let scope = TenantScope::single(org);
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let p = f
            .log
            .list(&scope, &AuditFilter::default(), &page(3, cursor))
            .await
            .unwrap();
        pages += 1;
        assert!(p.items.len() <= 3);
        seen.extend(p.items.iter().map(|e| e.seq));
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);

    // Exactly one page's worth: no cursor to an empty page.
    let p = f
        .log
        .list(&scope, &AuditFilter::default(), &page(7, None))
        .await
        .unwrap();
    assert_eq!(p.items.len(), 7);
    assert_eq!(p.next_cursor, None);

    let err = f
        .log
        .list(&scope, &AuditFilter::default(), &page(3, Some("!!".into())))
        .await
        .unwrap_err();
    // A 422 naming `cursor`, as every cursor of the API.
    assert!(
        matches!(&err, ShieldError::Store(kiki_store::StoreError::InvalidField(f)) if f.field == "cursor"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_organisation_sees_only_its_own_chain() {
    let f = fixture().await;
    let a = OrgId::new();
    let b = OrgId::new();
    seed(&f, a, 3).await;
    seed(&f, b, 2).await;
    f.log
        .append_now(AuditEvent::new(None, Actor::Anonymous, "auth.login_failed"))
        .await
        .unwrap();

    let list = |scope: TenantScope| {
        let log = f.log.clone();
        async move {
            log.list(&scope, &AuditFilter::default(), &PageRequest::default())
                .await
                .unwrap()
                .items
        }
    };
    let of_b = list(TenantScope::single(b)).await;
    assert_eq!(of_b.len(), 2);
    assert!(of_b.iter().all(|e| e.org_id == Some(b)));
    // Reaching A does not widen the list: only the active organisation is shown.
    let b_reaching_a = list(TenantScope::new(b, vec![a, b])).await;
    assert_eq!(b_reaching_a.len(), 2);
    assert!(b_reaching_a.iter().all(|e| e.org_id == Some(b)));
    // Each chain counts from 1.
    let of_a = list(TenantScope::single(a)).await;
    assert_eq!(of_a.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(list(TenantScope::single(OrgId::new())).await.len(), 0);
}

#[tokio::test]
async fn verify_all_reports_every_chain_platform_first() {
    let f = fixture().await;
    let a = OrgId::new();
    let b = OrgId::new();
    seed(&f, a, 3).await;
    seed(&f, b, 4).await;
    let platform = f
        .log
        .append_now(AuditEvent::new(
            None,
            Actor::System("cli".into()),
            "keys.rotated",
        ))
        .await
        .unwrap();
    assert_eq!(platform.seq, 1);
    assert_eq!(platform.org_id, None);

    let reports = f.log.verify_all().await.unwrap();
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert_eq!(reports[0].org_id, None);
    assert_eq!(reports[0].chain, "platform");
    assert!(reports.iter().all(|r| r.ok), "{reports:?}");
    let checked: HashSet<(Option<OrgId>, u64)> = reports
        .iter()
        .map(|r| (r.org_id, r.entries_checked))
        .collect();
    assert_eq!(
        checked,
        HashSet::from([(None, 1), (Some(a), 3), (Some(b), 4)])
    );
    // A chain with no entries verifies as empty and sound.
    let empty = f.log.verify(Some(OrgId::new())).await.unwrap();
    assert!(empty.ok);
    assert_eq!(empty.entries_checked, 0);
}

#[tokio::test]
async fn details_survive_storage_whatever_the_backend_does_to_json() {
    // PostgreSQL JSONB reorders keys and rewrites number forms; the hash must not care.
    let f = fixture().await;
    let org = OrgId::new();
    let details: serde_json::Value = serde_json::from_str(
        r#"{"zeta": 1, "alpha": {"y": [1e15, 100.0, 0.5, -0.0], "b": "x"}, "mid": null, "unicode": "héllo \u0001 \"q\"", "big": 18446744073709551615}"#,
    )
    .unwrap();
    f.log
        .append_now(AuditEvent::new(Some(org), Actor::Anonymous, "test.json").details(details))
        .await
        .unwrap();
    let report = f.log.verify(Some(org)).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 1);
}

#[tokio::test]
async fn an_edited_action_is_found_at_its_seq() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 5).await;
    assert!(f.log.verify(Some(org)).await.unwrap().ok);
    let n =
        f.db.execute_raw("UPDATE audit_log SET action = 'test.harmless' WHERE seq = 3")
            .await
            .unwrap();
    assert_eq!(n, 1);
    let report = f.log.verify(Some(org)).await.unwrap();
    assert_broken(&report, 3, "hash_mismatch");
    assert_eq!(report.entries_checked, 2);
    assert!(report.first_broken.unwrap().entry_id.is_some());
}

#[tokio::test]
async fn edited_details_are_found_at_their_seq() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 4).await;
    f.db.execute_raw(
        r#"UPDATE audit_log SET details = '{"i":2,"note":"entry two"}' WHERE seq = 2"#,
    )
    .await
    .unwrap();
    assert_broken(&f.log.verify(Some(org)).await.unwrap(), 2, "hash_mismatch");
}

#[tokio::test]
async fn a_deleted_middle_entry_is_a_sequence_gap() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 5).await;
    f.db.execute_raw("DELETE FROM audit_log WHERE seq = 3")
        .await
        .unwrap();
    let report = f.log.verify(Some(org)).await.unwrap();
    assert_broken(&report, 3, "sequence_gap");
    assert_eq!(report.first_broken.unwrap().entry_id, None);
}

#[tokio::test]
async fn a_deleted_newest_entry_is_found_through_the_head() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 5).await;
    f.db.execute_raw("DELETE FROM audit_log WHERE seq = 5")
        .await
        .unwrap();
    let report = f.log.verify(Some(org)).await.unwrap();
    assert_broken(&report, 5, "head_mismatch");
    assert_eq!(report.entries_checked, 4);
}

#[tokio::test]
async fn swapping_two_entries_is_found_at_the_first_of_them() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 5).await;
    for stmt in [
        "UPDATE audit_log SET seq = 1002 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 1002",
    ] {
        assert_eq!(f.db.execute_raw(stmt).await.unwrap(), 1, "{stmt}");
    }
    assert_broken(&f.log.verify(Some(org)).await.unwrap(), 2, "hash_mismatch");
}

#[tokio::test]
async fn a_rewritten_link_is_found_even_when_the_hash_is_recomputed_for_it() {
    // Replacing entry 3's prev_hash breaks its own hash first.
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 4).await;
    f.db.execute_raw(
        "UPDATE audit_log SET prev_hash = '0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 3",
    )
    .await
    .unwrap();
    assert_broken(&f.log.verify(Some(org)).await.unwrap(), 3, "hash_mismatch");
}

#[tokio::test]
async fn an_entry_past_the_head_is_found() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 5).await;
    // Move the head back to entry 4, as if entry 5 had been slipped in afterwards.
    f.db.execute_raw(
        "UPDATE audit_heads SET seq = 4, hash = (SELECT hash FROM audit_log WHERE seq = 4)",
    )
    .await
    .unwrap();
    let report = f.log.verify(Some(org)).await.unwrap();
    assert_broken(&report, 5, "head_mismatch");
    assert!(report.first_broken.unwrap().entry_id.is_some());
}

#[tokio::test]
async fn a_deleted_head_is_found() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 3).await;
    f.db.execute_raw("DELETE FROM audit_heads").await.unwrap();
    assert_broken(&f.log.verify(Some(org)).await.unwrap(), 1, "head_mismatch");
    // verify_all still finds the chain through its entries.
    let all = f.log.verify_all().await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(!all[0].ok);
}

#[tokio::test]
async fn a_replaced_newest_entry_is_found() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 3).await;
    // Rewrite the head's hash: the last entry no longer matches it.
    f.db.execute_raw("UPDATE audit_heads SET hash = 'ffff'")
        .await
        .unwrap();
    assert_broken(&f.log.verify(Some(org)).await.unwrap(), 3, "head_mismatch");
}

#[tokio::test]
async fn an_append_rolled_back_with_its_action_leaves_no_trace() {
    let f = fixture().await;
    let org = OrgId::new();
    seed(&f, org, 2).await;
    let mut tx = f.db.begin().await.unwrap();
    let ghost = f
        .log
        .append(
            &mut tx,
            AuditEvent::new(Some(org), Actor::Anonymous, "test.rolled_back"),
        )
        .await
        .unwrap();
    assert_eq!(ghost.seq, 3);
    tx.rollback().await.unwrap();

    let scope = TenantScope::single(org);
    let listed = f
        .log
        .list(&scope, &AuditFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    assert!(listed.items.iter().all(|e| e.id != ghost.id));
    assert!(f.log.verify(Some(org)).await.unwrap().ok);

    // The next entry takes the seq the rolled-back one had, linked to entry 2.
    let next = f
        .log
        .append_now(AuditEvent::new(Some(org), Actor::Anonymous, "test.after"))
        .await
        .unwrap();
    assert_eq!(next.seq, 3);
    assert_eq!(next.prev_hash, listed.items[0].hash);
    let report = f.log.verify(Some(org)).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 3);
}

#[tokio::test]
async fn an_append_commits_with_the_callers_transaction() {
    let f = fixture().await;
    let org = OrgId::new();
    let mut tx = f.db.begin().await.unwrap();
    f.log
        .append(
            &mut tx,
            AuditEvent::new(Some(org), Actor::Anonymous, "test.one"),
        )
        .await
        .unwrap();
    f.log
        .append(
            &mut tx,
            AuditEvent::new(Some(org), Actor::Anonymous, "test.two"),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let report = f.log.verify(Some(org)).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_to_one_chain_get_consecutive_seqs() {
    let f = fixture().await;
    let org = OrgId::new();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let log: AuditLog = f.log.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::with_capacity(20);
            for i in 0..20 {
                let e = AuditEvent::new(
                    Some(org),
                    Actor::System(format!("task-{t}")),
                    "test.concurrent",
                )
                .details(json!({"task": t, "i": i}));
                seqs.push(log.append_now(e).await.expect("append").seq);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let seqs = t.await.unwrap();
        // Within one task, entries are appended in order.
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        all.extend(seqs);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=160).collect::<Vec<i64>>());
    let report = f.log.verify(Some(org)).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 160);
}

#[tokio::test]
async fn verification_walks_chains_longer_than_one_batch() {
    let f = fixture().await;
    let org = OrgId::new();
    let mut tx = f.db.begin().await.unwrap();
    for i in 0..1203 {
        f.log
            .append(
                &mut tx,
                AuditEvent::new(Some(org), Actor::Anonymous, "test.bulk").details(json!({"i": i})),
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let report = f.log.verify(Some(org)).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 1203);
    f.db.execute_raw("DELETE FROM audit_log WHERE seq = 1100")
        .await
        .unwrap();
    let report = f.log.verify(Some(org)).await.unwrap();
    assert_broken(&report, 1100, "sequence_gap");
    assert_eq!(report.entries_checked, 1099);
}

#[tokio::test]
async fn listed_entries_export_to_csv() {
    let f = fixture().await;
    let org = OrgId::new();
    f.log
        .append_now(
            AuditEvent::new(Some(org), Actor::Anonymous, "auth.login_failed")
                .details(json!({"email": "=cmd@example.com"})),
        )
        .await
        .unwrap();
    let entries = f
        .log
        .list(
            &TenantScope::single(org),
            &AuditFilter::default(),
            &PageRequest::default(),
        )
        .await
        .unwrap()
        .items;
    let mut buf = Vec::new();
    write_csv(&mut buf, &entries).unwrap();
    let mut r = csv::Reader::from_reader(buf.as_slice());
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][6], "auth.login_failed");
    assert_eq!(&rows[0][14], entries[0].hash);
    assert_eq!(&rows[0][12], r#"{"email":"=***@example.com"}"#);
}
