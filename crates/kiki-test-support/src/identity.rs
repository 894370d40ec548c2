//! Sign-in helpers for integration tests of the identity API: an app with
//! cheap password hashing and an empty database, administrators and members
//! created the way people are (invite code → register → password grant),
//! an authenticated request builder with the `X-Kiki-Org` switch, and
//! reading tokens out of delivered mail (the outbox keeps them masked, so
//! identity apps keep the last delivered messages in memory).
//!
//! These helpers panic with a message when a step that is not under test
//! fails: in a test, the panic is the failure report.

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{TestApp, TestAppBuilder};

/// The password every helper-made account uses (passes the password policy).
pub const PASSWORD: &str = "plum-orchard-lantern-42";

/// What precedes the token in a password-reset mail.
pub const RESET_MARKER: &str = "\"token\": \"";
/// What precedes the token in an invitation mail.
pub const INVITATION_MARKER: &str = "\"invitation\": \"";

/// Test settings for identity tests: cheap argon2 (the defaults cost ~20 MiB and
/// tens of milliseconds per hash), a long wait for a hashing slot (a loaded
/// test machine must not turn into 503s), no demo organisation, and the last
/// delivered mails kept in memory for [`mailed_token`].
pub fn fast_auth(c: &mut kiki_server::Config) {
    c.auth.argon2.memory_kib = 1024;
    c.auth.argon2.iterations = 1;
    c.auth.argon2.parallelism = 1;
    c.auth.hash_wait_ms = 60_000;
    c.bootstrap.demo = Some(false);
    c.mail.capture_sent = 256;
}

/// `TestApp::builder()` with [`fast_auth`].
pub fn identity_app() -> TestAppBuilder {
    TestApp::builder().configure(fast_auth)
}

/// The status and the body as JSON (`Null` when empty, a string when not JSON).
pub async fn json(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("the response body is readable");
    if text.is_empty() {
        return (status, Value::Null);
    }
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

/// The envelope's error code of a JSON error body (empty when there is none).
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// The fields named by a 422 envelope.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["error"]["details"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// An access/refresh token pair from a token response.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    /// The whole token response.
    pub body: Value,
}

impl Tokens {
    /// Reads a 200 token response; panics naming the status and body otherwise.
    pub async fn from_response(resp: Response) -> Tokens {
        let (status, body) = json(resp).await;
        assert_eq!(status, 200, "token response: {body}");
        Tokens::from_body(body)
    }

    pub fn from_body(body: Value) -> Tokens {
        let access_token = body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {body}"))
            .to_owned();
        let refresh_token = body["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no refresh_token in {body}"))
            .to_owned();
        Tokens {
            access_token,
            refresh_token,
            body,
        }
    }
}

/// `POST /v1/auth/token` with the password grant as a form.
pub async fn password_grant(
    app: &TestApp,
    username: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> Response {
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    form.extend_from_slice(extra);
    app.client
        .post(app.url("/v1/auth/token"))
        .form(&form)
        .send()
        .await
        .expect("request failed to send")
}

/// Signs in with the password grant; panics unless it answers 200.
pub async fn sign_in(app: &TestApp, username: &str, password: &str) -> Tokens {
    Tokens::from_response(password_grant(app, username, password, &[]).await).await
}

/// `POST /v1/auth/refresh`.
pub async fn refresh(app: &TestApp, refresh_token: &str) -> Response {
    app.post_json(
        "/v1/auth/refresh",
        &json!({ "refresh_token": refresh_token }),
    )
    .await
}

/// An authenticated caller: a bearer credential and an optional active organisation.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    app: &'a TestApp,
    pub bearer: String,
    pub org: Option<Uuid>,
}

impl<'a> Caller<'a> {
    pub fn new(app: &'a TestApp, bearer: impl Into<String>) -> Caller<'a> {
        Caller {
            app,
            bearer: bearer.into(),
            org: None,
        }
    }

    /// The same caller acting in `org` (`X-Kiki-Org`).
    pub fn in_org(&self, org: Uuid) -> Caller<'a> {
        Caller {
            org: Some(org),
            ..self.clone()
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self
            .app
            .client
            .request(method, self.app.url(path))
            .bearer_auth(&self.bearer);
        if let Some(org) = self.org {
            rb = rb.header("x-kiki-org", org.to_string());
        }
        rb
    }

    /// Sends `method path` with an optional JSON body.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut rb = self.request(method, path);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        rb.send().await.expect("request failed to send")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(Method::POST, path, Some(body)).await
    }

    /// A POST without a body (actions such as `/archive`, `/deactivate`).
    pub async fn post_empty(&self, path: &str) -> Response {
        self.send(Method::POST, path, None).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(Method::DELETE, path, None).await
    }

    /// `GET path` that must answer 200; the JSON body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = json(self.get(path).await).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

/// A person created for a test, signed in.
#[derive(Debug, Clone)]
pub struct Person {
    pub user_id: Uuid,
    pub email: String,
    /// The organisation they were created in.
    pub org_id: Uuid,
    pub tokens: Tokens,
}

impl Person {
    pub fn caller<'a>(&self, app: &'a TestApp) -> Caller<'a> {
        Caller::new(app, self.tokens.access_token.clone())
    }
}

/// A platform superadmin owning a new agency (`Identity::create_admin`), signed in.
pub async fn admin(app: &TestApp, email: &str, org_name: &str) -> Person {
    let (user, org) = app
        .state
        .identity
        .create_admin(email, PASSWORD, org_name)
        .await
        .expect("create_admin succeeds");
    let tokens = sign_in(app, email, PASSWORD).await;
    Person {
        user_id: user.0,
        email: email.to_owned(),
        org_id: org.0,
        tokens,
    }
}

/// Creates an invite code through the API as `inviter` (in its active organisation).
pub async fn invite_code(inviter: &Caller<'_>, role: &str) -> (String, Value) {
    let (status, body) = json(
        inviter
            .post("/v1/invite-codes", &json!({ "role": role }))
            .await,
    )
    .await;
    assert_eq!(status, 201, "POST /v1/invite-codes: {body}");
    let code = body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code in {body}"))
        .to_owned();
    (code, body)
}

/// `POST /v1/auth/register` with an invitation (token or code).
pub async fn register(app: &TestApp, email: &str, password: &str, invitation: &str) -> Response {
    app.post_json(
        "/v1/auth/register",
        &json!({
            "email": email,
            "password": password,
            "display_name": format!("Test {email}"),
            "invitation": invitation,
        }),
    )
    .await
}

/// A member of the inviter's active organisation with `role`: invite code → register → sign in.
pub async fn member(app: &TestApp, inviter: &Caller<'_>, role: &str, email: &str) -> Person {
    let (code, _) = invite_code(inviter, role).await;
    let (status, body) = json(register(app, email, PASSWORD, &code).await).await;
    assert_eq!(status, 201, "POST /v1/auth/register: {body}");
    let user_id = body["user"]["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("no user.id in {body}"));
    let org_id = body["org_id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("no org_id in {body}"));
    let tokens = sign_in(app, email, PASSWORD).await;
    Person {
        user_id,
        email: email.to_owned(),
        org_id,
        tokens,
    }
}

/// Creates a client organisation under the caller's active agency; its id.
pub async fn client_org(caller: &Caller<'_>, name: &str) -> Uuid {
    let (status, body) = json(
        caller
            .post("/v1/organisations", &json!({ "name": name }))
            .await,
    )
    .await;
    assert_eq!(status, 201, "POST /v1/organisations: {body}");
    body["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("no id in {body}"))
}

/// The newest mail to `to` as the outbox stored it (secrets masked), if any: (subject, text).
pub async fn latest_mail(app: &TestApp, to: &str) -> Option<(String, String)> {
    let mails = app
        .state
        .mail
        .latest_to(to, 1)
        .await
        .expect("the outbox is readable");
    mails.into_iter().next().map(|m| (m.subject, m.text))
}

/// The token after `marker` in the newest mail delivered to `to` (needs an
/// app built with [`fast_auth`], which keeps delivered mail in memory).
pub async fn mailed_token(app: &TestApp, to: &str, marker: &str) -> String {
    let text = app
        .state
        .mail
        .captured_to(to)
        .map(|m| m.text)
        .unwrap_or_else(|| panic!("no mail delivered to {to}"));
    token_after(&text, marker).unwrap_or_else(|| panic!("no `{marker}` in the mail: {text}"))
}

/// The text between `marker` and the next `"`.
pub fn token_after(text: &str, marker: &str) -> Option<String> {
    let start = text.find(marker)? + marker.len();
    let rest = &text[start..];
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

/// Parses a UUID field of a JSON value.
pub fn uuid_of(v: &Value) -> Uuid {
    v.as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("not a UUID: {v}"))
}

/// A parameter of [`sql_execute`] and [`sql_texts`].
#[derive(Debug, Clone)]
pub enum SqlParam {
    Text(String),
    Uuid(Uuid),
    Int(i64),
}

/// Placeholders are written `$1`, `$2` (PostgreSQL); SQLite gets `?1`, `?2`.
fn for_backend(sql: &str, sqlite: bool) -> String {
    if sqlite {
        sql.replace('$', "?")
    } else {
        sql.to_owned()
    }
}

macro_rules! bind_all {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params {
            q = match p {
                SqlParam::Text(s) => q.bind(s.clone()),
                SqlParam::Uuid(u) => q.bind(*u),
                SqlParam::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

/// Runs a raw statement on the app's database (for tampering tests); rows affected.
pub async fn sql_execute(app: &TestApp, sql: &str, params: &[SqlParam]) -> u64 {
    use kiki_store::sqlx::{self, AssertSqlSafe};
    match app.state.db.pool() {
        kiki_store::DbPool::Sqlite(pool) => {
            let q = sqlx::query(AssertSqlSafe(for_backend(sql, true)));
            bind_all!(q, params)
                .execute(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .rows_affected()
        }
        kiki_store::DbPool::Postgres(pool) => {
            let q = sqlx::query(AssertSqlSafe(for_backend(sql, false)));
            bind_all!(q, params)
                .execute(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .rows_affected()
        }
    }
}

/// Runs a raw query whose first column is text (or NULL); the values in row order.
pub async fn sql_texts(app: &TestApp, sql: &str, params: &[SqlParam]) -> Vec<Option<String>> {
    use kiki_store::sqlx::{self, AssertSqlSafe};
    match app.state.db.pool() {
        kiki_store::DbPool::Sqlite(pool) => {
            let q = sqlx::query_scalar::<_, Option<String>>(AssertSqlSafe(for_backend(sql, true)));
            bind_all!(q, params)
                .fetch_all(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
        kiki_store::DbPool::Postgres(pool) => {
            let q = sqlx::query_scalar::<_, Option<String>>(AssertSqlSafe(for_backend(sql, false)));
            bind_all!(q, params)
                .fetch_all(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    }
}

/// Whether the app runs on SQLite (else PostgreSQL).
pub fn on_sqlite(app: &TestApp) -> bool {
    matches!(app.state.db.pool(), kiki_store::DbPool::Sqlite(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_read_between_the_marker_and_the_closing_quote() {
        let text = "Or with the API: POST … with \"token\": \"abc-DEF_123\".\nThe link";
        assert_eq!(
            token_after(text, RESET_MARKER).as_deref(),
            Some("abc-DEF_123")
        );
        assert_eq!(token_after("nothing here", RESET_MARKER), None);
        assert_eq!(token_after("\"token\": \"unterminated", RESET_MARKER), None);
    }

    #[test]
    fn placeholders_are_rewritten_for_sqlite_only() {
        let sql = "UPDATE t SET a = $1 WHERE b = $2";
        assert_eq!(for_backend(sql, true), "UPDATE t SET a = ?1 WHERE b = ?2");
        assert_eq!(for_backend(sql, false), sql);
    }
}
