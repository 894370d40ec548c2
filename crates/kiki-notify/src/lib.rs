//! SyncNotify: the mail port. Every message the product sends (password
//! resets, invitations) goes through [`Mail::send`], which records it in the
//! `mail_outbox` table and, with the SMTP transport, delivers it.
//!
//! # Transports
//!
//! - `outbox` (the default): the message is only stored, body included, and
//!   shown in the app (`GET /v1/outbox`, to its recipient only) and to
//!   tests. The values a message names as [`MailMessage::secrets`] (a
//!   password-reset token, an invitation token) are **masked** in the stored
//!   copy ([`outbox::mask_secret`]), so the database never holds a working
//!   link; the server still warns at start-up when it runs in production on
//!   the outbox. Test harnesses read the delivered message, secrets included,
//!   from memory ([`Mail::captured_to`], off unless set in code).
//! - `smtp`: the message is sent through the SMTP server in `mail.smtp_url`
//!   (lettre, TLS through rustls). The outbox row keeps recipient, subject,
//!   kind and the delivery status (`sent` with `sent_at`, or `failed` with
//!   `last_error`), but its body is replaced by `[sent by SMTP]`, so no token
//!   rests in the database. A failed send returns [`MailError::Send`] and
//!   leaves a `failed` row; since the body is not kept, a retry is the person
//!   asking again (a new reset link), never a resend of the stored row.
//!
//! **Boundary:** other contexts call [`Mail`] with a [`MailMessage`] and never
//! touch `mail_outbox`. **Invariant:** every send leaves exactly one outbox
//! row, whatever the transport and whether delivery worked.

pub mod config;
pub mod error;
pub mod mailer;
pub mod outbox;
pub mod smtp;

pub use config::{MailConfig, MailTransportKind};
pub use error::MailError;
pub use mailer::{Mail, MailMessage, MailReceipt, Mailer, OutboxMailer, is_mail_address};
pub use outbox::{MailStatus, Outbox, OutboxMail, mask_secret, mask_secrets};
pub use smtp::SmtpMailer;
