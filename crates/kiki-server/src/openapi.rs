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
