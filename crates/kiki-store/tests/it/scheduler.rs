//! The scheduler: several instances on one database enqueue each period once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kiki_core::{Clock, SystemClock, TestClock};
use kiki_store::sea_query::{Expr, ExprTrait, Query};
use kiki_store::testing::fresh_db;
use kiki_store::{CancellationToken, Db, Jobs, JobsConfig, Scheduler, StoreError};
use time::OffsetDateTime;
use time::macros::datetime;

fn every_second() -> BTreeMap<String, String> {
    BTreeMap::from([("test.tick".to_owned(), "* * * * * *".to_owned())])
}

#[derive(kiki_store::sqlx::FromRow)]
struct LeaseRow {
    period_start: OffsetDateTime,
    instance_id: String,
    job_id: Option<uuid::Uuid>,
}

async fn leases(db: &Db) -> Vec<LeaseRow> {
    use kiki_store::schema::SchedulerLeases as L;
    db.fetch_all(
        &Query::select()
            .columns([L::PeriodStart, L::InstanceId, L::JobId])
            .from(L::Table)
            .and_where(Expr::col(L::Kind).eq("test.tick"))
            .to_owned(),
    )
    .await
    .unwrap()
}

#[derive(kiki_store::sqlx::FromRow)]
struct JobIdRow {
    id: uuid::Uuid,
}

async fn scheduled_jobs(db: &Db) -> BTreeSet<uuid::Uuid> {
    use kiki_store::schema::Jobs as J;
    db.fetch_all::<JobIdRow, _>(
        &Query::select()
            .column(J::Id)
            .from(J::Table)
            .and_where(Expr::col(J::Kind).eq("test.tick"))
            .to_owned(),
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

#[tokio::test]
async fn two_instances_ticking_the_same_periods_enqueue_each_period_exactly_once() {
    let db = fresh_db().await;
    let start = datetime!(2026-06-01 12:00:00.250 UTC);
    let clock = TestClock::at(start);
    let other_db = Db::connect(&db.config()).await.unwrap();
    let make = |d: Db| {
        let jobs = Jobs::new(d.clone(), JobsConfig::default()).with_clock(Arc::new(clock.clone()));
        Scheduler::new(d, jobs, every_second(), Arc::new(clock.clone())).unwrap()
    };
    let (a, b) = (make((*db).clone()), make(other_db.clone()));
    let mut won = 0;
    for step in 0..12 {
        clock.advance(time::Duration::milliseconds(500));
        let now = clock.now();
        // Concurrently, and sometimes twice, as racing replicas would.
        let (ra, rb) = tokio::join!(a.tick("a", now), b.tick("b", now));
        won += ra.unwrap().len() + rb.unwrap().len();
        if step % 3 == 0 {
            won += a.tick("a", now).await.unwrap().len();
        }
    }
    // Ticks at 0.75 s … 6.25 s past noon; the period of 0 s began before the
    // schedulers existed, so periods 1 … 6 fire.
    let leases = leases(&db).await;
    let periods: BTreeSet<_> = leases.iter().map(|l| l.period_start).collect();
    let expected: BTreeSet<_> = (1..=6)
        .map(|s| datetime!(2026-06-01 12:00:00 UTC) + time::Duration::seconds(s))
        .collect();
    assert_eq!(periods, expected);
    assert_eq!(won, 6);
    let jobs = scheduled_jobs(&db).await;
    assert_eq!(jobs.len(), 6, "one job per period");
    let lease_jobs: BTreeSet<_> = leases.iter().filter_map(|l| l.job_id).collect();
    assert_eq!(lease_jobs, jobs, "each lease names the job it enqueued");
    assert!(
        leases
            .iter()
            .all(|l| l.instance_id == "a" || l.instance_id == "b")
    );
    other_db.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_new_scheduler_does_not_replay_periods_before_it_started_unless_asked() {
    let db = fresh_db().await;
    let clock = TestClock::at(datetime!(2026-06-01 12:00:30 UTC));
    let jobs = Jobs::new((*db).clone(), JobsConfig::default()).with_clock(Arc::new(clock.clone()));
    let hourly = BTreeMap::from([("test.tick".to_owned(), "0 0 * * * *".to_owned())]);
    let s = Scheduler::new(
        (*db).clone(),
        jobs.clone(),
        hourly.clone(),
        Arc::new(clock.clone()),
    )
    .unwrap();
    assert!(s.tick("a", clock.now()).await.unwrap().is_empty());
    let catch_up = Scheduler::new((*db).clone(), jobs, hourly, Arc::new(clock.clone()))
        .unwrap()
        .with_catch_up(Duration::from_secs(60));
    let won = catch_up.tick("b", clock.now()).await.unwrap();
    assert_eq!(won.len(), 1);
    assert_eq!(won[0].period_start, datetime!(2026-06-01 12:00:00 UTC));
    db.cleanup().await;
}

#[tokio::test]
async fn an_invalid_cron_expression_is_rejected_at_construction() {
    let db = fresh_db().await;
    let jobs = Jobs::new((*db).clone(), JobsConfig::default());
    let bad = BTreeMap::from([("db.housekeeping".to_owned(), "61 * * * * *".to_owned())]);
    let err = Scheduler::new((*db).clone(), jobs, bad, Arc::new(SystemClock)).unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidCron { ref kind, .. } if kind == "db.housekeeping"),
        "{err}"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn spawned_schedulers_on_the_wall_clock_never_enqueue_a_period_twice() {
    let db = fresh_db().await;
    let other_db = Db::connect(&db.config()).await.unwrap();
    let stop = CancellationToken::new();
    let mut handles = Vec::new();
    for (name, d) in [
        ("a", (*db).clone()),
        ("b", other_db.clone()),
        ("c", (*db).clone()),
    ] {
        let jobs = Jobs::new(d.clone(), JobsConfig::default());
        let s = Scheduler::new(d, jobs, every_second(), Arc::new(SystemClock)).unwrap();
        handles.push(s.spawn(name, stop.clone()));
    }
    crate::support::eventually("three periods to be scheduled", || {
        let db = (*db).clone();
        async move { leases(&db).await.len() >= 3 }
    })
    .await;
    stop.cancel();
    for h in handles {
        h.await.unwrap();
    }
    let leases = leases(&db).await;
    let periods: BTreeSet<_> = leases.iter().map(|l| l.period_start).collect();
    assert_eq!(periods.len(), leases.len());
    assert_eq!(
        scheduled_jobs(&db).await.len(),
        leases.len(),
        "one job per period"
    );
    other_db.close().await;
    db.cleanup().await;
}
