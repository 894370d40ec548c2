//! The performance sync at scale (docs/benchmarks.md, "Ad platforms"): one
//! organisation with a Google sandbox connection, `--campaigns` campaigns
//! (default 2,000) of one ad set and one ad each, deployed through
//! `PlatformsService::deploy_ad_set` the way the campaigns' channel sync
//! deploys them, with flights that started `--days` days (default 90) before
//! "now"; then one full sync of the connection through
//! `PlatformsService::sync_platform`, the call the sync jobs make, timed.
//!
//! The application is built as `kiki serve` builds it (identity, LTV, the
//! twin and the platforms modules, the platforms wired to the twin and to
//! LTV), without its HTTP server and workers, so nothing else runs during
//! the measurement. Its clock is a test clock: at "now" minus the history
//! while the campaigns are deployed (their ad sets go live that day), then
//! at "now" for the sync, which delivers the sandbox market's days, reads
//! the insights at the three levels, writes the daily metrics, feeds the
//! twin and ingests the sandbox customers' orders as LTV transactions.
//!
//! ```sh
//! cargo run --release --example sync_bench -p kiki-platforms-service -- \
//!     [--database-url URL] [--campaigns N] [--days D]
//! ```
//!
//! Without `--database-url` the database is a fresh SQLite file in a
//! temporary directory (removed after). Progress goes to stderr; the figures
//! are one JSON object on stdout.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context, bail};
use kiki_core::{Currency, OrgId, TenantScope, TestClock};
use kiki_platforms::{
    AdSetSpec, BidStrategy, CampaignSpec, CreativeSpec, DeliveryStatus, Objective, Targeting,
};
use kiki_platforms_service::{AdSetDeployment, DeployOutcome, PlatformsModule, PlatformsService};
use kiki_server::{Application, BuildOptions, Config};
use kiki_shield::Actor;
use kiki_store::Db;
use kiki_twin::{Industry, Platform};
use sea_query::{Alias, Expr, ExprTrait, Query};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// "Now" when the sync runs: a fixed instant, so every run syncs the same
/// market days (06:00 UTC: today is a quarter delivered).
const NOW: OffsetDateTime = datetime!(2026-12-01 06:00 UTC);

struct Args {
    database_url: Option<String>,
    campaigns: usize,
    days: u32,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        database_url: None,
        campaigns: 2_000,
        days: 90,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--database-url" => a.database_url = Some(value()?),
            "--campaigns" => a.campaigns = value()?.parse().context("--campaigns")?,
            "--days" => a.days = value()?.parse().context("--days")?,
            "-h" | "--help" => {
                println!("sync_bench [--database-url URL] [--campaigns N (2000)] [--days D (90)]");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}` (see --help)"),
        }
    }
    if a.campaigns == 0 {
        bail!("--campaigns must be at least 1");
    }
    if !(1..=366).contains(&a.days) {
        bail!("--days must be 1 to 366 (the sync's first window, `platforms.first_sync_days`)");
    }
    Ok(a)
}

/// A field of `/proc/self/status`, KiB.
fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets the process's peak resident size (`VmHWM`) to its current size.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Rows of a table of the organisation, optionally one `level`.
async fn count(db: &Db, table: &str, org: OrgId, level: Option<&str>) -> anyhow::Result<i64> {
    let mut stmt = Query::select()
        .expr(Expr::col(sea_query::Asterisk).count())
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("org_id")).eq(org.0))
        .to_owned();
    if let Some(l) = level {
        stmt.and_where(Expr::col(Alias::new("level")).eq(l));
    }
    let row: (i64,) = db.fetch_one(&stmt).await?;
    Ok(row.0)
}

/// Campaign `k`: one ad set of one approved creative, on Google (where the
/// campaign carries the ad set's budget), budgets spread from $20 to $200 a
/// day, flight from `start`, no end.
fn deployment(k: usize, start: time::Date) -> AdSetDeployment {
    let budget = (20 + (k * 37) % 181) as i64 * 1_000_000;
    let name = format!("Campaign {k:04}");
    AdSetDeployment {
        campaign_id: Uuid::now_v7(),
        campaign: CampaignSpec {
            name: name.clone(),
            objective: Objective::Sales,
            status: DeliveryStatus::Active,
            daily_budget_micros: Some(budget),
            start: Some(start),
            end: None,
        },
        ad_set_id: Uuid::now_v7(),
        ad_set: AdSetSpec {
            name: format!("{name} · Search"),
            status: DeliveryStatus::Active,
            daily_budget_micros: budget,
            bid: BidStrategy::HighestValue,
            targeting: Targeting {
                countries: vec!["US".into()],
                interests: vec![format!("product {k}")],
                ..Targeting::default()
            },
            audience_size: None,
            start: Some(start),
            end: None,
        },
        creatives: vec![CreativeSpec {
            kiki_id: Uuid::now_v7().to_string(),
            name: format!("{name} · creative"),
            headlines: vec![
                format!("Product {k}, delivered tomorrow"),
                "Free returns".into(),
            ],
            descriptions: vec!["Everything for the season, in one shop.".into()],
            primary_text: None,
            call_to_action: Some("Shop now".into()),
            link_url: format!("https://shop.example.com/p/{k}"),
            approved: true,
        }],
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let temp = std::env::temp_dir().join(format!("kiki-sync-bench-{}", Uuid::now_v7()));
    let database_url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            std::fs::create_dir_all(&temp)?;
            format!("sqlite://{}/kiki.db", temp.display())
        }
    };
    let result = run(&args, &database_url).await;
    if args.database_url.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    result
}

async fn run(args: &Args, database_url: &str) -> anyhow::Result<()> {
    let backend = database_url.split(':').next().unwrap_or("?").to_owned();
    let history_start = NOW - Duration::days(i64::from(args.days));
    let clock = TestClock::at(history_start);

    let t_build = Instant::now();
    let mut config = Config::default();
    config.database.url = database_url.to_owned();
    // No HTTP server, workers or schedules: only the measured calls run.
    config.roles = "api".into();
    config.bootstrap.demo = Some(false);
    config.log.level = "warn".into();
    config.set_section("platforms", json!({ "first_sync_days": args.days }));
    let modules: Vec<Arc<dyn kiki_server::Module>> = vec![
        Arc::new(kiki_identity_service::IdentityModule::new()),
        Arc::new(kiki_ltv_service::LtvModule::new()),
        Arc::new(kiki_twin_service::TwinModule::new().with_ltv_module()),
        Arc::new(PlatformsModule::new().with_twin_module().with_ltv_module()),
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = Application::build_with(
        config,
        BuildOptions {
            clock: Some(Arc::new(clock.clone())),
            listener: Some(listener),
            modules,
            ..Default::default()
        },
    )
    .await
    .context("building the application")?;
    let state = app.state().clone();
    let svc: Arc<PlatformsService> = state
        .services
        .get::<PlatformsService>()
        .context("the platforms module is mounted")?;
    let build_s = t_build.elapsed().as_secs_f64();

    // The organisation and its Google sandbox connection.
    let t_setup = Instant::now();
    let (_, org) = state
        .identity
        .create_admin(
            "sync-bench@kiki.local",
            "a long benchmark passphrase 2026",
            "Sync benchmark shop",
        )
        .await
        .context("creating the organisation")?;
    let scope = TenantScope::single(org);
    svc.connect_sandbox(
        &scope,
        Actor::System("sync-bench".into()),
        None,
        Platform::Google,
        Industry::Ecommerce,
        Currency::USD,
    )
    .await
    .context("connecting the Google sandbox")?;
    let mut last_report = Instant::now();
    for k in 0..args.campaigns {
        let d = deployment(k, history_start.date());
        match svc
            .deploy_ad_set(&scope, Platform::Google, &d)
            .await
            .with_context(|| format!("deploying campaign {k}"))?
        {
            DeployOutcome::Deployed { ads: 1, .. } => {}
            other => bail!("campaign {k} did not deploy with one ad: {other:?}"),
        }
        if last_report.elapsed() > StdDuration::from_secs(10) {
            eprintln!(
                "  deployed {}/{} campaigns ({:.0} s)",
                k + 1,
                args.campaigns,
                t_setup.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    let setup_s = t_setup.elapsed().as_secs_f64();
    let setup_peak_kib = status_kib("VmHWM:");
    eprintln!(
        "{backend}: {} campaigns deployed in {setup_s:.1} s; syncing {} days",
        args.campaigns, args.days
    );

    // "Now": the days since the flights started are over; one full sync.
    clock.set(NOW);
    let peak_reset = reset_peak();
    let rss_before_kib = status_kib("VmRSS:");
    let t_sync = Instant::now();
    let run = svc
        .sync_platform(&scope, Platform::Google, "manual")
        .await
        .context("syncing")?;
    let sync_s = t_sync.elapsed().as_secs_f64();
    let sync_peak_kib = status_kib("VmHWM:");
    if run.status.as_str() != "succeeded" {
        bail!("the sync did not succeed: {:?}", run.error);
    }

    let db = &state.db;
    let campaign_rows = count(db, "platform_daily_metrics", org, Some("campaign")).await?;
    let ad_set_rows = count(db, "platform_daily_metrics", org, Some("ad_set")).await?;
    let ad_rows = count(db, "platform_daily_metrics", org, Some("ad")).await?;
    let metric_rows = campaign_rows + ad_set_rows + ad_rows;
    let market_days = count(db, "sandbox_days", org, None).await?;
    let twin_rows = count(db, "twin_daily_performance", org, None).await?;
    let transactions = count(db, "ltv_transactions", org, None).await?;
    if metric_rows != run.rows_upserted {
        bail!(
            "the run says {} rows, the table holds {metric_rows}",
            run.rows_upserted
        );
    }
    let out = json!({
        "database": backend,
        "campaigns": args.campaigns,
        "days": args.days,
        "since": run.since,
        "until": run.until,
        "build_s": round3(build_s),
        "setup_s": round3(setup_s),
        "sync_s": round3(sync_s),
        "metric_rows": metric_rows,
        "metric_rows_by_level": {
            "campaign": campaign_rows, "ad_set": ad_set_rows, "ad": ad_rows,
        },
        "metric_rows_per_s": (metric_rows as f64 / sync_s).round(),
        "market_days_delivered": market_days,
        "twin_rows": twin_rows,
        "ltv_transactions": transactions,
        "all_rows_per_s": ((metric_rows + market_days + twin_rows + transactions) as f64 / sync_s).round(),
        "rss_before_sync_mib": rss_before_kib.map(mib),
        "peak_rss_sync_mib": if peak_reset { sync_peak_kib.map(mib) } else { None },
        "peak_rss_process_mib": Ord::max(setup_peak_kib, sync_peak_kib).map(mib),
    });
    println!("{out}");
    state.db.close().await;
    Ok(())
}

fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

fn round3(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}
