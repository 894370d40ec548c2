//! A fit of many customers as the job runs it: stored rows read a page at a
//! time, predictions written in batches under a model no reader sees, the
//! switch to the new model, the old model's rows removed, progress at every
//! step, and a fit that stopped half-way cleaned up by the next. Also the
//! CSV upload through the fast reader (header synonyms, currency symbols,
//! line numbers equal to the general reader's).

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::{OrgId, PageRequest, TenantScope, TestClock};
use kiki_ltv_service::domain::Progress;
use kiki_ltv_service::service::{FitPayload, LtvService, ProgressSink, SortBy};
use kiki_ltv_service::{FitRequest, LtvModule};
use kiki_shield::Actor;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{admin, identity_app, json};
use parking_lot::Mutex;
use serde_json::json;
use uuid::Uuid;

use super::{cdnow_csv, upload_csv};

/// What a reader saw while a fit wrote its predictions.
#[derive(Debug, Clone)]
struct Seen {
    message: String,
    fraction: f64,
    current: Option<Uuid>,
    models: Vec<Uuid>,
    page_models: Vec<Uuid>,
    customers: u64,
}

/// Records every report and, while predictions are being written, what
/// the API's reads return.
struct Watcher {
    svc: Arc<LtvService>,
    scope: TenantScope,
    seen: Mutex<Vec<Seen>>,
    /// Never returns from the report with this message (a fit stopped
    /// half-way), after signalling `reached`.
    hang_at: Option<String>,
    reached: tokio::sync::Notify,
}

impl ProgressSink for Watcher {
    fn report<'a>(&'a self, p: Progress) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut seen = Seen {
                message: p.message.clone(),
                fraction: p.fraction,
                current: None,
                models: Vec::new(),
                page_models: Vec::new(),
                customers: 0,
            };
            if p.message.starts_with("storing predictions") {
                seen.current = self
                    .svc
                    .current_model(&self.scope)
                    .await
                    .unwrap()
                    .map(|m| m.id);
                let page = PageRequest {
                    limit: Some(500),
                    cursor: None,
                };
                seen.models = self
                    .svc
                    .models(&self.scope, &page)
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|m| m.id)
                    .collect();
                seen.page_models = self
                    .svc
                    .customers(&self.scope, SortBy::CustomerId, &page)
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|r| r.model_id)
                    .collect();
                seen.customers = self
                    .svc
                    .aggregates(&self.scope, kiki_ltv::GroupBy::All)
                    .await
                    .unwrap()
                    .map_or(0, |a| a.groups.iter().map(|g| g.value.count).sum());
            }
            self.seen.lock().push(seen);
            if self.hang_at.as_deref() == Some(p.message.as_str()) {
                self.reached.notify_one();
                futures::future::pending::<()>().await;
            }
        })
    }
}

async fn clock_app(clock: TestClock) -> TestApp {
    identity_app()
        .clock(Arc::new(clock))
        .module(Arc::new(LtvModule::new()))
        .spawn()
        .await
}

fn payload(svc: &LtvService) -> FitPayload {
    let req: FitRequest = serde_json::from_value(json!({"unit": "weeks"})).unwrap();
    FitPayload {
        spec: req.validate(svc.config()).unwrap(),
        actor: Actor::System("test".into()),
        created_by: "system:test".into(),
        request_id: None,
    }
}

/// Stored predictions per model id, and models still `fitting`.
async fn stored(app: &TestApp, org: OrgId) -> (Vec<(Uuid, i64)>, i64) {
    use sea_query::{Alias, Expr, ExprTrait, Func, Order, Query};
    #[derive(sqlx::FromRow)]
    struct PerModel {
        model_id: Uuid,
        n: i64,
    }
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let stmt = Query::select()
        .column(Alias::new("model_id"))
        .expr_as(
            Func::count(Expr::col(Alias::new("customer_id"))),
            Alias::new("n"),
        )
        .from(Alias::new("ltv_predictions"))
        .and_where(Expr::col(Alias::new("org_id")).eq(org.0))
        .group_by_col(Alias::new("model_id"))
        .order_by(Alias::new("model_id"), Order::Asc)
        .to_owned();
    let per: Vec<PerModel> = app.state.db.fetch_all(&stmt).await.unwrap();
    let fitting = Query::select()
        .expr_as(Func::count(Expr::col(Alias::new("id"))), Alias::new("n"))
        .from(Alias::new("ltv_models"))
        .and_where(Expr::col(Alias::new("org_id")).eq(org.0))
        .and_where(Expr::col(Alias::new("status")).eq("fitting"))
        .to_owned();
    let f: Count = app.state.db.fetch_one(&fitting).await.unwrap();
    (per.into_iter().map(|r| (r.model_id, r.n)).collect(), f.n)
}

#[tokio::test]
async fn a_refit_writes_in_batches_unseen_switches_whole_and_a_stopped_fit_is_removed_later() {
    let clock = TestClock::at(time::macros::datetime!(2026-06-01 12:00 UTC));
    let app = clock_app(clock.clone()).await;
    let person = admin(&app, "a@example.com", "Shop A").await;
    let a = person.caller(&app);
    // All of CDNOW's 2,357 customers: two batches of predictions.
    let (status, body) = upload_csv(&a, &cdnow_csv(2357, true)).await;
    assert_eq!(status, 200, "{body}");
    let (status, first) = json(
        a.post("/v1/ltv/fits?wait=true", &json!({"unit": "weeks"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let first: Uuid = first["id"].as_str().unwrap().parse().unwrap();
    let svc = app
        .state
        .services
        .get::<LtvService>()
        .expect("the LTV service");
    let org = OrgId(person.org_id);
    let scope = TenantScope::single(org);

    // A fit that stops half-way (its job timed out or the process died):
    // one batch written, never switched.
    let stopped = Watcher {
        svc: svc.clone(),
        scope: scope.clone(),
        seen: Mutex::new(Vec::new()),
        hang_at: Some("storing predictions: 2000 of 2357".into()),
        reached: tokio::sync::Notify::new(),
    };
    let payload = payload(&svc);
    tokio::select! {
        r = svc.run_fit(&scope, &payload, None, &stopped) => panic!("the fit ended: {r:?}"),
        () = stopped.reached.notified() => {}
    }
    let (per_model, fitting) = stored(&app, org).await;
    assert_eq!(fitting, 1);
    assert_eq!(per_model.len(), 2, "{per_model:?}");
    assert!(per_model.contains(&(first, 2357)));
    // Readers still see the first model only, whole.
    assert_eq!(
        a.get_ok("/v1/ltv/models/current").await["id"],
        first.to_string()
    );
    assert_eq!(
        a.get_ok("/v1/ltv/models").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let half = per_model.iter().find(|(m, _)| *m != first).unwrap().0;
    let (status, _) = json(a.get(&format!("/v1/ltv/models/{half}")).await).await;
    assert_eq!(status, 404, "a model being written is not shown");

    // Later, a fit runs to the end; it removes the stopped fit's rows first.
    clock.advance(time::Duration::hours(2));
    let watcher = Watcher {
        svc: svc.clone(),
        scope: scope.clone(),
        seen: Mutex::new(Vec::new()),
        hang_at: None,
        reached: tokio::sync::Notify::new(),
    };
    let model = svc
        .run_fit(&scope, &payload, None, &watcher)
        .await
        .expect("the fit ran");
    assert_ne!(model.id, first);
    // The stopped fit's version was never shown; removed, it is free again.
    assert_eq!(model.version, 2);
    let seen = watcher.seen.lock().clone();
    // Progress: loading, the engine, storing, in order and never backwards.
    let messages: Vec<&str> = seen.iter().map(|s| s.message.as_str()).collect();
    assert_eq!(messages[0], "loading transactions", "{messages:?}");
    for step in ["loading transactions: ", "storing predictions: 0 of 2357"] {
        assert!(
            messages.iter().any(|m| m.starts_with(step)),
            "{step} in {messages:?}"
        );
    }
    // The engine's steps (at least its last one on a fast machine).
    assert!(
        messages
            .iter()
            .any(|m| ["summarising", "fitting", "predicting"]
                .iter()
                .any(|s| m.starts_with(s))),
        "{messages:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0].fraction <= w[1].fraction),
        "{seen:?}"
    );
    // While the predictions were written, readers saw the first model whole.
    let mid: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.message == "storing predictions: 2000 of 2357")
        .collect();
    assert_eq!(mid.len(), 1, "{messages:?}");
    for s in seen
        .iter()
        .filter(|s| s.message.starts_with("storing predictions"))
    {
        assert_eq!(s.current, Some(first));
        assert_eq!(s.models, vec![first]);
        assert_eq!(s.page_models.len(), 500);
        assert!(s.page_models.iter().all(|m| *m == first));
        assert_eq!(s.customers, 2357);
    }
    // Afterwards only the new model's rows are left, all of them. (The
    // clock moved past the caller's token: the service is read directly.)
    let (per_model, fitting) = stored(&app, org).await;
    assert_eq!((per_model, fitting), (vec![(model.id, 2357)], 0));
    let current = svc.current_model(&scope).await.unwrap().unwrap();
    assert_eq!(current.id, model.id);
    let page = PageRequest {
        limit: Some(3),
        cursor: None,
    };
    let page = svc.customers(&scope, SortBy::Clv, &page).await.unwrap();
    assert!(page.items.iter().all(|r| r.model_id == model.id));
}

#[tokio::test]
async fn a_fit_job_reports_progress_to_the_end() {
    let app = super::app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    upload_csv(&a, &cdnow_csv(600, false)).await;
    let (status, queued) = json(a.post("/v1/ltv/fits", &json!({"unit": "weeks"})).await).await;
    assert_eq!(status, 202, "{queued}");
    let job = super::wait_for_job(&a, queued["location"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        (job["progress"].as_f64(), job["progress_message"].as_str()),
        (Some(1.0), Some("done"))
    );
    assert_eq!(job["result"]["customers"], 600);
}

#[tokio::test]
async fn a_csv_upload_reads_header_synonyms_symbols_and_extra_columns_through_the_fast_reader() {
    let app = super::app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    // Over 1 MB, so the file is read in parallel pieces.
    let mut csv = String::from("Email,Order_Date,Total,Order_ID,Kind,Segment\r\n");
    for i in 0..40_000u32 {
        let total = if i % 4 == 0 {
            format!("\"${},{:03}.25\"", 1 + i % 3, i % 1000)
        } else {
            format!("{}.{:02}", 1 + i % 400, i % 100)
        };
        csv.push_str(&format!(
            "u{}@shop.example,2024-{:02}-{:02},{total},o{i},,{}\r\n",
            i % 10_000,
            1 + i % 12,
            1 + i % 28,
            if i % 2 == 0 { "vip" } else { "" }
        ));
    }
    // A refund naming an order, written with a currency code.
    csv.push_str("u0@shop.example,2024-12-30,5.00 USD,o0,refund,\r\n");
    assert!(csv.len() > 1 << 20);
    let (status, body) = upload_csv(&a, &csv).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["received"], &body["inserted"]),
        (&json!(40_001), &json!(40_001))
    );
    // u0's orders: i = 0, 10000, 20000, 30000 (all quoted dollar amounts:
    // $1,000.25, $2,000.25, $3,000.25, $1,000.25), less the refund.
    let u0 = a.get_ok("/v1/ltv/customers/u0@shop.example").await;
    assert_eq!(
        (&u0["transactions"], &u0["refunds"]),
        (&json!(4), &json!(1))
    );
    assert_eq!(
        u0["total_spent"],
        json!({"micros": 7_001_000_000i64 - 5_000_000, "currency": "USD"})
    );
    // Sending it again stores nothing.
    let (_, again) = upload_csv(&a, &csv).await;
    assert_eq!(
        (&again["inserted"], &again["duplicates"]),
        (&json!(0), &json!(40_001))
    );

    // The column parameters name other columns.
    let (status, body) = json(
        a.request(
            reqwest::Method::POST,
            "/v1/ltv/transactions?customer_col=Buyer&date_col=Day&amount_col=Paid",
        )
        .header("content-type", "text/csv")
        .body("buyer,day,paid,email\nb1,2024-02-01,€12.50,x@y\nb1,2024-03-01,7,x@y\n")
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        a.get_ok("/v1/ltv/customers/b1").await["total_spent"]["micros"],
        19_500_000
    );
}

#[tokio::test]
async fn a_bad_row_is_named_on_the_same_line_whichever_reader_takes_the_file() {
    let app = super::app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    // CRLF lines, a blank line, an order dated before 1990 (refused by the
    // service, which the fast reader leaves to it) and a negative order.
    let base = "customer_id,timestamp,amount,kind\r\nc1,2024-01-01,1,\r\n\r\nc2,1980-01-01,2,\r\nc3,2024-01-01,-3,order\r\n";
    let (status, fast) = upload_csv(&a, base).await;
    assert_eq!(status, 422, "{fast}");
    // The same with an escaped quote, which only the general reader takes.
    let (status, general) = upload_csv(&a, &format!("{base}\"c\"\"4\",2024-01-01,1,\r\n")).await;
    assert_eq!(status, 422, "{general}");
    let rows = |e: &serde_json::Value| -> Vec<(u64, String)> {
        e["error"]["details"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["line"].as_u64().unwrap(),
                    r["field"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let fast_rows = rows(&fast);
    assert_eq!(
        fast_rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["timestamp", "amount"]
    );
    assert_eq!(rows(&general), fast_rows);
    assert_eq!(general["error"]["details"]["total"], 2);
}
