//! The security model of the pages: the CSRF token on every form POST,
//! the Content-Security-Policy and companion headers on every response,
//! and no inline script or style in any page.

use kiki_dashboard::views::CSP;
use kiki_test_support::identity::admin;

use crate::*;

#[tokio::test]
async fn a_form_post_without_the_sessions_csrf_token_is_refused() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "csrf@shop.example", "CSRF Shop").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let csrf = b.csrf().await;
    // Another session's token is not this session's.
    let mut other = Browser::new(&app);
    other.sign_in(&boss.email).await;
    let theirs = other.csrf().await;
    assert_ne!(csrf, theirs);

    for form in [
        vec![],
        vec![("csrf", "")],
        vec![(
            "csrf",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        )],
        vec![("csrf", theirs.as_str())],
    ] {
        let refused = b.post("/sign-out", &form).await;
        assert_eq!(refused.status, 403, "{form:?}: {}", refused.body);
        assert!(
            refused.body.contains("This form has expired"),
            "{}",
            refused.body
        );
        assert!(b.cookies.contains_key("kiki_session"));
    }
    // A link (GET) cannot sign anyone out either.
    let link = b.get("/sign-out").await;
    assert_eq!(link.status, 303);
    assert_eq!(link.location(), "/");
    // Still signed in: nothing happened.
    assert_eq!(b.get(&format!("/app?{RANGE}")).await.status, 200);
    // The right token works.
    let out = b.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);

    // The sign-in form has its own token (no session yet): a post from
    // elsewhere, without it or with another, signs nobody in.
    let mut fresh = Browser::new(&app);
    let no_token = fresh
        .post(
            "/sign-in",
            &[
                ("email", &boss.email),
                ("password", kiki_test_support::identity::PASSWORD),
            ],
        )
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    assert!(!fresh.cookies.contains_key("kiki_session"));
    let _ = fresh.get("/sign-in").await;
    let wrong = fresh
        .post(
            "/sign-in",
            &[
                ("csrf", "not-the-cookie"),
                ("email", &boss.email),
                ("password", kiki_test_support::identity::PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, 403);
    assert!(!fresh.cookies.contains_key("kiki_session"));
}

/// Every `<script>` loads a file (data for scripts sits in attributes: htmx
/// drops script elements from swapped content); no style element or
/// attribute, no event-handler attribute.
pub fn assert_no_inline_code(path: &str, html: &str) {
    let lower = html.to_ascii_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').expect("the tag ends")];
        assert!(
            tag.contains(" src=\"/assets/"),
            "{path}: inline script {tag}"
        );
        if tag.contains(" src=") {
            assert!(tag.contains(" integrity=\"sha384-"), "{path}: {tag}");
            assert!(
                lower[i..].starts_with(&format!("{tag}></script>")),
                "{path}: code in {tag}"
            );
        }
    }
    assert!(!lower.contains("<style"), "{path}: a style element");
    assert!(!lower.contains(" style="), "{path}: a style attribute");
    for handler in [
        " onclick=",
        " onload=",
        " onerror=",
        " onsubmit=",
        " onchange=",
        "javascript:",
    ] {
        assert!(!lower.contains(handler), "{path}: {handler}");
    }
    for (i, _) in lower.match_indices("<link") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap()];
        if tag.contains("stylesheet") {
            assert!(tag.contains(" integrity=\"sha384-"), "{path}: {tag}");
        }
    }
}

#[tokio::test]
async fn every_dashboard_response_carries_the_policy_and_no_page_has_inline_code() {
    let (app, svc, _) = spawn().await;
    let boss = admin(&app, "csp@shop.example", "CSP Shop").await;
    feed(&svc, boss.org_id).await;
    let viewer =
        kiki_test_support::identity::member(&app, &boss.caller(&app), "viewer", "v@csp.example")
            .await;
    let mut anon = Browser::new(&app);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let mut v = Browser::new(&app);
    v.sign_in(&viewer.email).await;

    let mut pages = vec![
        ("/", anon.get("/").await),
        ("/sign-in", anon.get("/sign-in").await),
        ("/app anonymous", anon.get("/app").await),
        (
            "POST /sign-in",
            anon.submit_password(&boss.email, "wrong-password-here")
                .await,
        ),
        ("/app", b.get(&format!("/app?{RANGE}")).await),
        (
            "/app empty",
            b.get("/app?range=custom&since=2020-01-01&until=2020-01-02")
                .await,
        ),
        ("/app bad", b.get("/app?range=never").await),
        ("/app/nothing-here", b.get("/app/nothing-here").await),
        (
            "/app/platforms.csv",
            b.get(&format!("/app/platforms.csv?{RANGE}")).await,
        ),
        (
            "viewer csv",
            v.get(&format!("/app/platforms.csv?{RANGE}")).await,
        ),
        (
            "/assets/none",
            anon.get("/assets/app.0000000000000000.css").await,
        ),
    ];
    let page = b.get("/sign-in").await;
    pages.push(("/sign-in signed in", page));
    let asset = kiki_dashboard::assets::get("app.js").url.clone();
    pages.push(("asset", anon.get(&asset).await));
    let csrf = b.csrf().await;
    pages.push((
        "POST /sign-out",
        b.post("/sign-out", &[("csrf", &csrf)]).await,
    ));

    for (name, p) in &pages {
        assert_eq!(p.header("content-security-policy"), CSP, "{name}");
        assert_eq!(p.header("x-content-type-options"), "nosniff", "{name}");
        assert_eq!(p.header("referrer-policy"), "same-origin", "{name}");
        assert_eq!(p.header("x-frame-options"), "DENY", "{name}");
        if p.header("content-type").starts_with("text/html") {
            assert_no_inline_code(name, &p.body);
            assert_eq!(p.header("cache-control"), "no-store", "{name}");
        }
    }
    // The error pages are pages, not the API's JSON.
    let status_of = |n: &str| pages.iter().find(|(k, _)| *k == n).unwrap().1.status;
    assert_eq!(status_of("/app bad"), 400);
    assert_eq!(status_of("/app/nothing-here"), 404);
    assert_eq!(status_of("viewer csv"), 403);
    assert_eq!(status_of("/assets/none"), 404);
    for n in [
        "/app bad",
        "/app/nothing-here",
        "viewer csv",
        "/assets/none",
    ] {
        let p = &pages.iter().find(|(k, _)| *k == n).unwrap().1;
        assert!(p.header("content-type").starts_with("text/html"), "{n}");
    }
    // The policy is the strict one the docs describe.
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(CSP.contains(directive), "{directive}");
    }
    // The JSON API keeps its own policy.
    let api = anon.get("/v1/status").await;
    assert_eq!(
        api.header("content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'"
    );
}
