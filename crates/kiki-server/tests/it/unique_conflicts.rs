//! A write refused by a unique index answers 409 with a sentence naming the
//! field; no constraint, index or SQL text reaches the client.

use kiki_test_support::TestApp;
use kiki_test_support::identity::{PASSWORD, admin, code, identity_app, invite_code, json};
use serde_json::{Value, json};

async fn register(app: &TestApp, email: &str, username: &str, invitation: &str) -> (u16, Value) {
    json(
        app.post_json(
            "/v1/auth/register",
            &json!({
                "email": email,
                "username": username,
                "password": PASSWORD,
                "display_name": "Jane",
                "invitation": invitation,
            }),
        )
        .await,
    )
    .await
}

/// Nothing in the body names the index, the table's columns or the database.
fn assert_no_storage_text(body: &Value) {
    let text = body.to_string().to_lowercase();
    for word in [
        "constraint",
        "unique",
        "users.",
        "users_",
        "_key",
        "_idx",
        "sqlite",
        "postgres",
        "insert",
    ] {
        assert!(!text.contains(word), "`{word}` in {body}");
    }
}

#[tokio::test]
async fn a_taken_username_or_email_is_a_409_naming_the_field_and_no_index() {
    let app = identity_app().spawn().await;
    let owner = admin(&app, "owner@example.com", "Agency A").await;
    let (first, _) = invite_code(&owner.caller(&app), "viewer").await;
    let (second, _) = invite_code(&owner.caller(&app), "viewer").await;
    let (status, body) = register(&app, "jane@example.com", "jane", &first).await;
    assert_eq!(status, 201, "{body}");

    // Same username, another address: the `users.username` index refuses it.
    let (status, body) = register(&app, "janet@example.com", "JANE", &second).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(code(&body), "conflict", "{body}");
    assert_eq!(
        body["error"]["message"],
        "An account with this username already exists; choose another username.",
        "{body}"
    );
    assert_eq!(body["error"]["details"], json!({}), "{body}");
    assert_no_storage_text(&body);

    // Same address, another username: the `users.email` index refuses it.
    let (status, body) = register(&app, "Jane@Example.com", "jane2", &second).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(code(&body), "conflict", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("An account with this email address already exists;")),
        "{body}"
    );
    assert_no_storage_text(&body);

    // Both refusals rolled back: the invite code is still unused.
    let (status, body) = register(&app, "janet@example.com", "janet", &second).await;
    assert_eq!(status, 201, "{body}");
}
