//! Secrets at rest: after MFA enrolment, API key creation, token sign-ins,
//! refreshes and a dashboard session through the API, none of the secrets
//! handed out appears in the stored bytes. On SQLite every file of the
//! database (main file, write-ahead log, shared memory) is scanned; on
//! PostgreSQL every row of every table, as text.

use std::path::PathBuf;
use std::sync::Arc;

use kiki_core::{Clock, TestClock};
use kiki_credentials::totp::{self, TotpSecret};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    PASSWORD, SqlParam, Tokens, admin, identity_app, invite_code, json, on_sqlite, password_grant,
    refresh, sql_texts,
};
use serde_json::json;
use time::Duration;
use time::macros::datetime;

/// Everything the database holds, as bytes.
async fn stored_bytes(app: &TestApp) -> Vec<u8> {
    if on_sqlite(app) {
        let url = &app.state.config.database.url;
        let path = PathBuf::from(
            url.strip_prefix("sqlite://")
                .unwrap_or_else(|| panic!("a SQLite file URL: {url}")),
        );
        let dir = path.parent().expect("the database file has a folder");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a file name")
            .to_owned();
        let mut all = Vec::new();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("the database folder is readable") {
            let entry = entry.expect("a folder entry");
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.starts_with(&name) {
                all.extend(std::fs::read(entry.path()).expect("a database file is readable"));
                files.push(file);
            }
        }
        assert!(files.iter().any(|f| f == &name), "{files:?}");
        all
    } else {
        let tables = sql_texts(
            app,
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            &[],
        )
        .await;
        assert!(tables.len() > 5, "{tables:?}");
        let mut all = Vec::new();
        for t in tables.into_iter().flatten() {
            let sql = format!("SELECT t::text FROM \"{}\" t", t.replace('"', ""));
            for row in sql_texts(app, &sql, &[]).await.into_iter().flatten() {
                all.extend(row.into_bytes());
                all.push(b'\n');
            }
        }
        all
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn no_secret_handed_out_by_the_api_is_stored_in_plaintext() {
    let clock = TestClock::at(datetime!(2026-03-02 09:00:00 UTC));
    let app = identity_app().clock(Arc::new(clock.clone())).spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("password".into(), PASSWORD.into()),
        (
            "first refresh token".into(),
            a.tokens.refresh_token.clone().into_bytes(),
        ),
    ];

    // MFA.
    let (status, enrol) = json(owner.post_empty("/v1/me/mfa/enroll").await).await;
    assert_eq!(status, 200, "{enrol}");
    let secret_b32 = enrol["secret"].as_str().unwrap().to_owned();
    let secret = TotpSecret::from_base32(&secret_b32).unwrap();
    let now = || u64::try_from(clock.now().unix_timestamp()).unwrap();
    let (status, body) = json(
        owner
            .post(
                "/v1/me/mfa/confirm",
                &json!({"code": totp::code_at(&secret, now())}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    secrets.push(("TOTP secret".into(), secret_b32.clone().into_bytes()));
    secrets.push((
        "TOTP secret, lower case".into(),
        secret_b32.to_lowercase().into_bytes(),
    ));
    secrets.push(("TOTP secret bytes".into(), secret.as_bytes().to_vec()));
    for (i, c) in body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        secrets.push((format!("recovery code {i}"), c.as_str().unwrap().into()));
    }

    // Tokens of a second-factor sign-in and their rotations.
    clock.advance(Duration::seconds(30));
    let t = Tokens::from_response(
        password_grant(
            &app,
            &a.email,
            PASSWORD,
            &[("otp", &totp::code_at(&secret, now()))],
        )
        .await,
    )
    .await;
    let t2 = Tokens::from_response(refresh(&app, &t.refresh_token).await).await;
    secrets.push(("refresh token".into(), t.refresh_token.into_bytes()));
    secrets.push((
        "rotated refresh token".into(),
        t2.refresh_token.into_bytes(),
    ));

    // An API key, an invite code and a dashboard session.
    let (status, key) = json(
        owner
            .post(
                "/v1/api-keys",
                &json!({"name": "ci", "permissions": ["org.read"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let token = key["token"].as_str().unwrap().to_owned();
    secrets.push(("API key".into(), token.into_bytes()));
    let (code, _) = invite_code(&owner, "viewer").await;
    secrets.push(("invite code".into(), code.into_bytes()));
    clock.advance(Duration::seconds(30));
    let resp = app
        .post_json(
            "/v1/auth/session",
            &json!({"username": a.email, "password": PASSWORD, "otp": totp::code_at(&secret, now())}),
        )
        .await;
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("a session cookie");
    let (status, session) = json(resp).await;
    assert_eq!(status, 200, "{session}");
    secrets.push(("session cookie".into(), cookie.into_bytes()));
    secrets.push((
        "CSRF token".into(),
        session["csrf_token"].as_str().unwrap().into(),
    ));

    // The stored TOTP secret is a ciphertext of the key ring.
    let stored = sql_texts(
        &app,
        "SELECT totp_secret FROM users WHERE id = $1",
        &[SqlParam::Uuid(a.user_id)],
    )
    .await;
    let [Some(stored)] = stored.as_slice() else {
        panic!("one stored secret: {stored:?}");
    };
    assert!(stored.starts_with("v1:"), "{stored}");

    let bytes = stored_bytes(&app).await;
    // The scan sees the data: plain facts are there.
    assert!(
        contains(&bytes, b"owner@example.com"),
        "the scan reads the users"
    );
    let prefix = key["key"]["prefix"].as_str().unwrap();
    assert!(
        contains(&bytes, prefix.as_bytes()),
        "the scan reads the keys"
    );
    let found: Vec<&str> = secrets
        .iter()
        .filter(|(_, s)| s.len() >= 6 && contains(&bytes, s))
        .map(|(what, _)| what.as_str())
        .collect();
    assert!(found.is_empty(), "stored in plaintext: {found:?}");
}
