//! The `kiki` binary: a thin layer that parses arguments, loads the
//! configuration and calls into the crates. `kiki serve` with no
//! configuration starts every role on 127.0.0.1:8080 with an SQLite file
//! under `./data/`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use kiki_server::{Application, Config};

mod lift;
mod ltv;

/// mimalloc: the bid path allocates per request (parsed arrays, the response,
/// notice URLs); mimalloc's thread-local free lists make those cheaper than
/// glibc's malloc (measured in docs/benchmarks.md, "HTTP load").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "kiki",
    version,
    about = "KIKI — outcome-based ad revenue engine"
)]
struct Cli {
    /// Configuration file (default: ./kiki.toml when present).
    #[arg(long, global = true, env = "KIKI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Roles to run: `all`, or a comma list of api, bidder, worker.
        #[arg(long, conflicts_with = "demo")]
        roles: Option<String>,
        /// Development only: seed (once) the demo agency, its two client
        /// shops and 90 days of campaigns on the sandbox markets, print the
        /// demo sign-in and keep the market running. Uses
        /// data/kiki-demo.db unless `database.url` is set.
        #[arg(long)]
        demo: bool,
    },
    /// The live demo (development only).
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Write a backup of the database with its checksum manifest
    /// (SQLite: a consistent copy; PostgreSQL: pg_dump), keeping the newest
    /// `backup.keep`.
    Backup,
    /// Restore a backup into an empty database and verify every table
    /// against its manifest.
    Restore {
        /// The backup's manifest (`kiki-backup-<time>.json`).
        manifest: std::path::PathBuf,
        /// Database to restore into (default: database.url); it must be empty.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        /// Database to migrate (default: database.url from the configuration).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the version.
    Version,
    /// Administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Field-encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the OpenAPI document of this build (as `/openapi.json` serves
    /// it), built on a temporary database; docs/openapi.json is this output.
    Openapi,
    /// Print the catalogue of events the modules publish (Markdown, as in
    /// docs/events.md).
    Events,
    /// Customer lifetime value, offline (no database, no server).
    Ltv {
        #[command(subcommand)]
        command: ltv::LtvCommand,
    },
    /// Incrementality, offline (no database, no server): analyse a geo test
    /// or design one before spend.
    Lift {
        #[command(subcommand)]
        command: lift::LiftCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a platform administrator who owns a new agency organisation.
    Create {
        #[arg(long)]
        email: String,
        /// Name of the organisation created for them.
        #[arg(long, default_value = "Default organisation")]
        org: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Delete the demo's SQLite database and seed the demo again (stop
    /// `kiki serve --demo` first).
    Reset,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chains; exit 1 and name the first broken link if one is broken.
    Verify {
        /// Only this organisation's chain (default: every chain).
        #[arg(long)]
        org: Option<uuid::Uuid>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Re-encrypt every encrypted field under `encryption.current_key` (resumable, in batches).
    Rotate {
        /// Rows per transaction.
        #[arg(long, default_value_t = 500)]
        batch: u32,
    },
    /// Count encrypted values per key id.
    Status,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (secrets as ***) and exit non-zero if it is invalid.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(cli: &Cli) -> anyhow::Result<Config> {
    Ok(Config::load(cli.config.as_deref())?)
}

/// Every encrypted column of the platform (each crate lists its own).
fn encrypted_columns() -> Vec<kiki_shield::EncryptedColumn> {
    kiki_server::app::encrypted_columns(&kiki_cli::modules())
}

/// The platform (its database migrated) and the identity service, for admin commands.
async fn open_identity(
    cfg: &Config,
) -> anyhow::Result<(kiki_server::Platform, kiki_identity::Identity)> {
    let platform = kiki_server::app::open_platform(cfg).await?;
    let identity = kiki_server::app::build_identity(cfg, &platform)?;
    Ok((platform, identity))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Ltv { command } => Ok(ltv::run(command)),
        Command::Lift { command } => Ok(lift::run(command)),
        Command::Version => {
            println!("kiki {}", kiki_server::VERSION);
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            let doc = runtime()?.block_on(openapi_document(load(&cli)?))?;
            write_out(&format!("{doc}\n"))
        }
        Command::Events => write_out(&events_catalogue()),
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            let cfg = load(&cli)?;
            let registry = kiki_server::app::config_registry(&kiki_cli::modules());
            print!("{}", cfg.redacted_toml_with(&registry));
            match cfg.validate_with(&registry) {
                Ok(()) => {
                    eprintln!("configuration is valid");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Backup => {
            let cfg = load(&cli)?;
            let _telemetry = kiki_server::telemetry::init(&cfg.log, &cfg.telemetry)?;
            runtime()?.block_on(async {
                let mut db_cfg = cfg.database.clone();
                db_cfg.run_migrations = false;
                let db = kiki_store::Db::connect(&db_cfg).await?;
                let (path, m) = kiki_store::backup::backup(
                    &db,
                    &db_cfg,
                    &cfg.backup,
                    time::OffsetDateTime::now_utc(),
                )
                .await?;
                db.close().await;
                println!(
                    "backup of {} written: {} ({} bytes, SHA-256 {}), {} tables, {} rows; manifest {}",
                    cfg.database.redacted_url(),
                    m.file,
                    m.bytes,
                    m.sha256,
                    m.tables.len(),
                    m.tables.values().map(|t| t.rows).sum::<u64>(),
                    path.display()
                );
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore {
            manifest,
            database_url,
        } => {
            let mut cfg = load(&cli)?;
            if let Some(url) = database_url {
                cfg.database.url = url.clone();
            }
            let _telemetry = kiki_server::telemetry::init(&cfg.log, &cfg.telemetry)?;
            runtime()?.block_on(async {
                let r = kiki_store::backup::restore(manifest, &cfg.database, &cfg.backup).await?;
                println!(
                    "restored into {} and verified: {} tables, {} rows match the manifest",
                    cfg.database.redacted_url(),
                    r.tables,
                    r.rows
                );
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { database_url } => {
            let mut cfg = load(&cli)?;
            if let Some(url) = database_url {
                cfg.database.url = url.clone();
            }
            let _telemetry = kiki_server::telemetry::init(&cfg.log, &cfg.telemetry)?;
            runtime()?.block_on(async {
                let db = kiki_store::Db::connect(&cfg.database).await?;
                db.migrate().await?;
                db.close().await;
                println!("migrations applied to {}", cfg.database.redacted_url());
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    org,
                    password_stdin,
                },
        } => {
            let cfg = load(&cli)?;
            let password = if *password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                let p = rpassword::prompt_password("Password (at least 12 characters): ")?;
                let again = rpassword::prompt_password("Repeat the password: ")?;
                if p != again {
                    anyhow::bail!("the passwords differ");
                }
                p
            };
            runtime()?.block_on(async {
                let (platform, identity) = open_identity(&cfg).await?;
                let result = identity.create_admin(email, &password, org).await;
                platform.db.close().await;
                let (user, org) = result.map_err(|e| anyhow::anyhow!("{e}"))?;
                println!(
                    "created administrator {email} (user {}) owning organisation {}",
                    user.0, org.0
                );
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { org },
        } => {
            let cfg = load(&cli)?;
            runtime()?.block_on(async {
                let (platform, _) = open_identity(&cfg).await?;
                let reports = match org {
                    Some(o) => vec![platform.audit.verify(Some(kiki_core::OrgId(*o))).await?],
                    None => platform.audit.verify_all().await?,
                };
                platform.db.close().await;
                let mut broken = 0;
                for r in &reports {
                    let chain = r
                        .org_id
                        .map(|o| o.0.to_string())
                        .unwrap_or_else(|| "platform".into());
                    match &r.first_broken {
                        None => println!("ok      {chain}: {} entries", r.entries_checked),
                        Some(b) => {
                            broken += 1;
                            println!(
                                "BROKEN  {chain}: at seq {} ({}): {}",
                                b.seq, b.reason, b.message
                            );
                        }
                    }
                }
                if reports.is_empty() {
                    println!("no audit entries yet");
                }
                Ok::<_, anyhow::Error>(if broken == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            })
        }
        Command::Keys { command } => {
            let cfg = load(&cli)?;
            runtime()?.block_on(async {
                let (platform, _) = open_identity(&cfg).await?;
                let db = platform.db.clone();
                let keyring = &platform.keyring;
                let columns = encrypted_columns();
                match command {
                    KeysCommand::Status => {
                        let usage = kiki_shield::key_usage(&db, &columns).await?;
                        println!("current key: {}", keyring.current_kid());
                        if usage.is_empty() {
                            println!("no encrypted values");
                        }
                        for (kid, n) in usage {
                            println!("{kid}: {n} values");
                        }
                    }
                    KeysCommand::Rotate { batch } => {
                        let bar = indicatif::ProgressBar::new_spinner();
                        bar.set_style(
                            indicatif::ProgressStyle::with_template("{spinner} {msg}")
                                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                        );
                        let mut progress = |c: &kiki_shield::ColumnRotation| {
                            bar.set_message(format!(
                                "{}.{}: {} scanned, {} re-encrypted",
                                c.table, c.column, c.scanned, c.rotated
                            ));
                            bar.tick();
                        };
                        let report = kiki_shield::rotate(
                            &db,
                            keyring,
                            &columns,
                            (*batch).max(1),
                            &mut progress,
                        )
                        .await?;
                        bar.finish_and_clear();
                        for c in &report.columns {
                            println!(
                                "{}.{}: {} scanned, {} re-encrypted to {}, {} already current",
                                c.table,
                                c.column,
                                c.scanned,
                                c.rotated,
                                keyring.current_kid(),
                                c.already_current
                            );
                        }
                    }
                }
                db.close().await;
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            command: DemoCommand::Reset,
        } => demo_reset(load(&cli)?),
        Command::Serve { roles, demo } => {
            let mut cfg = load(&cli)?;
            if let Some(r) = roles {
                cfg.roles = r.clone();
            }
            if *demo {
                kiki_cli::demo::configure(&mut cfg)?;
            }
            cfg.validate_with(&kiki_server::app::config_registry(&kiki_cli::modules()))?;
            let mut telemetry = kiki_server::telemetry::init(&cfg.log, &cfg.telemetry)?;
            // Panics and 5xx causes to a Sentry-compatible endpoint, when a DSN is set.
            let errors = kiki_server::error_tracking::init(&cfg)?;
            let demo_clock = Arc::new(kiki_cli::demo::DemoClock::new());
            let result = runtime()?.block_on(async {
                let app = Application::build_with(
                    cfg,
                    kiki_server::BuildOptions {
                        modules: kiki_cli::modules(),
                        clock: demo.then(|| demo_clock.clone() as Arc<dyn kiki_core::Clock>),
                        ..Default::default()
                    },
                )
                .await?;
                let addr = app.local_addr();
                if *demo {
                    let started = std::time::Instant::now();
                    let seeded = kiki_cli::demo::seed(app.state(), &demo_clock).await?;
                    tracing::info!(
                        duration_ms = started.elapsed().as_millis() as u64,
                        "demo ready"
                    );
                    print!(
                        "{}",
                        kiki_cli::demo::banner(&format!("http://{addr}"), &seeded)
                    );
                }
                tracing::info!(%addr, roles = %app.state().roles, "listening");
                println!("KIKI is listening on http://{addr}  (docs: http://{addr}/docs)");
                if let Some(x) = app
                    .state()
                    .services
                    .get::<kiki_bidder_service::openrtb::listener::ExchangeAddress>()
                {
                    println!(
                        "Exchanges: http://{}/openrtb2/bid (the bidder's exchange listener)",
                        x.0
                    );
                }
                app.run_until(kiki_server::shutdown_signal()).await
            });
            if let Some(errors) = errors {
                errors.shutdown();
            }
            telemetry.shutdown();
            result?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `kiki demo reset`: deletes the demo's SQLite database and seeds the
/// demo again on a fresh one, without serving (on a free port, so a
/// configured address in use by another program does not stop it).
fn demo_reset(mut cfg: Config) -> anyhow::Result<ExitCode> {
    kiki_cli::demo::configure(&mut cfg)?;
    cfg.validate_with(&kiki_server::app::config_registry(&kiki_cli::modules()))?;
    if std::net::TcpListener::bind(&cfg.http.bind).is_err() {
        anyhow::bail!(
            "something listens on {}: stop `kiki serve --demo` first (the reset deletes the database under it)",
            cfg.http.bind
        );
    }
    let mut telemetry = kiki_server::telemetry::init(&cfg.log, &cfg.telemetry)?;
    let deleted = kiki_cli::demo::delete_database(&cfg)?;
    println!("deleted the demo database {}", deleted.display());
    cfg.http.bind = "127.0.0.1:0".into();
    let clock = Arc::new(kiki_cli::demo::DemoClock::new());
    let result = runtime()?.block_on(async {
        let app = Application::build_with(
            cfg,
            kiki_server::BuildOptions {
                modules: kiki_cli::modules(),
                clock: Some(clock.clone()),
                ..Default::default()
            },
        )
        .await?;
        let seeded = kiki_cli::demo::seed(app.state(), &clock).await;
        app.run_until(std::future::ready(())).await?;
        seeded
    });
    telemetry.shutdown();
    if let kiki_cli::demo::Seeded::Now(r) = result? {
        for c in &r.clients {
            println!(
                "{}: {} live campaigns on {} platforms, {} metric rows, LTV model v{}, approval {} pending",
                c.name,
                c.live_campaigns.len(),
                c.platforms.len(),
                c.metric_rows,
                c.ltv_model_version,
                c.pending_approval
            );
        }
    }
    println!("the demo is seeded afresh; start it with `kiki serve --demo`");
    Ok(ExitCode::SUCCESS)
}

/// The API document of every module `kiki serve` mounts, pretty-printed:
/// the application is built with the `api` role on a temporary SQLite file
/// (so no real database is touched), never served.
async fn openapi_document(mut cfg: Config) -> anyhow::Result<String> {
    let dir = std::env::temp_dir().join(format!("kiki-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    cfg.database.url = format!("sqlite://{}/openapi.db", dir.display());
    cfg.database.run_migrations = true;
    cfg.redis.url = None;
    cfg.roles = "api".into();
    cfg.http.bind = "127.0.0.1:0".into();
    let built = Application::build_with(
        cfg,
        kiki_server::BuildOptions {
            modules: kiki_cli::modules(),
            ..Default::default()
        },
    )
    .await;
    // The application is dropped unserved; its background tasks end with the runtime.
    let doc = built.map(|app| app.openapi().cloned().unwrap_or_default());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(serde_json::to_string_pretty(&doc?)?)
}

/// Writes a document to standard output; a reader that stops early (`| head`)
/// is not an error.
fn write_out(text: &str) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}

/// The event catalogue of every module `kiki serve` mounts.
fn events_catalogue() -> String {
    let mut specs = kiki_server::app::event_catalogue(&kiki_cli::modules());
    for s in &mut specs {
        kiki_server::openapi::standard_schema(&mut s.schema);
        for (_, schema) in &mut s.referenced {
            kiki_server::openapi::standard_schema(schema);
        }
    }
    kiki_store::catalogue_markdown(&specs)
}

#[cfg(test)]
mod tests {
    /// docs/events.md is the generated catalogue; `KIKI_BLESS=1` rewrites it.
    #[test]
    fn the_events_document_is_the_generated_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md");
        let generated = super::events_catalogue();
        if std::env::var_os("KIKI_BLESS").is_some() {
            std::fs::write(path, &generated).expect("docs/events.md is writable");
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "docs/events.md differs from the modules' event declarations; run `KIKI_BLESS=1 cargo test -p kiki-cli events` and review the diff"
        );
        for kind in [
            "bidder.line_items_changed",
            "bidder.segments_changed",
            "twin.rebalanced",
            "twin.rollback_recommended",
        ] {
            assert!(
                generated.contains(&format!("## `{kind}`")),
                "{kind} missing"
            );
        }
    }

    /// docs/openapi.json is the contract this build serves: a change to any
    /// route, schema or status shows as a reviewed diff of that file
    /// (`KIKI_BLESS=1` rewrites it).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_openapi_document_is_the_reviewed_snapshot() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let generated = super::openapi_document(kiki_server::Config::default())
            .await
            .expect("the document builds")
            + "\n";
        if std::env::var_os("KIKI_BLESS").is_some() {
            std::fs::write(path, &generated).expect("docs/openapi.json is writable");
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
        assert!(
            doc["paths"]["/v1/auth/token"].is_object(),
            "identity routes are in the document"
        );
        assert!(
            doc["paths"]["/openrtb2/bid"].is_object(),
            "the OpenRTB routes are in the document"
        );
        let mut dangling = Vec::new();
        dangling_refs(&doc, &doc, &mut dangling);
        assert!(
            dangling.is_empty(),
            "references to schemas the document lacks: {dangling:?}"
        );
        assert!(
            on_disk == generated,
            "docs/openapi.json differs from the contract this build serves; run `KIKI_BLESS=1 cargo test -p kiki-cli openapi` and review the diff"
        );
    }

    /// Every `$ref` that names no component of `doc`.
    fn dangling_refs(doc: &serde_json::Value, v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(|r| r.as_str()) {
                    let found = r
                        .strip_prefix("#/")
                        .map(|p| doc.pointer(&format!("/{p}")).is_some())
                        .unwrap_or(false);
                    if !found {
                        out.push(r.to_owned());
                    }
                }
                o.values().for_each(|c| dangling_refs(doc, c, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|c| dangling_refs(doc, c, out)),
            _ => {}
        }
    }
}
