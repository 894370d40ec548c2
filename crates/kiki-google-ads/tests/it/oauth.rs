//! Google's OAuth: the authorisation URL, the code exchange with the PKCE
//! verifier, refresh (and `invalid_grant` as revoked), revocation.

use kiki_google_ads::GoogleOAuth;
use kiki_platforms::{OAuthProvider, PlatformError, TokenSet, pkce_challenge};
use serde_json::json;
use time::Duration;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

fn form(body: &[u8]) -> Vec<(String, String)> {
    let mut url = reqwest::Url::parse("http://x/").unwrap();
    url.set_query(Some(std::str::from_utf8(body).unwrap()));
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn the_authorize_url_asks_for_offline_adwords_access_with_pkce() {
    let server = MockServer::start().await;
    let oauth = GoogleOAuth::new(outbound(1), config(&server));
    let challenge = pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    let url = reqwest::Url::parse(&oauth.authorize_url(
        "st-123",
        &challenge,
        "https://kiki.example/oauth/google/callback",
    ))
    .unwrap();
    assert_eq!(url.path(), "/o/oauth2/v2/auth");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        get(&pairs, "client_id"),
        Some("kiki-client.apps.googleusercontent.com")
    );
    assert_eq!(
        get(&pairs, "redirect_uri"),
        Some("https://kiki.example/oauth/google/callback")
    );
    assert_eq!(get(&pairs, "response_type"), Some("code"));
    assert_eq!(
        get(&pairs, "scope"),
        Some("https://www.googleapis.com/auth/adwords")
    );
    assert_eq!(get(&pairs, "state"), Some("st-123"));
    assert_eq!(
        get(&pairs, "code_challenge"),
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    );
    assert_eq!(get(&pairs, "code_challenge_method"), Some("S256"));
    assert_eq!(get(&pairs, "access_type"), Some("offline"));
    assert_eq!(get(&pairs, "prompt"), Some("consent"));
    assert!(
        !url.as_str().contains("GOCSPX"),
        "the client secret stays out of the URL"
    );
}

#[tokio::test]
async fn the_code_is_exchanged_with_the_verifier_and_refresh_keeps_the_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.first", "expires_in": 3599, "refresh_token": "1//refresh-one",
            "scope": "https://www.googleapis.com/auth/adwords", "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.second", "expires_in": 3599, "scope": "https://www.googleapis.com/auth/adwords", "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let oauth = GoogleOAuth::new(outbound(1), config(&server));
    let now = start();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let tokens = oauth
        .exchange_code("4/0Aa-code", verifier, "https://kiki.example/cb", now)
        .await
        .unwrap();
    assert_eq!(tokens.access_token, "ya29.first");
    assert_eq!(tokens.refresh_token.as_deref(), Some("1//refresh-one"));
    assert_eq!(tokens.expires_at, Some(now + Duration::seconds(3599)));
    assert_eq!(
        tokens.scope.as_deref(),
        Some("https://www.googleapis.com/auth/adwords")
    );
    let refreshed = oauth
        .refresh(&tokens, now + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(refreshed.access_token, "ya29.second");
    assert_eq!(refreshed.refresh_token.as_deref(), Some("1//refresh-one"));
    assert_eq!(
        refreshed.expires_at,
        Some(now + Duration::hours(1) + Duration::seconds(3599))
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let exchange = form(&requests[0].body);
    assert_eq!(get(&exchange, "code"), Some("4/0Aa-code"));
    assert_eq!(get(&exchange, "code_verifier"), Some(verifier));
    assert_eq!(
        get(&exchange, "redirect_uri"),
        Some("https://kiki.example/cb")
    );
    assert_eq!(
        get(&exchange, "client_id"),
        Some("kiki-client.apps.googleusercontent.com")
    );
    assert_eq!(get(&exchange, "client_secret"), Some("GOCSPX-test-secret"));
    let refresh = form(&requests[1].body);
    assert_eq!(get(&refresh, "refresh_token"), Some("1//refresh-one"));
    assert_eq!(get(&refresh, "grant_type"), Some("refresh_token"));
}

#[tokio::test]
async fn a_refresh_answered_invalid_grant_is_revoked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Token has been expired or revoked."
        })))
        .mount(&server)
        .await;
    let oauth = GoogleOAuth::new(outbound(1), config(&server));
    let tokens = TokenSet {
        access_token: "ya29.old".into(),
        refresh_token: Some("1//gone".into()),
        expires_at: None,
        scope: None,
    };
    match oauth.refresh(&tokens, start()).await.unwrap_err() {
        PlatformError::Revoked { message } => {
            assert!(message.contains("expired or revoked"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // The same answer to a code exchange is a bad code, not a revoked grant.
    let e = oauth
        .exchange_code(
            "4/used",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "https://kiki.example/cb",
            start(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, PlatformError::InvalidRequest { field: Some(ref f), .. } if f == "code"),
        "{e:?}"
    );
}

#[tokio::test]
async fn revoking_posts_the_refresh_token_and_an_already_revoked_one_is_fine() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .and(body_string_contains("token=1%2F%2Fto-revoke"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .and(body_string_contains("token=1%2F%2Falready"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({ "error": "invalid_token", "error_description": "Token expired or revoked" }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let oauth = GoogleOAuth::new(outbound(1), config(&server));
    let t = |r: &str| TokenSet {
        access_token: "ya29.x".into(),
        refresh_token: Some(r.into()),
        expires_at: None,
        scope: None,
    };
    oauth.revoke(&t("1//to-revoke")).await.unwrap();
    oauth.revoke(&t("1//already")).await.unwrap();
}
