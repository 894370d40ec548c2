//! The domain event bus: "something happened" messages (campaign paused,
//! invoice issued) for live dashboard updates and loose coupling between
//! contexts. Delivery is at most once and best effort: anything that must not
//! be lost goes through the jobs table instead.
//!
//! Backends:
//! - in-process: a broadcast channel (one process);
//! - PostgreSQL: `NOTIFY kiki_events` with the event as JSON, and a `PgListener`
//!   task re-broadcasting locally. NOTIFY payloads are capped at 8000 bytes, so
//!   an event whose JSON exceeds 7900 bytes is written to `event_bodies` and
//!   only its id is notified; listeners fetch the body (kept for a day);
//! - Redis: `PUBLISH`/`SUBSCRIBE` on `kiki:events`.
//!
//! With a shared backend a publisher receives its own events through the
//! backend, like every other instance: each subscriber sees each event once.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kiki_core::OrgId;
use redis::AsyncCommands;
use sea_query::{Expr, ExprTrait, Func, Query};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::postgres::PgListener;
use sqlx::types::Json;
use time::OffsetDateTime;
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};
use uuid::Uuid;

use crate::config::{EventBackend, EventsConfig, RedisConfig};
use crate::db::{Db, DbPool};
use crate::error::StoreError;
use crate::schema::EventBodies;

/// PostgreSQL channel name.
pub const PG_CHANNEL: &str = "kiki_events";
/// Redis channel name.
pub const REDIS_CHANNEL: &str = "kiki:events";
/// Largest event JSON sent inline in a NOTIFY (PostgreSQL's limit is 8000 bytes).
pub const PG_INLINE_LIMIT: usize = 7900;
/// Events buffered per subscriber before a slow one starts missing them
/// (`RecvError::Lagged`).
const CHANNEL_CAPACITY: usize = 1024;

/// Something that happened in the domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DomainEvent {
    pub id: Uuid,
    /// The organisation it concerns; `None` for system events.
    pub org_id: Option<OrgId>,
    /// `area.what_happened`, e.g. `campaign.paused`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl DomainEvent {
    /// A new event with a fresh time-ordered id.
    pub fn new(org_id: Option<OrgId>, kind: &str, payload: Value, at: OffsetDateTime) -> Self {
        DomainEvent {
            id: Uuid::now_v7(),
            org_id,
            kind: kind.to_owned(),
            payload,
            at,
        }
    }
}

/// A typed event payload. Each context declares one struct per kind it
/// publishes (serde + OpenAPI schema) and lists it in its module's
/// `events()`, from which the catalogue in `docs/events.md` is generated;
/// subscribers decode with [`DomainEvent::decode`].
pub trait Event: Serialize + serde::de::DeserializeOwned + utoipa::ToSchema + Send + Sync {
    /// `area.what_happened`, e.g. `twin.rebalanced`.
    const KIND: &'static str;
    /// When it is published, in one sentence.
    const DESCRIPTION: &'static str;
}

impl DomainEvent {
    /// The event of a typed payload.
    pub fn of<E: Event>(org_id: Option<OrgId>, payload: &E, at: OffsetDateTime) -> DomainEvent {
        // A payload type is plain data (structs, strings, numbers): its JSON
        // form cannot fail; `Null` would only stand for a type that breaks it.
        let payload = serde_json::to_value(payload).unwrap_or(Value::Null);
        DomainEvent::new(org_id, E::KIND, payload, at)
    }

    /// The typed payload when this event is of kind `E::KIND`; `None` for
    /// another kind, `Some(Err)` when the payload does not match the type.
    pub fn decode<E: Event>(&self) -> Option<Result<E, serde_json::Error>> {
        (self.kind == E::KIND).then(|| serde_json::from_value(self.payload.clone()))
    }
}

/// One entry of the event catalogue: a kind, who publishes it, when, and
/// its payload's schema.
#[derive(Debug, Clone)]
pub struct EventSpec {
    pub kind: &'static str,
    /// The publishing context (module name).
    pub context: &'static str,
    pub description: &'static str,
    /// The payload's schema name and its OpenAPI schema (with the schemas it
    /// refers to).
    pub schema_name: String,
    pub schema: Value,
    pub referenced: Vec<(String, Value)>,
}

impl EventSpec {
    /// The catalogue entry of `E`, published by `context`.
    pub fn of<E: Event>(context: &'static str) -> EventSpec {
        let mut referenced = Vec::new();
        E::schemas(&mut referenced);
        EventSpec {
            kind: E::KIND,
            context,
            description: E::DESCRIPTION,
            schema_name: E::name().into_owned(),
            schema: serde_json::to_value(E::schema()).unwrap_or(Value::Null),
            referenced: referenced
                .into_iter()
                .map(|(n, s)| (n, serde_json::to_value(s).unwrap_or(Value::Null)))
                .collect(),
        }
    }
}

/// The event catalogue as Markdown (`docs/events.md`): one section per kind,
/// sorted, with a table of its payload's fields.
pub fn catalogue_markdown(specs: &[EventSpec]) -> String {
    let mut specs = specs.to_vec();
    specs.sort_by_key(|s| s.kind);
    let mut out = String::from(
        "# Event catalogue\n\n\
         Generated from the modules' `events()` declarations (`kiki events`); a test fails when this file\n\
         and the code disagree (`KIKI_BLESS=1 cargo test -p kiki-cli events` rewrites it).\n\n\
         Every event travels as `{\"id\", \"org_id\", \"kind\", \"payload\", \"at\"}` on the event bus (in-process,\n\
         PostgreSQL `NOTIFY kiki_events` or Redis `kiki:events`). Delivery is at most once: an event tells\n\
         subscribers (other replicas, live dashboard updates) that something changed; what must not be lost is a\n\
         job or a row, not an event.\n\n\
         | kind | context | when |\n|---|---|---|\n",
    );
    for s in &specs {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            s.kind, s.context, s.description
        ));
    }
    for s in &specs {
        out.push_str(&format!(
            "\n## `{}`\n\n{}\n\nPayload `{}`:\n\n",
            s.kind, s.description, s.schema_name
        ));
        out.push_str(&fields_table(&s.schema));
        let mut seen = std::collections::BTreeSet::new();
        for (name, schema) in &s.referenced {
            if seen.insert(name.clone()) && *name != s.schema_name {
                out.push_str(&format!("\n`{name}`:\n\n"));
                out.push_str(&fields_table(schema));
            }
        }
    }
    out
}

/// A Markdown table of an object schema's properties, or the values of an
/// enumeration.
fn fields_table(schema: &Value) -> String {
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
            .collect();
        let description = schema["description"]
            .as_str()
            .unwrap_or("")
            .replace('\n', " ");
        return format!("{description} One of {}.\n", values.join(", "))
            .trim_start()
            .to_owned();
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = String::from("| field | type | required | meaning |\n|---|---|---|---|\n");
    if let Some(props) = schema["properties"].as_object() {
        for (name, p) in props {
            let description = p["description"].as_str().unwrap_or("").replace('\n', " ");
            out.push_str(&format!(
                "| `{name}` | {} | {} | {description} |\n",
                type_name(p),
                if required.contains(&name.as_str()) {
                    "yes"
                } else {
                    "no"
                },
            ));
        }
    }
    out
}

/// A short type description of a property schema.
fn type_name(p: &Value) -> String {
    if let Some(r) = p["$ref"].as_str() {
        return format!("`{}`", r.rsplit('/').next().unwrap_or(r));
    }
    if let Some(one) = p["oneOf"].as_array() {
        let parts: Vec<String> = one
            .iter()
            .filter(|v| v["type"] != "null")
            .map(type_name)
            .collect();
        return format!("{} or null", parts.join(" or "));
    }
    let ty = match &p["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    };
    let ty = if ty.starts_with("array") {
        format!("array of {}", type_name(&p["items"]))
    } else {
        ty
    };
    match p["format"].as_str() {
        Some(f) => format!("{ty} ({f})"),
        None => ty,
    }
}

/// What travels over NOTIFY: the event, or a reference to its stored body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum PgWire {
    Stored { body_ref: Uuid },
    Inline(DomainEvent),
}

enum Transport {
    InProcess,
    Postgres(Db),
    Redis(redis::aio::ConnectionManager),
}

struct Inner {
    tx: broadcast::Sender<DomainEvent>,
    transport: Transport,
    /// Stops the listener task when the last clone of the bus is dropped.
    _stop: Option<DropGuard>,
}

/// Publish and subscribe to domain events. Cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("backend", &self.backend())
            .finish()
    }
}

impl EventBus {
    /// The bus `cfg.backend` asks for. PostgreSQL needs a PostgreSQL `db`;
    /// Redis needs `redis.url`. Returns once the listener is subscribed, so
    /// events published afterwards on any instance are received.
    pub async fn new(
        cfg: &EventsConfig,
        db: &Db,
        redis: &RedisConfig,
    ) -> Result<EventBus, StoreError> {
        match cfg.backend {
            EventBackend::InProcess => Ok(EventBus::in_process()),
            EventBackend::Postgres => EventBus::postgres(db).await,
            EventBackend::Redis => EventBus::redis(redis).await,
        }
    }

    /// A bus for one process.
    pub fn in_process() -> EventBus {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        EventBus {
            inner: Arc::new(Inner {
                tx,
                transport: Transport::InProcess,
                _stop: None,
            }),
        }
    }

    async fn postgres(db: &Db) -> Result<EventBus, StoreError> {
        let DbPool::Postgres(pool) = db.pool() else {
            return Err(StoreError::Config(
                "events.backend = \"postgres\" needs a PostgreSQL database.url; use \"in_process\" or \"redis\" with SQLite.".to_owned(),
            ));
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(PG_CHANNEL).await?;
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let stop = CancellationToken::new();
        let task_tx = tx.clone();
        let task_db = db.clone();
        let task_stop = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = task_stop.cancelled() => break,
                    n = listener.recv() => match n {
                        Ok(n) => deliver_pg(&task_db, &task_tx, n.payload()).await,
                        Err(e) => {
                            // sqlx reconnects on the next recv(); pause so a dead server is not hammered.
                            tracing::warn!(error = %e, "event listener lost PostgreSQL; reconnecting");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            }
        });
        Ok(EventBus {
            inner: Arc::new(Inner {
                tx,
                transport: Transport::Postgres(db.clone()),
                _stop: Some(stop.drop_guard()),
            }),
        })
    }

    async fn redis(cfg: &RedisConfig) -> Result<EventBus, StoreError> {
        let Some(url) = &cfg.url else {
            return Err(StoreError::Config(
                "events.backend = \"redis\" needs redis.url to be set.".to_owned(),
            ));
        };
        let client = redis::Client::open(url.expose_secret()).map_err(|e| {
            StoreError::Config(format!(
                "The Redis URL in redis.url is invalid ({e}); expected redis://[:password@]host:port/db."
            ))
        })?;
        let publisher = redis::aio::ConnectionManager::new(client.clone()).await?;
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let stop = CancellationToken::new();
        let (ready_tx, ready_rx) = oneshot::channel();
        let task_tx = tx.clone();
        let task_stop = stop.clone();
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            while !task_stop.is_cancelled() {
                let mut pubsub = match client.get_async_pubsub().await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "event subscriber cannot reach Redis; retrying");
                        tokio::select! {
                            _ = task_stop.cancelled() => break,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
                if let Err(e) = pubsub.subscribe(REDIS_CHANNEL).await {
                    tracing::warn!(error = %e, "subscribing to Redis events failed; retrying");
                    continue;
                }
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                let mut messages = pubsub.into_on_message();
                loop {
                    tokio::select! {
                        _ = task_stop.cancelled() => return,
                        m = messages.next() => match m {
                            Some(msg) => match msg.get_payload::<String>() {
                                Ok(json) => deliver_json(&task_tx, &json),
                                Err(e) => tracing::warn!(error = %e, "a Redis event had a non-text payload"),
                            },
                            None => {
                                tracing::warn!("event subscription to Redis ended; resubscribing");
                                break;
                            }
                        }
                    }
                }
            }
        });
        if tokio::time::timeout(Duration::from_secs(5), ready_rx)
            .await
            .is_err()
        {
            tracing::warn!(
                "the Redis event subscription is not ready yet; events may be missed until it is"
            );
        }
        Ok(EventBus {
            inner: Arc::new(Inner {
                tx,
                transport: Transport::Redis(publisher),
                _stop: Some(stop.drop_guard()),
            }),
        })
    }

    pub fn backend(&self) -> EventBackend {
        match self.inner.transport {
            Transport::InProcess => EventBackend::InProcess,
            Transport::Postgres(_) => EventBackend::Postgres,
            Transport::Redis(_) => EventBackend::Redis,
        }
    }

    /// Sends `e` to every subscriber on every instance.
    pub async fn publish(&self, e: DomainEvent) -> Result<(), StoreError> {
        metrics::counter!("kiki_events_published_total", "kind" => e.kind.clone()).increment(1);
        match &self.inner.transport {
            Transport::InProcess => {
                // No subscriber is not an error: nobody is listening right now.
                let _ = self.inner.tx.send(e);
                Ok(())
            }
            Transport::Postgres(db) => {
                let json = serde_json::to_string(&PgWire::Inline(e.clone()))?;
                let message = if json.len() <= PG_INLINE_LIMIT {
                    json
                } else {
                    let insert = Query::insert()
                        .into_table(EventBodies::Table)
                        .columns([EventBodies::Id, EventBodies::Body, EventBodies::CreatedAt])
                        .values_panic([
                            e.id.into(),
                            serde_json::to_value(&e)?.into(),
                            OffsetDateTime::now_utc().into(),
                        ])
                        .to_owned();
                    db.execute(&insert).await?;
                    serde_json::to_string(&PgWire::Stored { body_ref: e.id })?
                };
                let notify = Query::select()
                    .expr(Func::cust("pg_notify").args([Expr::val(PG_CHANNEL), Expr::val(message)]))
                    .to_owned();
                db.execute(&notify).await?;
                Ok(())
            }
            Transport::Redis(conn) => {
                let json = serde_json::to_string(&e)?;
                let mut conn = conn.clone();
                conn.publish::<_, _, i64>(REDIS_CHANNEL, json).await?;
                Ok(())
            }
        }
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.inner.tx.subscribe()
    }

    /// Publishes a typed event (see [`Event`]).
    pub async fn emit<E: Event>(
        &self,
        org_id: Option<OrgId>,
        payload: &E,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.publish(DomainEvent::of(org_id, payload, at)).await
    }
}

#[derive(sqlx::FromRow)]
struct BodyRow {
    body: Json<DomainEvent>,
}

async fn deliver_pg(db: &Db, tx: &broadcast::Sender<DomainEvent>, payload: &str) {
    match serde_json::from_str::<PgWire>(payload) {
        Ok(PgWire::Inline(e)) => {
            let _ = tx.send(e);
        }
        Ok(PgWire::Stored { body_ref }) => {
            let q = Query::select()
                .column(EventBodies::Body)
                .from(EventBodies::Table)
                .and_where(Expr::col(EventBodies::Id).eq(body_ref))
                .to_owned();
            match db.fetch_optional::<BodyRow, _>(&q).await {
                Ok(Some(row)) => {
                    let _ = tx.send(row.body.0);
                }
                Ok(None) => {
                    tracing::warn!(event.id = %body_ref, "a large event's body was already deleted")
                }
                Err(e) => {
                    tracing::warn!(event.id = %body_ref, error = %e, "loading a large event's body failed")
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "ignored a malformed event notification"),
    }
}

fn deliver_json(tx: &broadcast::Sender<DomainEvent>, json: &str) {
    match serde_json::from_str::<DomainEvent>(json) {
        Ok(e) => {
            let _ = tx.send(e);
        }
        Err(e) => tracing::warn!(error = %e, "ignored a malformed event message"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_subscribers_each_receive_every_event() {
        let bus = EventBus::in_process();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        let e = DomainEvent::new(
            None,
            "test.happened",
            serde_json::json!({"n": 1}),
            OffsetDateTime::UNIX_EPOCH,
        );
        bus.publish(e.clone()).await.unwrap();
        assert_eq!(a.recv().await.unwrap(), e);
        assert_eq!(b.recv().await.unwrap(), e);
    }

    #[tokio::test]
    async fn publishing_without_subscribers_is_not_an_error() {
        let bus = EventBus::in_process();
        let e = DomainEvent::new(
            None,
            "test.happened",
            Value::Null,
            OffsetDateTime::UNIX_EPOCH,
        );
        assert!(bus.publish(e).await.is_ok());
    }

    #[test]
    fn wire_format_tells_inline_events_from_stored_references() {
        let e = DomainEvent::new(
            Some(OrgId::new()),
            "k",
            serde_json::json!([1, 2]),
            OffsetDateTime::UNIX_EPOCH,
        );
        let inline = serde_json::to_string(&PgWire::Inline(e.clone())).unwrap();
        assert!(
            matches!(serde_json::from_str::<PgWire>(&inline).unwrap(), PgWire::Inline(x) if x == e)
        );
        let stored = serde_json::to_string(&PgWire::Stored { body_ref: e.id }).unwrap();
        assert!(
            matches!(serde_json::from_str::<PgWire>(&stored).unwrap(), PgWire::Stored { body_ref } if body_ref == e.id)
        );
    }
}
