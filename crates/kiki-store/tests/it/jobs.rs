//! The job queue: success with progress, retries, timeouts, lease reclaim,
//! exclusivity between workers, cancellation, shutdown and tenant scoping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use kiki_core::{JobId, OrgId, PageRequest, TenantScope, TestClock};
use kiki_store::sea_query::{Expr, ExprTrait, Query};
use kiki_store::testing::fresh_db;
use kiki_store::{
    CancellationToken, Db, EnqueueOptions, JobContext, JobError, JobHandler, JobStatus, Jobs,
    JobsConfig,
};
use serde_json::{Value, json};
use time::macros::datetime;

use crate::support::eventually;

/// A handler defined by a closure, counting its runs per job.
struct FnHandler<F> {
    kind: &'static str,
    runs: Arc<Mutex<HashMap<JobId, u32>>>,
    f: F,
}

impl<F> FnHandler<F>
where
    F: Fn(JobContext) -> BoxFuture<'static, Result<Value, JobError>> + Send + Sync + 'static,
{
    fn new(kind: &'static str, f: F) -> Arc<Self> {
        Arc::new(FnHandler {
            kind,
            runs: Arc::default(),
            f,
        })
    }

    fn runs_of(&self, id: JobId) -> u32 {
        self.runs.lock().unwrap().get(&id).copied().unwrap_or(0)
    }
}

impl<F> JobHandler for FnHandler<F>
where
    F: Fn(JobContext) -> BoxFuture<'static, Result<Value, JobError>> + Send + Sync + 'static,
{
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        *self.runs.lock().unwrap().entry(ctx.id).or_default() += 1;
        (self.f)(ctx)
    }
}

fn config() -> JobsConfig {
    JobsConfig {
        workers: 2,
        poll_interval_ms: 20,
        lease_secs: 30,
        retry_base_ms: 10,
        shutdown_grace_secs: 0,
        ..JobsConfig::default()
    }
}

fn clock() -> TestClock {
    TestClock::at(datetime!(2026-06-01 12:00:00 UTC))
}

#[derive(kiki_store::sqlx::FromRow)]
struct ProgressRow {
    progress: f64,
    progress_message: Option<String>,
}

async fn read_progress(db: &Db, id: JobId) -> ProgressRow {
    use kiki_store::schema::Jobs as J;
    db.fetch_one(
        &Query::select()
            .columns([J::Progress, J::ProgressMessage])
            .from(J::Table)
            .and_where(Expr::col(J::Id).eq(id.0))
            .to_owned(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_enqueued_job_runs_once_and_succeeds_with_its_result_and_progress() {
    let db = fresh_db().await;
    let handler = FnHandler::new("test.echo", |ctx: JobContext| {
        Box::pin(async move {
            ctx.progress(0.5, "half way").await;
            let seen = read_progress(ctx.db(), ctx.id).await;
            Ok(json!({
                "echo": ctx.payload,
                "attempt": ctx.attempt,
                "seen_progress": seen.progress,
                "seen_message": seen.progress_message,
            }))
        }) as BoxFuture<'static, _>
    });
    let c = clock();
    let jobs = Jobs::new((*db).clone(), config())
        .with_clock(Arc::new(c.clone()))
        .with_handler(handler.clone());
    let org = OrgId::new();
    let id = jobs
        .enqueue(
            Some(org),
            "test.echo",
            json!({"x": 1}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let queued = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(queued.status, JobStatus::Queued);
    assert_eq!((queued.attempts, queued.max_attempts), (0, 3));
    assert_eq!(queued.org_id, Some(org));

    assert!(jobs.run_once("w1").await.unwrap());
    assert!(!jobs.run_once("w1").await.unwrap(), "nothing else is due");
    let done = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.attempts, 1);
    assert_eq!(done.progress, 1.0);
    assert_eq!(done.locked_by, None);
    assert_eq!(done.finished_at, Some(c.now_utc()));
    let result = done.result.unwrap();
    assert_eq!(result["echo"], json!({"x": 1}));
    assert_eq!(result["attempt"], 1);
    assert_eq!(result["seen_progress"], 0.5);
    assert_eq!(result["seen_message"], "half way");
    assert_eq!(handler.runs_of(id), 1);
    db.cleanup().await;
}

trait NowUtc {
    fn now_utc(&self) -> time::OffsetDateTime;
}
impl NowUtc for TestClock {
    fn now_utc(&self) -> time::OffsetDateTime {
        kiki_core::Clock::now(self)
    }
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_then_failed_with_its_last_error() {
    let db = fresh_db().await;
    let handler = FnHandler::new("test.flaky", |ctx: JobContext| {
        Box::pin(async move {
            Err(JobError::failed(format!(
                "upstream said no on attempt {}",
                ctx.attempt
            )))
        }) as BoxFuture<'static, _>
    });
    let c = clock();
    let jobs = Jobs::new(
        (*db).clone(),
        JobsConfig {
            retry_base_ms: 60_000,
            ..config()
        },
    )
    .with_clock(Arc::new(c.clone()))
    .with_handler(handler.clone());
    let id = jobs
        .enqueue(None, "test.flaky", Value::Null, EnqueueOptions::default())
        .await
        .unwrap();

    assert!(jobs.run_once("w").await.unwrap());
    let after_first = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(after_first.status, JobStatus::Queued);
    assert_eq!(
        after_first.last_error.as_deref(),
        Some("upstream said no on attempt 1")
    );
    let delay = after_first.run_at - c.now_utc();
    assert!(
        delay >= time::Duration::seconds(45) && delay < time::Duration::seconds(75),
        "first retry after base ± 25 %: {delay}"
    );
    assert!(
        !jobs.run_once("w").await.unwrap(),
        "not due before its backoff"
    );

    c.advance(time::Duration::minutes(2));
    assert!(jobs.run_once("w").await.unwrap());
    let after_second = jobs.get(id).await.unwrap().unwrap();
    let second_delay = after_second.run_at - c.now_utc();
    assert!(
        second_delay >= time::Duration::seconds(90) && second_delay < time::Duration::seconds(150),
        "the second backoff doubles: {second_delay}"
    );

    c.advance(time::Duration::minutes(5));
    assert!(jobs.run_once("w").await.unwrap());
    let failed = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.attempts, 3);
    assert_eq!(
        failed.last_error.as_deref(),
        Some("upstream said no on attempt 3")
    );
    assert!(failed.finished_at.is_some());
    c.advance(time::Duration::hours(1));
    assert!(
        !jobs.run_once("w").await.unwrap(),
        "a failed job is not retried"
    );
    assert_eq!(handler.runs_of(id), 3);
    db.cleanup().await;
}

#[tokio::test]
async fn a_permanent_error_fails_the_job_without_retrying() {
    let db = fresh_db().await;
    let handler = FnHandler::new("test.bad_payload", |ctx: JobContext| {
        Box::pin(async move {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)] // reason: only the shape matters
            struct Wanted {
                store_id: u64,
            }
            ctx.payload_as::<Wanted>()?;
            Ok(Value::Null)
        }) as BoxFuture<'static, _>
    });
    let jobs = Jobs::new((*db).clone(), config()).with_handler(handler.clone());
    let id = jobs
        .enqueue(
            None,
            "test.bad_payload",
            json!({"store": "x"}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    assert!(jobs.run_once("w").await.unwrap());
    let rec = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(rec.status, JobStatus::Failed);
    assert_eq!(rec.attempts, 1);
    let err = rec.last_error.unwrap();
    assert!(
        err.contains("payload of job kind `test.bad_payload` is invalid"),
        "{err}"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_job_over_its_timeout_is_stopped_and_its_cancel_token_fires() {
    let db = fresh_db().await;
    let cancelled = Arc::new(Mutex::new(None::<CancellationToken>));
    let seen = cancelled.clone();
    let handler = FnHandler::new("test.slow", move |ctx: JobContext| {
        *seen.lock().unwrap() = Some(ctx.cancel.clone());
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Value::Null)
        }) as BoxFuture<'static, _>
    });
    let jobs = Jobs::new((*db).clone(), config()).with_handler(handler);
    let id = jobs
        .enqueue(
            None,
            "test.slow",
            Value::Null,
            EnqueueOptions {
                timeout_secs: Some(1),
                max_attempts: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(jobs.run_once("w").await.unwrap());
    let rec = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(rec.status, JobStatus::Failed);
    assert_eq!(
        rec.last_error.as_deref(),
        Some("The job ran longer than its timeout of 1 seconds.")
    );
    let token = cancelled.lock().unwrap().clone().unwrap();
    assert!(token.is_cancelled());
    db.cleanup().await;
}

#[tokio::test]
async fn a_panicking_handler_counts_as_a_failed_attempt() {
    let db = fresh_db().await;
    let handler = FnHandler::new("test.panics", |_ctx: JobContext| {
        Box::pin(async move {
            let v: Vec<u8> = Vec::new();
            if v.is_empty() {
                panic!("index out of range in the handler");
            }
            Ok(Value::Null)
        }) as BoxFuture<'static, _>
    });
    let jobs = Jobs::new((*db).clone(), config()).with_handler(handler);
    let id = jobs
        .enqueue(
            None,
            "test.panics",
            Value::Null,
            EnqueueOptions {
                max_attempts: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(jobs.run_once("w").await.unwrap());
    let rec = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(rec.status, JobStatus::Failed);
    assert_eq!(
        rec.last_error.as_deref(),
        Some("The job handler panicked: index out of range in the handler")
    );
    db.cleanup().await;
}

#[tokio::test]
async fn the_job_of_a_crashed_worker_is_reclaimed_after_its_lease_expires() {
    let db = fresh_db().await;
    let handler = FnHandler::new("test.reclaim", |ctx: JobContext| {
        Box::pin(async move { Ok(json!({"attempt": ctx.attempt})) }) as BoxFuture<'static, _>
    });
    let c = clock();
    let jobs = Jobs::new(
        (*db).clone(),
        JobsConfig {
            lease_secs: 60,
            ..config()
        },
    )
    .with_clock(Arc::new(c.clone()))
    .with_handler(handler.clone());
    let id = jobs
        .enqueue(None, "test.reclaim", Value::Null, EnqueueOptions::default())
        .await
        .unwrap();
    // A worker claims the job and dies without a heartbeat.
    let claimed = jobs.claim("crashed-instance/w0").await.unwrap().unwrap();
    assert_eq!(claimed.id, id);
    assert_eq!(claimed.status, JobStatus::Running);
    assert_eq!(
        claimed.locked_until,
        Some(c.now_utc() + time::Duration::seconds(60))
    );

    c.advance(time::Duration::seconds(59));
    assert!(
        !jobs.run_once("healthy/w0").await.unwrap(),
        "the lease still holds"
    );
    c.advance(time::Duration::seconds(2));
    assert!(jobs.run_once("healthy/w0").await.unwrap());
    let rec = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(rec.status, JobStatus::Succeeded);
    assert_eq!(rec.attempts, 2);
    assert_eq!(rec.result, Some(json!({"attempt": 2})));
    assert_eq!(handler.runs_of(id), 1, "only the healthy worker ran it");
    db.cleanup().await;
}

#[tokio::test]
async fn a_job_whose_last_attempt_was_abandoned_fails_when_reclaimed() {
    let db = fresh_db().await;
    let handler = FnHandler::new("test.abandoned", |_ctx: JobContext| {
        Box::pin(async move { Ok(Value::Null) }) as BoxFuture<'static, _>
    });
    let c = clock();
    let jobs = Jobs::new((*db).clone(), config())
        .with_clock(Arc::new(c.clone()))
        .with_handler(handler.clone());
    let id = jobs
        .enqueue(
            None,
            "test.abandoned",
            Value::Null,
            EnqueueOptions {
                max_attempts: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    jobs.claim("crashed/w0").await.unwrap().unwrap();
    c.advance(time::Duration::hours(1));
    assert!(jobs.run_once("w").await.unwrap());
    let rec = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(rec.status, JobStatus::Failed);
    assert!(rec.last_error.unwrap().contains("lease expired"));
    assert_eq!(handler.runs_of(id), 0);
    db.cleanup().await;
}

#[tokio::test]
async fn many_workers_on_two_instances_run_each_job_exactly_once() {
    let db = fresh_db().await;
    let make = || {
        FnHandler::new("test.count", |_ctx: JobContext| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(Value::Null)
            }) as BoxFuture<'static, _>
        })
    };
    let (h1, h2) = (make(), make());
    let cfg = JobsConfig {
        workers: 3,
        ..config()
    };
    let a = Jobs::new((*db).clone(), cfg.clone()).with_handler(h1.clone());
    // The second instance has its own pool, like another replica.
    let other_db = Db::connect(&db.config()).await.unwrap();
    let b = Jobs::new(other_db.clone(), cfg).with_handler(h2.clone());
    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(
            a.enqueue(
                None,
                "test.count",
                json!({"i": i}),
                EnqueueOptions::default(),
            )
            .await
            .unwrap(),
        );
    }
    let stop = CancellationToken::new();
    let wa = a.spawn_workers("instance-a", stop.clone());
    let wb = b.spawn_workers("instance-b", stop.clone());
    for id in &ids {
        let id = *id;
        eventually("every job to succeed", || {
            let a = a.clone();
            async move { a.get(id).await.unwrap().unwrap().status == JobStatus::Succeeded }
        })
        .await;
    }
    stop.cancel();
    wa.await.unwrap();
    wb.await.unwrap();
    for id in &ids {
        assert_eq!(h1.runs_of(*id) + h2.runs_of(*id), 1, "job {id} ran once");
        assert_eq!(a.get(*id).await.unwrap().unwrap().attempts, 1);
    }
    other_db.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn cancelling_a_queued_job_keeps_it_from_running() {
    let db = fresh_db().await;
    let handler = FnHandler::new("test.never", |_ctx: JobContext| {
        Box::pin(async move { Ok(Value::Null) }) as BoxFuture<'static, _>
    });
    let jobs = Jobs::new((*db).clone(), config()).with_handler(handler.clone());
    let id = jobs
        .enqueue(None, "test.never", Value::Null, EnqueueOptions::default())
        .await
        .unwrap();
    assert!(jobs.cancel(id).await.unwrap());
    assert!(!jobs.cancel(id).await.unwrap(), "already finished");
    assert!(!jobs.run_once("w").await.unwrap());
    assert_eq!(
        jobs.get(id).await.unwrap().unwrap().status,
        JobStatus::Cancelled
    );
    assert_eq!(handler.runs_of(id), 0);
    db.cleanup().await;
}

#[tokio::test]
async fn cancelling_a_running_job_fires_its_token_at_the_next_heartbeat() {
    let db = fresh_db().await;
    let handler = FnHandler::new("test.cooperative", |ctx: JobContext| {
        Box::pin(async move {
            ctx.cancel.cancelled().await;
            Err(JobError::Cancelled)
        }) as BoxFuture<'static, _>
    });
    // A 1 s lease gives a heartbeat every 333 ms.
    let jobs = Jobs::new(
        (*db).clone(),
        JobsConfig {
            lease_secs: 1,
            ..config()
        },
    )
    .with_handler(handler);
    let id = jobs
        .enqueue(
            None,
            "test.cooperative",
            Value::Null,
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let runner = {
        let jobs = jobs.clone();
        tokio::spawn(async move { jobs.run_once("w").await })
    };
    eventually("the job to be running", || {
        let jobs = jobs.clone();
        async move { jobs.get(id).await.unwrap().unwrap().status == JobStatus::Running }
    })
    .await;
    assert!(jobs.cancel(id).await.unwrap());
    assert!(runner.await.unwrap().unwrap());
    let rec = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(rec.status, JobStatus::Cancelled);
    assert_eq!(rec.locked_by, None);
    db.cleanup().await;
}

#[tokio::test]
async fn on_shutdown_a_running_job_past_the_grace_period_goes_back_to_the_queue() {
    let db = fresh_db().await;
    let handler = FnHandler::new("test.long", |_ctx: JobContext| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Value::Null)
        }) as BoxFuture<'static, _>
    });
    let jobs = Jobs::new(
        (*db).clone(),
        JobsConfig {
            workers: 1,
            shutdown_grace_secs: 0,
            ..config()
        },
    )
    .with_handler(handler);
    let id = jobs
        .enqueue(None, "test.long", Value::Null, EnqueueOptions::default())
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let workers = jobs.spawn_workers("instance", stop.clone());
    eventually("the job to be running", || {
        let jobs = jobs.clone();
        async move { jobs.get(id).await.unwrap().unwrap().status == JobStatus::Running }
    })
    .await;
    stop.cancel();
    workers.await.unwrap();
    let rec = jobs.get(id).await.unwrap().unwrap();
    assert_eq!(rec.status, JobStatus::Queued);
    assert_eq!(rec.attempts, 0, "the interrupted attempt is given back");
    assert_eq!(rec.locked_by, None);
    db.cleanup().await;
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let db = fresh_db().await;
    let jobs = Jobs::new((*db).clone(), config());
    let mut tx = db.begin().await.unwrap();
    let id = jobs
        .enqueue_tx(
            &mut tx,
            None,
            "test.tx",
            Value::Null,
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(jobs.get(id).await.unwrap(), None);

    let mut tx = db.begin().await.unwrap();
    let id = jobs
        .enqueue_tx(
            &mut tx,
            None,
            "test.tx",
            Value::Null,
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(jobs.get(id).await.unwrap().is_some());
    db.cleanup().await;
}

#[tokio::test]
async fn invalid_enqueue_options_are_rejected_with_a_sentence() {
    let db = fresh_db().await;
    let jobs = Jobs::new((*db).clone(), config());
    let cases = [
        ("", EnqueueOptions::default(), "non-empty kind"),
        (
            "k",
            EnqueueOptions {
                max_attempts: Some(0),
                ..Default::default()
            },
            "max_attempts",
        ),
        (
            "k",
            EnqueueOptions {
                timeout_secs: Some(0),
                ..Default::default()
            },
            "timeout_secs",
        ),
    ];
    for (kind, opts, expected) in cases {
        let err = jobs
            .enqueue(None, kind, Value::Null, opts)
            .await
            .unwrap_err();
        assert!(matches!(err, kiki_store::StoreError::InvalidArgument(_)));
        assert!(err.to_string().contains(expected), "{err}");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn a_tenant_sees_only_jobs_of_its_active_organisation() {
    let db = fresh_db().await;
    let jobs = Jobs::new((*db).clone(), config());
    let (agency, client, stranger) = (OrgId::new(), OrgId::new(), OrgId::new());
    let client_job = jobs
        .enqueue(Some(client), "k", Value::Null, EnqueueOptions::default())
        .await
        .unwrap();
    let stranger_job = jobs
        .enqueue(Some(stranger), "k", Value::Null, EnqueueOptions::default())
        .await
        .unwrap();
    let system_job = jobs
        .enqueue(None, "k", Value::Null, EnqueueOptions::default())
        .await
        .unwrap();
    let agency_scope = TenantScope::new(agency, vec![client]);
    // Reads by id follow the active organisation: the agency sees its
    // client's job with the client active, not from its own scope.
    assert!(
        jobs.get_scoped(&agency_scope, client_job)
            .await
            .unwrap()
            .is_none()
    );
    let on_client = TenantScope::new(client, vec![agency, client]);
    assert!(
        jobs.get_scoped(&on_client, client_job)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        jobs.get_scoped(&agency_scope, stranger_job)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        jobs.get_scoped(&agency_scope, system_job)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !jobs
            .cancel_scoped(&agency_scope, stranger_job)
            .await
            .unwrap()
    );
    assert_eq!(
        jobs.get(stranger_job).await.unwrap().unwrap().status,
        JobStatus::Queued
    );
    assert!(!jobs.cancel_scoped(&agency_scope, client_job).await.unwrap());
    assert!(jobs.cancel_scoped(&on_client, client_job).await.unwrap());
    db.cleanup().await;
}

#[tokio::test]
async fn the_jobs_list_pages_newest_first_within_the_active_organisation() {
    let db = fresh_db().await;
    let jobs = Jobs::new((*db).clone(), config());
    let org = OrgId::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            jobs.enqueue(Some(org), "k", json!(i), EnqueueOptions::default())
                .await
                .unwrap(),
        );
    }
    jobs.enqueue(
        Some(OrgId::new()),
        "k",
        Value::Null,
        EnqueueOptions::default(),
    )
    .await
    .unwrap();
    jobs.cancel(ids[0]).await.unwrap();
    let scope = TenantScope::single(org);
    let first = jobs
        .list_scoped(
            &scope,
            None,
            &PageRequest {
                limit: Some(2),
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let second = jobs
        .list_scoped(
            &scope,
            None,
            &PageRequest {
                limit: Some(2),
                cursor: first.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    let third = jobs
        .list_scoped(
            &scope,
            None,
            &PageRequest {
                limit: Some(2),
                cursor: second.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        third.items.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    assert_eq!(third.next_cursor, None);
    let cancelled = jobs
        .list_scoped(&scope, Some(JobStatus::Cancelled), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(cancelled.items.len(), 1);
    let bad = jobs
        .list_scoped(
            &scope,
            None,
            &PageRequest {
                limit: None,
                cursor: Some("!!".into()),
            },
        )
        .await;
    // A 422 naming the field, as every cursor of the API.
    assert!(matches!(
        bad,
        Err(kiki_store::StoreError::InvalidField(ref f)) if f.field == "cursor"
    ));
    db.cleanup().await;
}

#[tokio::test]
async fn job_records_serialise_with_rfc3339_times_and_lowercase_status() {
    let db = fresh_db().await;
    let jobs = Jobs::new((*db).clone(), config()).with_clock(Arc::new(clock()));
    let id = jobs
        .enqueue(None, "k", json!({"a": 1}), EnqueueOptions::default())
        .await
        .unwrap();
    let v = serde_json::to_value(jobs.get(id).await.unwrap().unwrap()).unwrap();
    assert_eq!(v["status"], "queued");
    assert_eq!(v["created_at"], "2026-06-01T12:00:00Z");
    assert_eq!(v["finished_at"], Value::Null);
    assert_eq!(v["payload"], json!({"a": 1}));
    db.cleanup().await;
}
