//! Helpers shared by the integration tests: a test clock, an audit log on a
//! fresh database, and seeding a chain.

use std::sync::Arc;

use kiki_core::{OrgId, TestClock, UserId};
use kiki_shield::{Actor, AuditEntry, AuditEvent, AuditLog};
use kiki_store::testing::{TestDb, fresh_db};
use serde_json::json;
use time::Duration;
use time::macros::datetime;

pub struct Fixture {
    pub db: TestDb,
    pub clock: TestClock,
    pub log: AuditLog,
}

impl Fixture {
    /// What the test clock reads now.
    pub fn now(&self) -> time::OffsetDateTime {
        kiki_core::Clock::now(&self.clock)
    }
}

pub async fn fixture() -> Fixture {
    let db = fresh_db().await;
    let clock = TestClock::at(datetime!(2026-03-01 10:00:00.123456789 UTC));
    let log = AuditLog::new(db.db().clone(), Arc::new(clock.clone()));
    Fixture { db, clock, log }
}

/// Appends `n` entries to `org`'s chain, one minute apart, with actions
/// `test.action_<i>` (i from 1) by one user.
pub async fn seed(f: &Fixture, org: OrgId, n: usize) -> Vec<AuditEntry> {
    let user = UserId::new();
    let mut out = Vec::with_capacity(n);
    for i in 1..=n {
        let e = AuditEvent::new(Some(org), Actor::User(user), format!("test.action_{i}"))
            .target("thing", i)
            .details(json!({"i": i, "note": format!("entry {i}")}));
        out.push(f.log.append_now(e).await.expect("append"));
        f.clock.advance(Duration::minutes(1));
    }
    out
}
