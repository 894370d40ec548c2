//! Signing in and out: `/` leads to the sign-in page or the overview; the
//! password form, one message for a wrong password and an unknown account;
//! the code step for accounts with two-factor authentication; sign-out.

use kiki_core::Clock;
use kiki_credentials::totp::{self, TotpSecret};
use kiki_test_support::identity::{PASSWORD, admin, json};
use serde_json::json;
use time::Duration;

use crate::*;

#[tokio::test]
async fn the_start_page_leads_to_sign_in_and_then_to_the_overview() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "start@shop.example", "Start Shop").await;
    let mut b = Browser::new(&app);

    let root = b.get("/").await;
    assert_eq!(root.status, 303);
    assert_eq!(root.location(), "/sign-in");
    let app_page = b.get("/app").await;
    assert_eq!(app_page.status, 303, "no session: sign in first");
    assert_eq!(app_page.location(), "/sign-in");

    b.sign_in(&boss.email).await;
    let session = b.cookies["kiki_session"].clone();
    let root = b.get("/").await;
    assert_eq!(root.location(), "/app");
    let signed_in_again = b.get("/sign-in").await;
    assert_eq!(signed_in_again.location(), "/app");
    let overview = b.get("/app").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("Start Shop"));
    assert!(overview.body.contains("<h1>Overview</h1>"));
    // The session is the identity context's: the JSON API takes it too.
    let (status, me) = json(
        app.client
            .get(app.url("/v1/me"))
            .header("cookie", format!("kiki_session={session}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["email"], boss.email);
}

#[tokio::test]
async fn session_cookies_are_http_only_same_site_and_secure_behind_tls() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "cookies@shop.example", "Cookie Shop").await;
    let mut b = Browser::new(&app);
    let form = b.get("/sign-in").await;
    let done = b
        .post(
            "/sign-in",
            &[
                ("csrf", &form.input("csrf")),
                ("email", &boss.email),
                ("password", PASSWORD),
            ],
        )
        .await;
    let cookies: Vec<&str> = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    for name in ["kiki_session=", "kiki_csrf="] {
        let c = cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {cookies:?}"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/;"));
        assert!(!c.contains("Secure"), "plain http here: {c}");
    }

    // With an https public URL, cookies only travel over TLS.
    let tls = identity_app()
        .configure(|c| c.http.public_url = Some("https://kiki.example".into()))
        .module(Arc::new(AnalyticsModule::new()))
        .module(Arc::new(kiki_twin_service::TwinModule::new()))
        .module(Arc::new(kiki_campaigns_service::CampaignsModule::new()))
        .module(Arc::new(DashboardModule::new()))
        .spawn()
        .await;
    let boss = admin(&tls, "tls@shop.example", "TLS Shop").await;
    let mut b = Browser::new(&tls);
    let form = b.get("/sign-in").await;
    assert!(form.header("set-cookie").contains("; Secure"));
    let done = b
        .post(
            "/sign-in",
            &[
                ("csrf", &form.input("csrf")),
                ("email", &boss.email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    for v in done.headers.get_all("set-cookie") {
        assert!(v.to_str().unwrap().ends_with("; Secure"), "{v:?}");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_account_get_the_same_answer() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "wrong@shop.example", "Wrong Shop").await;
    let mut b = Browser::new(&app);

    let wrong = b
        .submit_password(&boss.email, "not-the-password-at-all")
        .await;
    let unknown = b
        .submit_password("nobody@nowhere.example", "not-the-password-at-all")
        .await;
    for page in [&wrong, &unknown] {
        assert_eq!(page.status, 401, "{}", page.body);
        assert!(
            page.body
                .contains("The email or password is not right. Check both and try again."),
            "{}",
            page.body
        );
        assert!(page.body.contains("role=\"alert\""));
    }
    // The email typed stays in the form; nothing else tells the two apart.
    assert!(wrong.body.contains(&format!("value=\"{}\"", boss.email)));
    assert_eq!(
        wrong.body.replace(&boss.email, "E").len(),
        unknown.body.replace("nobody@nowhere.example", "E").len()
    );
    assert!(!b.cookies.contains_key("kiki_session"));
    assert_eq!(b.get("/app").await.status, 303);

    // An empty password is named, not a server error.
    let empty = b.submit_password(&boss.email, "").await;
    assert_eq!(empty.status, 422, "{}", empty.body);
    assert!(empty.body.contains("password"), "{}", empty.body);
}

/// The code an authenticator app shows at the app's clock.
fn code_now(secret: &str, clock: &TestClock) -> String {
    let s = TotpSecret::from_base32(secret).expect("the secret is base32");
    totp::code_at(&s, u64::try_from(clock.now().unix_timestamp()).unwrap())
}

/// Six digits that match none of the steps accepted now (previous, current, next).
fn wrong_code(secret: &str, clock: &TestClock) -> String {
    let s = TotpSecret::from_base32(secret).expect("the secret is base32");
    let t = u64::try_from(clock.now().unix_timestamp()).unwrap();
    let accepted = [t - 30, t, t + 30].map(|x| totp::code_at(&s, x));
    (0..1000)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !accepted.contains(c))
        .expect("a code outside the window")
}

#[tokio::test]
async fn an_account_with_two_factor_authentication_signs_in_with_its_code() {
    let (app, _, clock) = spawn().await;
    let boss = admin(&app, "mfa@shop.example", "MFA Shop").await;
    let api = boss.caller(&app);
    let (status, enrol) = json(api.post_empty("/v1/me/mfa/enroll").await).await;
    assert_eq!(status, 200, "{enrol}");
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let (status, body) = json(
        api.post(
            "/v1/me/mfa/confirm",
            &json!({"code": code_now(&secret, &clock)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The next time step: the confirming code cannot be replayed.
    clock.advance(Duration::seconds(60));

    let mut b = Browser::new(&app);
    let step = b.submit_password(&boss.email, PASSWORD).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("Two-factor authentication"));
    assert!(step.body.contains("action=\"/sign-in/mfa\""));
    assert!(
        !step.body.contains(PASSWORD),
        "the page never holds the password"
    );
    assert!(
        !b.cookies.contains_key("kiki_session"),
        "no session before the code"
    );
    let sealed = b
        .cookies
        .get("kiki_mfa")
        .expect("the challenge cookie")
        .clone();
    assert!(!sealed.contains(PASSWORD));
    let mfa_cookie = step.header("set-cookie");
    assert!(
        step.headers.get_all("set-cookie").iter().any(|c| {
            let c = c.to_str().unwrap();
            c.starts_with("kiki_mfa=") && c.contains("Path=/sign-in") && c.contains("HttpOnly")
        }),
        "{mfa_cookie}"
    );
    let token = step.input("csrf");

    let bad = b
        .post(
            "/sign-in/mfa",
            &[("csrf", &token), ("code", &wrong_code(&secret, &clock))],
        )
        .await;
    assert_eq!(bad.status, 401, "{}", bad.body);
    assert!(bad.body.contains("The code is not right"), "{}", bad.body);
    assert!(!b.cookies.contains_key("kiki_session"));

    // Without the form's token the code is not even tried.
    let forged = b
        .post(
            "/sign-in/mfa",
            &[("csrf", "forged"), ("code", &code_now(&secret, &clock))],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);

    // The forged post restarted the sign-in: password and code again.
    let step = b.submit_password(&boss.email, PASSWORD).await;
    assert_eq!(step.status, 200, "{}", step.body);
    let ok = b
        .post(
            "/sign-in/mfa",
            &[
                ("csrf", &step.input("csrf")),
                ("code", &code_now(&secret, &clock)),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location(), "/app");
    assert!(b.cookies.contains_key("kiki_session"));
    assert!(
        !b.cookies.contains_key("kiki_mfa"),
        "the challenge is cleared"
    );
    assert_eq!(b.get("/app").await.status, 200);
}

#[tokio::test]
async fn the_code_step_expires_after_five_minutes() {
    let (app, _, clock) = spawn().await;
    let boss = admin(&app, "slow@shop.example", "Slow Shop").await;
    let api = boss.caller(&app);
    let (_, enrol) = json(api.post_empty("/v1/me/mfa/enroll").await).await;
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let (status, _) = json(
        api.post(
            "/v1/me/mfa/confirm",
            &json!({"code": code_now(&secret, &clock)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let mut b = Browser::new(&app);
    let step = b.submit_password(&boss.email, PASSWORD).await;
    assert_eq!(step.status, 200, "{}", step.body);
    clock.advance(Duration::seconds(301));
    let late = b
        .post(
            "/sign-in/mfa",
            &[
                ("csrf", &step.input("csrf")),
                ("code", &code_now(&secret, &clock)),
            ],
        )
        .await;
    assert_eq!(late.status, 400, "{}", late.body);
    assert!(late.body.contains("took too long"), "{}", late.body);
    assert!(!b.cookies.contains_key("kiki_session"));
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "out@shop.example", "Out Shop").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let session = b.cookies["kiki_session"].clone();
    let csrf = b.csrf().await;

    let out = b.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.location(), "/sign-in?flash=signed_out");
    assert!(!b.cookies.contains_key("kiki_session"));
    let page = b.get(out.location()).await;
    assert!(page.body.contains("You are signed out."));

    // The old cookie no longer works anywhere, even if someone kept it.
    b.cookies.insert("kiki_session".into(), session);
    b.cookies.insert("kiki_csrf".into(), csrf);
    let again = b.get("/app").await;
    assert_eq!(again.status, 303);
    assert_eq!(again.location(), "/sign-in");
}
