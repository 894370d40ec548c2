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

/// A derived schema with JSON Schema keywords the derive cannot state:
/// rules across fields (`anyOf` of `required`, `not`, `if`/`then`), added
/// next to the derived `properties`. Use it through [`request_schema!`].
///
/// utoipa's object schema has no field for these keywords; its extension map
/// is written flattened into the object, so the keywords are carried there.
pub fn with_keywords(
    schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    keywords: serde_json::Value,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    let mut schema = schema;
    if let (RefOr::T(Schema::Object(o)), serde_json::Value::Object(k)) = (&mut schema, keywords) {
        let ext = o.extensions.get_or_insert_with(Default::default);
        for (key, value) in k {
            ext.insert(key, value);
        }
    }
    schema
}

/// Declares `$wrapper`, the schema of a request body `$ty` plus the rules
/// across its fields that its derive cannot state (see [`with_keywords`]),
/// under `$ty`'s own name. Name the wrapper in `request_body(content = …)`.
///
/// ```ignore
/// kiki_server::request_schema!(pub RegisterSchema for RegisterRequest,
///     serde_json::json!({"anyOf": [{"required": ["invitation"]}, {"required": ["org_id"]}]}));
/// ```
#[macro_export]
macro_rules! request_schema {
    ($vis:vis $wrapper:ident for $ty:ty, $keywords:expr) => {
        #[doc = concat!("The API document's schema of [`", stringify!($ty), "`] with its rules across fields.")]
        $vis struct $wrapper;
        impl utoipa::PartialSchema for $wrapper {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::with_keywords(<$ty as utoipa::PartialSchema>::schema(), $keywords)
            }
        }
        impl utoipa::ToSchema for $wrapper {
            fn name() -> std::borrow::Cow<'static, str> {
                <$ty as utoipa::ToSchema>::name()
            }
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$ty as utoipa::ToSchema>::schemas(schemas)
            }
        }
    };
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
/// - the `Idempotency-Key` rule in the description of every `POST`;
/// - `allowEmptyValue` on every optional query parameter: the `Query`
///   extractor reads `?name=` as not given;
/// - the range of every integer width as `minimum`/`maximum` (see
///   `bound_integer_formats`) and the shape of every string format as a
///   `pattern` (see `pattern_string_formats`).
///
/// Statuses an annotation already documents keep their own description.
pub fn finish_document(doc: &mut serde_json::Value) {
    use serde_json::{Value, json};
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
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        finish_operations(paths);
    }
    standard_schema(doc);
}

/// A schema (or a whole document) in the standard terms the API document
/// uses: integer widths as bounds and string formats with their pattern
/// (see `bound_integer_formats` and `pattern_string_formats`). The event
/// catalogue describes its payloads with it too.
pub fn standard_schema(v: &mut serde_json::Value) {
    bound_integer_formats(v);
    pattern_string_formats(v);
}

/// The errors, `POST` rule and empty query values of every operation (see
/// [`finish_document`]).
fn finish_operations(paths: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::{Value, json};
    let envelope = json!({"$ref": "#/components/schemas/ErrorEnvelope"});
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": envelope.clone()}}
        })
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
            if let Some(Value::Array(params)) = op.get_mut("parameters") {
                for p in params.iter_mut().filter_map(Value::as_object_mut) {
                    let optional_query = p.get("in").and_then(Value::as_str) == Some("query")
                        && p.get("required").and_then(Value::as_bool) != Some(true);
                    if optional_query {
                        p.entry("allowEmptyValue").or_insert(Value::Bool(true));
                    }
                }
            }
        }
    }
}

/// The shape of each string `format` the API reads, as a `pattern`. In
/// JSON Schema 2020-12 (OpenAPI 3.1) `format` is an annotation unless a
/// validator opts in, so `""` is a valid `date-time` to most of them; the
/// pattern makes the shape checkable everywhere. The server reads a little
/// more than these (any separator in a time, a braced UUID); the document
/// states the canonical form.
fn pattern_string_formats(v: &mut serde_json::Value) {
    use serde_json::Value;
    const DATE_TIME: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";
    const DATE: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
    const UUID: &str =
        r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";
    const EMAIL: &str = r"^[^@\s]+@[^\s.][^\s]*\.[^\s]*[^\s.]$";
    match v {
        Value::Object(o) => {
            let pattern = match o.get("format").and_then(Value::as_str) {
                Some("date-time") => Some(DATE_TIME),
                Some("date") => Some(DATE),
                Some("uuid") => Some(UUID),
                Some("email") => Some(EMAIL),
                _ => None,
            };
            if let Some(p) = pattern {
                o.entry("pattern")
                    .or_insert_with(|| Value::String(p.into()));
            }
            for (k, child) in o.iter_mut() {
                if !matches!(
                    k.as_str(),
                    "example" | "examples" | "default" | "enum" | "const"
                ) {
                    pattern_string_formats(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(pattern_string_formats),
        _ => {}
    }
}

/// Turns the integer widths utoipa names (`int8`, `int16`, `uint8` …
/// `uint64`, which OpenAPI tools do not bound by themselves) into
/// `minimum`/`maximum` keywords and a standard `format` that holds the range
/// (`int32` up to 16 bits, `int64` for 32 unsigned bits, none for 64). A
/// bound an annotation already states is kept when it is tighter. Without
/// this a `u32` field would read as `int32` (a client sending 3,000,000,000
/// gets a 422 the contract did not announce) and a `u8` as any integer.
fn bound_integer_formats(v: &mut serde_json::Value) {
    use serde_json::{Number, Value};
    match v {
        Value::Object(o) => {
            // utoipa writes the unsigned widths `u-int8` … `u-int64`.
            let width = o
                .get("format")
                .and_then(Value::as_str)
                .map(|f| f.replace('-', ""));
            let range: Option<(i128, i128, Option<&str>)> = match width.as_deref() {
                Some("int8") => Some((i8::MIN.into(), i8::MAX.into(), Some("int32"))),
                Some("int16") => Some((i16::MIN.into(), i16::MAX.into(), Some("int32"))),
                Some("uint8") => Some((0, u8::MAX.into(), Some("int32"))),
                Some("uint16") => Some((0, u16::MAX.into(), Some("int32"))),
                Some("uint32") => Some((0, u32::MAX.into(), Some("int64"))),
                Some("uint64") => Some((0, u64::MAX.into(), None)),
                _ => None,
            };
            if let Some((lo, hi, format)) = range {
                let number = |n: i128| {
                    u64::try_from(n)
                        .map(Number::from)
                        .or_else(|_| i64::try_from(n).map(Number::from))
                        .map(Value::Number)
                        .unwrap_or(Value::Null)
                };
                let stated = |o: &serde_json::Map<String, Value>, k: &str| {
                    o.get(k).and_then(|n| {
                        n.as_i64()
                            .map(i128::from)
                            .or_else(|| n.as_u64().map(i128::from))
                            .or_else(|| n.as_f64().map(|f| f as i128))
                    })
                };
                let min = stated(o, "minimum").map_or(lo, |m| m.max(lo));
                let max = stated(o, "maximum").map_or(hi, |m| m.min(hi));
                o.insert("minimum".into(), number(min));
                o.insert("maximum".into(), number(max));
                match format {
                    Some(f) => o.insert("format".into(), Value::String(f.into())),
                    None => o.remove("format"),
                };
            }
            for (k, child) in o.iter_mut() {
                // Examples and defaults are data, not schemas.
                if !matches!(
                    k.as_str(),
                    "example" | "examples" | "default" | "enum" | "const"
                ) {
                    bound_integer_formats(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(bound_integer_formats),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_widths_become_bounds_and_a_standard_format() {
        let mut doc = json!({"components": {"schemas": {"X": {"properties": {
            "a": {"type": "integer", "format": "u-int8", "minimum": 0},
            "b": {"type": "integer", "format": "uint32", "minimum": 1, "maximum": 90},
            "c": {"type": "integer", "format": "uint64", "minimum": 0},
            "d": {"type": "integer", "format": "int16", "minimum": -840, "maximum": 840},
            "e": {"type": "integer", "format": "int64"},
            "f": {"type": "object", "example": {"format": "uint8"}}
        }}}}});
        finish_document(&mut doc);
        let p = &doc["components"]["schemas"]["X"]["properties"];
        assert_eq!(
            p["a"],
            json!({"type": "integer", "format": "int32", "minimum": 0, "maximum": 255})
        );
        assert_eq!(
            p["b"],
            json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": 90})
        );
        assert_eq!(
            p["c"],
            json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
        );
        assert_eq!(p["d"]["minimum"], -840);
        assert_eq!(p["d"]["format"], "int32");
        assert_eq!(p["e"], json!({"type": "integer", "format": "int64"}));
        assert_eq!(p["f"]["example"], json!({"format": "uint8"}));
    }

    #[derive(utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Either {
        a: Option<String>,
        b: Option<String>,
    }
    crate::request_schema!(EitherSchema for Either, json!({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}));

    #[test]
    fn a_request_schema_carries_its_rules_under_the_type_name() {
        use utoipa::{PartialSchema, ToSchema};
        assert_eq!(EitherSchema::name(), "Either");
        let v = serde_json::to_value(EitherSchema::schema()).unwrap();
        assert_eq!(v["anyOf"][1]["required"][0], "b");
        assert!(v["properties"]["a"].is_object());
    }

    #[test]
    fn string_formats_carry_their_shape_as_a_pattern() {
        let mut doc = json!({"components": {"schemas": {"X": {"properties": {
            "at": {"type": ["string", "null"], "format": "date-time"},
            "id": {"type": "string", "format": "uuid"},
            "day": {"type": "string", "format": "date", "pattern": "^2026-"}
        }}}}});
        finish_document(&mut doc);
        let p = &doc["components"]["schemas"]["X"]["properties"];
        let at = p["at"]["pattern"].as_str().unwrap();
        assert!(
            at.starts_with("^[0-9]{4}-") && at.ends_with("[0-9]{2}:[0-9]{2})$"),
            "{at}"
        );
        assert!(p["id"]["pattern"].as_str().unwrap().contains("{12}$"));
        assert_eq!(p["day"]["pattern"], "^2026-", "a stated pattern is kept");
    }

    #[test]
    fn optional_query_parameters_may_be_sent_empty() {
        let mut doc = json!({"paths": {"/v1/things": {"get": {"parameters": [
            {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer"}},
            {"name": "id", "in": "query", "required": true, "schema": {"type": "string"}},
            {"name": "x", "in": "header", "schema": {"type": "string"}}
        ], "responses": {}}}}});
        finish_document(&mut doc);
        let params = &doc["paths"]["/v1/things"]["get"]["parameters"];
        assert_eq!(params[0]["allowEmptyValue"], true);
        assert!(params[1].get("allowEmptyValue").is_none());
        assert!(params[2].get("allowEmptyValue").is_none());
    }
}
