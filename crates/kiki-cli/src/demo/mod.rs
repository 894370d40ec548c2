//! The live demo (development only): `kiki serve --demo` seeds, once, a
//! demo agency with two client shops running campaigns on the sandbox
//! markets with 90 days of history, prints the demo sign-in and keeps the
//! market running; `kiki demo reset` starts the demo database afresh.
//!
//! - `mod.rs`: the demo's configuration (set in [`configure`], the one place
//!   the demo changes settings), the production refusal, the database file.
//! - `clock.rs`: the clock the history is written on ([`DemoClock`]).
//! - `data.rs`: the clients, their platforms and campaigns.
//! - `seed.rs`: seeding through the services ([`seed()`]).

pub mod clock;
mod data;
pub mod seed;

use std::path::PathBuf;

use anyhow::bail;
use kiki_server::Config;

pub use clock::DemoClock;
pub use seed::{DemoReport, Seeded, seed};

/// Days of history the demo's campaigns have run when it starts.
pub const HISTORY_DAYS: i64 = 90;
/// Where the demo keeps its data when `database.url` is left at its
/// default: a file of its own, so the demo never mixes with a development
/// database and `kiki demo reset` may delete it.
pub const DEMO_DATABASE_URL: &str = "sqlite://data/kiki-demo.db";
/// How often the demo syncs the platforms, so new numbers keep arriving
/// while someone watches (the hourly default otherwise).
pub const DEMO_SYNC_SCHEDULE: &str = "*/30 * * * * *";

/// Real seconds per simulated day in the demo's sandbox markets: a new
/// day every five minutes, synced about every 75 seconds, so new numbers
/// arrive while someone watches. The market then runs ahead of the
/// calendar (an hour of watching is twelve simulated days).
pub const DEMO_SECONDS_PER_DAY: u32 = 300;

/// Why the demo refuses production.
pub const PRODUCTION_REFUSAL: &str = "The demo is for development only: it signs in with a published password and spends on simulated markets. Unset KIKI__ENV=production (or `env` in the configuration) to run it.";

/// The demo's changes to the loaded configuration, all in one place.
/// Refuses production. Values the operator set explicitly win where it
/// matters: a `database.url` other than the default is used as it is, and
/// a schedule for `platforms.sync_all` is kept.
pub fn configure(cfg: &mut Config) -> anyhow::Result<()> {
    if cfg.is_production() {
        bail!("{PRODUCTION_REFUSAL}");
    }
    // One process: the seeding waits for the workers' jobs.
    cfg.roles = "all".into();
    if cfg.database.url == kiki_store::DatabaseConfig::default().url {
        cfg.database.url = DEMO_DATABASE_URL.into();
    }
    // The seeding creates the demo agency itself, inside the history.
    cfg.bootstrap.demo = Some(false);
    cfg.jobs
        .schedules
        .entry(kiki_platforms_service::jobs::SYNC_ALL_KIND.into())
        .or_insert_with(|| DEMO_SYNC_SCHEDULE.into());
    // Accelerated market time, unless the operator chose a rate.
    let platforms = cfg
        .sections
        .entry("platforms".into())
        .or_insert_with(|| serde_json::json!({}));
    if let Some(section) = platforms.as_object_mut() {
        section
            .entry("sandbox_seconds_per_day")
            .or_insert_with(|| DEMO_SECONDS_PER_DAY.into());
    }
    Ok(())
}

/// The SQLite file (and its `-wal` and `-shm` companions) of a
/// `sqlite://` URL; `None` for PostgreSQL and in-memory databases.
pub fn sqlite_files(url: &str) -> Option<Vec<PathBuf>> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') || path.contains("mode=memory") {
        return None;
    }
    Some(
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| PathBuf::from(format!("{path}{suffix}")))
            .collect(),
    )
}

/// Deletes the demo database (SQLite only) so the next seeding starts from
/// nothing; returns the file deleted. The demo refuses PostgreSQL: its data
/// lives among other tenants' rows there, and KIKI has no organisation
/// erasure yet.
pub fn delete_database(cfg: &Config) -> anyhow::Result<PathBuf> {
    if cfg.is_production() {
        bail!("{PRODUCTION_REFUSAL}");
    }
    let Some(files) = sqlite_files(&cfg.database.url) else {
        bail!(
            "`kiki demo reset` starts the demo's SQLite database afresh; {} is not an SQLite file. Drop and recreate that database yourself, then start `kiki serve --demo`.",
            cfg.database.redacted_url()
        );
    };
    for f in &files {
        match std::fs::remove_file(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => bail!("deleting {}: {e}", f.display()),
        }
    }
    Ok(files[0].clone())
}

/// The lines `kiki serve --demo` prints once the demo answers.
pub fn banner(base_url: &str, seeded: &Seeded) -> String {
    let what = match seeded {
        Seeded::Already { at, .. } => format!(
            "Demo (seeded {}): Demo Agency with Demo Shop and Demo Outdoor Co on the sandbox markets.",
            at.date()
        ),
        Seeded::Now(r) => format!(
            "Demo seeded: Demo Agency with {} client shops, {HISTORY_DAYS} days of campaigns on the sandbox markets.",
            r.clients.len()
        ),
    };
    format!(
        "{what}\nOpen the dashboard at {base_url}/ and sign in (API: {base_url}/v1/auth/token, reference: {base_url}/docs)\n  e-mail:   {}\n  password: {}\n",
        kiki_identity::bootstrap::DEMO_EMAIL,
        kiki_identity::bootstrap::DEMO_PASSWORD
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_uses_a_file_of_its_own_unless_a_database_is_configured() {
        let mut cfg = Config::default();
        configure(&mut cfg).unwrap();
        assert_eq!(cfg.database.url, DEMO_DATABASE_URL);
        assert_eq!(cfg.bootstrap.demo, Some(false));
        assert_eq!(cfg.jobs.schedules["platforms.sync_all"], DEMO_SYNC_SCHEDULE);
        assert_eq!(
            cfg.sections["platforms"]["sandbox_seconds_per_day"],
            DEMO_SECONDS_PER_DAY
        );
        let mut cfg = Config::default();
        cfg.set_section(
            "platforms",
            serde_json::json!({"sandbox_seconds_per_day": 60}),
        );
        cfg.database.url = "postgres://localhost/kiki".into();
        configure(&mut cfg).unwrap();
        assert_eq!(cfg.database.url, "postgres://localhost/kiki");
        assert_eq!(cfg.sections["platforms"]["sandbox_seconds_per_day"], 60);
    }

    #[test]
    fn production_is_refused() {
        let mut cfg = Config {
            env: kiki_server::config::Environment::Production,
            ..Config::default()
        };
        let e = configure(&mut cfg).unwrap_err().to_string();
        assert!(e.contains("development only"), "{e}");
        assert!(delete_database(&cfg).is_err());
    }

    #[test]
    fn sqlite_urls_name_their_files() {
        let f = sqlite_files("sqlite://data/kiki-demo.db").unwrap();
        assert_eq!(f[0], PathBuf::from("data/kiki-demo.db"));
        assert_eq!(f[1], PathBuf::from("data/kiki-demo.db-wal"));
        assert_eq!(
            sqlite_files("sqlite:/tmp/x.db?mode=rwc").unwrap()[0],
            PathBuf::from("/tmp/x.db")
        );
        assert!(sqlite_files("sqlite::memory:").is_none());
        assert!(sqlite_files("postgres://h/db").is_none());
    }
}
