//! Benchmarks of the store's hot paths on SQLite and in memory: statement
//! rendering, a keyed read, a cache round trip, and one job through the queue.
//! Run with `cargo bench -p kiki-store`; figures go to docs/benchmarks.md.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::BoxFuture;
use kiki_store::schema::Jobs as J;
use kiki_store::sea_query::{Expr, ExprTrait, Query};
use kiki_store::testing::fresh_sqlite;
use kiki_store::{
    Cache, CacheConfig, EnqueueOptions, JobContext, JobError, JobHandler, Jobs, JobsConfig,
};
use serde_json::{Value, json};

struct Noop;

impl JobHandler for Noop {
    fn kind(&self) -> &'static str {
        "bench.noop"
    }
    fn run<'a>(&'a self, _ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async { Ok(Value::Null) })
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let db = rt.block_on(fresh_sqlite());

    let stmt = Query::select()
        .columns([J::Id, J::Kind, J::Status, J::RunAt])
        .from(J::Table)
        .and_where(Expr::col(J::Status).eq("queued"))
        .and_where(Expr::col(J::RunAt).lte(time::OffsetDateTime::now_utc()))
        .limit(10)
        .to_owned();
    c.bench_function("render_select_for_sqlite", |b| {
        b.iter(|| black_box(db.sql_of(black_box(&stmt))))
    });

    rt.block_on(db.set_meta("bench", "value"))
        .expect("a meta row");
    c.bench_function("sqlite_keyed_read_through_db_helpers", |b| {
        b.iter(|| rt.block_on(async { black_box(db.get_meta("bench").await.expect("a read")) }))
    });

    let cache = Cache::in_memory(&CacheConfig::default());
    let value = json!({"campaign": "c-1", "spend_micros": 12_345_678, "tags": ["a", "b"]});
    c.bench_function("in_memory_cache_set_then_get_json", |b| {
        b.iter(|| {
            rt.block_on(async {
                cache.set_json("bench:key", &value, None).await;
                black_box(cache.get_json::<Value>("bench:key").await)
            })
        })
    });

    let jobs = Jobs::new((*db).clone(), JobsConfig::default()).with_handler(Arc::new(Noop));
    c.bench_function("sqlite_job_enqueue_claim_run_and_record", |b| {
        b.iter(|| {
            rt.block_on(async {
                jobs.enqueue(None, "bench.noop", Value::Null, EnqueueOptions::default())
                    .await
                    .expect("enqueued");
                assert!(jobs.run_once("bench").await.expect("ran"));
            })
        })
    });
}

criterion_group!(store, benches);
criterion_main!(store);
