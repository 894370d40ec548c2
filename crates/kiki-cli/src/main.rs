//! The `kiki` binary: a thin layer that parses arguments, loads the
//! configuration and calls into the crates. `kiki serve` with no
//! configuration starts every role on 127.0.0.1:8080 with an SQLite file
//! under `./data/`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kiki_server::{Application, Config};

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
        #[arg(long)]
        roles: Option<String>,
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Version => {
            println!("kiki {}", kiki_server::VERSION);
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            let cfg = load(&cli)?;
            print!("{}", cfg.redacted_toml());
            match cfg.validate() {
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
        Command::Serve { roles } => {
            let mut cfg = load(&cli)?;
            if let Some(r) = roles {
                cfg.roles = r.clone();
            }
            cfg.validate()?;
            let mut telemetry = kiki_server::telemetry::init(&cfg.log, &cfg.telemetry)?;
            let result = runtime()?.block_on(async {
                let app = Application::build(cfg).await?;
                let addr = app.local_addr();
                tracing::info!(%addr, roles = %app.state().roles, "listening");
                println!("KIKI is listening on http://{addr}  (docs: http://{addr}/docs)");
                app.run_until(kiki_server::shutdown_signal()).await
            });
            telemetry.shutdown();
            result?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
