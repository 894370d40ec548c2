//! `Idempotency-Key` on creating requests: a retry with the same key gets
//! the first answer and creates nothing; the same key with another body is
//! refused; keys belong to their caller.

use kiki_test_support::identity::{admin, code, identity_app, json};
use serde_json::{Value, json};

async fn create_key(
    caller: &kiki_test_support::identity::Caller<'_>,
    idem: Option<&str>,
    body: &Value,
) -> (u16, Value, Option<String>) {
    let mut rb = caller
        .request(reqwest::Method::POST, "/v1/api-keys")
        .json(body);
    if let Some(k) = idem {
        rb = rb.header("idempotency-key", k);
    }
    let resp = rb.send().await.unwrap();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = json(resp).await;
    (status, body, replayed)
}

async fn key_count(caller: &kiki_test_support::identity::Caller<'_>) -> usize {
    caller.get_ok("/v1/api-keys").await["items"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
}

#[tokio::test]
async fn a_retried_create_with_the_same_key_returns_the_first_answer_and_creates_nothing() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "idem@example.com", "Idem Org").await;
    let owner = a.caller(&app);
    let body = json!({"name": "ci", "permissions": ["org.read"]});

    let (s1, first, r1) = create_key(&owner, Some("7d3c1e0a-retry"), &body).await;
    assert_eq!(s1, 201, "{first}");
    assert_eq!(r1, None);
    let (s2, second, r2) = create_key(&owner, Some("7d3c1e0a-retry"), &body).await;
    assert_eq!(s2, 201, "{second}");
    assert_eq!(r2.as_deref(), Some("true"));
    assert_eq!(first, second, "the stored answer is sent again");
    assert_eq!(key_count(&owner).await, 1);

    // The same key with another body is refused and creates nothing.
    let (s3, err, _) = create_key(
        &owner,
        Some("7d3c1e0a-retry"),
        &json!({"name": "other", "permissions": ["org.read"]}),
    )
    .await;
    assert_eq!(s3, 422, "{err}");
    assert_eq!(code(&err), "idempotency_key_reused");
    assert_eq!(key_count(&owner).await, 1);

    // Without a key, every request creates.
    create_key(&owner, None, &body).await;
    create_key(&owner, None, &body).await;
    assert_eq!(key_count(&owner).await, 3);

    // A malformed key is a 400 and creates nothing.
    let (s4, err, _) = create_key(&owner, Some("has space"), &body).await;
    assert_eq!(s4, 400, "{err}");
    assert_eq!(key_count(&owner).await, 3);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn another_callers_identical_key_is_a_different_key() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "one@example.com", "Org One").await;
    let b = admin(&app, "two@example.com", "Org Two").await;
    let body = json!({"name": "ci", "permissions": ["org.read"]});
    let (sa, ka, _) = create_key(&a.caller(&app), Some("shared-key"), &body).await;
    let (sb, kb, replayed) = create_key(&b.caller(&app), Some("shared-key"), &body).await;
    assert_eq!((sa, sb), (201, 201));
    assert_eq!(replayed, None, "b never sees a's answer");
    assert_ne!(ka["key"]["id"], kb["key"]["id"]);
    assert_eq!(key_count(&b.caller(&app)).await, 1);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_refused_for_its_credentials_is_not_remembered() {
    let app = identity_app().spawn().await;
    let resp = app
        .client
        .post(app.url("/v1/api-keys"))
        .header("idempotency-key", "no-credentials")
        .json(&json!({"name": "ci", "permissions": ["org.read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    app.shutdown().await.unwrap();
}
