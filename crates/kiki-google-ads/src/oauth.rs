//! Google's OAuth 2.0 for web server applications
//! (<https://developers.google.com/identity/protocols/oauth2/web-server>)
//! as [`OAuthProvider`]: the authorisation URL with PKCE (`S256`),
//! `access_type=offline` and `prompt=consent` (so Google issues a refresh
//! token every time the user connects), the code exchange, refresh, and
//! revocation at Google's revoke endpoint. A refresh answered
//! `invalid_grant` means the grant is gone (revoked by the user, password
//! change, or an unused refresh token expired): [`PlatformError::Revoked`].

use kiki_outbound::OutboundClient;
use kiki_platforms::{OAuthProvider, PlatformError, TokenSet};
use secrecy::ExposeSecret;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::client::{invalid, transport};
use crate::config::{ADWORDS_SCOPE, GoogleAdsConfig};

/// Google's OAuth endpoints for the connector's client.
pub struct GoogleOAuth {
    http: OutboundClient,
    config: GoogleAdsConfig,
}

impl std::fmt::Debug for GoogleOAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleOAuth")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize, Default)]
struct OAuthError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl GoogleOAuth {
    pub fn new(client: OutboundClient, config: GoogleAdsConfig) -> Self {
        GoogleOAuth {
            http: client,
            config,
        }
    }

    /// POSTs a form; the body of a success, or the error.
    async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        refreshing: bool,
    ) -> Result<Vec<u8>, PlatformError> {
        let response = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form_body(form))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| transport(e.into()))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let e: OAuthError = serde_json::from_slice(&bytes).unwrap_or_default();
        let message = match &e.error_description {
            Some(d) => format!("{} ({d})", e.error),
            None if !e.error.is_empty() => e.error.clone(),
            None => format!("Google's OAuth endpoint answered HTTP {}", status.as_u16()),
        };
        Err(match (status.as_u16(), e.error.as_str()) {
            (_, "invalid_grant") if refreshing => PlatformError::Revoked { message },
            (_, "invalid_grant") => PlatformError::InvalidRequest {
                field: Some("code".to_owned()),
                message: format!("the authorisation code is invalid, used or expired: {message}"),
            },
            (_, "invalid_client" | "unauthorized_client") => PlatformError::Permission {
                message: format!(
                    "Google refused KIKI's OAuth client (check client_id and client_secret): {message}"
                ),
            },
            (429, _) => PlatformError::RateLimited {
                retry_after_secs: 30,
                message,
            },
            (s, _) if s >= 500 => PlatformError::Transient { message },
            (401, _) => PlatformError::AuthExpired { message },
            _ => PlatformError::InvalidRequest {
                field: None,
                message,
            },
        })
    }

    fn tokens(
        &self,
        body: &[u8],
        now: OffsetDateTime,
        keep_refresh: Option<&str>,
    ) -> Result<TokenSet, PlatformError> {
        let t: TokenAnswer =
            serde_json::from_slice(body).map_err(|e| PlatformError::Transient {
                message: format!("Google's token endpoint answered an unexpected body: {e}"),
            })?;
        Ok(TokenSet {
            access_token: t.access_token,
            // Google issues no new refresh token on refresh: the old one stays.
            refresh_token: t.refresh_token.or_else(|| keep_refresh.map(str::to_owned)),
            expires_at: t.expires_in.map(|s| now + Duration::seconds(s)),
            scope: t.scope,
        })
    }
}

/// `application/x-www-form-urlencoded` of the pairs.
fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").expect("a constant URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

#[async_trait::async_trait]
impl OAuthProvider for GoogleOAuth {
    fn authorize_url(&self, state: &str, code_challenge: &str, redirect_uri: &str) -> String {
        match reqwest::Url::parse(&self.config.oauth_authorize_url) {
            Ok(mut url) => {
                url.query_pairs_mut()
                    .append_pair("client_id", &self.config.client_id)
                    .append_pair("redirect_uri", redirect_uri)
                    .append_pair("response_type", "code")
                    .append_pair("scope", ADWORDS_SCOPE)
                    .append_pair("state", state)
                    .append_pair("code_challenge", code_challenge)
                    .append_pair("code_challenge_method", "S256")
                    .append_pair("access_type", "offline")
                    .append_pair("prompt", "consent");
                url.into()
            }
            Err(_) => String::new(),
        }
    }

    async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
        now: OffsetDateTime,
    ) -> Result<TokenSet, PlatformError> {
        if code.trim().is_empty() {
            return Err(invalid("code", "is empty"));
        }
        let body = self
            .post_form(
                &self.config.oauth_token_url,
                &[
                    ("code", code.trim()),
                    ("client_id", &self.config.client_id),
                    ("client_secret", self.config.client_secret.expose_secret()),
                    ("redirect_uri", redirect_uri),
                    ("grant_type", "authorization_code"),
                    ("code_verifier", code_verifier),
                ],
                false,
            )
            .await?;
        self.tokens(&body, now, None)
    }

    async fn refresh(
        &self,
        tokens: &TokenSet,
        now: OffsetDateTime,
    ) -> Result<TokenSet, PlatformError> {
        let Some(refresh) = tokens.refresh_token.as_deref() else {
            return Err(invalid(
                "refresh_token",
                "the connection holds no refresh token; connect the account again",
            ));
        };
        let body = self
            .post_form(
                &self.config.oauth_token_url,
                &[
                    ("client_id", &self.config.client_id),
                    ("client_secret", self.config.client_secret.expose_secret()),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh),
                ],
                true,
            )
            .await?;
        self.tokens(&body, now, Some(refresh))
    }

    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        // Revoking the refresh token revokes its access tokens too.
        let token = tokens
            .refresh_token
            .as_deref()
            .unwrap_or(&tokens.access_token);
        match self
            .post_form(&self.config.oauth_revoke_url, &[("token", token)], false)
            .await
        {
            Ok(_) => Ok(()),
            // Already revoked or expired: the grant is gone, as asked.
            Err(PlatformError::InvalidRequest { message, .. })
                if message.contains("invalid_token") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
