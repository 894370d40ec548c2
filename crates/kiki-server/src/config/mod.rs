//! The typed configuration, loaded in layers: built-in defaults → `kiki.toml`
//! (or `--config FILE`) → secrets read from Vault when `vault.address` is set
//! (see `crate::vault`) → environment variables `KIKI__SECTION__KEY`. Secrets
//! are `SecretString`, printed only as `***`. `Config::validate` checks the
//! whole thing at start-up; in production it also refuses placeholder secrets
//! and the SQLite default, naming the setting to fix.
//!
//! The section registry modules declare (`ModuleSettings`, `ConfigSection`,
//! `parse_section`, `serialize_secret`) is in `sections.rs`.

mod sections;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use kiki_identity::{AuthConfig, BootstrapConfig};
use kiki_notify::{MailConfig, MailTransportKind};
use kiki_outbound::OutboundConfig;
use kiki_shield::EncryptionConfig;
use kiki_store::{CacheConfig, DatabaseConfig, EventsConfig, JobsConfig, RedisConfig};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use sections::{ConfigSection, ModuleSettings, SectionReport, parse_section, serialize_secret};

/// Development (default) or production. Production refuses unsafe settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

/// Everything KIKI reads at start-up. See README "Configuration" for every key.
/// `Debug` shows the settings as they are printed (secrets as `***`, the
/// database password hidden) and the module sections by name only.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `development` (default) or `production`.
    pub env: Environment,
    /// Roles this process runs: `all`, or a comma list of `api`, `bidder`, `worker`.
    pub roles: String,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    /// Where `kiki backup` and the `db.backup` job write, and how many are kept.
    pub backup: kiki_store::backup::BackupConfig,
    pub redis: RedisConfig,
    pub cache: CacheConfig,
    pub jobs: JobsConfig,
    pub events: EventsConfig,
    pub log: LogConfig,
    pub telemetry: TelemetryConfig,
    pub outbound: OutboundConfig,
    pub security: SecurityConfig,
    pub api: ApiConfig,
    /// Sign-in, tokens, password hashing cost, throttling (see kiki-identity).
    pub auth: AuthConfig,
    /// Field-encryption key ring (AES-256-GCM) and blind-index key.
    pub encryption: EncryptionConfig,
    /// How mail (password resets, invitations) leaves: the in-app outbox or SMTP.
    pub mail: MailConfig,
    /// First-run administrator and the development demo.
    pub bootstrap: BootstrapConfig,
    /// HashiCorp Vault as a configuration source (off until `vault.address` is set).
    pub vault: crate::vault::VaultConfig,
    /// The Vault layer this configuration was read with, for renewal and
    /// re-reads while running (`None` without Vault).
    #[serde(skip)]
    pub vault_source: Option<std::sync::Arc<crate::vault::VaultSource>>,
    /// The service modules' sections (`[ltv]`, `[bidder]`, `[twin]`, …), raw
    /// after the file and environment layers. Each module declares its own
    /// section type ([`ConfigSection`]); [`Config::validate_with`] parses every
    /// one, so an unknown key or section is an error before anything starts.
    #[serde(skip)]
    pub sections: BTreeMap<String, serde_json::Value>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.clone();
        shown.database.url = self.database.redacted_url();
        shown.sections.clear();
        let settings = serde_json::to_value(&shown).unwrap_or_default();
        f.debug_struct("Config")
            .field("settings", &settings)
            .field("sections", &self.sections.keys().collect::<Vec<_>>())
            .field("vault_source", &self.vault_source)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            env: Environment::default(),
            roles: "all".into(),
            http: HttpConfig::default(),
            database: DatabaseConfig::default(),
            backup: kiki_store::backup::BackupConfig::default(),
            redis: RedisConfig::default(),
            cache: CacheConfig::default(),
            jobs: JobsConfig::default(),
            events: EventsConfig::default(),
            log: LogConfig::default(),
            telemetry: TelemetryConfig::default(),
            outbound: OutboundConfig::default(),
            security: SecurityConfig::default(),
            api: ApiConfig::default(),
            auth: AuthConfig::default(),
            encryption: EncryptionConfig::default(),
            mail: MailConfig::default(),
            bootstrap: BootstrapConfig::default(),
            vault: crate::vault::VaultConfig::default(),
            vault_source: None,
            sections: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on. Default `127.0.0.1:8080`.
    pub bind: String,
    /// URL people use to reach this server (links in emails, OpenRTB notice URLs). Default derived from `bind`.
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes. Default 1 MiB.
    pub body_limit_bytes: usize,
    /// Largest body on upload routes (CSV imports, media), in bytes. Default 10 MiB.
    pub upload_body_limit_bytes: usize,
    /// A request running longer than this is answered 408. Default 30 s.
    pub request_timeout_secs: u64,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish. Default 30 s.
    pub shutdown_grace_secs: u64,
    pub rate_limit: RateLimitConfig,
    pub cors: CorsConfig,
    /// Take the client address from the last `X-Forwarded-For` hop (only behind a trusted proxy). Default false.
    pub trust_forwarded_for: bool,
    /// Served behind TLS: send `Strict-Transport-Security` and mark cookies `Secure`. Default false.
    pub behind_tls: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            body_limit_bytes: 1024 * 1024,
            upload_body_limit_bytes: 10 * 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 30,
            rate_limit: RateLimitConfig::default(),
            cors: CorsConfig::default(),
            trust_forwarded_for: false,
            behind_tls: false,
        }
    }
}

/// Per-client-IP request rate limit (a token bucket: `per_second` refill, `burst` capacity).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Default true.
    pub enabled: bool,
    /// Sustained requests per second per client address. Default 100.
    pub per_second: u32,
    /// Requests a client may send at once above the sustained rate. Default 200.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            per_second: 100,
            burst: 200,
        }
    }
}

/// Cross-origin requests from browsers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call the API from a browser, e.g. `["https://app.example.com"]`. Empty (default) = none.
    pub allowed_origins: Vec<String>,
    /// Allow cookies/credentials on cross-origin calls. Never together with `*`. Default false.
    pub allow_credentials: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON lines when standard error is not a terminal, pretty otherwise.
    #[default]
    Auto,
    Json,
    Pretty,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `info,kiki_store=debug`; `RUST_LOG` wins when set. Default `info`.
    pub level: String,
    /// `auto` (default), `json` or `pretty`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Auto,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// OTLP/HTTP collector base URL, e.g. `http://otel-collector:4318`. Unset (default) = no export.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of exported spans. Default `kiki`.
    pub service_name: String,
    /// Fraction of traces exported, 0 to 1. Default 1.
    pub sample_ratio: f64,
    /// DSN of a Sentry-compatible endpoint (`https://KEY@host/PROJECT`) that
    /// receives panics and the causes of 5xx responses. Unset (default) = nothing is sent.
    #[serde(serialize_with = "serialize_optional_secret")]
    pub sentry_dsn: Option<SecretString>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            otlp_endpoint: None,
            service_name: "kiki".into(),
            sample_ratio: 1.0,
            sentry_dsn: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Master secret for signing sessions and tokens; at least 32 random characters in production.
    #[serde(serialize_with = "serialize_secret")]
    pub secret_key: SecretString,
    /// Let production run on the embedded SQLite file (single node only). Default false.
    pub allow_sqlite_in_production: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            secret_key: SecretString::from(""),
            allow_sqlite_in_production: false,
        }
    }
}

/// API version lifecycle (RFC 8594 `Sunset`, RFC 9745 `Deprecation`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Versions marked deprecated, e.g. `[api.deprecated.v1] sunset = "2027-06-30T00:00:00Z"`.
    pub deprecated: BTreeMap<String, DeprecationConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DeprecationConfig {
    /// When the version was deprecated (RFC 3339). Default: now, i.e. `Deprecation: true`-like semantics.
    pub since: Option<String>,
    /// When it stops working (RFC 3339).
    pub sunset: Option<String>,
}

/// A configuration that cannot be used, with every problem found.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the configuration could not be read: {0}")]
    Load(String),
    #[error("the configuration is invalid:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

/// An optional secret as `***` when set (`None` stays absent).
fn serialize_optional_secret<S: serde::Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => serialize_secret(secret, s),
        None => s.serialize_none(),
    }
}

/// Removes `null` members (TOML has no null) before a value is printed.
fn strip_nulls(v: serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value;
    match v {
        Value::Null => None,
        Value::Object(m) => Some(Value::Object(
            m.into_iter()
                .filter_map(|(k, v)| strip_nulls(v).map(|v| (k, v)))
                .collect(),
        )),
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(strip_nulls).collect(),
        )),
        other => Some(other),
    }
}

/// Values that are obviously not secrets; production refuses them.
const PLACEHOLDER_SECRETS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "placeholder",
    "example",
    "dev",
    "development",
    "test",
    "kiki",
    "default",
    "insecure",
];

fn is_placeholder(secret: &str) -> bool {
    let s = secret.trim().to_ascii_lowercase();
    s.is_empty()
        || PLACEHOLDER_SECRETS
            .iter()
            .any(|p| s == *p || s.starts_with("change") || s.contains("placeholder"))
}

impl Config {
    /// Loads defaults, then the file (if any), then `KIKI__…` variables from
    /// `env` (no Vault layer; see [`Config::load`]).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        Config::load_layers(file, None, env)
    }

    /// Defaults → file → `vault` (dotted keys to values, read from Vault) →
    /// `KIKI__…` variables from `env`.
    pub fn load_layers(
        file: Option<&Path>,
        vault: Option<&crate::vault::Overlay>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::Load(format!(
                        "the file {} does not exist",
                        path.display()
                    )));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => {
                if Path::new("kiki.toml").exists() {
                    fig = fig.merge(Toml::file("kiki.toml"));
                }
            }
        }
        if let Some(overlay) = vault {
            fig = fig.merge(Serialized::defaults(vault_dict(overlay)?));
        }
        // Apply the environment through figment's own parser, from the given pairs
        // (tests pass their own; `load` passes the process environment).
        let vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("KIKI__"))
            .collect();
        fig = fig.merge(Serialized::defaults(env_dict(&vars)?));
        // Top-level tables that are not the platform's own are module sections,
        // checked against the modules' registry by `validate_with`.
        let all: figment::value::Dict = fig
            .extract()
            .map_err(|e| ConfigError::Load(describe_figment_error(e)))?;
        let core_keys = core_keys();
        let mut core = figment::value::Dict::new();
        let mut sections = BTreeMap::new();
        for (k, v) in all {
            if core_keys.contains(&k) {
                core.insert(k, v);
            } else {
                let json = serde_json::to_value(&v)
                    .map_err(|e| ConfigError::Load(format!("configuration section `{k}`: {e}")))?;
                sections.insert(k, json);
            }
        }
        let mut cfg: Config = Figment::from(Serialized::defaults(core))
            .extract()
            .map_err(|e| ConfigError::Load(describe_figment_error(e)))?;
        cfg.sections = sections;
        if cfg.roles.is_empty() {
            cfg.roles = "all".into();
        }
        Ok(cfg)
    }

    /// Loads from the process environment, with the Vault layer when
    /// `vault.address` is set (read on a runtime of its own; call it before
    /// the server's runtime starts). Vault unreachable, a refused login or a
    /// missing secret path is an error: the process does not start.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let first = Config::load_from(file, env.clone())?;
        if !first.vault.enabled() {
            return Ok(first);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConfigError::Load(format!("starting the Vault client: {e}")))?;
        rt.block_on(crate::vault::load(file, env))
    }

    /// A service module's raw section (`[ltv]`, `[bidder]`, …); the module
    /// reads it into its own type.
    pub fn module_section(&self, name: &str) -> Option<&serde_json::Value> {
        self.sections.get(name)
    }

    /// Sets a module's raw section (tests and embedding programs).
    pub fn set_section(&mut self, name: &str, value: serde_json::Value) {
        self.sections.insert(name.to_owned(), value);
    }

    /// Every problem with the platform's settings and with each module
    /// section in `registry`; a section no module declares is an error that
    /// lists the known ones.
    pub fn validate_with(&self, registry: &[ConfigSection]) -> Result<(), ConfigError> {
        let mut p = match self.validate() {
            Ok(()) => Vec::new(),
            Err(ConfigError::Invalid(p)) => p,
            Err(e) => return Err(e),
        };
        let core = core_keys();
        for name in self.sections.keys() {
            if !registry.iter().any(|s| s.name == name) {
                let mut known: Vec<&str> = core
                    .iter()
                    .map(String::as_str)
                    .chain(registry.iter().map(|s| s.name))
                    .collect();
                known.sort_unstable();
                p.push(format!(
                    "unknown key `{name}`; the sections are: {}",
                    known.join(", ")
                ));
            }
        }
        for section in registry {
            p.extend(
                section
                    .check(self.sections.get(section.name), self.is_production())
                    .problems,
            );
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p))
        }
    }

    /// Checks the platform's own settings (not the module sections; see
    /// [`Config::validate_with`]). Production adds the safety rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        if self.http.bind.parse::<SocketAddr>().is_err() {
            p.push(format!(
                "http.bind `{}` is not an address like 127.0.0.1:8080 (KIKI__HTTP__BIND)",
                self.http.bind
            ));
        }
        if self.http.body_limit_bytes == 0 {
            p.push(
                "http.body_limit_bytes must be greater than 0 (KIKI__HTTP__BODY_LIMIT_BYTES)"
                    .into(),
            );
        }
        if self.http.request_timeout_secs == 0 {
            p.push("http.request_timeout_secs must be greater than 0 (KIKI__HTTP__REQUEST_TIMEOUT_SECS)".into());
        }
        if self.http.rate_limit.enabled
            && (self.http.rate_limit.per_second == 0 || self.http.rate_limit.burst == 0)
        {
            p.push("http.rate_limit.per_second and burst must be greater than 0 when the limit is enabled".into());
        }
        if self.http.cors.allow_credentials
            && self
                .http
                .cors
                .allowed_origins
                .iter()
                .any(|o| o.trim() == "*")
        {
            p.push("http.cors.allowed_origins may not contain `*` when http.cors.allow_credentials is true; list the origins".into());
        }
        for o in &self.http.cors.allowed_origins {
            if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
                p.push(format!("http.cors.allowed_origins entry `{o}` must be `*` or start with http:// or https://"));
            }
        }
        if let Err(e) = crate::roles::Roles::parse(&self.roles) {
            p.push(format!("roles: {e} (KIKI__ROLES)"));
        }
        p.extend(self.vault.problems());
        if let Some(ep) = &self.telemetry.otlp_endpoint
            && !(ep.starts_with("http://") || ep.starts_with("https://"))
        {
            p.push(format!("telemetry.otlp_endpoint `{ep}` must be an http:// or https:// URL (KIKI__TELEMETRY__OTLP_ENDPOINT)"));
        }
        if let Some(dsn) = &self.telemetry.sentry_dsn
            && !dsn.expose_secret().trim().is_empty()
            && dsn
                .expose_secret()
                .trim()
                .parse::<sentry::types::Dsn>()
                .is_err()
        {
            p.push("telemetry.sentry_dsn is not a DSN such as https://KEY@sentry.example.com/1 (KIKI__TELEMETRY__SENTRY_DSN)".into());
        }
        if !(0.0..=1.0).contains(&self.telemetry.sample_ratio) {
            p.push("telemetry.sample_ratio must be between 0 and 1".into());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            p.push(format!(
                "log.level `{}` is not a valid filter such as `info` or `info,kiki_store=debug`",
                self.log.level
            ));
        }
        let db = &self.database.url;
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            p.push(
                "database.url must start with sqlite:// or postgres:// (KIKI__DATABASE__URL)"
                    .into(),
            );
        }
        if self.database.max_connections == 0
            || self.database.min_connections > self.database.max_connections
        {
            p.push(
                "database.max_connections must be at least 1 and at least database.min_connections"
                    .into(),
            );
        }
        for (version, d) in &self.api.deprecated {
            if !crate::versioning::ApiVersion::ALL
                .iter()
                .any(|v| v.as_str() == version)
            {
                p.push(format!("api.deprecated.{version}: no such API version"));
            }
            for (name, v) in [("since", &d.since), ("sunset", &d.sunset)] {
                if let Some(v) = v
                    && time::OffsetDateTime::parse(
                        v,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .is_err()
                {
                    p.push(format!(
                        "api.deprecated.{version}.{name} `{v}` is not an RFC 3339 time"
                    ));
                }
            }
        }
        if let Err(e) =
            kiki_identity::build_jwt_keyring(&self.auth, self.master_secret().expose_secret())
        {
            p.push(format!("auth.jwt_keys: {e}"));
        }
        for (kid, key) in &self.auth.jwt_keys {
            if key.expose_secret().len() < 32 || is_placeholder(key.expose_secret()) {
                p.push(format!("auth.jwt_keys.{kid} must be at least 32 random characters (KIKI__AUTH__JWT_KEYS__{})", kid.to_uppercase()));
            }
        }
        if let Err(e) = kiki_shield::Keyring::from_config(
            &self.encryption,
            self.master_secret().expose_secret(),
        ) {
            p.push(format!("encryption: {e}"));
        }
        if self.auth.access_token_ttl_secs == 0 || self.auth.refresh_token_ttl_days == 0 {
            p.push(
                "auth.access_token_ttl_secs and auth.refresh_token_ttl_days must be greater than 0"
                    .into(),
            );
        }
        if self.auth.lockout_threshold == 0 || self.auth.lockout_secs == 0 {
            p.push("auth.lockout_threshold and auth.lockout_secs must be greater than 0".into());
        }
        if self.mail.transport == MailTransportKind::Smtp && self.mail.smtp_url.is_none() {
            p.push(
                "mail.transport is smtp but mail.smtp_url is not set (KIKI__MAIL__SMTP_URL)".into(),
            );
        }
        if self.env == Environment::Production {
            if self.mail.transport != MailTransportKind::Smtp {
                p.push("mail.transport is the in-app outbox, which keeps mail in the database (tokens masked) and delivers nothing; set KIKI__MAIL__TRANSPORT=smtp and KIKI__MAIL__SMTP_URL in production".into());
            }
            let secret = self.security.secret_key.expose_secret();
            if is_placeholder(secret) || secret.len() < 32 {
                p.push("security.secret_key is empty or a placeholder; set KIKI__SECURITY__SECRET_KEY to at least 32 random characters".into());
            }
            if db.starts_with("sqlite:") && !self.security.allow_sqlite_in_production {
                p.push("database.url is the embedded SQLite file; set KIKI__DATABASE__URL to a PostgreSQL URL, or KIKI__SECURITY__ALLOW_SQLITE_IN_PRODUCTION=true for a single node".into());
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p))
        }
    }

    /// The effective configuration as TOML with every secret shown as `***`
    /// (the platform's sections only; see [`Config::redacted_toml_with`]).
    pub fn redacted_toml(&self) -> String {
        self.redacted_toml_with(&[])
    }

    /// The effective configuration, module sections of `registry` included
    /// (defaults filled in), as TOML with every secret shown as `***`. A
    /// section that cannot be read is shown as a comment; it is never echoed
    /// raw, since it may hold secrets.
    pub fn redacted_toml_with(&self, registry: &[ConfigSection]) -> String {
        let mut c = self.clone();
        c.database.url = self.database.redacted_url();
        let mut out =
            toml::to_string_pretty(&c).unwrap_or_else(|e| format!("# could not render: {e}"));
        for section in registry {
            let report = section.check(self.sections.get(section.name), self.is_production());
            out.push('\n');
            match report.effective.and_then(strip_nulls) {
                Some(v) => {
                    let table = serde_json::json!({ section.name: v });
                    out.push_str(&toml::to_string_pretty(&table).unwrap_or_else(|e| {
                        format!("# [{}] could not be rendered: {e}\n", section.name)
                    }));
                }
                None => out.push_str(&format!(
                    "# [{}] could not be read (see the problems below)\n",
                    section.name
                )),
            }
        }
        out
    }

    /// `security.secret_key`, or the fixed development secret when it is empty
    /// (production refuses an empty or placeholder secret).
    pub fn master_secret(&self) -> SecretString {
        let s = self.security.secret_key.expose_secret();
        if s.is_empty() {
            SecretString::from(kiki_identity::DEVELOPMENT_SECRET)
        } else {
            SecretString::from(s.to_owned())
        }
    }

    /// The base URL people reach this server at (links in mail).
    pub fn public_url(&self) -> String {
        match &self.http.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.http.bind),
        }
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }
}

/// The platform's own top-level keys; every other table is a module section.
fn core_keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(m)) => m.into_iter().map(|(k, _)| k).collect(),
        _ => Vec::new(),
    }
}

/// `KIKI__A__B=v` pairs turned into the nested `{a: {b: v}}` figment merges,
/// parsing values the way figment's `Env` provider does (numbers, booleans,
/// arrays), without reading the process environment itself.
fn env_dict(vars: &[(String, String)]) -> Result<figment::value::Dict, ConfigError> {
    use figment::value::{Dict, Value};
    let mut root = Dict::new();
    for (k, v) in vars {
        let path: Vec<String> = k["KIKI__".len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Load(format!(
                "the variable {k} has an empty section name"
            )));
        }
        let value: Value = v.parse().unwrap_or_else(|_| Value::from(v.clone()));
        insert_path(&mut root, &path, value);
    }
    Ok(root)
}

/// Dotted keys read from Vault (`database.url`) as the nested dictionary
/// figment merges. String values are taken as they are (a secret that looks
/// like a number stays a string); other JSON values keep their type.
fn vault_dict(overlay: &crate::vault::Overlay) -> Result<figment::value::Dict, ConfigError> {
    use figment::value::{Dict, Value};
    let mut root = Dict::new();
    for (k, v) in overlay {
        let path: Vec<String> = k.split('.').map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Load(format!(
                "the Vault key `{k}` is not a dotted configuration key such as database.url"
            )));
        }
        let value = Value::serialize(v).map_err(|e| {
            ConfigError::Load(format!(
                "the Vault key `{k}` has a value that cannot be used: {e}"
            ))
        })?;
        insert_path(&mut root, &path, value);
    }
    Ok(root)
}

fn insert_path(dict: &mut figment::value::Dict, path: &[String], value: figment::value::Value) {
    use figment::value::{Dict, Value};
    let (first, rest) = path.split_first().expect("path is non-empty");
    if rest.is_empty() {
        dict.insert(first.clone(), value);
        return;
    }
    let entry = dict
        .entry(first.clone())
        .or_insert_with(|| Value::from(Dict::new()));
    if let Value::Dict(_, inner) = entry {
        insert_path(inner, rest, value);
    } else {
        let mut inner = Dict::new();
        insert_path(&mut inner, rest, value);
        *entry = Value::from(inner);
    }
}

fn describe_figment_error(e: figment::Error) -> String {
    e.into_iter()
        .map(|err| {
            let path = err.path.join(".");
            let msg = err.kind.to_string();
            if path.is_empty() {
                msg
            } else {
                format!("{path}: {msg}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
