//! The event bus across instances: PostgreSQL LISTEN/NOTIFY and Redis pub/sub.

use std::time::Duration;

use kiki_core::OrgId;
use kiki_store::testing::fresh_postgres;
use kiki_store::{DomainEvent, EventBackend, EventBus, EventsConfig, RedisConfig, StoreError};
use secrecy::SecretString;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::broadcast::Receiver;

use crate::support::{postgres_or_note, redis_or_note};

async fn next(rx: &mut Receiver<DomainEvent>) -> DomainEvent {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("an event arrives")
        .expect("the channel is open")
}

fn event(kind: &str, payload: serde_json::Value) -> DomainEvent {
    DomainEvent::new(
        Some(OrgId::new()),
        kind,
        payload,
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
    )
}

async fn assert_delivered_across(a: &EventBus, b: &EventBus) {
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();
    let e = event(
        "campaign.paused",
        json!({"campaign_id": "c-1", "reason": "safe-fail"}),
    );
    a.publish(e.clone()).await.unwrap();
    assert_eq!(next(&mut on_b).await, e, "the other instance receives it");
    assert_eq!(
        next(&mut on_a).await,
        e,
        "the publisher's own subscribers receive it once"
    );
    let e2 = event("invoice.issued", json!({"n": 2}));
    b.publish(e2.clone()).await.unwrap();
    assert_eq!(next(&mut on_a).await, e2);
    assert_eq!(next(&mut on_b).await, e2);
    assert!(on_a.try_recv().is_err(), "no duplicates");
}

#[tokio::test]
async fn an_event_published_on_one_postgres_instance_reaches_the_other() {
    let Some(admin) = postgres_or_note("the PostgreSQL event bus test") else {
        return;
    };
    let db = fresh_postgres(&admin).await;
    let other = kiki_store::Db::connect(&db.config()).await.unwrap();
    let cfg = EventsConfig {
        backend: EventBackend::Postgres,
    };
    let a = EventBus::new(&cfg, &db, &RedisConfig::default())
        .await
        .unwrap();
    let b = EventBus::new(&cfg, &other, &RedisConfig::default())
        .await
        .unwrap();
    assert_eq!(a.backend(), EventBackend::Postgres);
    assert_delivered_across(&a, &b).await;

    // Bigger than a NOTIFY payload may be: travels through event_bodies.
    let mut on_b = b.subscribe();
    let big = event("report.ready", json!({"blob": "x".repeat(20_000)}));
    a.publish(big.clone()).await.unwrap();
    assert_eq!(next(&mut on_b).await, big);
    drop((a, b));
    other.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_event_published_on_one_redis_instance_reaches_the_other() {
    let Some(url) = redis_or_note("the Redis event bus test") else {
        return;
    };
    let redis = RedisConfig {
        url: Some(SecretString::from(url)),
    };
    let cfg = EventsConfig {
        backend: EventBackend::Redis,
    };
    let db = kiki_store::testing::fresh_sqlite().await;
    let a = EventBus::new(&cfg, &db, &redis).await.unwrap();
    let b = EventBus::new(&cfg, &db, &redis).await.unwrap();
    assert_delivered_across(&a, &b).await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_postgres_backend_on_sqlite_is_a_configuration_error() {
    let db = kiki_store::testing::fresh_sqlite().await;
    let err = EventBus::new(
        &EventsConfig {
            backend: EventBackend::Postgres,
        },
        &db,
        &RedisConfig::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Config(_)));
    assert!(err.to_string().contains("events.backend"), "{err}");
    let err = EventBus::new(
        &EventsConfig {
            backend: EventBackend::Redis,
        },
        &db,
        &RedisConfig::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("redis.url"), "{err}");
    db.cleanup().await;
}

/// A typed payload as a context declares one.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
struct CampaignPaused {
    /// Why it was paused.
    reason: String,
    /// Budget left, in micros.
    left_micros: i64,
}

impl kiki_store::Event for CampaignPaused {
    const KIND: &'static str = "campaign.paused";
    const DESCRIPTION: &'static str = "A campaign was paused.";
}

#[tokio::test]
async fn a_typed_event_travels_as_its_kind_and_decodes_back_only_as_its_type() {
    let bus = EventBus::in_process();
    let mut rx = bus.subscribe();
    let payload = CampaignPaused {
        reason: "kill switch".into(),
        left_micros: 1_500_000,
    };
    let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    bus.emit(Some(OrgId::new()), &payload, at).await.unwrap();
    let e = next(&mut rx).await;
    assert_eq!(e.kind, "campaign.paused");
    assert_eq!(
        e.payload,
        json!({"reason": "kill switch", "left_micros": 1_500_000})
    );
    assert_eq!(e.decode::<CampaignPaused>().unwrap().unwrap(), payload);
    // Another kind is not this type; a payload of the wrong shape is an error.
    assert!(
        event("campaign.resumed", json!({}))
            .decode::<CampaignPaused>()
            .is_none()
    );
    assert!(
        event("campaign.paused", json!({"reason": 1}))
            .decode::<CampaignPaused>()
            .unwrap()
            .is_err()
    );

    let doc =
        kiki_store::catalogue_markdown(&[kiki_store::EventSpec::of::<CampaignPaused>("campaigns")]);
    assert!(
        doc.contains("| `campaign.paused` | campaigns | A campaign was paused. |"),
        "{doc}"
    );
    assert!(
        doc.contains("| `left_micros` | integer (int64) | yes | Budget left, in micros. |"),
        "{doc}"
    );
}
