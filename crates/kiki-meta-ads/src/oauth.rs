//! [`MetaOAuth`]: Facebook Login's authorisation-code flow ("Manually Build a
//! Login Flow") with PKCE. The callback's code is exchanged at
//! `GET /{version}/oauth/access_token` for a short-lived user token, which
//! is at once exchanged for a long-lived one (`grant_type=fb_exchange_token`,
//! about 60 days).
//!
//! Meta issues no refresh tokens: [`OAuthProvider::refresh`] exchanges the
//! current long-lived token for a fresh one the same way, which works while
//! the token is still valid. Once it has expired or been invalidated
//! (code 190) nothing but a new login brings access back, so refresh answers
//! [`PlatformError::Revoked`]. Revoking deletes the app's permissions
//! (`DELETE /{version}/me/permissions`).

use kiki_outbound::OutboundClient;
use kiki_platforms::{OAuthProvider, PlatformError, TokenSet};
use reqwest::Url;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::config::MetaConfig;
use crate::graph::{Caller, Graph, Params};

/// Meta's OAuth flow for the configured app.
#[derive(Debug)]
pub struct MetaOAuth {
    graph: Graph,
}

impl MetaOAuth {
    /// The flow for `config`'s app, calling Meta through `client`.
    pub fn new(client: OutboundClient, config: MetaConfig) -> Self {
        MetaOAuth {
            graph: Graph::new(client, config),
        }
    }

    fn config(&self) -> &MetaConfig {
        &self.graph.config
    }

    fn client_secret(&self) -> Result<String, PlatformError> {
        self.config()
            .secret()
            .map(str::to_owned)
            .ok_or_else(|| PlatformError::InvalidRequest {
                field: Some("meta.app_secret".into()),
                message: "exchanging tokens needs the Meta app's secret; set meta.app_secret"
                    .into(),
            })
    }

    /// `GET oauth/access_token` with `params`; the token set it answers.
    async fn token_call(
        &self,
        params: Params,
        now: OffsetDateTime,
    ) -> Result<TokenSet, PlatformError> {
        let caller = Caller {
            account: None,
            token: None,
        };
        let v = self.graph.get(caller, "oauth/access_token", params).await?;
        token_set(&v, now)
    }

    /// A user token exchanged for a long-lived one.
    async fn long_lived(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<TokenSet, PlatformError> {
        self.token_call(
            vec![
                ("grant_type", "fb_exchange_token".into()),
                ("client_id", self.config().app_id.clone()),
                ("client_secret", self.client_secret()?),
                ("fb_exchange_token", token.to_owned()),
            ],
            now,
        )
        .await
    }
}

/// `{"access_token", "token_type", "expires_in"}` as a [`TokenSet`].
fn token_set(v: &Value, now: OffsetDateTime) -> Result<TokenSet, PlatformError> {
    let access_token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| PlatformError::Transient {
            message: "Meta's token answer holds no access token".into(),
        })?
        .to_owned();
    let expires_in = match v.get("expires_in") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    Ok(TokenSet {
        access_token,
        refresh_token: None,
        expires_at: expires_in
            .filter(|s| *s > 0)
            .map(|s| now + Duration::seconds(s)),
        scope: None,
    })
}

#[async_trait::async_trait]
impl OAuthProvider for MetaOAuth {
    fn authorize_url(&self, state: &str, code_challenge: &str, redirect_uri: &str) -> String {
        let c = self.config();
        let dialog = c
            .oauth_dialog_url
            .replace("{version}", c.api_version.trim_matches('/'));
        let Ok(mut url) = Url::parse(&dialog) else {
            // An unparsable dialog setting: the URL as configured, which the
            // browser then refuses; the setting is the configuration's to fix.
            return dialog;
        };
        url.query_pairs_mut()
            .append_pair("client_id", &c.app_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("scope", &c.scopes)
            .append_pair("response_type", "code")
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
        now: OffsetDateTime,
    ) -> Result<TokenSet, PlatformError> {
        let short = self
            .token_call(
                vec![
                    ("client_id", self.config().app_id.clone()),
                    ("client_secret", self.client_secret()?),
                    ("redirect_uri", redirect_uri.to_owned()),
                    ("code", code.to_owned()),
                    ("code_verifier", code_verifier.to_owned()),
                ],
                now,
            )
            .await?;
        self.long_lived(&short.access_token, now).await
    }

    async fn refresh(
        &self,
        tokens: &TokenSet,
        now: OffsetDateTime,
    ) -> Result<TokenSet, PlatformError> {
        match self.long_lived(&tokens.access_token, now).await {
            Err(PlatformError::AuthExpired { message }) => Err(PlatformError::Revoked {
                message: format!(
                    "Meta has no refresh tokens and the access token can no longer be \
                     exchanged; connect the account again: {message}"
                ),
            }),
            other => other,
        }
    }

    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        let caller = Caller {
            account: None,
            token: Some(&tokens.access_token),
        };
        match self.graph.delete(caller, "me/permissions").await {
            // A token Meta no longer accepts has no grant left to revoke.
            Ok(_) | Err(PlatformError::AuthExpired { .. } | PlatformError::Revoked { .. }) => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
