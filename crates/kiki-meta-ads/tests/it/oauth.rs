//! Meta's OAuth flow: the login dialog URL, the code exchanged for a
//! long-lived token, refresh by re-exchange, and revocation.

use std::collections::BTreeMap;

use kiki_meta_ads::{MetaConfig, MetaOAuth};
use kiki_platforms::{OAuthProvider, PlatformError, TokenSet, pkce_challenge};
use reqwest::Url;
use serde_json::json;
use time::macros::datetime;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn oauth(server: &MockServer) -> MetaOAuth {
    MetaOAuth::new(outbound(1), config(server))
}

fn tokens(access: &str) -> TokenSet {
    TokenSet {
        access_token: access.to_owned(),
        refresh_token: None,
        expires_at: None,
        scope: None,
    }
}

#[test]
fn the_authorize_url_carries_the_app_the_scopes_and_the_pkce_challenge() {
    let cfg = MetaConfig {
        app_id: "4242".into(),
        ..MetaConfig::default()
    };
    let oauth = MetaOAuth::new(outbound(1), cfg);
    let challenge = pkce_challenge(VERIFIER);
    let url = oauth.authorize_url(
        "st-123",
        &challenge,
        "https://kiki.example/oauth/meta/callback",
    );
    let url = Url::parse(&url).unwrap();
    assert_eq!(url.host_str(), Some("www.facebook.com"));
    assert_eq!(url.path(), "/v21.0/dialog/oauth");
    let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    let want: BTreeMap<String, String> = [
        ("client_id", "4242"),
        ("redirect_uri", "https://kiki.example/oauth/meta/callback"),
        ("state", "st-123"),
        ("scope", "ads_management,ads_read"),
        ("response_type", "code"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(q, want);
}

#[tokio::test]
async fn the_code_is_exchanged_for_a_long_lived_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v21.0/oauth/access_token"))
        .and(query_param("code", "the-code"))
        .and(query_param("code_verifier", VERIFIER))
        .and(query_param("client_id", "4242"))
        .and(query_param("client_secret", APP_SECRET))
        .and(query_param("redirect_uri", "https://kiki.example/cb"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "EAAshort", "token_type": "bearer", "expires_in": 5400
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v21.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("fb_exchange_token", "EAAshort"))
        .and(query_param("client_id", "4242"))
        .and(query_param("client_secret", APP_SECRET))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "EAAlong", "token_type": "bearer", "expires_in": 5183944
        })))
        .expect(1)
        .mount(&server)
        .await;
    let now = datetime!(2025-03-01 12:00 UTC);
    let t = oauth(&server)
        .exchange_code("the-code", VERIFIER, "https://kiki.example/cb", now)
        .await
        .unwrap();
    assert_eq!(t.access_token, "EAAlong");
    assert_eq!(t.refresh_token, None);
    assert_eq!(t.expires_at, Some(now + time::Duration::seconds(5_183_944)));
    let requests = seen(&server).await;
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.authorization.is_none()));
}

#[tokio::test]
async fn refresh_re_exchanges_and_an_invalid_token_is_revoked() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v21.0/oauth/access_token"))
        .and(query_param("fb_exchange_token", "EAAlong"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "EAAfresh", "token_type": "bearer", "expires_in": 5184000
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v21.0/oauth/access_token"))
        .and(query_param("fb_exchange_token", "EAAdead"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Error validating access token: Session has expired.",
            "type": "OAuthException", "code": 190, "error_subcode": 463
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let oauth = oauth(&server);
    let now = datetime!(2025-03-01 12:00 UTC);
    let t = oauth.refresh(&tokens("EAAlong"), now).await.unwrap();
    assert_eq!(t.access_token, "EAAfresh");
    let e = oauth.refresh(&tokens("EAAdead"), now).await.unwrap_err();
    assert!(
        matches!(&e, PlatformError::Revoked { message } if message.contains("connect the account again")),
        "{e:?}"
    );
}

#[tokio::test]
async fn revoking_deletes_the_permissions() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v21.0/me/permissions"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("appsecret_proof", expected_proof().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    oauth(&server).revoke(&tokens(TOKEN)).await.unwrap();
}

#[tokio::test]
async fn exchanging_without_the_app_secret_names_the_setting() {
    let server = MockServer::start().await;
    let mut cfg = config(&server);
    cfg.app_secret = "".to_owned().into();
    let e = MetaOAuth::new(outbound(1), cfg)
        .exchange_code(
            "c",
            VERIFIER,
            "https://kiki.example/cb",
            datetime!(2025-03-01 12:00 UTC),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PlatformError::InvalidRequest { field: Some(f), .. } if f == "meta.app_secret"),
        "{e:?}"
    );
    assert!(seen(&server).await.is_empty());
}
