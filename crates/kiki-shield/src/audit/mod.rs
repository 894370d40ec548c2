//! The hash-chained audit log: who did what, to what, from where, in one
//! chain per organisation (plus the platform chain for events that belong to
//! none). Each entry stores the SHA-256 of its canonical serialisation, which
//! includes the previous entry's hash, and the chain's newest (seq, hash) is
//! kept in `audit_heads`, written in the same transaction; verification
//! recomputes every hash and compares the last entry with the head, so an
//! edited, deleted, reordered or truncated entry is found, with its `seq`.
//!
//! PII is masked ([`crate::mask`]) before an entry is hashed and stored: the
//! log never holds a full email, IP address or credential.

mod canonical;
mod export;
mod verify;

use std::net::IpAddr;
use std::sync::Arc;

use kiki_core::{Clock, Cursor, OrgId, Page, PageRequest, TenantScope, UserId};
use kiki_store::schema::{sqlite_timestamp, truncate_to_micros};
use kiki_store::{Backend, Db, StoreError, Tx};
use sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Order, Query, SelectStatement};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ShieldError;
use crate::mask::{mask_details, mask_ip};
use crate::schema::{AuditHeads as H, AuditLog as A};

pub use canonical::{GENESIS_HASH, HASH_FORMAT, HashInput, canonical_json};
pub use export::{CSV_HEADER, write_csv};
pub use verify::{BrokenLink, ChainReport};

/// The `chain` value of events that belong to no organisation.
pub const PLATFORM_CHAIN: &str = "platform";
/// Longest action name accepted.
const MAX_ACTION_CHARS: usize = 100;
/// Longer user agents are cut to this many characters before hashing.
const MAX_USER_AGENT_CHARS: usize = 512;
/// Longer request ids are cut to this many characters before hashing.
const MAX_REQUEST_ID_CHARS: usize = 128;
/// Longer target kinds and ids are cut to this many characters before hashing.
const MAX_TARGET_CHARS: usize = 256;

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    User(UserId),
    ApiKey(Uuid),
    /// A named part of the system: `cli`, `scheduler`, `worker`, an engine.
    System(String),
    Anonymous,
}

impl Actor {
    /// "user", "api_key", "system" or "anonymous".
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::ApiKey(_) => "api_key",
            Actor::System(_) => "system",
            Actor::Anonymous => "anonymous",
        }
    }

    /// The user or key id, or the system component's name.
    pub fn id(&self) -> Option<String> {
        match self {
            Actor::User(u) => Some(u.to_string()),
            Actor::ApiKey(k) => Some(k.to_string()),
            Actor::System(name) => Some(name.clone()),
            Actor::Anonymous => None,
        }
    }
}

/// Something to record.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// None = the platform chain (e.g. a failed login for an unknown account).
    pub org_id: Option<OrgId>,
    pub actor: Actor,
    /// "auth.login", "auth.login_failed", "member.role_changed", ...
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: Value,
}

impl AuditEvent {
    pub fn new(org_id: Option<OrgId>, actor: Actor, action: impl Into<String>) -> Self {
        AuditEvent {
            org_id,
            actor,
            action: action.into(),
            target_kind: None,
            target_id: None,
            ip: None,
            user_agent: None,
            request_id: None,
            details: Value::Object(serde_json::Map::new()),
        }
    }

    /// What the action was done to.
    pub fn target(mut self, kind: impl Into<String>, id: impl ToString) -> Self {
        self.target_kind = Some(kind.into());
        self.target_id = Some(id.to_string());
        self
    }

    /// Extra facts (masked before storing).
    pub fn details(mut self, v: Value) -> Self {
        self.details = v;
        self
    }

    /// The request it came from (the IP is masked before storing).
    pub fn context(
        mut self,
        ip: Option<IpAddr>,
        user_agent: Option<String>,
        request_id: Option<String>,
    ) -> Self {
        self.ip = ip;
        self.user_agent = user_agent;
        self.request_id = request_id;
        self
    }
}

/// One stored entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: Uuid,
    pub org_id: Option<OrgId>,
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// Masked.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Masked.
    pub details: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Which entries to list. Every set field must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    /// Exact, or a prefix when it ends with '*' (e.g. "auth.*").
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// Entries at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Entries before this time.
    pub to: Option<OffsetDateTime>,
}

/// The stored row, decodable on both backends.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    pub chain: String,
    pub seq: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: Json<Value>,
    pub prev_hash: String,
    pub hash: String,
}

pub(crate) const AUDIT_COLUMNS: [A; 16] = [
    A::Id,
    A::OrgId,
    A::Chain,
    A::Seq,
    A::OccurredAt,
    A::ActorKind,
    A::ActorId,
    A::Action,
    A::TargetKind,
    A::TargetId,
    A::Ip,
    A::UserAgent,
    A::RequestId,
    A::Details,
    A::PrevHash,
    A::Hash,
];

impl AuditRow {
    /// The hash this row should carry, recomputed from its stored fields.
    pub(crate) fn recompute_hash(&self) -> String {
        let occurred_at = sqlite_timestamp(self.occurred_at);
        HashInput {
            id: self.id,
            chain: &self.chain,
            seq: self.seq,
            occurred_at: &occurred_at,
            actor_kind: &self.actor_kind,
            actor_id: self.actor_id.as_deref(),
            action: &self.action,
            target_kind: self.target_kind.as_deref(),
            target_id: self.target_id.as_deref(),
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            request_id: self.request_id.as_deref(),
            details: &self.details.0,
            prev_hash: &self.prev_hash,
        }
        .hash()
    }
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            org_id: r.org_id.map(OrgId),
            seq: r.seq,
            occurred_at: r.occurred_at,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            target_kind: r.target_kind,
            target_id: r.target_id,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            details: r.details.0,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct HeadRow {
    pub seq: i64,
    pub hash: String,
}

/// The `chain` value of an organisation's chain (or the platform chain).
pub fn chain_name(org: Option<OrgId>) -> String {
    match org {
        Some(o) => o.0.hyphenated().to_string(),
        None => PLATFORM_CHAIN.to_owned(),
    }
}

/// The organisation a `chain` value names; `Err` for a value that is neither.
pub(crate) fn chain_org(chain: &str) -> Result<Option<OrgId>, ()> {
    if chain == PLATFORM_CHAIN {
        Ok(None)
    } else {
        chain
            .parse::<Uuid>()
            .map(|u| Some(OrgId(u)))
            .map_err(|_| ())
    }
}

/// The PostgreSQL advisory-lock key of a chain: the first 8 bytes of a SHA-256.
fn lock_key(chain: &str) -> i64 {
    let digest = Sha256::digest(format!("kiki.audit_chain:{chain}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(b)
}

fn cut(s: String, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((idx, _)) => s[..idx].to_owned(),
        None => s,
    }
}

fn cut_opt(s: Option<String>, max_chars: usize) -> Option<String> {
    s.map(|s| cut(s, max_chars))
}

/// The audit log. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("db", &self.db).finish()
    }
}

impl AuditLog {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> AuditLog {
        AuditLog { db, clock }
    }

    /// Appends inside the caller's transaction (the entry commits or rolls back
    /// with the action it records).
    ///
    /// Cost: on PostgreSQL a transaction-scoped advisory lock on the chain
    /// (appends to one chain queue; other chains are unaffected), then one
    /// SELECT of the head and two writes. SQLite transactions are already
    /// serialised (`BEGIN IMMEDIATE`).
    pub async fn append(
        &self,
        tx: &mut Tx<'_>,
        event: AuditEvent,
    ) -> Result<AuditEntry, ShieldError> {
        let action = event.action.trim().to_owned();
        if action.is_empty() || action.chars().count() > MAX_ACTION_CHARS {
            return Err(ShieldError::Invalid(format!(
                "An audit action must be 1 to {MAX_ACTION_CHARS} characters, got `{action}`."
            )));
        }
        let chain = chain_name(event.org_id);
        let details = mask_details(&event.details);
        let ip = event.ip.map(mask_ip);
        let user_agent = cut_opt(event.user_agent, MAX_USER_AGENT_CHARS);
        let request_id = cut_opt(event.request_id, MAX_REQUEST_ID_CHARS);
        let target_kind = cut_opt(event.target_kind, MAX_TARGET_CHARS);
        let target_id = cut_opt(event.target_id, MAX_TARGET_CHARS);
        let actor_kind = event.actor.kind().to_owned();
        let actor_id = event.actor.id();

        if tx.backend() == Backend::Postgres {
            let lock = Query::select()
                .expr(Func::cust(Alias::new("pg_advisory_xact_lock")).arg(lock_key(&chain)))
                .to_owned();
            tx.execute(&lock).await?;
        }
        let head_stmt = Query::select()
            .columns([H::Seq, H::Hash])
            .from(H::Table)
            .and_where(Expr::col(H::Chain).eq(chain.as_str()))
            .to_owned();
        let head: Option<HeadRow> = tx.fetch_optional(&head_stmt).await?;
        let (seq, prev_hash) = match head {
            Some(h) => (h.seq + 1, h.hash),
            None => (1, GENESIS_HASH.to_owned()),
        };

        let id = Uuid::now_v7();
        let occurred_at = truncate_to_micros(self.clock.now());
        let occurred_text = sqlite_timestamp(occurred_at);
        let hash = HashInput {
            id,
            chain: &chain,
            seq,
            occurred_at: &occurred_text,
            actor_kind: &actor_kind,
            actor_id: actor_id.as_deref(),
            action: &action,
            target_kind: target_kind.as_deref(),
            target_id: target_id.as_deref(),
            ip: ip.as_deref(),
            user_agent: user_agent.as_deref(),
            request_id: request_id.as_deref(),
            details: &details,
            prev_hash: &prev_hash,
        }
        .hash();

        let insert = Query::insert()
            .into_table(A::Table)
            .columns(AUDIT_COLUMNS)
            .values_panic([
                id.into(),
                event.org_id.map(|o| o.0).into(),
                chain.as_str().into(),
                seq.into(),
                occurred_at.into(),
                actor_kind.as_str().into(),
                actor_id.clone().into(),
                action.as_str().into(),
                target_kind.clone().into(),
                target_id.clone().into(),
                ip.clone().into(),
                user_agent.clone().into(),
                request_id.clone().into(),
                details.clone().into(),
                prev_hash.as_str().into(),
                hash.as_str().into(),
            ])
            .to_owned();
        tx.execute(&insert).await?;
        let upsert_head = Query::insert()
            .into_table(H::Table)
            .columns([H::Chain, H::Seq, H::Hash, H::UpdatedAt])
            .values_panic([
                chain.as_str().into(),
                seq.into(),
                hash.as_str().into(),
                occurred_at.into(),
            ])
            .on_conflict(
                OnConflict::column(H::Chain)
                    .update_columns([H::Seq, H::Hash, H::UpdatedAt])
                    .to_owned(),
            )
            .to_owned();
        tx.execute(&upsert_head).await?;

        Ok(AuditEntry {
            id,
            org_id: event.org_id,
            seq,
            occurred_at,
            actor_kind,
            actor_id,
            action,
            target_kind,
            target_id,
            ip,
            user_agent,
            request_id,
            details,
            prev_hash,
            hash,
        })
    }

    /// Appends in its own transaction (failed logins, events with nothing else to write).
    pub async fn append_now(&self, event: AuditEvent) -> Result<AuditEntry, ShieldError> {
        let mut tx = self.db.begin().await?;
        let entry = self.append(&mut tx, event).await?;
        tx.commit().await?;
        Ok(entry)
    }

    fn select_entries() -> SelectStatement {
        Query::select()
            .columns(AUDIT_COLUMNS)
            .from(A::Table)
            .to_owned()
    }

    /// Entries of the scope's ACTIVE organisation, newest first, filtered,
    /// cursor-paginated (the cursor is the last `seq` returned).
    pub async fn list(
        &self,
        scope: &TenantScope,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, ShieldError> {
        let limit = page.limit();
        let mut stmt = Self::select_entries()
            .and_where(Expr::col(A::Chain).eq(chain_name(Some(scope.org_id()))))
            .order_by(A::Seq, Order::Desc)
            .limit(u64::from(limit) + 1)
            .to_owned();
        apply_filter(&mut stmt, filter);
        let cursor = page
            .cursor()
            .map_err(|e| ShieldError::Store(StoreError::InvalidField(e)))?;
        if let Some(Cursor(c)) = cursor {
            let before: i64 = c.parse().map_err(|_| {
                ShieldError::Store(StoreError::InvalidField(kiki_core::FieldError::new(
                    "cursor",
                    "The cursor is not one this API issued.",
                )))
            })?;
            stmt.and_where(Expr::col(A::Seq).lt(before));
        }
        let rows: Vec<AuditRow> = self.db.fetch_all(&stmt).await?;
        let mut items: Vec<AuditEntry> = rows.into_iter().map(AuditEntry::from).collect();
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|e| Cursor(e.seq.to_string()).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Verifies one chain (Some(org)) from seq 1 to the head; streams in
    /// batches of 1000 (never loads all).
    pub async fn verify(&self, org: Option<OrgId>) -> Result<ChainReport, ShieldError> {
        verify::verify_chain(&self.db, &chain_name(org)).await
    }

    /// The chain of the caller's active organisation (`GET /v1/audit/verify`).
    pub async fn verify_for(&self, scope: &TenantScope) -> Result<ChainReport, ShieldError> {
        self.verify(Some(scope.org_id())).await
    }

    /// Every chain (CLI `kiki audit verify` without --org): the platform chain
    /// first, then organisations in id order.
    pub async fn verify_all(&self) -> Result<Vec<ChainReport>, ShieldError> {
        let mut reports = Vec::new();
        for chain in verify::all_chains(&self.db).await? {
            reports.push(verify::verify_chain(&self.db, &chain).await?);
        }
        Ok(reports)
    }
}

fn apply_filter(stmt: &mut SelectStatement, f: &AuditFilter) {
    if let Some(actor) = &f.actor_id {
        stmt.and_where(Expr::col(A::ActorId).eq(actor.as_str()));
    }
    if let Some(action) = &f.action {
        match action.strip_suffix('*') {
            // substr() counts characters on both backends and, unlike LIKE,
            // is case-sensitive on both and needs no escaping.
            Some(prefix) if !prefix.is_empty() => {
                // PostgreSQL's substr takes `integer` (int4), so bind i32.
                let len = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
                stmt.and_where(
                    Expr::from(
                        Func::cust(Alias::new("substr"))
                            .arg(Expr::col(A::Action))
                            .arg(1i32)
                            .arg(len),
                    )
                    .eq(prefix),
                );
            }
            // "*" alone matches every action.
            Some(_) => {}
            None => {
                stmt.and_where(Expr::col(A::Action).eq(action.as_str()));
            }
        }
    }
    if let Some(kind) = &f.target_kind {
        stmt.and_where(Expr::col(A::TargetKind).eq(kind.as_str()));
    }
    if let Some(id) = &f.target_id {
        stmt.and_where(Expr::col(A::TargetId).eq(id.as_str()));
    }
    if let Some(from) = f.from {
        stmt.and_where(Expr::col(A::OccurredAt).gte(from));
    }
    if let Some(to) = f.to {
        stmt.and_where(Expr::col(A::OccurredAt).lt(to));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_have_a_kind_and_an_id() {
        let u = UserId::new();
        let k = Uuid::now_v7();
        let cases = [
            (Actor::User(u), "user", Some(u.to_string())),
            (Actor::ApiKey(k), "api_key", Some(k.to_string())),
            (
                Actor::System("cli".into()),
                "system",
                Some("cli".to_owned()),
            ),
            (Actor::Anonymous, "anonymous", None),
        ];
        for (actor, kind, id) in cases {
            assert_eq!(actor.kind(), kind);
            assert_eq!(actor.id(), id);
            let json = serde_json::to_value(&actor).unwrap();
            assert_eq!(json["kind"], kind);
            assert_eq!(serde_json::from_value::<Actor>(json).unwrap(), actor);
        }
    }

    #[test]
    fn chain_names_round_trip() {
        let org = OrgId::new();
        assert_eq!(chain_name(None), "platform");
        assert_eq!(chain_org(&chain_name(None)), Ok(None));
        assert_eq!(chain_org(&chain_name(Some(org))), Ok(Some(org)));
        assert_eq!(chain_org("garbage"), Err(()));
    }

    #[test]
    fn lock_keys_differ_per_chain_and_are_stable() {
        assert_eq!(lock_key("platform"), lock_key("platform"));
        assert_ne!(
            lock_key("platform"),
            lock_key(&chain_name(Some(OrgId::new())))
        );
    }

    #[test]
    fn the_builder_sets_every_field() {
        let org = OrgId::new();
        let e = AuditEvent::new(Some(org), Actor::Anonymous, "auth.login_failed")
            .target("user", 42)
            .details(serde_json::json!({"reason": "bad_password"}))
            .context(
                Some("203.0.113.7".parse().unwrap()),
                Some("ua".into()),
                Some("req-1".into()),
            );
        assert_eq!(e.org_id, Some(org));
        assert_eq!(e.target_kind.as_deref(), Some("user"));
        assert_eq!(e.target_id.as_deref(), Some("42"));
        assert_eq!(e.details["reason"], "bad_password");
        assert_eq!(e.user_agent.as_deref(), Some("ua"));
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
    }

    #[test]
    fn long_text_is_cut_on_character_boundaries() {
        assert_eq!(cut("héllo".into(), 2), "hé");
        assert_eq!(cut("abc".into(), 10), "abc");
    }
}
