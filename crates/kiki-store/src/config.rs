//! Configuration sections owned by the store: database, Redis, cache, jobs and events.
//!
//! Every section deserialises with `#[serde(default)]`, so a partial `kiki.toml`
//! (or a handful of `KIKI__SECTION__KEY` variables) fills in the rest from the
//! defaults documented on each field.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Where the data lives and how the pool behaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` or `postgres://user:pass@host:5432/db`. Default `sqlite://data/kiki.db`.
    pub url: String,
    /// Upper bound of pooled connections. Default 20.
    pub max_connections: u32,
    /// Connections kept open when idle. Default 2.
    pub min_connections: u32,
    /// How long a caller waits for a free connection before `StoreError::PoolTimeout`. Default 30 s.
    pub acquire_timeout_secs: u64,
    /// Connections older than this are closed and replaced. Default 1800 s.
    pub max_lifetime_secs: u64,
    /// Queries at or above this duration are logged as slow. Default 500 ms.
    pub slow_query_ms: u64,
    /// Apply pending migrations at start-up. Default true.
    pub run_migrations: bool,
    /// How long SQLite waits on a locked database before failing. Default 5000 ms.
    pub sqlite_busy_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://data/kiki.db".to_owned(),
            max_connections: 20,
            min_connections: 2,
            acquire_timeout_secs: 30,
            max_lifetime_secs: 1800,
            slow_query_ms: 500,
            run_migrations: true,
            sqlite_busy_timeout_ms: 5000,
        }
    }
}

impl DatabaseConfig {
    /// The URL with any password replaced by `***`, safe to log or show.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// Replaces the password part of `scheme://user:password@host/...` with `***`.
/// URLs without credentials are returned unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let redacted_userinfo = match userinfo.find(':') {
        Some(colon) => format!("{}:***", &userinfo[..colon]),
        None => userinfo.to_owned(),
    };
    format!("{}{}{}", &url[..rest_start], redacted_userinfo, &rest[at..])
}

/// Redis connection. Without a URL every Redis-backed feature uses its in-process stand-in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    /// `redis://[:password@]host:6379/0`. `None` (the default) means in-process.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub url: Option<SecretString>,
}

fn serialize_secret_opt<S: serde::Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    // Serialising config happens for `kiki config show`; the secret never leaves.
    match v {
        Some(_) => s.serialize_some("***"),
        None => s.serialize_none(),
    }
}

/// The shared cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheConfig {
    /// TTL used when a caller passes none. Default 300 s.
    pub default_ttl_secs: u64,
    /// Size bound of the in-process cache. Default 100 000 entries.
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            default_ttl_secs: 300,
            max_entries: 100_000,
        }
    }
}

/// Background jobs and schedules.
///
/// Cron expressions in `schedules` use six fields **with seconds first**
/// (`sec min hour day-of-month month day-of-week`, e.g. `0 */15 * * * *` = every
/// 15 minutes on the minute). Five-field expressions (`min hour dom mon dow`) are
/// also accepted and fire at second 0. All times are UTC. Names (`MON`, `JAN`)
/// and `@daily`-style nicknames work; this is the OCPS dialect of the `croner` crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobsConfig {
    /// Concurrent workers per process running the `worker` role. Default 2.
    pub workers: usize,
    /// How often an idle worker looks for due jobs. Default 500 ms.
    pub poll_interval_ms: u64,
    /// How long a claimed job stays locked without a heartbeat. Default 60 s.
    pub lease_secs: u64,
    /// Attempts before a job is marked failed. Default 3.
    pub default_max_attempts: u32,
    /// Per-attempt time limit. Default 300 s.
    pub default_timeout_secs: u64,
    /// Job kind → cron expression. Default `{"db.housekeeping": "0 */15 * * * *"}`.
    pub schedules: BTreeMap<String, String>,
    /// Finished jobs and scheduler leases older than this are deleted. Default 14 days.
    pub retention_days: u32,
    /// First retry delay; doubles with every attempt (with jitter). Default 1000 ms.
    pub retry_base_ms: u64,
    /// Upper bound of a retry delay. Default 3600 s.
    pub retry_max_secs: u64,
    /// On shutdown, how long a running job may finish before it is cancelled. Default 25 s.
    pub shutdown_grace_secs: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        let mut schedules = BTreeMap::new();
        schedules.insert(
            crate::jobs::HOUSEKEEPING_KIND.to_owned(),
            "0 */15 * * * *".to_owned(),
        );
        JobsConfig {
            workers: 2,
            poll_interval_ms: 500,
            lease_secs: 60,
            default_max_attempts: 3,
            default_timeout_secs: 300,
            schedules,
            retention_days: 14,
            retry_base_ms: 1000,
            retry_max_secs: 3600,
            shutdown_grace_secs: 25,
        }
    }
}

/// Which transport carries domain events between processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventBackend {
    /// One process: a broadcast channel.
    #[default]
    InProcess,
    /// PostgreSQL LISTEN/NOTIFY on the application database.
    Postgres,
    /// Redis PUBLISH/SUBSCRIBE.
    Redis,
}

/// The event bus.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventsConfig {
    /// `in_process` (default), `postgres` or `redis`.
    pub backend: EventBackend,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_url_hides_only_the_password() {
        let cases = [
            (
                "postgres://kiki:s3cret@db:5432/kiki",
                "postgres://kiki:***@db:5432/kiki",
            ),
            ("postgres://kiki@db/kiki", "postgres://kiki@db/kiki"),
            ("sqlite://data/kiki.db", "sqlite://data/kiki.db"),
            ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
            ("postgres://u:p@h/db?x=a@b", "postgres://u:***@h/db?x=a@b"),
            ("not a url", "not a url"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_url(input), expected, "for {input}");
        }
    }

    #[test]
    fn defaults_match_the_documented_values_and_fill_missing_fields() {
        let db: DatabaseConfig = serde_json::from_str(r#"{"max_connections": 7}"#).unwrap();
        assert_eq!(db.max_connections, 7);
        assert_eq!(db.url, "sqlite://data/kiki.db");
        assert_eq!(db.slow_query_ms, 500);
        let jobs = JobsConfig::default();
        assert_eq!(jobs.schedules["db.housekeeping"], "0 */15 * * * *");
        assert_eq!(
            (jobs.workers, jobs.lease_secs, jobs.retention_days),
            (2, 60, 14)
        );
        let ev: EventsConfig = serde_json::from_str(r#"{"backend": "postgres"}"#).unwrap();
        assert_eq!(ev.backend, EventBackend::Postgres);
        assert_eq!(CacheConfig::default().default_ttl_secs, 300);
    }

    #[test]
    fn redis_url_is_never_serialised() {
        let cfg: RedisConfig = serde_json::from_str(r#"{"url": "redis://:pw@h:6379"}"#).unwrap();
        let out = serde_json::to_string(&cfg).unwrap();
        assert!(!out.contains("pw"), "{out}");
    }
}
