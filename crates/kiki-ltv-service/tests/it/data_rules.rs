//! Upload rules (plausible dates, refunds), rows stored before those rules,
//! deletion and erasure, a default fit that once could not be evaluated, and
//! the OpenAPI contract of `/v1/ltv`.

use kiki_test_support::identity::{
    SqlParam, admin, json, member, on_sqlite, sql_execute, sql_texts,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{app, cdnow_csv, upload_csv};

fn rows_of(err: &Value) -> Vec<(u64, String)> {
    err["error"]["details"]["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (
                        r["line"].as_u64().unwrap_or(0),
                        r["field"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(v: &[(u64, &str)]) -> Vec<(u64, String)> {
    v.iter().map(|(l, f)| (*l, (*f).to_owned())).collect()
}

#[tokio::test]
async fn uploads_refuse_implausible_dates_and_negative_orders_naming_row_and_field() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    // -99 999 999 999 Unix seconds is the year -1199.
    let body = json!({"transactions": [
        {"customer_id": "ok", "timestamp": "2024-01-01", "amount": "10.00"},
        {"customer_id": "x", "timestamp": -99_999_999_999i64, "amount": "1"},
        {"customer_id": "y", "timestamp": "2999-01-01", "amount": "1"},
        {"customer_id": "z", "timestamp": "2024-01-02", "amount": "-5"},
        {"customer_id": "w", "timestamp": "2024-01-02", "amount": "5", "kind": "gift"},
    ]});
    let (status, err) = json(a.post("/v1/ltv/transactions", &body).await).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(
        rows_of(&err),
        pairs(&[
            (2, "timestamp"),
            (3, "timestamp"),
            (4, "amount"),
            (5, "kind")
        ])
    );
    let (status, _) = json(a.get("/v1/ltv/customers/ok").await).await;
    assert_eq!(status, 404, "nothing was stored");

    let csv = "customer_id,timestamp,amount\nc1,1989-12-31,1\nc2,2024-01-01,-3\nc3,2024-01-01,3\n";
    let (status, err) = upload_csv(&a, csv).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(rows_of(&err), pairs(&[(2, "timestamp"), (3, "amount")]));
}

#[tokio::test]
async fn refunds_lower_the_customers_spend_and_the_upload_answer_carries_its_id() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let csv = "customer_id,timestamp,amount,order_id,kind\n\
               r1,2024-01-01,10.00,o1,\n\
               r1,2024-02-01,30.00,o2,order\n\
               r1,2024-02-10,10.00,o2,refund\n";
    let (status, body) = upload_csv(&a, csv).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["inserted"], 3);
    assert!(
        body["upload_id"]
            .as_str()
            .is_some_and(|s| Uuid::parse_str(s).is_ok()),
        "{body}"
    );
    let r1 = a.get_ok("/v1/ltv/customers/r1").await;
    assert_eq!(r1["transactions"], 2);
    assert_eq!(r1["refunds"], 1);
    assert_eq!(r1["total_spent"]["micros"], 30_000_000);
    assert_eq!(r1["last_purchase"], "2024-02-01T00:00:00Z");
}

/// Stores a row the way uploads did before the date and amount rules, with
/// the timestamp as each database held it.
async fn store_raw(
    app: &kiki_test_support::TestApp,
    org: Uuid,
    customer: &str,
    when: (&str, &str),
    amount: i64,
) {
    let (sqlite_text, postgres_text) = when;
    let key = format!("raw-{customer}-{amount}-{sqlite_text}");
    let params = [
        SqlParam::Uuid(Uuid::now_v7()),
        SqlParam::Uuid(org),
        SqlParam::Text(customer.to_owned()),
        SqlParam::Text(
            if on_sqlite(app) {
                sqlite_text
            } else {
                postgres_text
            }
            .to_owned(),
        ),
        SqlParam::Int(amount),
        SqlParam::Text(key),
    ];
    let sql = if on_sqlite(app) {
        "INSERT INTO ltv_transactions (id, org_id, customer_id, occurred_at, amount_micros, currency, dedup_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'USD', $6, '2026-01-01T00:00:00.000000Z')"
    } else {
        "INSERT INTO ltv_transactions (id, org_id, customer_id, occurred_at, amount_micros, currency, dedup_key, created_at) \
         VALUES ($1, $2, $3, $4::timestamptz, $5, 'USD', $6, now())"
    };
    assert_eq!(sql_execute(app, sql, &params).await, 1);
}

#[tokio::test]
async fn rows_stored_before_the_upload_rules_are_left_out_of_fits_customers_and_aggregates() {
    let app = app().await;
    let person = admin(&app, "a@example.com", "Shop A").await;
    let a = person.caller(&app);
    let (status, body) = upload_csv(&a, &cdnow_csv(300, true)).await;
    assert_eq!(status, 200, "{body}");
    // The year -1199 (SQLite kept it as an empty text, the fixed format
    // having no negative years), a negative order, and the year 2999.
    store_raw(
        &app,
        person.org_id,
        "ancient",
        ("", "1200-06-01 00:00:00+00 BC"),
        10_000_000,
    )
    .await;
    store_raw(
        &app,
        person.org_id,
        "4",
        ("1997-03-01T00:00:00.000000Z", "1997-03-01 00:00:00+00"),
        -25_000_000,
    )
    .await;
    store_raw(
        &app,
        person.org_id,
        "future",
        ("2999-01-01T00:00:00.000000Z", "2999-01-01 00:00:00+00"),
        1_000_000,
    )
    .await;

    let ancient = a.get_ok("/v1/ltv/customers/ancient").await;
    assert_eq!(ancient["transactions"], 0, "{ancient}");
    assert_eq!(ancient["skipped_transactions"], 1, "{ancient}");
    let four = a.get_ok("/v1/ltv/customers/4").await;
    assert_eq!(four["skipped_transactions"], 1, "{four}");
    assert!(
        four["total_spent"]["micros"]
            .as_i64()
            .is_some_and(|v| v > 0),
        "{four}"
    );

    let (status, model) = json(a.post("/v1/ltv/fits?wait=true", &json!({})).await).await;
    assert_eq!(status, 201, "{model}");
    assert_eq!(model["skipped_transactions"], 3, "{model}");
    assert_eq!(model["customer_count"], 300);
    let (status, agg) = json(a.get("/v1/ltv/aggregates?by=all").await).await;
    assert_eq!(status, 200, "{agg}");
    let (status, page) = json(a.get("/v1/ltv/customers?limit=5").await).await;
    assert_eq!(status, 200, "{page}");
    let audit = a.get_ok("/v1/audit?action=ltv.model.fitted").await;
    assert_eq!(
        audit["items"][0]["details"]["skipped_transactions"], 3,
        "{audit}"
    );
}

/// Two hundred customers and 535 orders over seven weeks: most buy at a
/// steady pace of their own up to the end, five stop after their third
/// order. BG/NBD puts a far below 1 and b in the thousands here, where the
/// ₂F₁ closed form of the expected purchases overflowed (or, where it
/// returned, was wrong by hundreds of orders of magnitude) and the default
/// fit answered 500.
fn steady_buyers_csv() -> String {
    let mut out = String::from("customer_id,timestamp,amount\n");
    let start = time::macros::date!(2024 - 01 - 01);
    let (span, churners) = (50u32, 5u32);
    let mut rows = 0;
    for i in 0..200u32 {
        let first = i64::from((i * 37 + 2) % span);
        let gap = i64::from(3 + (i % 6) * 4);
        let stop = if i < churners {
            first + gap * 2
        } else {
            i64::from(span)
        };
        let mut day = first;
        // Every customer keeps at least one order within the 535.
        while day <= stop && rows < 535 {
            let date = start + time::Duration::days(day);
            out.push_str(&format!("s{i},{date},{}.00\n", 10 + (i % 13)));
            rows += 1;
            day += gap;
            if rows + (199 - i as usize) >= 535 {
                break;
            }
        }
    }
    out
}

#[tokio::test]
async fn the_default_fit_on_steady_buyers_with_a_few_churners_succeeds() {
    let app = app().await;
    let a = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let (status, body) = upload_csv(&a, &steady_buyers_csv()).await;
    assert_eq!(
        (status, body["inserted"].as_u64()),
        (200, Some(535)),
        "{body}"
    );
    let (status, model) = json(a.post("/v1/ltv/fits?wait=true", &json!({})).await).await;
    assert_eq!(status, 201, "{model}");
    assert_eq!(model["customer_count"], 200);
    let (pa, pb) = (
        model["model"]["params"]["a"].as_f64().unwrap_or(f64::NAN),
        model["model"]["params"]["b"].as_f64().unwrap_or(f64::NAN),
    );
    assert!(
        pa < 1.0 && pb > 1000.0,
        "the regime of the old failure: {model}"
    );
    let page = a.get_ok("/v1/ltv/customers?limit=200").await;
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 200);
    for p in items {
        // Purchases over a year for someone who bought every 3 to 23 days:
        // some, and at most one a day.
        let e = p["expected_purchases"].as_f64().unwrap_or(-1.0);
        assert!(e > 0.0 && e < 365.0, "{p}");
    }
}

#[tokio::test]
async fn an_upload_is_deleted_by_its_id_leaving_the_model_stale_and_an_audit_entry() {
    let app = app().await;
    let owner = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let other = admin(&app, "b@example.com", "Shop B").await.caller(&app);
    let viewer = member(&app, &owner, "viewer", "v@example.com")
        .await
        .caller(&app);
    let (status, first) = upload_csv(&owner, &cdnow_csv(300, false)).await;
    assert_eq!(status, 200, "{first}");
    let extra = json!({"transactions": [
        {"customer_id": "x1", "timestamp": "1997-02-01", "amount": "5"},
        {"customer_id": "x1", "timestamp": "1997-03-01", "amount": "6"},
        {"customer_id": "x2", "timestamp": "1997-02-03", "amount": "7"},
        {"customer_id": "x2", "timestamp": "1997-04-01", "amount": "8"},
    ]});
    let (status, second) = json(owner.post("/v1/ltv/transactions", &extra).await).await;
    assert_eq!(status, 200, "{second}");
    let id = second["upload_id"]
        .as_str()
        .expect("an upload id")
        .to_owned();
    let (status, model) = json(owner.post("/v1/ltv/fits?wait=true", &json!({})).await).await;
    assert_eq!(status, 201, "{model}");
    assert_eq!(model["stale_at"], Value::Null);

    let path = format!("/v1/ltv/uploads/{id}");
    let (status, _) = json(other.delete(&path).await).await;
    assert_eq!(status, 404, "another organisation's upload");
    let (status, _) = json(viewer.delete(&path).await).await;
    assert_eq!(status, 403);
    let (status, report) = json(owner.delete(&path).await).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["transactions_deleted"], 4);
    assert_eq!(report["predictions_deleted"], 2);
    assert_eq!(report["stale_model_id"], model["id"]);
    let (status, _) = json(owner.get("/v1/ltv/customers/x1").await).await;
    assert_eq!(status, 404);
    let one = owner.get_ok("/v1/ltv/customers/1").await;
    assert!(one["transactions"].as_u64().is_some_and(|n| n > 0), "{one}");
    let current = owner.get_ok("/v1/ltv/models/current").await;
    assert!(current["stale_at"].is_string(), "{current}");
    let (status, _) = json(owner.delete(&path).await).await;
    assert_eq!(status, 404, "already deleted");
    let (status, err) = json(owner.delete("/v1/ltv/uploads/not-a-uuid").await).await;
    assert_eq!(status, 400, "{err}");
    let audit = owner.get_ok("/v1/audit?action=ltv.upload.deleted").await;
    let entries = audit["items"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["target_id"], id.as_str());
    assert_eq!(entries[0]["details"]["transactions_deleted"], 4);
}

#[tokio::test]
async fn a_customer_is_deleted_or_erased_everywhere_and_the_audit_names_no_customer_id() {
    let app = app().await;
    let owner = admin(&app, "a@example.com", "Shop A").await.caller(&app);
    let manager = member(&app, &owner, "manager", "m@example.com")
        .await
        .caller(&app);
    upload_csv(&owner, &cdnow_csv(300, false)).await;
    let (status, model) = json(owner.post("/v1/ltv/fits?wait=true", &json!({})).await).await;
    assert_eq!(status, 201, "{model}");

    // Deleting a customer's transactions takes `ltv.write`.
    let (status, report) = json(manager.delete("/v1/ltv/customers/4/transactions").await).await;
    assert_eq!(status, 200, "{report}");
    assert!(
        report["transactions_deleted"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
    assert_eq!(report["predictions_deleted"], 1);
    assert_eq!(report["stale_model_id"], model["id"]);
    let (status, _) = json(owner.delete("/v1/ltv/customers/4/transactions").await).await;
    assert_eq!(status, 404, "nothing left to delete");

    // Erasure and deleting everything also take `org.manage`.
    let (status, _) = json(manager.post_empty("/v1/ltv/customers/5/erase").await).await;
    assert_eq!(status, 403);
    let (status, _) = json(manager.delete("/v1/ltv/transactions").await).await;
    assert_eq!(status, 403);
    let (status, report) = json(owner.post_empty("/v1/ltv/customers/5/erase").await).await;
    assert_eq!(status, 200, "{report}");
    assert!(
        report["transactions_deleted"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
    assert_eq!(report["predictions_deleted"], 1);
    assert_eq!(report["stale_model_id"], Value::Null, "already stale");
    let (status, _) = json(owner.get("/v1/ltv/customers/5").await).await;
    assert_eq!(status, 404);
    let (status, predicted) = json(
        owner
            .post("/v1/ltv/predict", &json!({"customer_ids": ["5", "6"]}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{predicted}");
    assert_eq!(predicted["missing"], json!(["5"]));
    let (status, again) = json(owner.post_empty("/v1/ltv/customers/5/erase").await).await;
    assert_eq!(status, 200, "replaying an erasure is safe");
    assert_eq!(
        (
            again["transactions_deleted"].as_u64(),
            again["predictions_deleted"].as_u64()
        ),
        (Some(0), Some(0))
    );

    let audit = owner.get_ok("/v1/audit?action=ltv.customer.erased").await;
    let entries = audit["items"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{audit}");
    let target = entries[0]["target_id"].as_str().unwrap_or("");
    assert!(
        target.len() == 64 && target.chars().all(|c| c.is_ascii_hexdigit()),
        "{target}"
    );
    let deleted = owner
        .get_ok("/v1/audit?action=ltv.customer.transactions_deleted")
        .await;
    assert_eq!(deleted["items"].as_array().map(Vec::len), Some(1));

    // Everything of the organisation; the models stay, without predictions.
    let (status, report) = json(owner.delete("/v1/ltv/transactions").await).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["predictions_deleted"], 298);
    assert_eq!(owner.get_ok("/v1/ltv/customers").await["items"], json!([]));
    let current = owner.get_ok("/v1/ltv/models/current").await;
    assert_eq!(current["id"], model["id"]);
    let (status, _) = json(owner.get("/v1/ltv/customers/1").await).await;
    assert_eq!(status, 404);
    let all = owner
        .get_ok("/v1/audit?action=ltv.transactions.deleted")
        .await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(1));
    let (status, err) = json(owner.delete("/v1/ltv/customers/5/transactions").await).await;
    assert_eq!(status, 404, "{err}");
    assert_eq!(kiki_test_support::identity::code(&err), "not_found");
}

#[tokio::test]
async fn every_ltv_route_declares_the_error_statuses_it_can_answer_with_the_envelope() {
    let app = app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    let mut seen = 0;
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/v1/ltv/")) {
        for (method, op) in item.as_object().expect("operations") {
            let responses = op["responses"].as_object().expect("responses");
            for status in ["401", "403", "429"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            for (status, r) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                let schema = r["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .unwrap_or("");
                assert!(
                    schema.ends_with("/ErrorEnvelope"),
                    "{method} {path} {status}: {r}"
                );
            }
            if let Some(body) = op.get("requestBody") {
                let content = body["content"].as_object().expect("content");
                for (mime, c) in content {
                    let has_example = c.get("example").is_some()
                        || c["schema"]["$ref"].as_str().is_some_and(|r| {
                            let name = r.rsplit('/').next().unwrap_or("");
                            doc["components"]["schemas"][name].get("example").is_some()
                        });
                    assert!(has_example, "{method} {path} {mime} has no example");
                }
            }
            seen += 1;
        }
    }
    assert!(seen >= 14, "{seen} operations");
    let fit = &doc["components"]["schemas"]["FitRequest"]["properties"];
    assert_eq!(fit["discount_rate"]["exclusiveMaximum"], 1.0, "{fit}");
    assert_eq!(fit["holdout_days"]["maximum"], 3650, "{fit}");
}

/// The JSON body is read as the API document states it: `kind` is exactly
/// `order` or `refund`, a `currency` parameter is checked even when the body
/// names the currency, a fit's `currency` is three letters with nothing
/// around them, and a predict request's lists hold at least one entry each
/// (`T` has no other spelling).
#[tokio::test]
async fn requests_are_read_as_the_api_document_states_them() {
    let app = app().await;
    let a = admin(&app, "doc@example.com", "Shop Doc")
        .await
        .caller(&app);
    let body = json!({"transactions": [
        {"customer_id": "c", "timestamp": "2024-01-02", "amount": "5", "kind": "REFUND"},
    ]});
    let (status, err) = json(a.post("/v1/ltv/transactions", &body).await).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(rows_of(&err), pairs(&[(1, "kind")]));

    let body = json!({"currency": "USD", "transactions": [
        {"customer_id": "c", "timestamp": "2024-01-02", "amount": 5.0},
    ]});
    let (status, err) = json(a.post("/v1/ltv/transactions?currency=0.5", &body).await).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["details"]["fields"][0]["field"], "currency");
    let (status, ok) = json(a.post("/v1/ltv/transactions?currency=usd", &body).await).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["inserted"], 1);

    let (status, err) = json(a.post("/v1/ltv/fits", &json!({"currency": " usd"})).await).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["details"]["fields"][0]["field"], "currency");

    let row = json!({"frequency": 1, "recency": 2.0, "T": 3.0});
    for (body, field) in [
        (json!({"customer_ids": [], "rows": [row]}), "customer_ids"),
        (json!({"customer_ids": ["c"], "rows": []}), "rows"),
    ] {
        let (status, err) = json(a.post("/v1/ltv/predict", &body).await).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["details"]["fields"][0]["field"], field);
    }
    let (status, err) = json(
        a.post(
            "/v1/ltv/predict",
            &json!({"rows": [{"frequency": 1, "recency": 2.0, "t": 3.0}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{err}");
}

#[tokio::test]
async fn an_upload_still_receiving_is_not_read_and_one_left_behind_is_removed() {
    let app = app().await;
    let person = admin(&app, "staged@example.com", "Shop S").await;
    let a = person.caller(&app);
    let (status, body) = upload_csv(&a, &cdnow_csv(100, false)).await;
    assert_eq!(status, 200, "{body}");
    let done = Uuid::parse_str(body["upload_id"].as_str().unwrap()).unwrap();
    let status_of = |id: Uuid| {
        let app = &app;
        async move {
            sql_texts(
                app,
                "SELECT status FROM ltv_uploads WHERE id = $1",
                &[SqlParam::Uuid(id)],
            )
            .await
        }
    };
    assert_eq!(status_of(done).await, [Some("complete".to_owned())]);

    // An upload whose request stopped long ago while it was receiving,
    // with one row of a customer no complete upload has.
    let staged = Uuid::now_v7();
    let (created, occurred) = if on_sqlite(&app) {
        (
            "'2000-01-01T00:00:00.000000Z'",
            "'1997-02-01T00:00:00.000000Z'",
        )
    } else {
        (
            "'2000-01-01 00:00:00+00'::timestamptz",
            "'1997-02-01 00:00:00+00'::timestamptz",
        )
    };
    sql_execute(
        &app,
        &format!(
            "INSERT INTO ltv_uploads (id, org_id, format, currency, received, inserted, created_by, created_at, status) \
             VALUES ($1, $2, 'csv', 'USD', 1, 0, 'system:test', {created}, 'receiving')"
        ),
        &[SqlParam::Uuid(staged), SqlParam::Uuid(person.org_id)],
    )
    .await;
    sql_execute(
        &app,
        &format!(
            "INSERT INTO ltv_transactions (id, org_id, customer_id, occurred_at, amount_micros, currency, dedup_key, created_at, upload_id) \
             VALUES ($1, $2, 'staged-customer', {occurred}, 5000000, 'USD', 'staged-key', {created}, $3)"
        ),
        &[
            SqlParam::Uuid(Uuid::now_v7()),
            SqlParam::Uuid(person.org_id),
            SqlParam::Uuid(staged),
        ],
    )
    .await;

    // No reader sees it: not the fit, nor a deletion by its id.
    let (status, model) = json(a.post("/v1/ltv/fits?wait=true", &json!({})).await).await;
    assert_eq!(status, 201, "{model}");
    assert_eq!(model["customer_count"], 100, "{model}");
    assert_eq!(model["skipped_transactions"], 0, "{model}");
    let (status, _) = json(a.delete(&format!("/v1/ltv/uploads/{staged}")).await).await;
    assert_eq!(status, 404);

    // The next upload removes it, rows and record.
    let (status, body) = upload_csv(&a, &cdnow_csv(100, false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["inserted"], 0, "{body}");
    assert!(status_of(staged).await.is_empty());
    let left = sql_texts(
        &app,
        "SELECT customer_id FROM ltv_transactions WHERE upload_id = $1",
        &[SqlParam::Uuid(staged)],
    )
    .await;
    assert!(left.is_empty(), "{left:?}");
}
