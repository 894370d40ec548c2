//! `db.housekeeping`: removes what is past retention and keeps everything else.

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::{Clock, TestClock};
use kiki_store::sea_query::{Expr, ExprTrait, Query};
use kiki_store::testing::fresh_db;
use kiki_store::{
    EnqueueOptions, HOUSEKEEPING_KIND, HousekeepingJob, HousekeepingReport, JobContext, JobError,
    JobHandler, JobStatus, Jobs, JobsConfig,
};
use serde_json::Value;
use time::macros::datetime;

struct Noop;

impl JobHandler for Noop {
    fn kind(&self) -> &'static str {
        "test.noop"
    }
    fn run<'a>(&'a self, _ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async { Ok(Value::Null) })
    }
}

#[tokio::test]
async fn housekeeping_deletes_finished_jobs_and_leases_past_retention_and_keeps_the_rest() {
    let db = fresh_db().await;
    let now = datetime!(2026-06-30 00:00 UTC);
    let clock = TestClock::at(now - time::Duration::days(20));
    let jobs = Jobs::new((*db).clone(), JobsConfig::default())
        .with_clock(Arc::new(clock.clone()))
        .with_handler(Arc::new(Noop))
        .with_handler(Arc::new(HousekeepingJob::new((*db).clone(), 14)));

    // Twenty days ago: three jobs finish, one stays queued for later, one lease.
    let mut old = Vec::new();
    for _ in 0..3 {
        old.push(
            jobs.enqueue(None, "test.noop", Value::Null, EnqueueOptions::default())
                .await
                .unwrap(),
        );
        assert!(jobs.run_once("w").await.unwrap());
    }
    let future_run = jobs
        .enqueue(
            None,
            "test.noop",
            Value::Null,
            EnqueueOptions {
                run_at: Some(now + time::Duration::days(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let old_cancelled = jobs
        .enqueue(None, "test.noop", Value::Null, EnqueueOptions::default())
        .await
        .unwrap();
    jobs.cancel(old_cancelled).await.unwrap();
    let lease = |at: time::OffsetDateTime| {
        use kiki_store::schema::SchedulerLeases as L;
        Query::insert()
            .into_table(L::Table)
            .columns([L::Kind, L::PeriodStart, L::InstanceId, L::CreatedAt])
            .values_panic(["test.noop".into(), at.into(), "i".into(), at.into()])
            .to_owned()
    };
    db.execute(&lease(clock.now())).await.unwrap();

    // Yesterday: one more finished job and lease, within retention.
    clock.set(now - time::Duration::days(1));
    let recent = jobs
        .enqueue(None, "test.noop", Value::Null, EnqueueOptions::default())
        .await
        .unwrap();
    assert!(jobs.run_once("w").await.unwrap());
    db.execute(&lease(clock.now())).await.unwrap();

    clock.set(now);
    let hk = jobs
        .enqueue(
            None,
            HOUSEKEEPING_KIND,
            Value::Null,
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    assert!(jobs.run_once("w").await.unwrap());
    let rec = jobs.get(hk).await.unwrap().unwrap();
    assert_eq!(rec.status, JobStatus::Succeeded, "{:?}", rec.last_error);
    let report: HousekeepingReport = serde_json::from_value(rec.result.unwrap()).unwrap();
    assert_eq!(report.jobs_deleted, 4, "three succeeded and one cancelled");
    assert_eq!(report.leases_deleted, 1);
    let expected_stats = match db.backend() {
        kiki_store::Backend::Sqlite => "PRAGMA optimize",
        kiki_store::Backend::Postgres => "ANALYZE jobs",
    };
    assert_eq!(report.statistics_refreshed, expected_stats);

    for id in old.iter().chain([&old_cancelled]) {
        assert_eq!(jobs.get(*id).await.unwrap(), None);
    }
    assert!(jobs.get(recent).await.unwrap().is_some());
    assert_eq!(
        jobs.get(future_run).await.unwrap().unwrap().status,
        JobStatus::Queued
    );
    #[derive(kiki_store::sqlx::FromRow)]
    struct N {
        n: i64,
    }
    use kiki_store::schema::SchedulerLeases as L;
    let left: N = db
        .fetch_one(
            &Query::select()
                .expr_as(Expr::col(L::Kind).count(), "n")
                .from(L::Table)
                .to_owned(),
        )
        .await
        .unwrap();
    assert_eq!(left.n, 1);
    // Run again: nothing more to delete.
    let again = HousekeepingJob::new((*db).clone(), 14)
        .run_at(now)
        .await
        .unwrap();
    assert_eq!((again.jobs_deleted, again.leases_deleted), (0, 0));
    db.cleanup().await;
}
