//! The `mail_outbox` table: one row per message sent, with its delivery
//! status. Transports record through [`Outbox`], with every secret of the
//! message masked ([`mask_secret`]); the app lists a person's own mail
//! through it (by recipient address), a platform operator in development
//! every mail, and tests read the newest mail to an address.

use std::sync::Arc;

use kiki_core::{Clock, Cursor, OrgId, Page, PageRequest};
use kiki_store::{Db, StoreError};
use sea_query::{Cond, Expr, ExprTrait, Func, Iden, Order, Query, SelectStatement};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::MailError;
use crate::mailer::MailMessage;

/// The body stored in place of the real one for mail delivered by SMTP.
pub const SMTP_BODY_PLACEHOLDER: &str = "[sent by SMTP]";
/// Most characters of a delivery error kept in `last_error`.
const MAX_ERROR_CHARS: usize = 1000;
/// Leading characters of a secret the stored copy still shows.
const SECRET_SHOWN_CHARS: usize = 4;

/// The stored form of a secret: its first four characters and `…[masked]`
/// (enough to tell two links apart, far too little to use one).
pub fn mask_secret(secret: &str) -> String {
    let shown: String = secret.chars().take(SECRET_SHOWN_CHARS).collect();
    format!("{shown}…[masked]")
}

/// `text` with every secret replaced by its masked form, in one pass (at
/// each position the longest secret that starts there wins, and masked text
/// is never scanned again).
pub fn mask_secrets(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if sorted.is_empty() {
        return text.to_owned();
    }
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match sorted.iter().find(|s| rest.starts_with(**s)) {
            Some(s) => {
                out.push_str(&mask_secret(s));
                rest = &rest[s.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// `mail_outbox`.
#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum MailOutbox {
    Table,
    Id,
    OrgId,
    Kind,
    Transport,
    ToAddress,
    Subject,
    BodyText,
    BodyHtml,
    Status,
    CreatedAt,
    SentAt,
    LastError,
}

const COLUMNS: [MailOutbox; 12] = [
    MailOutbox::Id,
    MailOutbox::OrgId,
    MailOutbox::Kind,
    MailOutbox::Transport,
    MailOutbox::ToAddress,
    MailOutbox::Subject,
    MailOutbox::BodyText,
    MailOutbox::BodyHtml,
    MailOutbox::Status,
    MailOutbox::CreatedAt,
    MailOutbox::SentAt,
    MailOutbox::LastError,
];

kiki_core::string_enum! {
    /// Where a message is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum MailStatus {
        /// Recorded; for the outbox transport this is final (the row is the delivery).
        Stored = "stored",
        /// Accepted by the SMTP server.
        Sent = "sent",
        /// The SMTP server could not be reached or refused it (`last_error` says why).
        Failed = "failed",
    }
}

/// A message as recorded in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutboxMail {
    pub id: Uuid,
    /// The organisation the mail was sent for; `None` for platform mail.
    pub org_id: Option<OrgId>,
    /// What the mail is, e.g. `password_reset`, `invitation`.
    pub kind: String,
    pub to: String,
    pub subject: String,
    /// The plain-text body; `[sent by SMTP]` for mail delivered by SMTP.
    pub text: String,
    /// The HTML body, when there was one and the transport is the outbox.
    pub html: Option<String>,
    /// `stored` | `sent` | `failed`.
    pub status: String,
    /// `outbox` | `smtp`.
    pub transport: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct OutboxRow {
    id: Uuid,
    org_id: Option<Uuid>,
    kind: String,
    transport: String,
    to_address: String,
    subject: String,
    body_text: String,
    body_html: Option<String>,
    status: String,
    created_at: OffsetDateTime,
    sent_at: Option<OffsetDateTime>,
    last_error: Option<String>,
}

impl From<OutboxRow> for OutboxMail {
    fn from(r: OutboxRow) -> Self {
        OutboxMail {
            id: r.id,
            org_id: r.org_id.map(OrgId),
            kind: r.kind,
            to: r.to_address,
            subject: r.subject,
            text: r.body_text,
            html: r.body_html,
            status: r.status,
            transport: r.transport,
            created_at: r.created_at,
            sent_at: r.sent_at,
            last_error: r.last_error,
        }
    }
}

/// The outbox table. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("db", &self.db).finish()
    }
}

impl Outbox {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Outbox {
        Outbox { db, clock }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Records `msg` with status `stored` and returns the row id. With
    /// `keep_body` the bodies are kept with every one of `msg.secrets`
    /// masked; without (SMTP) they are replaced by [`SMTP_BODY_PLACEHOLDER`]
    /// and no HTML is kept.
    pub async fn record(
        &self,
        msg: &MailMessage,
        transport: &'static str,
        keep_body: bool,
    ) -> Result<Uuid, MailError> {
        let id = Uuid::now_v7();
        let (text, html) = if keep_body {
            (
                mask_secrets(&msg.text, &msg.secrets),
                msg.html.as_deref().map(|h| mask_secrets(h, &msg.secrets)),
            )
        } else {
            (SMTP_BODY_PLACEHOLDER.to_owned(), None)
        };
        let stmt = Query::insert()
            .into_table(MailOutbox::Table)
            .columns([
                MailOutbox::Id,
                MailOutbox::OrgId,
                MailOutbox::Kind,
                MailOutbox::Transport,
                MailOutbox::ToAddress,
                MailOutbox::Subject,
                MailOutbox::BodyText,
                MailOutbox::BodyHtml,
                MailOutbox::Status,
                MailOutbox::CreatedAt,
            ])
            .values_panic([
                id.into(),
                msg.org_id.map(|o| o.0).into(),
                msg.kind.as_str().into(),
                transport.into(),
                msg.to.trim().into(),
                msg.subject.as_str().into(),
                text.into(),
                html.into(),
                MailStatus::Stored.as_str().into(),
                self.clock.now().into(),
            ])
            .to_owned();
        self.db.execute(&stmt).await?;
        Ok(id)
    }

    /// Marks a row `sent` at the current time.
    pub async fn mark_sent(&self, id: Uuid) -> Result<(), MailError> {
        let stmt = Query::update()
            .table(MailOutbox::Table)
            .value(MailOutbox::Status, MailStatus::Sent.as_str())
            .value(MailOutbox::SentAt, self.clock.now())
            .value(MailOutbox::LastError, Option::<String>::None)
            .and_where(Expr::col(MailOutbox::Id).eq(id))
            .to_owned();
        self.db.execute(&stmt).await?;
        Ok(())
    }

    /// Marks a row `failed` with the reason (truncated to 1,000 characters).
    pub async fn mark_failed(&self, id: Uuid, error: &str) -> Result<(), MailError> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let stmt = Query::update()
            .table(MailOutbox::Table)
            .value(MailOutbox::Status, MailStatus::Failed.as_str())
            .value(MailOutbox::LastError, error)
            .and_where(Expr::col(MailOutbox::Id).eq(id))
            .to_owned();
        self.db.execute(&stmt).await?;
        Ok(())
    }

    /// One row by id, whatever its organisation (for the transport and tests).
    pub async fn get(&self, id: Uuid) -> Result<Option<OutboxMail>, MailError> {
        let stmt = select()
            .and_where(Expr::col(MailOutbox::Id).eq(id))
            .to_owned();
        Ok(self
            .db
            .fetch_optional::<OutboxRow, _>(&stmt)
            .await?
            .map(OutboxMail::from))
    }

    /// Mail sent to `address` (compared case-insensitively), newest first.
    pub async fn list_to(
        &self,
        address: &str,
        page: &PageRequest,
    ) -> Result<Page<OutboxMail>, MailError> {
        self.list_where(
            Cond::all().add(
                Expr::expr(Func::lower(Expr::col(MailOutbox::ToAddress)))
                    .eq(address.trim().to_lowercase()),
            ),
            page,
        )
        .await
    }

    /// Every mail, newest first. For a platform operator in development
    /// only; the caller checks that.
    pub async fn list_all(&self, page: &PageRequest) -> Result<Page<OutboxMail>, MailError> {
        self.list_where(Cond::all(), page).await
    }

    /// The newest `limit` messages to `to` (compared case-insensitively), any organisation.
    pub async fn latest_to(&self, to: &str, limit: u32) -> Result<Vec<OutboxMail>, MailError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let stmt = select()
            .and_where(
                Expr::expr(Func::lower(Expr::col(MailOutbox::ToAddress)))
                    .eq(to.trim().to_lowercase()),
            )
            .order_by(MailOutbox::CreatedAt, Order::Desc)
            .order_by(MailOutbox::Id, Order::Desc)
            .limit(u64::from(Ord::min(limit, kiki_core::page::MAX_LIMIT)))
            .to_owned();
        let rows = self.db.fetch_all::<OutboxRow, _>(&stmt).await?;
        Ok(rows.into_iter().map(OutboxMail::from).collect())
    }

    /// Keyset pagination on (created_at, id), both descending; the cursor is
    /// the last row's `created_at|id`.
    async fn list_where(
        &self,
        cond: Cond,
        page: &PageRequest,
    ) -> Result<Page<OutboxMail>, MailError> {
        let limit = page.limit();
        let mut stmt = select()
            .cond_where(cond)
            .order_by(MailOutbox::CreatedAt, Order::Desc)
            .order_by(MailOutbox::Id, Order::Desc)
            .limit(u64::from(limit) + 1)
            .to_owned();
        let cursor = page
            .cursor()
            .map_err(|e| MailError::Store(StoreError::InvalidField(e)))?;
        if let Some(c) = cursor {
            let (at, id) = decode_cursor(&c).ok_or_else(|| {
                MailError::Store(StoreError::InvalidField(kiki_core::FieldError::new(
                    "cursor",
                    "The cursor is not one this API issued.",
                )))
            })?;
            stmt.cond_where(
                Cond::any()
                    .add(Expr::col(MailOutbox::CreatedAt).lt(at))
                    .add(
                        Cond::all()
                            .add(Expr::col(MailOutbox::CreatedAt).eq(at))
                            .add(Expr::col(MailOutbox::Id).lt(id)),
                    ),
            );
        }
        let rows = self.db.fetch_all::<OutboxRow, _>(&stmt).await?;
        let mut items: Vec<OutboxMail> = rows.into_iter().map(OutboxMail::from).collect();
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(encode_cursor)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}

fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(MailOutbox::Table)
        .to_owned()
}

fn encode_cursor(m: &OutboxMail) -> String {
    let at = m.created_at.unix_timestamp_nanos();
    Cursor(format!("{at}|{}", m.id)).encode()
}

fn decode_cursor(c: &Cursor) -> Option<(OffsetDateTime, Uuid)> {
    let (at, id) = c.0.split_once('|')?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(at.parse::<i128>().ok()?).ok()?;
    Some((at, id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let m = OutboxMail {
            id: Uuid::now_v7(),
            org_id: None,
            kind: "k".into(),
            to: "a@b.c".into(),
            subject: "s".into(),
            text: "t".into(),
            html: None,
            status: "stored".into(),
            transport: "outbox".into(),
            created_at: datetime!(2026-05-06 07:08:09.123456 UTC),
            sent_at: None,
            last_error: None,
        };
        let c = Cursor::decode(&encode_cursor(&m)).expect("decodes");
        assert_eq!(decode_cursor(&c), Some((m.created_at, m.id)));
        for bad in [
            "",
            "x",
            "1|not-a-uuid",
            "abc|0192f0c1-0000-7000-8000-000000000000",
        ] {
            assert_eq!(decode_cursor(&Cursor(bad.to_owned())), None, "{bad}");
        }
    }

    #[test]
    fn secrets_are_masked_wherever_they_appear_and_longest_first() {
        let token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
        let text = format!("Link: https://x/reset?token={token}\nAPI: \"token\": \"{token}\"");
        let masked = mask_secrets(&text, &[String::new(), "AbCd".into(), token.into()]);
        assert!(!masked.contains(token), "{masked}");
        assert_eq!(masked.matches("AbCd…[masked]").count(), 2, "{masked}");
        assert!(!masked.contains("[masked]…[masked]"), "{masked}");
        assert_eq!(
            mask_secrets("nothing secret", &[token.into()]),
            "nothing secret"
        );
        assert_eq!(mask_secret("ab"), "ab…[masked]");
    }

    #[test]
    fn statuses_have_their_stored_names() {
        assert_eq!(MailStatus::Stored.as_str(), "stored");
        assert_eq!(MailStatus::Sent.as_str(), "sent");
        assert_eq!(MailStatus::Failed.as_str(), "failed");
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn status_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<MailStatus>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<MailStatus>()
        );
    }
}
