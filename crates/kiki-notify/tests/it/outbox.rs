//! The outbox transport and listings on the test database: what is stored
//! (secrets masked), listings by recipient, newest-first keyset pagination,
//! the address lookup, the in-memory capture for test harnesses, and a
//! custom transport behind the port.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::{DomainError, ErrorCode, OrgId, PageRequest};
use kiki_notify::{
    Mail, MailConfig, MailError, MailMessage, MailReceipt, Mailer, Outbox, OutboxMail,
};
use time::Duration;
use uuid::Uuid;

use crate::support::{T0, mail_with, message};

fn page(limit: u32, cursor: Option<String>) -> PageRequest {
    PageRequest {
        limit: Some(limit),
        cursor,
    }
}

#[tokio::test]
async fn outbox_mail_is_stored_with_its_body_and_listed_for_its_recipient() {
    let (db, mail, _clock) = mail_with(&MailConfig::default()).await;
    assert_eq!(mail.transport(), "outbox");
    let org = OrgId::new();
    let msg = MailMessage {
        html: Some("<p>Join us</p>".to_owned()),
        ..message("Bob@Example.com", Some(org), "invitation")
    };
    let receipt = mail.send(msg.clone()).await.expect("stored");
    assert_eq!(receipt.transport, "outbox");

    let listed = mail
        .list_for_recipient("bob@example.com", &PageRequest::default())
        .await
        .expect("listed");
    assert_eq!(listed.next_cursor, None);
    assert_eq!(
        listed.items,
        vec![OutboxMail {
            id: receipt.id,
            org_id: Some(org),
            kind: "invitation".to_owned(),
            to: "Bob@Example.com".to_owned(),
            subject: msg.subject.clone(),
            text: msg.text.clone(),
            html: Some("<p>Join us</p>".to_owned()),
            status: "stored".to_owned(),
            transport: "outbox".to_owned(),
            created_at: T0,
            sent_at: None,
            last_error: None,
        }]
    );
    // Tests find mail by address whatever its case.
    let latest = mail.latest_to("bob@example.COM", 5).await.expect("read");
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].id, receipt.id);
    db.cleanup().await;
}

#[tokio::test]
async fn a_listing_by_recipient_shows_only_mail_to_that_address() {
    let (_db, mail, _clock) = mail_with(&MailConfig::default()).await;
    let org = OrgId::new();
    mail.send(message("a@example.com", Some(org), "invitation"))
        .await
        .expect("a");
    mail.send(message("b@example.com", Some(org), "password_reset"))
        .await
        .expect("b");
    mail.send(message("A@Example.com", None, "password_reset"))
        .await
        .expect("a again");

    // Same organisation, other person: not listed.
    let only_a = mail
        .list_for_recipient(" a@EXAMPLE.com ", &PageRequest::default())
        .await
        .expect("a");
    assert_eq!(only_a.items.len(), 2);
    assert!(
        only_a
            .items
            .iter()
            .all(|m| m.to.eq_ignore_ascii_case("a@example.com")),
        "{:?}",
        only_a.items
    );
    let nobody = mail
        .list_for_recipient("c@example.com", &PageRequest::default())
        .await
        .expect("empty");
    assert!(nobody.items.is_empty());

    let all = mail.list_all(&PageRequest::default()).await.expect("all");
    assert_eq!(all.items.len(), 3);
}

#[tokio::test]
async fn secrets_are_delivered_whole_but_stored_masked() {
    let cfg = MailConfig {
        capture_sent: 2,
        ..MailConfig::default()
    };
    let (_db, mail, _clock) = mail_with(&cfg).await;
    let token = "Zq8vY2kLmN4pR7sTx1c9-reset-token_abcdefghij";
    let msg = MailMessage {
        text: format!(
            "Reset: https://kiki.test/reset-password?token={token}\n\"token\": \"{token}\""
        ),
        html: Some(format!(
            "<a href=\"https://kiki.test/reset-password?token={token}\">Reset</a>"
        )),
        secrets: vec![token.to_owned()],
        ..message("alice@example.com", None, "password_reset")
    };
    let receipt = mail.send(msg.clone()).await.expect("stored");
    let stored = mail
        .outbox()
        .get(receipt.id)
        .await
        .expect("read")
        .expect("row");
    assert!(!stored.text.contains(token), "{}", stored.text);
    let html = stored.html.expect("html kept");
    assert!(!html.contains(token), "{html}");
    assert!(
        stored.text.contains("token=Zq8v…[masked]"),
        "{}",
        stored.text
    );
    // The delivered message (what a test harness captures) is whole.
    assert_eq!(mail.captured_to("ALICE@example.com"), Some(msg));
    assert_eq!(mail.captured_to("bob@example.com"), None);
    // The capture keeps only the last `capture_sent` messages.
    for to in ["b@example.com", "c@example.com"] {
        mail.send(message(to, None, "invitation"))
            .await
            .expect("sent");
    }
    assert_eq!(mail.captured_to("alice@example.com"), None);
    assert!(mail.captured_to("c@example.com").is_some());
}

#[tokio::test]
async fn nothing_is_captured_unless_a_harness_asks() {
    let (_db, mail, _clock) = mail_with(&MailConfig::default()).await;
    mail.send(message("alice@example.com", None, "invitation"))
        .await
        .expect("sent");
    assert_eq!(mail.captured_to("alice@example.com"), None);
}

#[tokio::test]
async fn pages_go_newest_first_and_ties_in_time_are_not_lost() {
    let (_db, mail, clock) = mail_with(&MailConfig::default()).await;
    let org = OrgId::new();
    // Seven mails: times T0, T0+1s, T0+1s, T0+1s, T0+2s, T0+3s, T0+3s.
    let offsets = [0, 1, 1, 1, 2, 3, 3];
    let mut sent = Vec::new();
    for s in &offsets {
        clock.set(T0 + Duration::seconds(*s));
        let r = mail
            .send(message("same@example.com", Some(org), "invitation"))
            .await
            .expect("stored");
        sent.push((T0 + Duration::seconds(*s), r.id));
    }
    let mut expected = sent.clone();
    expected.sort_by(|x, y| y.cmp(x));

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let p = mail
            .list_for_recipient("same@example.com", &page(2, cursor.take()))
            .await
            .expect("page");
        pages += 1;
        assert!(p.items.len() <= 2);
        seen.extend(p.items.iter().map(|m| (m.created_at, m.id)));
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().map(|x| x.1).collect::<HashSet<Uuid>>().len(), 7);
}

#[tokio::test]
async fn a_cursor_this_api_did_not_issue_is_a_422_naming_the_cursor() {
    let (_db, mail, _clock) = mail_with(&MailConfig::default()).await;
    for bad in ["!!not base64!!", "YWJj", "dC"] {
        let err = mail
            .list_all(&page(10, Some(bad.to_owned())))
            .await
            .expect_err("refused");
        assert_eq!(err.code(), ErrorCode::ValidationFailed, "{bad}: {err}");
        assert_eq!(err.details()["fields"][0]["field"], "cursor", "{bad}");
    }
}

#[tokio::test]
async fn latest_to_returns_the_newest_first_and_honours_the_limit() {
    let (_db, mail, clock) = mail_with(&MailConfig::default()).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        clock.set(T0 + Duration::minutes(i));
        let r = mail
            .send(message("carol@example.com", None, "password_reset"))
            .await
            .expect("stored");
        ids.push(r.id);
    }
    mail.send(message("dave@example.com", None, "password_reset"))
        .await
        .expect("other");
    let two = mail.latest_to("carol@example.com", 2).await.expect("read");
    assert_eq!(
        two.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    assert!(
        mail.latest_to("carol@example.com", 0)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(
        mail.latest_to("nobody@example.com", 5)
            .await
            .expect("read")
            .is_empty()
    );
}

#[tokio::test]
async fn an_invalid_message_is_refused_and_not_recorded() {
    let (_db, mail, _clock) = mail_with(&MailConfig::default()).await;
    let org = OrgId::new();
    let cases = [
        message("not-an-address", Some(org), "invitation"),
        message("x@example.com", Some(org), ""),
        MailMessage {
            subject: "two\nlines".to_owned(),
            ..message("x@example.com", Some(org), "invitation")
        },
    ];
    for m in cases {
        let err = mail.send(m.clone()).await.expect_err("refused");
        assert!(
            matches!(err, MailError::InvalidMessage(_)),
            "{m:?}: {err:?}"
        );
    }
    let listed = mail
        .list_all(&PageRequest::default())
        .await
        .expect("listed");
    assert!(listed.items.is_empty());
}

/// A transport that records like the outbox but under its own name and
/// counts the messages it was given.
#[derive(Debug)]
struct CountingMailer {
    outbox: Outbox,
    count: parking_lot::Mutex<usize>,
}

impl Mailer for CountingMailer {
    fn send(&self, msg: MailMessage) -> BoxFuture<'_, Result<MailReceipt, MailError>> {
        Box::pin(async move {
            *self.count.lock() += 1;
            let id = self.outbox.record(&msg, "outbox", true).await?;
            Ok(MailReceipt {
                id,
                transport: "counting",
            })
        })
    }

    fn kind(&self) -> &'static str {
        "counting"
    }
}

#[tokio::test]
async fn the_port_can_carry_another_transport() {
    let (db, plain, _clock) = mail_with(&MailConfig::default()).await;
    let fake = Arc::new(CountingMailer {
        outbox: plain.outbox().clone(),
        count: parking_lot::Mutex::new(0),
    });
    let mail = Mail::with_mailer(
        fake.clone(),
        Outbox::new(db.db().clone(), Arc::new(kiki_core::SystemClock)),
    );
    assert_eq!(mail.transport(), "counting");
    let r = mail
        .send(message("erin@example.com", None, "password_reset"))
        .await
        .expect("sent");
    assert_eq!(r.transport, "counting");
    assert_eq!(*fake.count.lock(), 1);
    assert_eq!(
        mail.latest_to("erin@example.com", 1).await.expect("read")[0].id,
        r.id
    );
}
