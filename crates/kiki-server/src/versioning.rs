//! API versions. `/v1` is the current version and holds every route; `/v2`
//! holds only the routes whose shape differs (the richer `/v2/status`), so
//! no operation is published twice. A service registers a route with
//! [`VersionedApi::routes`], normally in [`ApiVersion::CURRENT`];
//! a version marked deprecated in config answers with `Deprecation`
//! (RFC 9745), `Sunset` (RFC 8594) and `Link: rel="successor-version"`; an
//! unknown version gets a JSON 404 listing the supported ones.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kiki_core::ErrorCode;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use crate::config::DeprecationConfig;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiVersion {
    V1,
    V2,
}

impl ApiVersion {
    pub const ALL: &'static [ApiVersion] = &[ApiVersion::V1, ApiVersion::V2];
    /// Where a route lives unless its shape differs between versions: the
    /// current version only.
    pub const CURRENT: &'static [ApiVersion] = &[ApiVersion::V1];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V2 => "v2",
        }
    }

    pub fn successor(self) -> Option<ApiVersion> {
        match self {
            ApiVersion::V1 => Some(ApiVersion::V2),
            ApiVersion::V2 => None,
        }
    }
}

/// Routes grouped by version, each with its OpenAPI paths.
pub struct VersionedApi<S> {
    by_version: BTreeMap<ApiVersion, OpenApiRouter<S>>,
}

impl<S: Clone + Send + Sync + 'static> Default for VersionedApi<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> VersionedApi<S> {
    pub fn new() -> Self {
        VersionedApi {
            by_version: ApiVersion::ALL
                .iter()
                .map(|v| (*v, OpenApiRouter::new()))
                .collect(),
        }
    }

    /// Registers `routes` (from `utoipa_axum::routes!`) in each of `versions`.
    pub fn routes(mut self, versions: &[ApiVersion], routes: UtoipaMethodRouter<S>) -> Self {
        for v in versions {
            let r = self.by_version.remove(v).unwrap_or_default();
            self.by_version.insert(*v, r.routes(routes.clone()));
        }
        self
    }

    /// Adds another service's versioned routes. Two services must not give
    /// one schema name to two different schemas: the document would keep
    /// one of them for both (debug builds, and so every test, stop here).
    pub fn merge(mut self, other: VersionedApi<S>) -> Self {
        for (v, r) in other.by_version {
            let mine = self.by_version.remove(&v).unwrap_or_default();
            let clashes = schema_name_clashes(mine.get_openapi(), r.get_openapi());
            debug_assert!(
                clashes.is_empty(),
                "two services name different schemas {clashes:?}; rename one with `#[schema(as = …)]`"
            );
            self.by_version.insert(v, mine.merge(r));
        }
        self
    }

    /// One router with `/v1/…` and `/v2/…`, deprecation headers applied.
    pub fn into_router(self, deprecated: &BTreeMap<String, DeprecationConfig>) -> OpenApiRouter<S> {
        let paths: BTreeMap<ApiVersion, std::sync::Arc<BTreeSet<String>>> = self
            .by_version
            .iter()
            .map(|(v, r)| {
                let set = r.get_openapi().paths.paths.keys().cloned().collect();
                (*v, std::sync::Arc::new(set))
            })
            .collect();
        let mut root = OpenApiRouter::new();
        for (v, r) in self.by_version {
            let r = match deprecated.get(v.as_str()) {
                Some(d) => {
                    let successor_paths = v
                        .successor()
                        .and_then(|s| paths.get(&s).cloned())
                        .unwrap_or_default();
                    r.layer(axum::middleware::from_fn_with_state(
                        DeprecationHeaders::new(v, d, successor_paths),
                        deprecation_headers,
                    ))
                }
                None => r,
            };
            root = root.nest(&format!("/{}", v.as_str()), r);
        }
        root
    }
}

/// Schema names two documents give to different schemas.
fn schema_name_clashes(a: &utoipa::openapi::OpenApi, b: &utoipa::openapi::OpenApi) -> Vec<String> {
    let (Some(a), Some(b)) = (&a.components, &b.components) else {
        return Vec::new();
    };
    a.schemas
        .iter()
        .filter(|(name, schema)| b.schemas.get(*name).is_some_and(|other| other != *schema))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Header values for one deprecated version, computed once at start-up.
#[derive(Debug, Clone)]
pub struct DeprecationHeaders {
    version: ApiVersion,
    deprecation: HeaderValue,
    sunset: Option<HeaderValue>,
    /// Route templates the successor version has (the link names only those).
    successor_paths: std::sync::Arc<BTreeSet<String>>,
}

impl DeprecationHeaders {
    pub fn new(
        version: ApiVersion,
        cfg: &DeprecationConfig,
        successor_paths: std::sync::Arc<BTreeSet<String>>,
    ) -> Self {
        let parse = |s: &Option<String>| {
            s.as_deref()
                .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        };
        // RFC 9745: `Deprecation: @<unix seconds>`; the config is validated at start-up.
        let since = parse(&cfg.since).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let deprecation = HeaderValue::from_str(&format!("@{}", since.unix_timestamp()))
            .unwrap_or(HeaderValue::from_static("@0"));
        let sunset = parse(&cfg.sunset).and_then(|t| {
            let st = std::time::SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(t.unix_timestamp().max(0) as u64);
            HeaderValue::from_str(&httpdate::fmt_http_date(st)).ok()
        });
        DeprecationHeaders {
            version,
            deprecation,
            sunset,
            successor_paths,
        }
    }
}

async fn deprecation_headers(
    State(d): State<DeprecationHeaders>,
    req: Request,
    next: Next,
) -> Response {
    let prefix = format!("/{}", d.version.as_str());
    let template = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let successor_link = d.version.successor().and_then(|next_v| {
        // The successor carries only the routes that differ: link to it
        // only when this route is one of them.
        let t = template.as_deref()?;
        let t = t.strip_prefix(&prefix).unwrap_or(t);
        if !d.successor_paths.contains(t) {
            return None;
        }
        let path = req.uri().path();
        // Inside a nested router the path has the prefix stripped: rebuild it.
        let rest = path.strip_prefix(&prefix).unwrap_or(path);
        Some(format!(
            "</{}{}>; rel=\"successor-version\"",
            next_v.as_str(),
            rest
        ))
    });
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert("deprecation", d.deprecation.clone());
    if let Some(s) = &d.sunset {
        h.insert("sunset", s.clone());
    }
    if let Some(link) = successor_link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.append(axum::http::header::LINK, link);
    }
    resp
}

/// The fallback: a JSON 404, naming the supported versions when the path
/// starts with a version that does not exist.
pub async fn fallback(uri: Uri) -> Response {
    let first = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    let looks_versioned =
        first.len() > 1 && first.starts_with('v') && first[1..].bytes().all(|b| b.is_ascii_digit());
    let known = ApiVersion::ALL.iter().any(|v| v.as_str() == first);
    if looks_versioned && !known {
        let supported: Vec<&str> = ApiVersion::ALL.iter().map(|v| v.as_str()).collect();
        return ApiError::new(
            ErrorCode::UnknownApiVersion,
            format!(
                "API version `{first}` does not exist; use one of: {}.",
                supported.join(", ")
            ),
        )
        .with_details(serde_json::json!({ "supported_versions": supported }))
        .into_response();
    }
    ApiError::new(ErrorCode::NotFound, "No route matches this path.").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    mod ltv {
        /// One context's `Window`.
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub struct Window {
            pub start: String,
        }

        #[utoipa::path(get, path = "/ltv", responses((status = 200, body = Window)))]
        pub async fn read() {}

        #[utoipa::path(get, path = "/ltv/latest", responses((status = 200, body = Window)))]
        pub async fn latest() {}
    }

    mod twin {
        /// Another context's `Window`.
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub struct Window {
            pub days: u32,
        }

        #[utoipa::path(get, path = "/twin", responses((status = 200, body = Window)))]
        pub async fn read() {}
    }

    fn api_of(routes: UtoipaMethodRouter<()>) -> VersionedApi<()> {
        VersionedApi::new().routes(ApiVersion::CURRENT, routes)
    }

    #[test]
    fn two_services_naming_the_same_schema_alike_merge() {
        let merged = api_of(utoipa_axum::routes!(ltv::read))
            .merge(api_of(utoipa_axum::routes!(ltv::latest)));
        assert_eq!(merged.by_version.len(), ApiVersion::ALL.len());
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "name different schemas"))]
    fn two_services_giving_one_name_to_different_schemas_stop_a_debug_build() {
        let _ =
            api_of(utoipa_axum::routes!(ltv::read)).merge(api_of(utoipa_axum::routes!(twin::read)));
    }
}
