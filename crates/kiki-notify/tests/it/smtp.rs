//! The SMTP transport against the fake server: delivery, what the outbox
//! keeps, refusal, unreachable and silent servers, and settings errors.

use kiki_core::{DomainError, ErrorCode, OrgId};
use kiki_notify::{Mail, MailConfig, MailError, MailMessage, MailTransportKind};
use kiki_store::testing::fresh_db;
use secrecy::SecretString;

use crate::fake_smtp::{Behaviour, FakeSmtp};
use crate::support::{T0, mail_with, message};

fn smtp_config(url: &str, timeout_secs: u64) -> MailConfig {
    MailConfig {
        transport: MailTransportKind::Smtp,
        from: "KIKI <noreply@kiki.test>".to_owned(),
        smtp_url: Some(SecretString::from(url.to_owned())),
        timeout_secs,
        ..MailConfig::default()
    }
}

/// Undoes quoted-printable (RFC 2045 §6.7), which lettre picks for long
/// lines: soft line breaks `=\r\n` are removed and `=XX` become bytes.
fn quoted_printable_decoded(s: &str) -> String {
    let joined = s.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const TOKEN: &str = "reset-token-Zq8vY2kLmN4pR7sT";

fn reset_mail(org: Option<OrgId>) -> MailMessage {
    MailMessage {
        to: "alice@example.com".to_owned(),
        subject: "Reset your KIKI password".to_owned(),
        text: format!("Reset it here: https://kiki.test/reset-password?token={TOKEN}\n.\nEnd."),
        html: None,
        org_id: org,
        kind: "password_reset".to_owned(),
        secrets: vec![TOKEN.to_owned()],
    }
}

#[tokio::test]
async fn smtp_mail_is_delivered_and_the_outbox_keeps_no_body() {
    let server = FakeSmtp::start(Behaviour::Accept).await;
    let (_db, mail, _clock) = mail_with(&smtp_config(&server.url(), 5)).await;
    assert_eq!(mail.transport(), "smtp");
    let org = OrgId::new();

    let receipt = mail.send(reset_mail(Some(org))).await.expect("sent");
    assert_eq!(receipt.transport, "smtp");

    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from, "<noreply@kiki.test>");
    assert_eq!(got[0].rcpt_to, vec!["<alice@example.com>".to_owned()]);
    let data = &got[0].data;
    assert!(
        data.contains("Subject: Reset your KIKI password\r\n"),
        "{data}"
    );
    assert!(data.contains("To: alice@example.com\r\n"), "{data}");
    assert!(
        data.contains("From: KIKI <noreply@kiki.test>\r\n"),
        "{data}"
    );
    assert!(
        data.contains("Content-Type: text/plain; charset=utf-8"),
        "{data}"
    );
    assert!(
        quoted_printable_decoded(data).contains(TOKEN),
        "the mail carries the token: {data}"
    );
    // A body line that is a lone "." survives the transfer (dot-stuffing).
    assert!(data.contains("\r\n.\r\nEnd."), "{data}");

    let row = mail
        .outbox()
        .get(receipt.id)
        .await
        .expect("readable")
        .expect("recorded");
    assert_eq!(row.status, "sent");
    assert_eq!(row.transport, "smtp");
    assert_eq!(row.sent_at, Some(T0));
    assert_eq!(row.last_error, None);
    assert_eq!(row.text, "[sent by SMTP]");
    assert_eq!(row.html, None);
    assert_eq!(row.subject, "Reset your KIKI password");
    assert_eq!(row.org_id, Some(org));
    assert!(!format!("{row:?}").contains(TOKEN));
}

#[tokio::test]
async fn an_html_alternative_is_sent_as_multipart_alternative() {
    let server = FakeSmtp::start(Behaviour::Accept).await;
    let (_db, mail, _clock) = mail_with(&smtp_config(&server.url(), 5)).await;
    let msg = MailMessage {
        html: Some("<p>Hello <b>Alice</b></p>".to_owned()),
        ..message("alice@example.com", None, "invitation")
    };
    let receipt = mail.send(msg).await.expect("sent");
    let data = &server.messages()[0].data;
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains("text/plain") && data.contains("text/html"),
        "{data}"
    );
    assert!(data.contains("<b>Alice</b>"), "{data}");
    let row = mail
        .outbox()
        .get(receipt.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.html, None);
}

#[tokio::test]
async fn a_refused_recipient_is_an_error_and_leaves_a_failed_row() {
    let server = FakeSmtp::start(Behaviour::RejectRecipients).await;
    let (_db, mail, _clock) = mail_with(&smtp_config(&server.url(), 5)).await;

    let err = mail.send(reset_mail(None)).await.expect_err("refused");
    let MailError::Send(reason) = &err else {
        panic!("expected a send error, got {err:?}");
    };
    assert!(reason.contains("554"), "{reason}");
    assert_eq!(err.code(), ErrorCode::UpstreamFailed);
    assert!(server.messages().is_empty());

    let rows = mail.latest_to("alice@example.com", 10).await.expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "failed");
    assert_eq!(rows[0].sent_at, None);
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("554"))
    );
    assert_eq!(rows[0].text, "[sent by SMTP]");
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_and_leaves_a_failed_row() {
    // A port that was just free: nothing listens there any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (_db, mail, _clock) = mail_with(&smtp_config(&format!("smtp://127.0.0.1:{port}"), 5)).await;
    let err = mail.send(reset_mail(None)).await.expect_err("unreachable");
    assert!(matches!(err, MailError::Send(_)), "{err:?}");
    let rows = mail.latest_to("alice@example.com", 10).await.expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "failed");
    assert!(rows[0].last_error.is_some());
}

#[tokio::test]
async fn a_server_that_never_answers_is_given_up_after_the_timeout() {
    let server = FakeSmtp::start(Behaviour::Silent).await;
    let (_db, mail, _clock) = mail_with(&smtp_config(&server.url(), 1)).await;
    let err = mail.send(reset_mail(None)).await.expect_err("timed out");
    assert!(matches!(err, MailError::Send(_)), "{err:?}");
    assert_eq!(server.connections(), 1);
    let rows = mail.latest_to("alice@example.com", 10).await.expect("read");
    assert_eq!(rows[0].status, "failed");
    assert_eq!(
        rows[0].last_error.as_deref(),
        Some("the SMTP server did not complete the delivery within 1 s")
    );
}

#[tokio::test]
async fn an_invalid_recipient_is_refused_before_connecting_or_recording() {
    let server = FakeSmtp::start(Behaviour::Accept).await;
    let (_db, mail, _clock) = mail_with(&smtp_config(&server.url(), 5)).await;
    let err = mail
        .send(message("alice at example dot com", None, "invitation"))
        .await
        .expect_err("invalid");
    assert!(matches!(err, MailError::InvalidMessage(_)), "{err:?}");
    assert_eq!(err.code(), ErrorCode::BadRequest);
    assert_eq!(server.connections(), 0);
    let rows = mail
        .latest_to("alice at example dot com", 10)
        .await
        .expect("read");
    assert!(rows.is_empty());
}

#[tokio::test]
async fn bad_smtp_settings_are_refused_without_printing_the_password() {
    let db = fresh_db().await;
    let cases = [
        smtp_config("smtp://user:s3cretPassw0rd@/", 5),
        smtp_config(
            "smtp://user:s3cretPassw0rd@mail.example.com:587?tls=sometimes",
            5,
        ),
        smtp_config("http://user:s3cretPassw0rd@mail.example.com", 5),
        MailConfig {
            smtp_url: None,
            ..smtp_config("smtp://x", 5)
        },
        MailConfig {
            from: "nobody".to_owned(),
            ..smtp_config("smtp://127.0.0.1:25", 5)
        },
        smtp_config("smtp://127.0.0.1:25", 0),
    ];
    for cfg in cases {
        let err = Mail::new(&cfg, db.db().clone()).expect_err("refused");
        let MailError::Config(text) = &err else {
            panic!("expected a settings error, got {err:?}");
        };
        assert!(text.contains("mail."), "names the setting: {text}");
        assert!(
            !text.contains("s3cretPassw0rd"),
            "leaks the password: {text}"
        );
    }
}
