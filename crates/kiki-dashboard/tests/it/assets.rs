//! Static files: served from the binary at their hashed names with a
//! year-long immutable cache, the right type, and the integrity hash the
//! pages name matching the bytes served.

use base64::Engine as _;
use sha2::{Digest, Sha384};

use crate::*;

/// Every `(url, integrity)` of the page's script and link tags.
fn referenced(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for tag in html
        .split('<')
        .filter(|t| t.starts_with("script") || t.starts_with("link"))
    {
        let attr = |name: &str| {
            let marker = format!(" {name}=\"");
            tag.find(&marker).map(|i| {
                tag[i + marker.len()..]
                    .split('"')
                    .next()
                    .unwrap()
                    .to_owned()
            })
        };
        if let (Some(url), Some(sri)) = (attr("src").or_else(|| attr("href")), attr("integrity")) {
            out.push((url, sri));
        }
    }
    out
}

#[tokio::test]
async fn assets_are_served_at_their_hash_with_a_long_cache_and_matching_integrity() {
    let (app, svc, _) = spawn().await;
    let boss = kiki_test_support::identity::admin(&app, "assets@shop.example", "Asset Shop").await;
    feed(&svc, boss.org_id).await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get(&format!("/app?{RANGE}")).await;
    let refs = referenced(&page.body);
    let names: Vec<&str> = refs.iter().map(|(u, _)| u.as_str()).collect();
    // Our style and script, htmx, and uPlot's script and style.
    assert_eq!(refs.len(), 5, "{names:?}");
    for stem in ["/assets/app.", "/assets/htmx.", "/assets/uplot."] {
        assert!(
            names.iter().any(|n| n.starts_with(stem)),
            "{stem} in {names:?}"
        );
    }

    for (url, integrity) in &refs {
        let resp = app.client.get(app.url(url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let h = resp.headers().clone();
        assert_eq!(
            h["cache-control"], "public, max-age=31536000, immutable",
            "{url}"
        );
        let ct = h["content-type"].to_str().unwrap().to_owned();
        let bytes = resp.bytes().await.unwrap();
        if url.ends_with(".js") {
            assert_eq!(ct, "text/javascript; charset=utf-8", "{url}");
        } else {
            assert_eq!(ct, "text/css; charset=utf-8", "{url}");
        }
        // The name carries the first 8 bytes of the SHA-384 of what is served,
        let digest = Sha384::digest(&bytes);
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        assert!(url.contains(&format!(".{hex}.")), "{url} vs {hex}");
        // and the page's integrity attribute is that digest.
        let expected = format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        assert_eq!(integrity, &expected, "{url}");
    }

    // The vendored files are the pinned releases, byte for byte.
    let htmx = kiki_dashboard::assets::get("htmx.js");
    let body = app
        .client
        .get(app.url(&htmx.url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), 52_182, "htmx 2.0.11's dist/htmx.min.js");
    let uplot = kiki_dashboard::assets::get("uplot.js");
    let body = app
        .client
        .get(app.url(&uplot.url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), 51_081, "uPlot 1.6.32's dist/uPlot.iife.min.js");

    // The favicon has its type; an unhashed name is not served.
    let icon = kiki_dashboard::assets::get("favicon.svg");
    let resp = app.client.get(app.url(&icon.url)).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    let plain = app
        .client
        .get(app.url("/assets/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 404);
}
