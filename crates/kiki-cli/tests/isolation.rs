//! Tenant isolation, generated from the API document. The application runs
//! with every module `kiki serve` mounts; tenant B creates one of everything
//! it can (members, invitations, API keys, decisions, LTV uploads, fits and
//! customers, line items and segments, simulations, market models,
//! rebalancing shifts, a lift experiment with its analysis and design,
//! analytics roll-up rows with a creative variant and a country row, an
//! export job and a scheduled report); then the operations are read from `/openapi.json`,
//! not from a list in this file, and tenant A's owner calls each of them:
//!
//! - every operation with a path id, with B's real id (checked by B reading
//!   it), as a JWT, an API key and a cookie session: 404;
//! - every tenant operation with `X-Kiki-Org` set to B's agency and to B's
//!   client: 404;
//! - every operation whose body names an organisation (`org`, `org_id`), with
//!   B's: refused, and no token for B.
//!
//! Afterwards everything B can read is exactly what it was. A new route is
//! covered the day it appears in the document; a new kind of path id that no
//! seed below produces fails the test, naming the operation.
//!
//! Only the operations that act on the caller's own session and account
//! (`/v1/auth/*` other than sign-in, `/v1/me/*` changes) are left out of the
//! header sweep: they change A's own credentials mid-test and belong to no
//! organisation; their own tests cover them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kiki_core::{OrgId, TestClock};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    Caller, PASSWORD, Person, admin, client_org, identity_app, invite_code, json, member, refresh,
    sign_in,
};
use reqwest::{Method, RequestBuilder};
use serde_json::{Map, Value, json};
use time::macros::datetime;
use uuid::Uuid;

const NOW: time::OffsetDateTime = datetime!(2026-11-24 10:01:30 UTC);
const CDNOW_SAMPLE: &str = include_str!("../../kiki-ltv/tests/fixtures/CDNOW_sample.txt");
const GEOLIFT_TEST: &str = include_str!("../../kiki-lift/tests/fixtures/geolift_test.csv");

/// One operation of the document.
#[derive(Debug, Clone)]
struct Op {
    method: Method,
    path: String,
    params: Vec<String>,
    /// `None`: the operation needs no credentials.
    secured: bool,
    /// Exchange-facing (OpenRTB): authenticated by exchange key, no tenant caller.
    exchange: bool,
    /// The JSON request body, if any, resolved to its schema.
    body_schema: Option<Value>,
    body_example: Option<Value>,
}

impl Op {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The caller's own session and account: not a tenant's data.
    fn acts_on_own_account(&self) -> bool {
        self.method != Method::GET
            && (self.path.starts_with("/v1/auth/") || self.path.starts_with("/v1/me/"))
    }
}

fn operations(doc: &Value) -> Vec<Op> {
    let global_secured = doc["security"].as_array().is_some_and(|s| {
        s.iter()
            .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
    });
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (m, op) in item.as_object().expect("path item") {
            let method = match m.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let security = op.get("security");
            let exchange = security
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().any(|r| r.get("exchange_key").is_some()));
            let secured = match security.and_then(Value::as_array) {
                Some(reqs) => reqs
                    .iter()
                    .any(|r| r.as_object().is_some_and(|o| !o.is_empty())),
                None => global_secured,
            };
            let media = &op["requestBody"]["content"]["application/json"];
            let (body_schema, body_example) = if media.is_object() {
                let schema = resolve(doc, &media["schema"]);
                let example = media
                    .get("example")
                    .cloned()
                    .or_else(|| schema.get("example").cloned());
                (Some(schema), example)
            } else {
                (None, None)
            };
            ops.push(Op {
                method,
                path: path.clone(),
                params,
                secured,
                exchange,
                body_schema,
                body_example,
            });
        }
    }
    ops
}

/// Follows `$ref`s (and a single-member `allOf`) to the schema itself.
fn resolve(doc: &Value, schema: &Value) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(all) = schema["allOf"].as_array()
        && all.len() == 1
    {
        return resolve(doc, &all[0]);
    }
    schema.clone()
}

/// A request body valid for `schema`: its example, or the required
/// properties filled with the smallest values the schema allows.
fn body_for(doc: &Value, op: &Op) -> Option<Value> {
    let schema = op.body_schema.as_ref()?;
    Some(
        op.body_example
            .clone()
            .unwrap_or_else(|| generate(doc, schema)),
    )
}

fn generate(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let Some(e) = schema.get("example") {
        return e.clone();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema[key]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["type"] != "null"))
        {
            return generate(doc, first);
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|a| a.first()) {
        return first.clone();
    }
    let ty = match &schema["type"] {
        Value::Array(ts) => ts
            .iter()
            .find(|t| *t != "null")
            .and_then(Value::as_str)
            .unwrap_or("object")
            .to_owned(),
        Value::String(t) => t.clone(),
        _ => "object".to_owned(),
    };
    match ty.as_str() {
        "object" => {
            let mut out = Map::new();
            let required: BTreeSet<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in props {
                    if required.contains(k.as_str()) {
                        out.insert(k.clone(), generate(doc, v));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(0) as usize;
            Value::Array((0..n).map(|_| generate(doc, &schema["items"])).collect())
        }
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        "number" => json!(schema["minimum"].as_f64().unwrap_or(1.0).max(1.0)),
        "boolean" => json!(false),
        _ => match schema["format"].as_str() {
            Some("uuid") => json!(Uuid::nil()),
            Some("date-time") => json!("2026-11-24T00:00:00Z"),
            Some("date") => json!("2026-11-24"),
            _ => {
                let n = schema["minLength"].as_u64().unwrap_or(9) as usize;
                json!("isolation".chars().cycle().take(n).collect::<String>())
            }
        },
    }
}

/// How A's owner authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    Jwt,
    ApiKey,
    Cookie,
}

/// A's three credentials for the same owner.
struct Attacker {
    jwt: String,
    api_key: String,
    cookie: String,
    csrf: String,
}

impl Attacker {
    fn request(
        &self,
        app: &TestApp,
        cred: Credential,
        method: Method,
        path: &str,
        org: Option<Uuid>,
    ) -> RequestBuilder {
        let mut rb = app.client.request(method, app.url(path));
        rb = match cred {
            Credential::Jwt => rb.bearer_auth(&self.jwt),
            Credential::ApiKey => rb.bearer_auth(&self.api_key),
            Credential::Cookie => rb
                .header("cookie", format!("kiki_session={}", self.cookie))
                .header("x-csrf-token", &self.csrf),
        };
        if let Some(org) = org {
            rb = rb.header("x-kiki-org", org.to_string());
        }
        rb
    }
}

/// Fills the path template with `values` (one per parameter).
fn fill(path: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = path.to_owned();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Every string found under each key anywhere in `v` (objects and arrays).
fn harvest(v: &Value, into: &mut BTreeMap<String, BTreeSet<String>>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if let Some(s) = x.as_str() {
                    into.entry(k.clone()).or_default().insert(s.to_owned());
                }
                harvest(x, into);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| harvest(x, into)),
        _ => {}
    }
}

/// The list items of a collection answer (`items`, or a top-level array).
fn items(v: &Value) -> Vec<Value> {
    v["items"]
        .as_array()
        .or_else(|| v.as_array())
        .cloned()
        .unwrap_or_default()
}

/// A daily series for the twin: seven days before `NOW` on three platforms.
fn week_of_actuals() -> Vec<Value> {
    let mut rows = Vec::new();
    for d in 0..7 {
        let day = (NOW.date() - time::Duration::days(7 - d)).to_string();
        for (platform, spend, conv) in [
            ("meta", 300, 18.75),
            ("google", 300, 15.0),
            ("tiktok", 400, 10.0),
        ] {
            rows.push(json!({
                "platform": platform, "day": day, "currency": "USD",
                "spend": {"micros": spend * 1_000_000i64, "currency": "USD"}, "impressions": 30_000, "clicks": 400,
                "conversions": conv, "revenue": {"micros": 0, "currency": "USD"}
            }));
        }
    }
    rows
}

/// The CDNOW sample as an upload, customers up to `max_id`, tagged with a
/// segment and platform.
fn cdnow_csv(max_id: u32) -> String {
    let mut out = String::from("customer_id,timestamp,amount,segment,platform\n");
    for line in CDNOW_SAMPLE.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let id = f[1].trim_start_matches('0');
        let n: u32 = id.parse().expect("a numeric id");
        if n > max_id {
            continue;
        }
        let segment = if n.is_multiple_of(3) {
            "vip"
        } else {
            "standard"
        };
        let platform = if n.is_multiple_of(2) {
            "meta"
        } else {
            "google"
        };
        out.push_str(&format!("{id},{},{},{segment},{platform}\n", f[2], f[4]));
    }
    out
}

async fn ok(resp: reqwest::Response, what: &str) -> Value {
    let (status, body) = json(resp).await;
    assert!((200..300).contains(&status), "{what}: {status} {body}");
    body
}

/// Tenant B's data, created through the API as B's people would.
async fn seed_tenant_b(app: &TestApp, doc: &Value, b: &Caller<'_>) -> Vec<Value> {
    let mut answers = Vec::new();
    // Identity: a member, an invitation, an API key, a decision record.
    let _member = member(app, b, "viewer", "member-b@isolation.test").await;
    let (_, inv) = invite_code(b, "analyst").await;
    answers.push(inv);
    answers.push(
        ok(
            b.post(
                "/v1/invitations",
                &json!({"email": "invitee-b@isolation.test", "role": "analyst"}),
            )
            .await,
            "invitation",
        )
        .await,
    );
    answers.push(
        ok(
            b.post(
                "/v1/api-keys",
                &json!({"name": "b key", "permissions": ["org.read"]}),
            )
            .await,
            "api key",
        )
        .await,
    );
    let t = sign_in(app, "owner-b@isolation.test", PASSWORD).await;
    let _ = refresh(app, &t.refresh_token).await;
    let (status, _) = json(refresh(app, &t.refresh_token).await).await;
    assert_eq!(status, 401, "a reused refresh token is refused");

    // LTV: an upload, a fitted model (so customers exist), a queued fit (a job).
    let upload = b
        .request(Method::POST, "/v1/ltv/transactions")
        .header("content-type", "text/csv")
        .body(cdnow_csv(150))
        .send()
        .await
        .expect("upload sent");
    answers.push(ok(upload, "LTV upload").await);
    answers.push(
        ok(
            b.post("/v1/ltv/fits?wait=true", &json!({"holdout_days": 90}))
                .await,
            "fit",
        )
        .await,
    );
    let queued = ok(
        b.post("/v1/ltv/fits", &json!({"holdout_days": 90})).await,
        "queued fit",
    )
    .await;
    let job = queued["job_id"]
        .as_str()
        .expect("a job id")
        .parse()
        .unwrap();
    app.wait_for_job(kiki_core::JobId(job)).await;
    answers.push(queued);

    // Bidder: a line item and segment values, from the document's examples.
    let ops = operations(doc);
    let example = |path: &str, method: &str| {
        let op = ops
            .iter()
            .find(|o| o.path == path && o.method.as_str().eq_ignore_ascii_case(method))
            .expect("the operation is in the document");
        body_for(doc, op).expect("the operation has a JSON body")
    };
    answers.push(
        ok(
            b.post(
                "/v1/bidder/line-items",
                &example("/v1/bidder/line-items", "post"),
            )
            .await,
            "line item",
        )
        .await,
    );
    answers.push(
        ok(
            b.send(
                Method::PUT,
                "/v1/bidder/segments",
                Some(&example("/v1/bidder/segments", "put")),
            )
            .await,
            "segments",
        )
        .await,
    );

    // Twin: budgets, actuals, a simulation (with its market model), and a
    // rebalancing shift waiting for approval.
    ok(
        b.send(
            Method::PUT,
            "/v1/twin/budgets",
            Some(&json!({"currency": "USD", "platforms": [
                {"platform": "meta", "daily_budget": {"micros": 300_000_000, "currency": "USD"}},
                {"platform": "google", "daily_budget": {"micros": 300_000_000, "currency": "USD"}},
                {"platform": "tiktok", "daily_budget": {"micros": 400_000_000, "currency": "USD"}}
            ]})),
        )
        .await,
        "budgets",
    )
    .await;
    ok(
        b.post("/v1/twin/performance", &json!({"rows": week_of_actuals()}))
            .await,
        "actuals",
    )
    .await;
    answers.push(
        ok(
            b.post(
                "/v1/simulations",
                &json!({
                    "plan": {
                        "currency": "USD",
                        "allocations": [{"platform": "meta", "daily_budget": {"micros": 300_000_000, "currency": "USD"}}],
                        "duration_days": 30,
                        "start_date": "2026-11-14",
                        "baseline_revenue": {"micros": 0, "currency": "USD"},
                        "baseline_ad_spend": {"micros": 0, "currency": "USD"}
                    },
                    "options": {"runs": 500, "seed": 9}
                }),
            )
            .await,
            "simulation",
        )
        .await,
    );
    ok(
        b.send(
            Method::PUT,
            "/v1/twin/settings",
            Some(&json!({"approval_threshold": {"micros": 1, "currency": "USD"}})),
        )
        .await,
        "settings",
    )
    .await;

    // Campaigns: a campaign from the document's example, submitted (the twin
    // gates it and an approval waits), and a creative on it.
    let campaign = ok(
        b.post("/v1/campaigns", &example("/v1/campaigns", "post"))
            .await,
        "campaign",
    )
    .await;
    let campaign_id = campaign["id"].as_str().expect("a campaign id").to_owned();
    answers.push(campaign);
    answers.push(
        ok(
            b.post(
                &format!("/v1/campaigns/{campaign_id}/actions"),
                &json!({"action": "submit"}),
            )
            .await,
            "submission",
        )
        .await,
    );
    let mut creative = example("/v1/creatives", "post");
    creative["campaign_id"] = json!(campaign_id);
    answers.push(ok(b.post("/v1/creatives", &creative).await, "creative").await);

    // Lift: an experiment from the document's example with GeoLift's panel,
    // registered and analysed, and a finished design job.
    let experiment = ok(
        b.post(
            "/v1/experiments/lift",
            &example("/v1/experiments/lift", "post"),
        )
        .await,
        "lift experiment",
    )
    .await;
    let experiment_id = experiment["id"].as_str().expect("an id").to_owned();
    answers.push(experiment);
    let panel = b
        .request(
            Method::POST,
            &format!("/v1/experiments/lift/{experiment_id}/panel"),
        )
        .header("content-type", "text/csv")
        .body(GEOLIFT_TEST)
        .send()
        .await
        .expect("panel sent");
    answers.push(ok(panel, "lift panel").await);
    for step in ["register", "analyses"] {
        answers.push(
            ok(
                b.post_empty(&format!("/v1/experiments/lift/{experiment_id}/{step}"))
                    .await,
                step,
            )
            .await,
        );
    }
    let design = ok(
        b.post(
            &format!("/v1/experiments/lift/{experiment_id}/designs"),
            &json!({"treated": ["chicago", "portland"], "effect_sizes": [0.0, 0.1], "simulations": 2}),
        )
        .await,
        "lift design",
    )
    .await;
    let job = design["job_id"]
        .as_str()
        .expect("a job id")
        .parse()
        .unwrap();
    app.wait_for_job(kiki_core::JobId(job)).await;
    answers.push(design);

    // Ad platforms: the Google sandbox connected, and synced once.
    answers.push(
        ok(
            b.post(
                "/v1/platforms/connections",
                &json!({"platform": "google", "mode": "sandbox"}),
            )
            .await,
            "platform connection",
        )
        .await,
    );
    answers.push(
        ok(
            b.post_empty("/v1/platforms/connections/google/sync").await,
            "platform sync",
        )
        .await,
    );

    // Analytics: an export job, waited for so B's reads stay the same.
    let export = ok(
        b.post(
            "/v1/analytics/exports",
            &json!({"report": "breakdown", "format": "csv",
                    "query": {"since": "2026-11-01", "until": "2026-11-23"}}),
        )
        .await,
        "analytics export",
    )
    .await;
    let path = format!("/v1/analytics/exports/{}", export["id"].as_str().unwrap());
    for _ in 0..1200 {
        let (_, v) = json(b.get(&path).await).await;
        if !matches!(v["status"].as_str(), Some("queued" | "running")) {
            assert_eq!(v["status"], "ready", "{v}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    answers.push(export);
    // A scheduled report, B's owner its recipient.
    let (_, me) = json(b.get("/v1/me").await).await;
    answers.push(
        ok(
            b.post(
                "/v1/analytics/schedules",
                &json!({"name": "B weekly", "report": "breakdown", "format": "csv",
                        "query": {"by": "platform"}, "recipients": [me["user"]["email"]],
                        "cadence": "weekly", "hour": 8, "weekday": 1}),
            )
            .await,
            "analytics schedule",
        )
        .await,
    );
    answers
}

/// Analytics: a campaign's day on a platform and an ad of it showing a
/// creative (KIKI's ad id `"{ad set}:{creative}"`: a creative variant),
/// through the port the ingest job feeds (the sandbox sync above has no
/// deployed campaign to report). Gives B's campaign id.
async fn seed_analytics(app: &TestApp, org: Uuid) -> Uuid {
    use kiki_analytics_service::domain::{DailyRow, Level};
    let svc = app
        .state
        .services
        .get::<kiki_analytics_service::AnalyticsService>()
        .expect("the analytics module is mounted");
    let day = time::macros::date!(2026 - 11 - 23);
    let campaign = Uuid::now_v7();
    let usd = |m: i64| kiki_core::Money::from_micros(m, kiki_core::Currency::USD);
    let row = DailyRow {
        level: Level::Campaign,
        platform: "meta".into(),
        external_id: "b-campaign".into(),
        day,
        campaign_id: Some(campaign.to_string()),
        ad_set_id: None,
        ad_id: None,
        spend: usd(40_000_000),
        revenue: usd(90_000_000),
        conversions_micros: 3_000_000,
        impressions: 4_000,
        clicks: 80,
    };
    let set = Uuid::now_v7();
    let ad = DailyRow {
        level: Level::Ad,
        external_id: "b-ad".into(),
        ad_set_id: Some(set.to_string()),
        ad_id: Some(format!("{set}:{}", Uuid::now_v7())),
        ..row.clone()
    };
    svc.record_daily(
        &kiki_core::TenantScope::single(OrgId(org)),
        "meta",
        kiki_analytics::Period::new(day, day).expect("one day"),
        &[row, ad],
    )
    .await
    .expect("B's analytics rows are recorded");
    let country = kiki_analytics_service::domain::dimensions::DimensionRow {
        platform: "meta".into(),
        external_id: "b-campaign".into(),
        day,
        value: "US".into(),
        campaign_id: None,
        spend: usd(40_000_000),
        revenue: usd(90_000_000),
        conversions_micros: 3_000_000,
        impressions: 4_000,
        clicks: 80,
    };
    svc.record_dimensions(
        &kiki_core::TenantScope::single(OrgId(org)),
        "meta",
        kiki_analytics_service::domain::Dimension::Country,
        kiki_analytics::Period::new(day, day).expect("one day"),
        &[country],
        &[
            kiki_analytics_service::domain::dimensions::DimensionCoverage {
                day,
                reported: true,
                reason: None,
            },
        ],
    )
    .await
    .expect("B's country row is recorded");
    campaign
}

/// Everything B can read: every list and every item B's ids open (a route
/// with a required query parameter with B's value from `queries`).
async fn snapshot(
    b: &Caller<'_>,
    ops: &[Op],
    ids: &BTreeMap<String, BTreeMap<String, String>>,
    queries: &BTreeMap<&str, String>,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    // A file download is itself an audited action (it writes B's audit
    // log), so it is not read here; A's attempts on it are still checked.
    for op in ops.iter().filter(|o| {
        o.method == Method::GET && o.secured && !o.exchange && !o.path.ends_with("/download")
    }) {
        let path = if let Some(q) = queries.get(op.path.as_str()) {
            format!("{}?{q}", op.path)
        } else if op.params.is_empty() {
            op.path.clone()
        } else if let Some(values) = ids.get(&op.path) {
            fill(&op.path, values)
        } else {
            continue;
        };
        let (status, mut body) = json(b.get(&path).await).await;
        // What changes by being read, not by being written.
        strip_volatile(&mut body);
        out.insert(path, json!({"status": status, "body": body}));
    }
    out
}

fn strip_volatile(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for k in [
                "request_id",
                "last_used_at",
                "last_seen_at",
                "generated_at",
                "checked_at",
            ] {
                o.remove(k);
            }
            o.values_mut().for_each(strip_volatile);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_of_the_document_keeps_tenants_apart() {
    let mut builder = identity_app().clock(Arc::new(TestClock::at(NOW)));
    for m in kiki_cli::modules() {
        builder = builder.module(m);
    }
    let app = builder.spawn().await;
    let doc = app
        .get("/openapi.json")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let ops = operations(&doc);
    assert!(ops.len() > 50, "the document lists the API");

    // Tenant B, with a client, and one of everything.
    let b_owner: Person = admin(&app, "owner-b@isolation.test", "Agency B").await;
    let b = b_owner.caller(&app);
    let b_client = client_org(&b, "Client of B").await;
    let mut answers = seed_tenant_b(&app, &doc, &b).await;
    let twin = app
        .state
        .services
        .get::<kiki_twin_service::TwinService>()
        .expect("the twin module is mounted");
    let shift = twin
        .rebalance_org(&kiki_core::TenantScope::single(OrgId(b_owner.org_id)), NOW)
        .await
        .expect("the rebalancer runs");
    assert_eq!(shift.pending_approval, 1, "{shift:?}");
    let b_campaign = seed_analytics(&app, b_owner.org_id).await;
    // Routes with a required query parameter, read with B's value.
    let queries = BTreeMap::from([(
        "/v1/analytics/variants",
        format!("since=2026-11-23&until=2026-11-23&campaign_id={b_campaign}"),
    )]);
    let variants = format!(
        "/v1/analytics/variants?{}",
        queries["/v1/analytics/variants"]
    );
    let theirs = b.get_ok(&variants).await;
    assert_eq!(
        theirs["variants"].as_array().map(Vec::len),
        Some(1),
        "{theirs}"
    );

    // B's ids: everything B's lists and seed answers name.
    for op in ops
        .iter()
        .filter(|o| o.method == Method::GET && o.params.is_empty() && o.secured && !o.exchange)
    {
        let (status, body) = json(b.get(&op.path).await).await;
        if status == 200 {
            answers.push(json!({ "collection": op.path, "body": body }));
        }
    }
    let mut by_key = BTreeMap::new();
    answers.iter().for_each(|a| harvest(a, &mut by_key));
    let lists: BTreeMap<String, Vec<Value>> = answers
        .iter()
        .filter_map(|a| Some((a["collection"].as_str()?.to_owned(), items(&a["body"]))))
        .collect();

    // One of B's ids per path parameter, confirmed by B reading it where a
    // read exists.
    let mut ids: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut unresolved = Vec::new();
    for op in ops.iter().filter(|o| !o.params.is_empty() && o.secured) {
        let mut values = BTreeMap::new();
        for param in &op.params {
            let marker = format!("{{{param}}}");
            let prefix = &op.path[..op.path.find(&marker).unwrap() - 1];
            let last = prefix.rsplit('/').next().unwrap();
            let singular = last.trim_end_matches('s').replace('-', "_");
            let key = if param == "id" {
                format!("{singular}_id")
            } else {
                param.clone()
            };
            let mut candidates: Vec<String> = lists
                .get(prefix)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| {
                            i[if param == "id" { "id" } else { param.as_str() }].as_str()
                        })
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            candidates.extend(by_key.get(&key).into_iter().flatten().cloned());
            // The read of this item, if the document has one.
            let read = format!("{prefix}/{marker}");
            let has_read = ops
                .iter()
                .any(|o| o.method == Method::GET && o.path == read);
            let mut chosen = None;
            for c in candidates {
                if !has_read {
                    chosen = Some(c);
                    break;
                }
                let (status, _) = json(b.get(&read.replace(&marker, &c)).await).await;
                if status == 200 {
                    chosen = Some(c);
                    break;
                }
            }
            match chosen {
                Some(c) => {
                    values.insert(param.clone(), c);
                }
                None => unresolved.push(op.name()),
            }
        }
        if values.len() == op.params.len() {
            ids.insert(op.path.clone(), values);
        }
    }
    assert!(
        unresolved.is_empty(),
        "tenant B has no id for these operations; seed one in `seed_tenant_b`: {unresolved:?}"
    );

    // A: an agency owner with a JWT, an API key with every owner permission,
    // and a cookie session.
    // (Not a platform superadmin: the operator may archive and restore any
    // top-level organisation, which is the restore path, not a tenant's reach.)
    let a_root = admin(&app, "root-a@isolation.test", "Agency A").await;
    let a_owner = member(
        &app,
        &a_root.caller(&app),
        "owner",
        "owner-a@isolation.test",
    )
    .await;
    let a = a_owner.caller(&app);
    let matrix = a.get_ok("/v1/permissions").await;
    let owner_perms = matrix["roles"]["owner"].clone();
    let key = ok(
        a.post(
            "/v1/api-keys",
            &json!({"name": "a key", "permissions": owner_perms}),
        )
        .await,
        "A's API key",
    )
    .await;
    let session = app
        .post_json(
            "/v1/auth/session",
            &json!({"username": "owner-a@isolation.test", "password": PASSWORD}),
        )
        .await;
    let cookie = session
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("kiki_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .expect("a session cookie");
    let csrf = ok(session, "A's cookie session").await["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let attacker = Attacker {
        jwt: a_owner.tokens.access_token.clone(),
        api_key: key["token"].as_str().unwrap().to_owned(),
        cookie,
        csrf,
    };

    let before = snapshot(&b, &ops, &ids, &queries).await;
    // Every read B's ids open works for B: the sweep below tries real ids.
    let unreadable: Vec<&String> = before
        .iter()
        .filter(|(_, v)| v["status"] != 200)
        .map(|(path, _)| path)
        .collect();
    assert!(
        unreadable.is_empty(),
        "B cannot read its own {unreadable:?}"
    );
    let mut leaks = Vec::new();
    let mut checked = 0usize;
    let creds = [Credential::Jwt, Credential::ApiKey, Credential::Cookie];

    // 1. B's ids in the path, in A's own organisation. The answer must be
    // the one an id that was never issued gets (404, or the same refusal of
    // the request itself), so it tells A nothing about B; a success on an id
    // is a leak. Keys that are the tenant's own names (an LTV customer id)
    // are A's key in A's organisation: the same answer as for an unknown key.
    for op in ops.iter().filter(|o| !o.params.is_empty() && o.secured) {
        let path = fill(&op.path, &ids[&op.path]);
        let never_issued: BTreeMap<String, String> = op
            .params
            .iter()
            .map(|p| (p.clone(), Uuid::now_v7().to_string()))
            .collect();
        let unknown_path = fill(&op.path, &never_issued);
        let tenant_key = op.params.iter().all(|p| p != "id" && !p.ends_with("_id"))
            || op.params.iter().any(|p| p == "customer_id");
        for cred in creds {
            let send = |path: String| {
                let mut rb = attacker.request(&app, cred, op.method.clone(), &path, None);
                if let Some(body) = body_for(&doc, op) {
                    rb = rb.json(&body);
                }
                async move { json(rb.send().await.unwrap()).await }
            };
            let (status, body) = send(path.clone()).await;
            let (unknown_status, unknown_body) = send(unknown_path.clone()).await;
            checked += 1;
            let same_as_unknown =
                status == unknown_status && body["error"]["code"] == unknown_body["error"]["code"];
            let success = (200..300).contains(&status);
            if !same_as_unknown || (success && !tenant_key) {
                leaks.push(format!(
                    "{cred:?} {} {path}: {status} {body} (never-issued id: {unknown_status})",
                    op.method
                ));
            }
        }
    }

    // 2. Every tenant operation acting in B's organisations.
    for op in ops
        .iter()
        .filter(|o| o.secured && !o.exchange && !o.acts_on_own_account())
    {
        let path = match ids.get(&op.path) {
            Some(values) => fill(&op.path, values),
            None => op.path.clone(),
        };
        for org in [b_owner.org_id, b_client] {
            for cred in creds {
                let mut rb = attacker.request(&app, cred, op.method.clone(), &path, Some(org));
                if let Some(body) = body_for(&doc, op) {
                    rb = rb.json(&body);
                }
                let (status, body) = json(rb.send().await.unwrap()).await;
                checked += 1;
                if status != 404 {
                    leaks.push(format!(
                        "{cred:?} X-Kiki-Org {org} {} {path}: {status} {body}",
                        op.method
                    ));
                }
            }
        }
    }

    // 3. Bodies that name an organisation: A's credentials, B's organisation.
    for op in ops.iter().filter(|o| !o.exchange) {
        let Some(schema) = &op.body_schema else {
            continue;
        };
        let props = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let Some(field) = ["org", "org_id"]
            .into_iter()
            .find(|f| props.contains_key(*f))
        else {
            continue;
        };
        let mut body = body_for(&doc, op).unwrap();
        body[field] = json!(b_owner.org_id);
        if props.contains_key("username") {
            body["username"] = json!("owner-a@isolation.test");
            body["password"] = json!(PASSWORD);
        }
        let resp = attacker
            .request(&app, Credential::Jwt, op.method.clone(), &op.path, None)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, answer) = json(resp).await;
        checked += 1;
        if (200..300).contains(&status) || answer.get("access_token").is_some() {
            leaks.push(format!("{} with {field} = B: {status} {answer}", op.name()));
        }
    }
    // The sign-in form names the organisation too.
    let resp = app
        .client
        .post(app.url("/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "owner-a@isolation.test"),
            ("password", PASSWORD),
            ("org", &b_owner.org_id.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let (status, answer) = json(resp).await;
    if status == 200 {
        leaks.push(format!("password grant into B's organisation: {answer}"));
    }

    // B's campaign named in A's own query: no rows (analytics reads A's
    // organisations only).
    for path in [
        variants.clone(),
        variants.replace("/variants?", "/breakdown?by=variant&"),
    ] {
        let mine = a.get_ok(&path).await;
        checked += 1;
        let rows = mine.get("variants").or_else(|| mine.get("rows"));
        if rows.and_then(Value::as_array).is_none_or(|r| !r.is_empty()) {
            leaks.push(format!("A's {path} shows B's campaign: {mine}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "{} of {checked} requests crossed tenants:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    let after = snapshot(&b, &ops, &ids, &queries).await;
    for (path, was) in &before {
        assert_eq!(Some(was), after.get(path), "B's {path} changed");
    }
    eprintln!("{checked} cross-tenant requests, all refused; B unchanged");
    app.shutdown().await.unwrap();
}
