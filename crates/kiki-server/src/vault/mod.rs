//! HashiCorp Vault as a configuration source (section `[vault]`, off until
//! `vault.address` is set).
//!
//! At start-up KIKI logs in (a token from the configuration or a file,
//! AppRole, or Kubernetes service-account auth), reads every KV v2 secret
//! named in `vault.paths` and layers their values over the file:
//! defaults → file → Vault → `KIKI__…` variables. The environment stays on
//! top so an operator can override a value in an emergency without writing
//! to Vault; start-up logs a warning naming each key an environment variable
//! overrides. Each secret's keys are configuration keys in dotted form
//! (`database.url`, `campaigns.llm.api_key`, `encryption.keys.k2`).
//!
//! While the server runs, [`VaultSource::run`] renews the token before its
//! TTL runs out (logging in again when renewal fails) and re-reads the
//! secrets every `vault.refresh_secs`. A reloadable change
//! ([`is_reloadable`]) is applied to the live configuration
//! ([`LiveConfig`]) without a restart; any other change is kept out of the
//! running process and logged as a warning naming the key (never the value)
//! until the next restart. Nothing here logs or prints a secret: tokens are
//! `SecretString`, and `Debug` shows key names only.

mod client;
mod live;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiki_outbound::{OutboundClient, OutboundConfig};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use client::{KvSecret, Token, VaultClient, VaultError};
pub use live::LiveConfig;

use crate::config::{Config, ConfigError, serialize_secret};

/// Where Kubernetes mounts the pod's service-account token.
pub const KUBERNETES_JWT_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The `[vault]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultConfig {
    /// Vault's address, e.g. `https://vault.internal:8200`. Unset (default): Vault is not read.
    pub address: Option<String>,
    /// Vault Enterprise / HCP namespace, sent as `X-Vault-Namespace`. Default none.
    pub namespace: Option<String>,
    /// Where the KV version 2 engine is mounted. Default `kiki`.
    pub mount: String,
    /// Secrets read in order (a later one wins on the same key). Default `["common"]`.
    pub paths: Vec<String>,
    /// Seconds between re-reads of the secrets while running; 0 = read once. Default 300.
    pub refresh_secs: u64,
    pub auth: VaultAuthConfig,
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            address: None,
            namespace: None,
            mount: "kiki".into(),
            paths: vec!["common".into()],
            refresh_secs: 300,
            auth: VaultAuthConfig::default(),
        }
    }
}

/// How KIKI proves who it is to Vault.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VaultAuthMethod {
    /// A token given in `vault.auth.token` or read from `vault.auth.token_file`.
    #[default]
    Token,
    /// `auth/approle/login` with `role_id` and the secret ID from `secret_id_file`.
    Approle,
    /// `auth/kubernetes/login` with `role` and the pod's service-account JWT.
    Kubernetes,
}

impl VaultAuthMethod {
    fn as_str(self) -> &'static str {
        match self {
            VaultAuthMethod::Token => "token",
            VaultAuthMethod::Approle => "approle",
            VaultAuthMethod::Kubernetes => "kubernetes",
        }
    }
}

/// `[vault.auth]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultAuthConfig {
    /// `token` (default), `approle` or `kubernetes`.
    pub method: VaultAuthMethod,
    /// Where the auth method is mounted. Default: the method's name (`approle`, `kubernetes`).
    pub mount: Option<String>,
    /// `token`: the token itself (prefer `token_file`). Printed as `***`.
    #[serde(serialize_with = "serialize_secret")]
    pub token: SecretString,
    /// `token`: a file holding the token (read again when renewal fails).
    pub token_file: Option<PathBuf>,
    /// `approle`: the role ID.
    pub role_id: Option<String>,
    /// `approle`: a file holding the secret ID.
    pub secret_id_file: Option<PathBuf>,
    /// `kubernetes`: the Vault role bound to the pod's service account.
    pub role: Option<String>,
    /// `kubernetes`: the service-account token. Default the standard mount path.
    pub jwt_file: PathBuf,
}

impl Default for VaultAuthConfig {
    fn default() -> Self {
        VaultAuthConfig {
            method: VaultAuthMethod::Token,
            mount: None,
            token: SecretString::from(""),
            token_file: None,
            role_id: None,
            secret_id_file: None,
            role: None,
            jwt_file: PathBuf::from(KUBERNETES_JWT_FILE),
        }
    }
}

impl VaultConfig {
    pub fn enabled(&self) -> bool {
        self.address
            .as_deref()
            .is_some_and(|a| !a.trim().is_empty())
    }

    /// Problems with the section, each naming the key to fix.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let Some(addr) = self.address.as_deref().filter(|a| !a.trim().is_empty()) else {
            return p;
        };
        if !(addr.starts_with("http://") || addr.starts_with("https://")) {
            p.push(format!(
                "vault.address `{addr}` must be an http:// or https:// URL (KIKI__VAULT__ADDRESS)"
            ));
        }
        if self.mount.trim_matches('/').is_empty() {
            p.push("vault.mount must name the KV v2 mount, e.g. `kiki`".into());
        }
        if self.paths.is_empty() || self.paths.iter().any(|s| s.trim_matches('/').is_empty()) {
            p.push("vault.paths must list at least one secret path, none empty".into());
        }
        let a = &self.auth;
        match a.method {
            VaultAuthMethod::Token => {
                if a.token.expose_secret().is_empty() && a.token_file.is_none() {
                    p.push("vault.auth.method is token but neither vault.auth.token nor vault.auth.token_file is set".into());
                }
            }
            VaultAuthMethod::Approle => {
                if a.role_id.as_deref().is_none_or(str::is_empty) || a.secret_id_file.is_none() {
                    p.push("vault.auth.method is approle: set vault.auth.role_id and vault.auth.secret_id_file".into());
                }
            }
            VaultAuthMethod::Kubernetes => {
                if a.role.as_deref().is_none_or(str::is_empty) {
                    p.push("vault.auth.method is kubernetes: set vault.auth.role".into());
                }
            }
        }
        p
    }
}

/// Whether a change of a configuration key (dotted) from `old` to `new` may
/// be applied while the server runs. Reloadable: the language model's key
/// (`campaigns.llm.api_key`, read by the planner and the creative writer),
/// and a field-encryption key *added* to `encryption.keys` ahead of a
/// rotation (available for decryption at once; new writes switch to it when
/// `encryption.current_key` changes, at a restart). Everything else —
/// connection URLs, the master secret, the current and blind-index keys, a
/// changed or removed encryption key, listeners — is read once at start-up
/// and needs a restart.
pub fn is_reloadable(
    key: &str,
    old: Option<&serde_json::Value>,
    new: Option<&serde_json::Value>,
) -> bool {
    match key {
        "campaigns.llm.api_key" => true,
        k if k.starts_with("encryption.keys.") => old.is_none() && new.is_some(),
        _ => false,
    }
}

/// A read of every configured secret, flattened to dotted configuration keys.
pub type Overlay = BTreeMap<String, serde_json::Value>;

/// What one re-read of the secrets changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refresh {
    /// Reloadable keys whose new value is now live.
    pub applied: Vec<String>,
    /// Keys whose new value waits for a restart.
    pub needs_restart: Vec<String>,
}

/// The current token and when it was obtained.
struct Session {
    token: SecretString,
    obtained: Instant,
    ttl: Option<Duration>,
    renewable: bool,
}

/// The Vault layer of a loaded configuration: how to log in again, renew, and
/// re-read the secrets. Shared by the configuration and the background task.
pub struct VaultSource {
    settings: VaultConfig,
    outbound: OutboundConfig,
    file: Option<PathBuf>,
    env: Vec<(String, String)>,
    session: tokio::sync::Mutex<Option<Session>>,
    /// The values the running process uses (reloadable keys updated, others
    /// kept as read at start-up).
    applied: parking_lot::Mutex<Overlay>,
    /// Keys read from Vault that a `KIKI__…` variable overrides (with the
    /// variable's name), logged once logging is set up.
    overridden: parking_lot::Mutex<Vec<(String, String)>>,
}

impl std::fmt::Debug for VaultSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSource")
            .field("address", &self.settings.address)
            .field("mount", &self.settings.mount)
            .field("paths", &self.settings.paths)
            .field("auth", &self.settings.auth.method)
            .field(
                "keys",
                &self.applied.lock().keys().cloned().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Loads the configuration with the Vault layer when `vault.address` is set
/// (after the file and the environment were read once to find it). An
/// unreachable Vault, a refused login or a missing path is an error naming
/// the address or path, so the process does not start.
pub async fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("KIKI__"))
        .collect();
    let base = Config::load_layers(file, None, env.clone())?;
    if !base.vault.enabled() {
        return Ok(base);
    }
    let problems = base.vault.problems();
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    let source = VaultSource {
        settings: base.vault.clone(),
        outbound: base.outbound.clone(),
        file: file.map(Path::to_path_buf),
        env,
        session: tokio::sync::Mutex::new(None),
        applied: parking_lot::Mutex::new(Overlay::new()),
        overridden: parking_lot::Mutex::new(Vec::new()),
    };
    let client = source
        .client()
        .map_err(|e| ConfigError::Load(e.to_string()))?;
    let overlay = source
        .read_all(&client)
        .await
        .map_err(|e| ConfigError::Load(e.to_string()))?;
    *source.overridden.lock() = overlay
        .keys()
        .filter_map(|key| source.env_override(key).map(|var| (key.clone(), var)))
        .collect();
    let mut cfg = Config::load_layers(file, Some(&overlay), source.env.clone())?;
    *source.applied.lock() = overlay;
    cfg.vault_source = Some(Arc::new(source));
    Ok(cfg)
}

impl VaultSource {
    /// Logs what start-up read (key names and counts only) and each key an
    /// environment variable overrides. Called once logging is installed.
    pub fn log_startup(&self) {
        tracing::info!(
            address = %self.settings.address.as_deref().unwrap_or_default(),
            paths = ?self.settings.paths,
            keys = self.applied.lock().len(),
            "configuration read from Vault"
        );
        for (key, var) in self.overridden.lock().iter() {
            tracing::warn!(
                key = %key,
                variable = %var,
                "an environment variable overrides a value read from Vault"
            );
        }
    }

    /// The configuration keys read from Vault (names only).
    pub fn keys(&self) -> Vec<String> {
        self.applied.lock().keys().cloned().collect()
    }

    /// Keys read from Vault that an environment variable overrides.
    pub fn overridden(&self) -> Vec<String> {
        self.overridden
            .lock()
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn client(&self) -> Result<VaultClient, VaultError> {
        let http = OutboundClient::new(&self.outbound)
            .map_err(|e| VaultError::Setup(format!("the HTTP client: {e}")))?;
        Ok(VaultClient::new(
            http,
            self.settings.address.as_deref().unwrap_or_default(),
            self.settings.namespace.as_deref(),
        ))
    }

    /// The `KIKI__…` variable that overrides `key`, if any.
    fn env_override(&self, key: &str) -> Option<String> {
        let var = format!("KIKI__{}", key.replace('.', "__")).to_ascii_uppercase();
        self.env
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(&var))
            .then_some(var)
    }

    fn auth_mount(&self) -> String {
        self.settings
            .auth
            .mount
            .clone()
            .unwrap_or_else(|| self.settings.auth.method.as_str().to_owned())
    }

    /// Obtains a fresh token with the configured method.
    async fn login(&self, client: &VaultClient) -> Result<Token, VaultError> {
        let a = &self.settings.auth;
        match a.method {
            VaultAuthMethod::Token => {
                let secret = match &a.token_file {
                    Some(path) => {
                        SecretString::from(read_secret_file(path, "vault.auth.token_file")?)
                    }
                    None => a.token.clone(),
                };
                // A given token's lease is unknown until the first renewal.
                Ok(Token {
                    secret,
                    ttl: None,
                    renewable: true,
                })
            }
            VaultAuthMethod::Approle => {
                let path = a.secret_id_file.as_deref().ok_or_else(|| {
                    VaultError::Setup("vault.auth.secret_id_file is not set".into())
                })?;
                let secret_id = read_secret_file(path, "vault.auth.secret_id_file")?;
                client
                    .login(
                        &self.auth_mount(),
                        serde_json::json!({
                            "role_id": a.role_id.as_deref().unwrap_or_default(),
                            "secret_id": secret_id,
                        }),
                    )
                    .await
            }
            VaultAuthMethod::Kubernetes => {
                let jwt = read_secret_file(&a.jwt_file, "vault.auth.jwt_file")?;
                client
                    .login(
                        &self.auth_mount(),
                        serde_json::json!({
                            "role": a.role.as_deref().unwrap_or_default(),
                            "jwt": jwt,
                        }),
                    )
                    .await
            }
        }
    }

    async fn relogin(
        &self,
        client: &VaultClient,
        session: &mut Option<Session>,
    ) -> Result<SecretString, VaultError> {
        let t = self.login(client).await?;
        let token = t.secret.clone();
        *session = Some(Session {
            token: t.secret,
            obtained: Instant::now(),
            ttl: t.ttl,
            renewable: t.renewable,
        });
        Ok(token)
    }

    /// The current token, logging in first when there is none.
    async fn token(&self, client: &VaultClient) -> Result<SecretString, VaultError> {
        let mut s = self.session.lock().await;
        match s.as_ref() {
            Some(session) => Ok(session.token.clone()),
            None => self.relogin(client, &mut s).await,
        }
    }

    /// Reads every path in order; a later path wins on the same key. A 403
    /// (expired or revoked token) logs in again once and retries.
    pub async fn read_all(&self, client: &VaultClient) -> Result<Overlay, VaultError> {
        let mut overlay = Overlay::new();
        for path in &self.settings.paths {
            let token = self.token(client).await?;
            let secret = match client.read_kv(&token, &self.settings.mount, path).await {
                Err(e) if e.is_denied() => {
                    tracing::warn!(path = %path, "Vault refused the token; logging in again");
                    let token = {
                        let mut s = self.session.lock().await;
                        self.relogin(client, &mut s).await?
                    };
                    client.read_kv(&token, &self.settings.mount, path).await?
                }
                other => other?,
            };
            for (key, value) in secret.data {
                let key = key.trim().to_ascii_lowercase();
                if key == "vault" || key.starts_with("vault.") || key.is_empty() {
                    return Err(VaultError::Setup(format!(
                        "the secret {}/{path} sets `{key}`; Vault's own settings cannot come from Vault",
                        self.settings.mount
                    )));
                }
                overlay.insert(key, value);
            }
        }
        Ok(overlay)
    }

    /// Whether the token should be renewed now: two thirds of its TTL are over.
    async fn renewal_due(&self) -> bool {
        match self.session.lock().await.as_ref() {
            Some(s) => s
                .ttl
                .is_some_and(|ttl| s.obtained.elapsed() >= ttl.mul_f64(2.0 / 3.0)),
            None => true,
        }
    }

    /// Renews the token (`auth/token/renew-self`); when renewal fails (expired,
    /// revoked, not renewable, past its max TTL) logs in again. Returns
    /// whether a new login was needed.
    pub async fn renew(&self, client: &VaultClient) -> Result<bool, VaultError> {
        let mut s = self.session.lock().await;
        let Some(current) = s.as_ref() else {
            self.relogin(client, &mut s).await?;
            return Ok(true);
        };
        if current.renewable {
            match client.renew_self(&current.token).await {
                Ok(t) => {
                    *s = Some(Session {
                        token: t.secret,
                        obtained: Instant::now(),
                        ttl: t.ttl,
                        renewable: t.renewable,
                    });
                    tracing::debug!(ttl_secs = ?t.ttl.map(|d| d.as_secs()), "Vault token renewed");
                    return Ok(false);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Vault token renewal failed; logging in again");
                }
            }
        }
        self.relogin(client, &mut s).await?;
        Ok(true)
    }

    /// Re-reads the secrets and applies what may change while running: the
    /// reloadable keys' new values go live through `live`; every other
    /// changed key is logged (its name only) and kept at its start-up value.
    pub async fn refresh(
        &self,
        client: &VaultClient,
        live: &LiveConfig,
    ) -> Result<Refresh, VaultError> {
        let fresh = self.read_all(client).await?;
        let mut next = self.applied.lock().clone();
        let mut out = Refresh::default();
        let keys: BTreeSet<&String> = fresh.keys().chain(next.keys()).collect();
        let mut changes = Vec::new();
        for key in keys {
            let (old, new) = (next.get(key), fresh.get(key));
            if old == new {
                continue;
            }
            if self.env_override(key).is_some() {
                continue;
            }
            changes.push((key.clone(), old.cloned(), new.cloned()));
        }
        for (key, old, new) in changes {
            if is_reloadable(&key, old.as_ref(), new.as_ref()) {
                match new {
                    Some(v) => next.insert(key.clone(), v),
                    None => next.remove(&key),
                };
                out.applied.push(key);
            } else {
                tracing::warn!(
                    key = %key,
                    "a value in Vault changed; it takes effect at the next restart"
                );
                out.needs_restart.push(key);
            }
        }
        if out.applied.is_empty() {
            return Ok(out);
        }
        let mut cfg = Config::load_layers(self.file.as_deref(), Some(&next), self.env.clone())
            .map_err(|e| VaultError::Setup(format!("the rotated configuration: {e}")))?;
        if let Err(e) = cfg.validate() {
            tracing::error!(error = %e, keys = ?out.applied, "rotated values from Vault are invalid; keeping the current ones");
            out.needs_restart.append(&mut out.applied);
            return Ok(out);
        }
        cfg.vault_source = live.current().vault_source.clone();
        live.publish(cfg);
        *self.applied.lock() = next;
        tracing::info!(keys = ?out.applied, "rotated values from Vault applied");
        Ok(out)
    }

    /// Renews the token before its TTL runs out and re-reads the secrets
    /// every `vault.refresh_secs`, until `cancel`. Failures are logged and
    /// retried at the next turn; the running configuration stays as it is.
    pub async fn run(self: Arc<Self>, live: LiveConfig, cancel: CancellationToken) {
        let client = match self.client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "Vault refresh not started");
                return;
            }
        };
        let refresh = (self.settings.refresh_secs > 0)
            .then(|| Duration::from_secs(self.settings.refresh_secs));
        let tick = Duration::from_secs(self.settings.refresh_secs.clamp(1, 30));
        // A given token's lease is learnt from its first renewal.
        if self.settings.auth.method == VaultAuthMethod::Token
            && let Err(e) = self.renew(&client).await
        {
            tracing::error!(error = %e, "Vault token renewal failed");
        }
        let mut last_read = Instant::now();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(tick) => {}
            }
            if self.renewal_due().await
                && let Err(e) = self.renew(&client).await
            {
                tracing::error!(error = %e, "Vault login failed; the current values stay in use");
            }
            if let Some(every) = refresh
                && last_read.elapsed() >= every
            {
                last_read = Instant::now();
                if let Err(e) = self.refresh(&client, &live).await {
                    tracing::error!(error = %e, "re-reading the secrets from Vault failed; the current values stay in use");
                }
            }
        }
    }

    /// A client for the calls above (tests drive them directly).
    pub fn new_client(&self) -> Result<VaultClient, VaultError> {
        self.client()
    }
}

fn read_secret_file(path: &Path, setting: &str) -> Result<String, VaultError> {
    let s = std::fs::read_to_string(path).map_err(|e| {
        VaultError::Setup(format!("{setting} {} cannot be read: {e}", path.display()))
    })?;
    let s = s.trim().to_owned();
    if s.is_empty() {
        return Err(VaultError::Setup(format!(
            "{setting} {} is empty",
            path.display()
        )));
    }
    Ok(s)
}
