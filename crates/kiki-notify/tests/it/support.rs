//! Shared helpers: messages, a test clock, a `Mail` over a fresh database.

use std::sync::Arc;

use kiki_core::{OrgId, TestClock};
use kiki_notify::{Mail, MailConfig, MailMessage};
use kiki_store::testing::{TestDb, fresh_db};
use time::OffsetDateTime;
use time::macros::datetime;

pub const T0: OffsetDateTime = datetime!(2026-03-01 09:00:00 UTC);

pub fn message(to: &str, org: Option<OrgId>, kind: &str) -> MailMessage {
    MailMessage {
        to: to.to_owned(),
        subject: format!("A {kind} mail"),
        text: format!("Hello {to}, this is a {kind} mail."),
        html: None,
        org_id: org,
        kind: kind.to_owned(),
        secrets: Vec::new(),
    }
}

/// A fresh database and a `Mail` on it configured by `cfg`, with a test clock at `T0`.
pub async fn mail_with(cfg: &MailConfig) -> (TestDb, Mail, TestClock) {
    let db = fresh_db().await;
    let clock = TestClock::at(T0);
    let mail = Mail::with_clock(cfg, db.db().clone(), Arc::new(clock.clone()))
        .expect("valid mail settings");
    (db, mail, clock)
}
