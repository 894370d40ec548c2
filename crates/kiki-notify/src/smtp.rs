//! The SMTP transport: lettre's asynchronous SMTP client on tokio, built
//! from `mail.smtp_url` (`smtp://` plain or with `?tls=required|opportunistic`
//! STARTTLS, `smtps://` implicit TLS; credentials in the URL's user info)
//! with `mail.timeout_secs` bounding both the connect and the whole delivery.
//!
//! Each message is first recorded in the outbox without its body (see the
//! crate docs), then sent; the row then becomes `sent` or `failed`.

use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::MailConfig;
use crate::error::MailError;
use crate::mailer::{MailMessage, MailReceipt, Mailer};
use crate::outbox::Outbox;

/// Sends through an SMTP server and records each message in the outbox.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    deadline: Duration,
    outbox: Outbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // lettre's Debug of the transport would print the credentials.
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A transport for `cfg.smtp_url`, sending as `cfg.from`. Nothing is
    /// connected until the first message.
    pub fn new(cfg: &MailConfig, outbox: Outbox) -> Result<Self, MailError> {
        let url = cfg.smtp_url.as_ref().ok_or_else(|| {
            MailError::Config(
                "mail.transport is smtp but mail.smtp_url is not set (KIKI__MAIL__SMTP_URL)."
                    .to_owned(),
            )
        })?;
        let from = cfg.from.parse::<Mailbox>().map_err(|_| {
            MailError::Config(format!(
                "mail.from `{}` is not a mailbox; use `Name <address@example.com>` or a bare address.",
                cfg.from
            ))
        })?;
        if cfg.timeout_secs == 0 {
            return Err(MailError::Config(
                "mail.timeout_secs must be at least 1.".to_owned(),
            ));
        }
        // The URL holds the password: the error names the setting, never the value.
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|e| {
                MailError::Config(format!(
                    "mail.smtp_url is not a usable SMTP URL ({e}); use smtp://host:port, smtp://host:587?tls=required or smtps://user:password@host:465."
                ))
            })?;
        let transport = builder
            .timeout(Some(Duration::from_secs(cfg.timeout_secs)))
            .build();
        Ok(SmtpMailer {
            transport,
            from,
            deadline: Duration::from_secs(cfg.timeout_secs),
            outbox,
        })
    }

    fn build_message(&self, msg: &MailMessage, to: Mailbox) -> Result<Message, MailError> {
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone());
        let built = match &msg.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                msg.text.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(msg.text.clone()),
        };
        built.map_err(|e| MailError::InvalidMessage(format!("The mail cannot be built: {e}.")))
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, msg: MailMessage) -> BoxFuture<'_, Result<MailReceipt, MailError>> {
        Box::pin(async move {
            let to = msg.validate()?;
            let message = self.build_message(&msg, to)?;
            let id = self.outbox.record(&msg, "smtp", false).await?;
            // lettre bounds only the TCP connect with its timeout; the whole
            // exchange is bounded here, so a server that accepts and then
            // stalls cannot hold the caller.
            let outcome: Result<(), String> =
                match tokio::time::timeout(self.deadline, self.transport.send(message)).await {
                    Ok(Ok(_response)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!(
                        "the SMTP server did not complete the delivery within {} s",
                        self.deadline.as_secs()
                    )),
                };
            match outcome {
                Ok(()) => {
                    self.outbox.mark_sent(id).await?;
                    tracing::info!(mail.id = %id, mail.kind = %msg.kind, "mail sent by SMTP");
                    Ok(MailReceipt {
                        id,
                        transport: "smtp",
                    })
                }
                Err(reason) => {
                    tracing::warn!(mail.id = %id, mail.kind = %msg.kind, error = %reason, "sending mail by SMTP failed");
                    if let Err(store) = self.outbox.mark_failed(id, &reason).await {
                        tracing::warn!(mail.id = %id, error = %store, "recording the failed mail failed");
                    }
                    Err(MailError::Send(reason))
                }
            }
        })
    }

    fn kind(&self) -> &'static str {
        "smtp"
    }
}
