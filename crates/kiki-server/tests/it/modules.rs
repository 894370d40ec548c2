//! Service modules: a module's configuration section, shared service, job
//! handler, versioned and role-gated routes and background task all reach
//! the running server, every route under the one edge stack; a bad section
//! stops start-up naming it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use futures::future::BoxFuture;
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{Module, ModuleContext, Mount, Service};
use kiki_store::{EnqueueOptions, JobContext, JobError, JobHandler, JobStatus};
use kiki_test_support::TestApp;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
struct EchoConfig {
    greeting: String,
    #[serde(serialize_with = "kiki_server::config::serialize_secret")]
    token: secrecy::SecretString,
}

fn no_secret() -> secrecy::SecretString {
    secrecy::SecretString::from("")
}

impl kiki_server::ModuleSettings for EchoConfig {
    fn problems(&self, production: bool) -> Vec<String> {
        use secrecy::ExposeSecret as _;
        let mut p = Vec::new();
        if self.greeting.is_empty() {
            p.push("echo.greeting must not be empty".to_owned());
        }
        if production && self.token.expose_secret().len() < 8 {
            p.push("echo.token must be at least 8 characters in production".to_owned());
        }
        p
    }
}

impl Default for EchoConfig {
    fn default() -> Self {
        EchoConfig {
            greeting: "hello".into(),
            token: no_secret(),
        }
    }
}

#[derive(Debug)]
struct EchoService {
    greeting: String,
    ticks: AtomicU64,
}

struct EchoJob(Arc<EchoService>);

impl JobHandler for EchoJob {
    fn kind(&self) -> &'static str {
        "echo.say"
    }
    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move { Ok(json!({"said": self.0.greeting, "to": ctx.payload["to"]})) })
    }
}

#[derive(Debug, Default)]
struct EchoModule;

#[utoipa::path(get, path = "/echo", tag = "echo", responses((status = 200, body = serde_json::Value)))]
async fn echo(Service(svc): Service<EchoService>) -> axum::Json<Value> {
    axum::Json(json!({"greeting": svc.greeting, "ticks": svc.ticks.load(Ordering::Relaxed)}))
}

impl Module for EchoModule {
    fn name(&self) -> &'static str {
        "bidder"
    }

    fn config_sections(&self) -> Vec<kiki_server::ConfigSection> {
        vec![kiki_server::ConfigSection::of::<EchoConfig>("bidder")]
    }

    fn init<'a>(&'a self, ctx: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async move {
            let cfg: EchoConfig = ctx.section("bidder")?;
            let svc = Arc::new(EchoService {
                greeting: cfg.greeting,
                ticks: AtomicU64::new(0),
            });
            ctx.add_job_handler(Arc::new(EchoJob(svc.clone())));
            ctx.default_schedule("echo.say", "0 0 3 * * *");
            ctx.provide(svc.clone());
            let mut mount = Mount::new()
                .api(VersionedApi::new().routes(&[ApiVersion::V1], utoipa_axum::routes!(echo)));
            if ctx.roles.bidder {
                mount = mount.routes(bidder_routes());
            }
            Ok(mount.spawn(move |_state, cancel| {
                vec![tokio::spawn(async move {
                    loop {
                        svc.ticks.fetch_add(1, Ordering::Relaxed);
                        tokio::select! {
                            _ = cancel.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                        }
                    }
                })]
            }))
        })
    }
}

/// Unversioned role-gated routes, as the bidder mounts `/openrtb2/*`.
fn bidder_routes() -> Router<kiki_server::AppState> {
    use axum::response::IntoResponse;
    Router::new()
        .route("/openrtb2/echo", get(|| async { "bidder" }))
        .route(
            "/openrtb2/boom",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("a bug in a module's route");
                }
                "unreachable".into_response()
            }),
        )
        .route(
            "/openrtb2/teapot",
            get(|| async { axum::http::StatusCode::IM_A_TEAPOT.into_response() }),
        )
}

#[tokio::test]
async fn a_module_plugs_config_service_routes_jobs_and_tasks_into_the_server() {
    let app = TestApp::builder()
        .configure(|c| c.set_section("bidder", json!({"greeting": "bonjour"})))
        .module(Arc::new(EchoModule))
        .spawn()
        .await;

    // Versioned route reading the shared service, and the background task ran.
    let mut ticks = 0;
    for _ in 0..100 {
        let body: Value = app.get("/v1/echo").await.json().await.unwrap();
        assert_eq!(body["greeting"], "bonjour");
        ticks = body["ticks"].as_u64().unwrap();
        if ticks > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ticks > 0, "the module's background task never ran");
    assert_eq!(app.get("/v2/echo").await.status(), 404);
    assert_eq!(
        app.get("/openrtb2/echo").await.text().await.unwrap(),
        "bidder"
    );

    // A module's unversioned routes go through the whole edge stack: request
    // id, security headers, panic catcher and error envelope.
    let echo = app.get("/openrtb2/echo").await;
    assert!(echo.headers().contains_key("x-request-id"));
    assert_eq!(echo.headers()["x-content-type-options"], "nosniff");
    let boom = app.get("/openrtb2/boom").await;
    assert_eq!(boom.status(), 500);
    assert!(boom.headers().contains_key("x-request-id"));
    let body: Value = boom.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    // An error status without a JSON body gets the envelope too.
    let teapot = app.get("/openrtb2/teapot").await;
    assert_eq!(teapot.status(), 418);
    let body: Value = teapot.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");

    // The route is in the OpenAPI document.
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/v1/echo"].is_object());

    // The module's job handler runs in the worker.
    let id = app
        .state
        .jobs
        .enqueue(
            None,
            "echo.say",
            json!({"to": "world"}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let job = app.wait_for_job(id).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    assert_eq!(job.result.unwrap()["said"], "bonjour");
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn role_gated_routes_follow_the_process_roles() {
    let app = TestApp::builder()
        .configure(|c| c.roles = "api,worker".into())
        .module(Arc::new(EchoModule))
        .spawn()
        .await;
    assert_eq!(app.get("/openrtb2/echo").await.status(), 404);
    assert_eq!(app.get("/openrtb2/boom").await.status(), 404);
    assert_eq!(app.get("/v1/echo").await.status(), 200);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_bad_module_section_stops_start_up_naming_it() {
    let db = kiki_store::testing::fresh_db().await;
    let mut config = kiki_server::Config::default();
    config.database.url = db.url().to_owned();
    config.set_section("bidder", json!({"greting": "typo"}));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = kiki_server::Application::build_with(
        config,
        kiki_server::BuildOptions {
            listener: Some(listener),
            modules: vec![Arc::new(EchoModule)],
            ..Default::default()
        },
    )
    .await
    .expect_err("start-up fails");
    let text = format!("{err:#}");
    assert!(text.contains("bidder"), "{text}");
    assert!(text.contains("greting"), "{text}");
    db.cleanup().await;
}

#[test]
fn config_check_and_serve_read_every_declared_section_and_refuse_unknown_ones() {
    let registry = vec![kiki_server::ConfigSection::of::<EchoConfig>("bidder")];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kiki.toml");
    std::fs::write(
        &file,
        "[bidder]\ngreeting = \"hi\"\ntoken = \"s3cret-token-value\"\n[bidderr]\nx = 1\n",
    )
    .unwrap();
    let config = kiki_server::Config::load_from(Some(&file), Vec::new()).unwrap();
    let shown = config.redacted_toml_with(&registry);
    assert!(shown.contains("[bidder]"), "{shown}");
    assert!(shown.contains("greeting = \"hi\""), "{shown}");
    assert!(
        !shown.contains("s3cret-token-value"),
        "a secret was printed:\n{shown}"
    );
    assert!(!shown.contains("bidderr"), "{shown}");
    let err = config.validate_with(&registry).unwrap_err().to_string();
    assert!(err.contains("unknown key `bidderr`"), "{err}");

    // A typo inside a declared section is named, as `kiki serve` would.
    let mut typo = kiki_server::Config::default();
    typo.set_section("bidder", json!({"greting": "typo"}));
    let err = typo.validate_with(&registry).unwrap_err().to_string();
    assert!(err.contains("greting"), "{err}");

    // The section's own rules, with the production ones.
    let mut empty = kiki_server::Config::default();
    empty.set_section("bidder", json!({"greeting": ""}));
    let err = empty.validate_with(&registry).unwrap_err().to_string();
    assert!(err.contains("echo.greeting"), "{err}");
}
