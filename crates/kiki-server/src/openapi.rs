//! The OpenAPI 3.1 document generated from the handlers' annotations
//! (`GET /openapi.json`) and a self-contained docs page (`GET /docs`) whose
//! script and styles are served by KIKI itself: no CDN, works offline.

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "KIKI API",
        description = "Outcome-based ad revenue engine. Every error is `{\"error\":{\"code\",\"message\",\"request_id\",\"details\"}}`.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "health", description = "Liveness, readiness, health and metrics"),
        (name = "platform", description = "Service status and background jobs"),
    ),
    components(schemas(crate::error::ErrorEnvelope, kiki_core::FieldError))
)]
pub struct ApiDoc;

const DOCS_HTML: &str = include_str!("../assets/docs.html");
const DOCS_JS: &str = include_str!("../assets/docs.js");
const DOCS_CSS: &str = include_str!("../assets/docs.css");

pub async fn docs_page() -> Html<&'static str> {
    Html(DOCS_HTML)
}

pub async fn docs_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        DOCS_JS,
    )
        .into_response()
}

pub async fn docs_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        DOCS_CSS,
    )
        .into_response()
}

/// Merges a module's partial document (`paths`, `components.*`) into the
/// generated one; a path or component already there is kept.
pub fn merge_document(doc: &mut serde_json::Value, part: &serde_json::Value) {
    use serde_json::Value;
    fn merge_map(into: &mut Value, from: &Value) {
        if let (Value::Object(into), Value::Object(from)) = (into, from) {
            for (k, v) in from {
                into.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    let Value::Object(d) = doc else { return };
    if let Some(paths) = part.get("paths") {
        merge_map(
            d.entry("paths")
                .or_insert_with(|| Value::Object(Default::default())),
            paths,
        );
    }
    if let Some(Value::Object(components)) = part.get("components") {
        let into = d
            .entry("components")
            .or_insert_with(|| Value::Object(Default::default()));
        for (kind, entries) in components {
            if let Value::Object(c) = into {
                merge_map(
                    c.entry(kind.clone())
                        .or_insert_with(|| Value::Object(Default::default())),
                    entries,
                );
            }
        }
    }
}

/// Completes the generated document with what holds for every operation and
/// is therefore not repeated in each annotation:
///
/// - the security schemes (bearer access token or API key, dashboard cookie
///   with its CSRF header), required by every operation unless its
///   annotation says `security(())` (public);
/// - the error answers the edge itself can give, each with the envelope:
///   400 (malformed request, bad `X-Kiki-Org`), 401/403/404 for operations
///   that need credentials (404 also for path ids), 409 for changes (and a
///   running `Idempotency-Key`), 422 for `POST` (a reused key), 413/415/422 for operations with
///   a body, 408 (timeout), 429 (rate limit), 500 and 503;
/// - the `Idempotency-Key` rule in the description of every `POST`.
///
/// Statuses an annotation already documents keep their own description.
pub fn finish_document(doc: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let envelope = json!({"$ref": "#/components/schemas/ErrorEnvelope"});
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": envelope.clone()}}
        })
    };
    let components = doc
        .as_object_mut()
        .map(|d| d.entry("components").or_insert_with(|| json!({})));
    if let Some(Value::Object(c)) = components {
        let schemes = c.entry("securitySchemes").or_insert_with(|| json!({}));
        if let Value::Object(s) = schemes {
            s.insert(
                "bearer".into(),
                json!({
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An access token from `POST /v1/auth/token` (a JWT, 15 minutes) or an API key (`kiki_…`). `X-Kiki-Org: <organisation id>` selects a client organisation the caller reaches."
                }),
            );
            s.insert(
                "session_cookie".into(),
                json!({
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "kiki_session",
                    "description": "The dashboard's session cookie. Requests that change state must also send the session's CSRF token in `X-CSRF-Token`."
                }),
            );
        }
    }
    if let Some(Value::Object(d)) = Some(&mut *doc) {
        d.insert(
            "security".into(),
            json!([{"bearer": []}, {"session_cookie": []}]),
        );
    }
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Value::Object(item) = item else { continue };
        let path_params = path.contains('{');
        for (method, op) in item.iter_mut() {
            if !matches!(
                method.as_str(),
                "get" | "post" | "put" | "patch" | "delete" | "head" | "options"
            ) {
                continue;
            }
            let Value::Object(op) = op else { continue };
            let public = matches!(op.get("security"), Some(Value::Array(a)) if a.is_empty() || a.iter().all(|s| s.as_object().is_some_and(|o| o.is_empty())));
            let has_body = op.contains_key("requestBody");
            let has_params = path_params
                || op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .is_some_and(|p| !p.is_empty());
            let post = method == "post";
            if post {
                let text = op
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let rule = "Send `Idempotency-Key: <unique key>` (1–255 visible ASCII characters, e.g. a UUID) to make a retry safe: the same caller's retry with the same key and body gets the first answer again (with `Idempotent-Replayed: true`) and changes nothing; the same key with another body is a 422, and a retry while the first request runs a 409.";
                if !text.contains("Idempotency-Key") {
                    let joined = if text.is_empty() {
                        rule.to_owned()
                    } else {
                        format!("{text}\n\n{rule}")
                    };
                    op.insert("description".into(), Value::String(joined));
                }
            }
            let mut add: Vec<(&str, &str)> = vec![
                (
                    "400",
                    "The request is malformed (a header, parameter or body that cannot be read).",
                ),
                (
                    "408",
                    "The request took longer than the server's time limit.",
                ),
                (
                    "429",
                    "Too many requests from this address; see `Retry-After`.",
                ),
                (
                    "500",
                    "An internal error; the request id identifies it in the logs.",
                ),
                (
                    "503",
                    "The service is not ready (starting, or a dependency is down).",
                ),
            ];
            if !public {
                add.push(("401", "Credentials are missing, expired or not valid."));
                add.push((
                    "403",
                    "The caller may not do this in the active organisation.",
                ));
                add.push((
                    "404",
                    "No such resource in the organisations the caller reaches.",
                ));
            } else if path_params {
                add.push(("404", "No such resource."));
            }
            if has_body || has_params || post {
                add.push((
                    "422",
                    "One or more fields are invalid; `details.fields` names each.",
                ));
            }
            if has_body {
                add.push(("413", "The body exceeds the size limit."));
                add.push((
                    "415",
                    "The body is not sent as JSON (or the form this operation takes).",
                ));
            }
            if post {
                add.push(("409", "The request conflicts with the current state, or the first request with this `Idempotency-Key` is still running."));
            } else if method != "get" && method != "head" && method != "options" {
                add.push((
                    "409",
                    "The request conflicts with the current state of the resource.",
                ));
            }
            let responses = op.entry("responses").or_insert_with(|| json!({}));
            if let Value::Object(r) = responses {
                for (status, text) in add {
                    r.entry(status).or_insert_with(|| error(text));
                }
            }
        }
    }
}
