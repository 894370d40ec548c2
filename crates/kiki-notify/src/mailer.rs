//! The port the app holds ([`Mail`]), the transport trait behind it
//! ([`Mailer`]) and the default transport, the in-app outbox
//! ([`OutboxMailer`]). A transport records every message in the outbox
//! itself, because what is recorded depends on how it is delivered (the
//! outbox keeps the body; SMTP does not).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use kiki_core::{Clock, OrgId, Page, PageRequest, SystemClock};
use kiki_store::Db;
use uuid::Uuid;

use crate::config::{MailConfig, MailTransportKind};
use crate::error::MailError;
use crate::outbox::{Outbox, OutboxMail};
use crate::smtp::SmtpMailer;

/// Longest subject accepted, in characters.
const MAX_SUBJECT_CHARS: usize = 998;

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// The recipient: a bare address or `Name <address>`.
    pub to: String,
    pub subject: String,
    /// The plain-text body (always sent).
    pub text: String,
    /// An HTML alternative, sent as `multipart/alternative` with `text`.
    pub html: Option<String>,
    /// The organisation the mail is sent for; `None` for platform mail.
    pub org_id: Option<OrgId>,
    /// What the mail is, e.g. `password_reset`, `invitation`.
    pub kind: String,
    /// Values in the body that grant access (a reset token, an invitation
    /// token): delivered as they are, but the outbox keeps them only masked
    /// (see [`crate::outbox::mask_secret`]).
    pub secrets: Vec<String>,
}

/// Whether `address` (a bare address, no display name) is one the mail
/// transports can deliver to: RFC 5321/5322 local part and domain (labels of
/// letters, digits and hyphens, or IDNA), as the SMTP transport parses it.
pub fn is_mail_address(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}

impl MailMessage {
    /// Refuses a message no transport could deliver: a recipient that is not
    /// a mailbox, an empty kind or subject, line breaks in the subject.
    pub fn validate(&self) -> Result<lettre::message::Mailbox, MailError> {
        let to = self
            .to
            .trim()
            .parse::<lettre::message::Mailbox>()
            .map_err(|_| {
                MailError::InvalidMessage(format!(
                    "The recipient `{}` is not an email address.",
                    self.to
                ))
            })?;
        if self.kind.trim().is_empty() {
            return Err(MailError::InvalidMessage(
                "A mail needs a non-empty kind.".to_owned(),
            ));
        }
        if self.subject.trim().is_empty() {
            return Err(MailError::InvalidMessage(
                "A mail needs a non-empty subject.".to_owned(),
            ));
        }
        if self.subject.contains(['\r', '\n']) {
            return Err(MailError::InvalidMessage(
                "A mail subject must be one line.".to_owned(),
            ));
        }
        if self.subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(MailError::InvalidMessage(format!(
                "A mail subject may have at most {MAX_SUBJECT_CHARS} characters."
            )));
        }
        Ok(to)
    }
}

/// What a transport did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailReceipt {
    /// The outbox row id.
    pub id: Uuid,
    /// The transport that handled it: `outbox` or `smtp`.
    pub transport: &'static str,
}

/// A way to deliver mail. Implementations record every message in the
/// outbox (see [`Outbox::record`]) and return the row id in the receipt.
pub trait Mailer: Send + Sync + std::fmt::Debug {
    fn send(&self, msg: MailMessage) -> BoxFuture<'_, Result<MailReceipt, MailError>>;
    /// `outbox`, `smtp`, or a test fake's name.
    fn kind(&self) -> &'static str;
}

/// The default transport: the message is stored, body included, and that
/// is the delivery (status `stored`).
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    outbox: Outbox,
}

impl OutboxMailer {
    pub fn new(outbox: Outbox) -> Self {
        OutboxMailer { outbox }
    }
}

impl Mailer for OutboxMailer {
    fn send(&self, msg: MailMessage) -> BoxFuture<'_, Result<MailReceipt, MailError>> {
        Box::pin(async move {
            msg.validate()?;
            let id = self.outbox.record(&msg, "outbox", true).await?;
            tracing::info!(
                mail.id = %id,
                mail.kind = %msg.kind,
                org.id = ?msg.org_id.map(|o| o.0),
                "mail stored in the outbox"
            );
            Ok(MailReceipt {
                id,
                transport: "outbox",
            })
        })
    }

    fn kind(&self) -> &'static str {
        "outbox"
    }
}

/// The mail port the app holds. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Mail {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    mailer: Arc<dyn Mailer>,
    outbox: Outbox,
    /// The last messages as delivered (secrets included), when
    /// [`MailConfig::capture_sent`] asks for it (test harnesses only).
    captured: Option<Captured>,
}

#[derive(Debug)]
struct Captured {
    capacity: usize,
    messages: Mutex<VecDeque<MailMessage>>,
}

impl Mail {
    /// The transport `cfg` describes, recording into `db`'s outbox, with the
    /// system clock. Refuses settings with [`MailConfig::problems`].
    pub fn new(cfg: &MailConfig, db: Db) -> Result<Mail, MailError> {
        Mail::with_clock(cfg, db, Arc::new(SystemClock))
    }

    /// [`Mail::new`] with the clock that timestamps outbox rows.
    pub fn with_clock(cfg: &MailConfig, db: Db, clock: Arc<dyn Clock>) -> Result<Mail, MailError> {
        let problems = cfg.problems();
        if !problems.is_empty() {
            return Err(MailError::Config(problems.join(" ")));
        }
        let outbox = Outbox::new(db, clock);
        let mailer: Arc<dyn Mailer> = match cfg.transport {
            MailTransportKind::Outbox => Arc::new(OutboxMailer::new(outbox.clone())),
            MailTransportKind::Smtp => Arc::new(SmtpMailer::new(cfg, outbox.clone())?),
        };
        let captured = (cfg.capture_sent > 0).then(|| Captured {
            capacity: cfg.capture_sent,
            messages: Mutex::new(VecDeque::new()),
        });
        Ok(Mail {
            inner: Arc::new(Inner {
                mailer,
                outbox,
                captured,
            }),
        })
    }

    /// A port over any transport (a test fake, another provider); `outbox`
    /// is where listings read from.
    pub fn with_mailer(mailer: Arc<dyn Mailer>, outbox: Outbox) -> Mail {
        Mail {
            inner: Arc::new(Inner {
                mailer,
                outbox,
                captured: None,
            }),
        }
    }

    /// The transport's name: `outbox` or `smtp`.
    pub fn transport(&self) -> &'static str {
        self.inner.mailer.kind()
    }

    /// The outbox table.
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// ALWAYS records the message in `mail_outbox` (secrets masked with the
    /// outbox transport, body dropped with SMTP); with SMTP it then sends it
    /// and records `sent_at` / `last_error`. A failed SMTP send returns
    /// [`MailError::Send`] but the row stays (status `failed`).
    pub async fn send(&self, msg: MailMessage) -> Result<MailReceipt, MailError> {
        let kept = self.inner.captured.as_ref().map(|_| msg.clone());
        let receipt = self.inner.mailer.send(msg).await?;
        if let (Some(c), Some(m)) = (&self.inner.captured, kept) {
            let mut q = c.messages.lock().unwrap_or_else(|e| e.into_inner());
            if q.len() == c.capacity {
                q.pop_front();
            }
            q.push_back(m);
        }
        Ok(receipt)
    }

    /// Mail sent to `address` (compared case-insensitively), newest first:
    /// what a signed-in person sees of their own mail.
    pub async fn list_for_recipient(
        &self,
        address: &str,
        page: &PageRequest,
    ) -> Result<Page<OutboxMail>, MailError> {
        self.inner.outbox.list_to(address, page).await
    }

    /// Every stored mail, newest first: for a platform operator in
    /// development; the caller checks both.
    pub async fn list_all(&self, page: &PageRequest) -> Result<Page<OutboxMail>, MailError> {
        self.inner.outbox.list_all(page).await
    }

    /// Test/CLI helper: the newest stored rows to an address (any organisation).
    pub async fn latest_to(&self, to: &str, limit: u32) -> Result<Vec<OutboxMail>, MailError> {
        self.inner.outbox.latest_to(to, limit).await
    }

    /// The newest message to `to` as it was delivered, secrets included;
    /// `None` unless [`MailConfig::capture_sent`] is set (test harnesses
    /// read tokens this way, since the outbox keeps them masked).
    pub fn captured_to(&self, to: &str) -> Option<MailMessage> {
        let c = self.inner.captured.as_ref()?;
        let to = to.trim().to_lowercase();
        let q = c.messages.lock().unwrap_or_else(|e| e.into_inner());
        q.iter()
            .rev()
            .find(|m| m.to.trim().to_lowercase() == to)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> MailMessage {
        MailMessage {
            to: "alice@example.com".into(),
            subject: "Hello".into(),
            text: "Body".into(),
            html: None,
            org_id: None,
            kind: "test".into(),
            secrets: Vec::new(),
        }
    }

    #[test]
    fn messages_are_validated_before_any_transport() {
        assert!(msg().validate().is_ok());
        let named = MailMessage {
            to: " Alice Example <alice@example.com> ".into(),
            ..msg()
        };
        assert!(named.validate().is_ok());
        let cases = [
            MailMessage {
                to: "not an address".into(),
                ..msg()
            },
            MailMessage {
                to: "alice@example.com, bob@example.com".into(),
                ..msg()
            },
            MailMessage {
                kind: " ".into(),
                ..msg()
            },
            MailMessage {
                subject: String::new(),
                ..msg()
            },
            MailMessage {
                subject: "Hi\r\nBcc: eve@example.com".into(),
                ..msg()
            },
            MailMessage {
                subject: "x".repeat(999),
                ..msg()
            },
        ];
        for m in cases {
            assert!(
                matches!(m.validate(), Err(MailError::InvalidMessage(_))),
                "{m:?}"
            );
        }
    }
}
