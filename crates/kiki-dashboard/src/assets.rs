//! The dashboard's static files, compiled into the binary: our own style
//! sheet and script, and the vendored libraries (htmx, uPlot; versions and
//! licences in `assets/vendor/README.md`). Each is served at a name that
//! carries a hash of its bytes (`/assets/app.3f9c…​.css`), so a response may
//! be cached for a year by the browser and any proxy or CDN in front
//! (`immutable`): a new build with changed bytes has a new name. Every tag
//! that loads one carries its subresource-integrity hash (SHA-384 of the
//! same bytes), so a tampered copy in a cache is refused by the browser.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha384};

/// Where the assets are served.
pub const PREFIX: &str = "/assets/";

/// Cache lifetime of a hashed asset: a year, never revalidated.
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// One static file.
#[derive(Debug)]
pub struct Asset {
    /// The name templates refer to it by (`app.css`).
    pub name: &'static str,
    /// The URL it is served at (`/assets/app.<hash>.css`).
    pub url: String,
    /// `sha384-<base64>` for the `integrity` attribute.
    pub integrity: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

impl Asset {
    fn new(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        let digest = Sha384::digest(bytes);
        let integrity = format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(digest.as_slice())
        );
        // 64 bits of the digest name the version: enough to tell builds apart.
        let hash: String = digest.as_slice()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        Asset {
            name,
            url: format!("{PREFIX}{stem}.{hash}.{ext}"),
            integrity,
            content_type,
            bytes,
        }
    }
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        Asset::new("app.css", CSS, include_bytes!("../assets/app.css")),
        Asset::new("app.js", JS, include_bytes!("../assets/app.js")),
        Asset::new(
            "favicon.svg",
            "image/svg+xml",
            include_bytes!("../assets/favicon.svg"),
        ),
        Asset::new(
            "htmx.js",
            JS,
            include_bytes!("../assets/vendor/htmx.min.js"),
        ),
        Asset::new(
            "uplot.js",
            JS,
            include_bytes!("../assets/vendor/uPlot.iife.min.js"),
        ),
        Asset::new(
            "uplot.css",
            CSS,
            include_bytes!("../assets/vendor/uPlot.min.css"),
        ),
    ]
});

/// Every asset.
pub fn all() -> &'static [Asset] {
    &ASSETS
}

/// The asset templates call `name`. Names are fixed in templates, so a
/// missing one is a programming error caught by the tests that render every
/// page.
pub fn get(name: &str) -> &'static Asset {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no dashboard asset named {name}"))
}

/// `GET /assets/{file}`: the file whose hashed name this is.
pub async fn serve(Path(file): Path<String>) -> Response {
    let path = format!("{PREFIX}{file}");
    match ASSETS.iter().find(|a| a.url == path) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(CACHE_CONTROL),
                ),
            ],
            a.bytes,
        )
            .into_response(),
        // An old name (a page cached across a deploy) or a mistyped one.
        None => crate::error::PageError::NotFound("This file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_hash_and_the_integrity_is_sha384_of_the_bytes() {
        let a = get("app.css");
        assert!(a.url.starts_with("/assets/app."), "{}", a.url);
        assert!(a.url.ends_with(".css"), "{}", a.url);
        let hash = &a.url["/assets/app.".len()..a.url.len() - ".css".len()];
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha384::digest(a.bytes));
        assert_eq!(a.integrity, format!("sha384-{expected}"));
    }

    #[test]
    fn every_asset_has_its_own_url() {
        let mut urls: Vec<&str> = all().iter().map(|a| a.url.as_str()).collect();
        urls.sort_unstable();
        urls.dedup();
        assert_eq!(urls.len(), all().len());
    }
}
