//! The few calls of Vault's HTTP API that KIKI makes, through the shared
//! outbound client: log in (AppRole, Kubernetes), renew the token
//! (`auth/token/renew-self`) and read a KV version 2 secret
//! (`GET /v1/{mount}/data/{path}`), as documented in Vault's API reference
//! (developer.hashicorp.com, "KV secrets engine - version 2 (API)", "AppRole
//! auth method (API)", "Kubernetes auth method (API)", "Token auth method
//! (API)"). Every request carries `X-Vault-Namespace` when one is set. No
//! error message carries a token, a secret ID, a JWT or a secret value.

use std::collections::BTreeMap;
use std::time::Duration;

use kiki_outbound::OutboundClient;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Why a Vault call failed. The messages name the address and the path,
/// never a credential or a value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("Vault at {address} is unreachable: {cause}")]
    Unreachable { address: String, cause: String },
    #[error("Vault has no secret at {path} (404); write it or remove it from vault.paths")]
    Missing { path: String },
    #[error("Vault refused {what} (403): the token has expired or its policy does not allow it")]
    Denied { what: String },
    #[error("Vault answered {what} with status {status}")]
    Status { what: String, status: u16 },
    #[error("Vault's answer to {what} could not be read: {cause}")]
    Malformed { what: String, cause: String },
    #[error("vault: {0}")]
    Setup(String),
}

impl VaultError {
    /// A 403: the token is no longer good (or never was for this path).
    pub fn is_denied(&self) -> bool {
        matches!(self, VaultError::Denied { .. })
    }
}

/// A client token and its lease, as a login or renewal returned it.
pub struct Token {
    pub secret: SecretString,
    /// `None`: the token does not expire (a root or periodic token without TTL).
    pub ttl: Option<Duration>,
    pub renewable: bool,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"***")
            .field("ttl", &self.ttl)
            .field("renewable", &self.renewable)
            .finish()
    }
}

/// One KV v2 secret: its key/value pairs and version.
pub struct KvSecret {
    pub data: BTreeMap<String, serde_json::Value>,
    pub version: Option<u64>,
}

impl std::fmt::Debug for KvSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvSecret")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("version", &self.version)
            .finish()
    }
}

#[derive(Deserialize)]
struct AuthResponse {
    auth: Option<AuthBody>,
}

#[derive(Deserialize)]
struct AuthBody {
    client_token: String,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

#[derive(Deserialize)]
struct KvResponse {
    data: Option<KvData>,
}

#[derive(Deserialize)]
struct KvData {
    data: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    metadata: Option<KvMetadata>,
}

#[derive(Deserialize)]
struct KvMetadata {
    #[serde(default)]
    version: Option<u64>,
}

/// Vault's HTTP API at one address.
#[derive(Clone, Debug)]
pub struct VaultClient {
    http: OutboundClient,
    address: String,
    namespace: Option<String>,
}

impl VaultClient {
    pub fn new(http: OutboundClient, address: &str, namespace: Option<&str>) -> VaultClient {
        VaultClient {
            http,
            address: address.trim_end_matches('/').to_owned(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_owned),
        }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.address, path.trim_start_matches('/'))
    }

    fn request(&self, method: reqwest::Method, path: &str) -> kiki_outbound::RequestBuilder {
        let mut rb = self.http.http().request(method, self.url(path));
        if let Some(ns) = &self.namespace {
            rb = rb.header("X-Vault-Namespace", ns);
        }
        rb
    }

    async fn send(
        &self,
        rb: kiki_outbound::RequestBuilder,
        what: &str,
    ) -> Result<reqwest::Response, VaultError> {
        let resp = rb.send().await.map_err(|e| VaultError::Unreachable {
            address: self.address.clone(),
            cause: describe(&e),
        })?;
        match resp.status() {
            s if s.is_success() => Ok(resp),
            StatusCode::FORBIDDEN => Err(VaultError::Denied { what: what.into() }),
            s => Err(VaultError::Status {
                what: what.into(),
                status: s.as_u16(),
            }),
        }
    }

    /// `POST /v1/auth/{mount}/login` with `body` (AppRole: role_id and
    /// secret_id; Kubernetes: role and jwt).
    pub async fn login(&self, mount: &str, body: serde_json::Value) -> Result<Token, VaultError> {
        let what = format!("the login at auth/{mount}/login");
        let rb = self
            .request(reqwest::Method::POST, &format!("auth/{mount}/login"))
            .json(&body);
        let resp = self.send(rb, &what).await?;
        token_from(resp, &what).await
    }

    /// `POST /v1/auth/token/renew-self`: extends the current token's lease.
    pub async fn renew_self(&self, token: &SecretString) -> Result<Token, VaultError> {
        let what = "the renewal at auth/token/renew-self";
        let rb = self
            .request(reqwest::Method::POST, "auth/token/renew-self")
            .header("X-Vault-Token", token.expose_secret())
            .json(&serde_json::json!({}));
        let resp = self.send(rb, what).await?;
        let renewed = token_from(resp, what).await?;
        // The renewal answers with the same token; keep ours if it is left out.
        Ok(Token {
            secret: if renewed.secret.expose_secret().is_empty() {
                token.clone()
            } else {
                renewed.secret
            },
            ..renewed
        })
    }

    /// `GET /v1/{mount}/data/{path}`: the current version of a KV v2 secret.
    pub async fn read_kv(
        &self,
        token: &SecretString,
        mount: &str,
        path: &str,
    ) -> Result<KvSecret, VaultError> {
        let full = format!("{mount}/data/{}", path.trim_start_matches('/'));
        let what = format!("the read of {full}");
        let rb = self
            .request(reqwest::Method::GET, &full)
            .header("X-Vault-Token", token.expose_secret());
        let resp = match self.send(rb, &what).await {
            Err(VaultError::Status { status: 404, .. }) => {
                return Err(VaultError::Missing { path: full });
            }
            other => other?,
        };
        let body: KvResponse = resp.json().await.map_err(|e| VaultError::Malformed {
            what: what.clone(),
            cause: describe(&e),
        })?;
        // A deleted latest version answers 404 too; a body without data is the same.
        let Some(KvData {
            data: Some(data),
            metadata,
        }) = body.data
        else {
            return Err(VaultError::Missing { path: full });
        };
        Ok(KvSecret {
            data,
            version: metadata.and_then(|m| m.version),
        })
    }
}

async fn token_from(resp: reqwest::Response, what: &str) -> Result<Token, VaultError> {
    let body: AuthResponse = resp.json().await.map_err(|e| VaultError::Malformed {
        what: what.into(),
        cause: describe(&e),
    })?;
    let auth = body.auth.ok_or_else(|| VaultError::Malformed {
        what: what.into(),
        cause: "no `auth` object".into(),
    })?;
    Ok(Token {
        secret: SecretString::from(auth.client_token),
        ttl: (auth.lease_duration > 0).then(|| Duration::from_secs(auth.lease_duration)),
        renewable: auth.renewable,
    })
}

/// The error and its sources on one line (reqwest's top level alone says
/// only "error sending request").
fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
