//! The analytics benchmark's data (docs/benchmarks.md, "Analytics"): `--orgs`
//! organisations (default 100) with `--campaigns` campaigns between them
//! (default 20,000) and `--days` daily campaign rows each (default 500, so
//! 10 M rows), written through `AnalyticsService::record_daily` — the port
//! the metrics sync's ingest job uses, which keeps the daily totals roll-up
//! and drops cached answers — and timed.
//!
//! Organisation 0 is the large one: it holds `--large-campaigns` campaigns
//! (default 2,000, so 1 M rows over 500 days), the subject of the streamed
//! CSV export; the others share the rest. Every tenth organisation reports
//! in EUR, the others in USD. Each campaign runs on one of six platforms.
//! The numbers are a deterministic function of `--seed`, campaign and day
//! (a CPM, CTR, CVR and order value per campaign, a weekly rhythm, noise,
//! and about 3 % of days without delivery): the same arguments write the
//! same rows.
//!
//! `--baseline-rows N` (default 200,000) also measures the roll-up's cost:
//! N rows of a scratch organisation written the same way, then the same rows
//! written into `analytics_daily` alone (delete the days, insert, in one
//! transaction per chunk — what the ingest would do without maintaining the
//! totals or the cache), both timed, in three alternating rounds (medians
//! reported); the scratch organisation's rows are then removed again.
//!
//! ```sh
//! cargo run --release -p kiki-analytics-service --example analytics_seed -- \
//!     --database-url URL --out bench/out/analytics/seed.json \
//!     [--orgs 100] [--campaigns 20000] [--large-campaigns 2000] [--days 500] \
//!     [--until 2026-12-06] [--seed 42] [--concurrency 2] [--baseline-rows 200000]
//! ```
//!
//! Each organisation's owner is `bench-<i>@kiki.local` with the password
//! printed in the output file, which also lists the organisation ids, the
//! first and last day and the figures; progress goes to stderr.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use kiki_analytics::Period;
use kiki_analytics_service::AnalyticsService;
use kiki_analytics_service::domain::{DailyRow, Level};
use kiki_core::{Currency, Money, OrgId, TenantScope};
use kiki_server::{Application, BuildOptions, Config};
use kiki_store::Db;
use sea_query::{Alias, Expr, ExprTrait, Query};
use serde_json::json;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

const PLATFORMS: [&str; 6] = [
    "meta",
    "google",
    "tiktok",
    "linkedin",
    "amazon",
    "microsoft",
];
/// The password of every benchmark owner.
pub const PASSWORD: &str = "analytics benchmark passphrase 2026";
/// Days written per `record_daily` call.
const CHUNK_DAYS: i64 = 50;

struct Args {
    database_url: String,
    out: String,
    orgs: usize,
    campaigns: usize,
    large_campaigns: usize,
    days: i64,
    until: Date,
    seed: u64,
    concurrency: usize,
    baseline_rows: usize,
}

fn args() -> anyhow::Result<Args> {
    let yesterday = OffsetDateTime::now_utc().date() - Duration::days(1);
    let mut a = Args {
        database_url: String::new(),
        out: "bench/out/analytics/seed.json".into(),
        orgs: 100,
        campaigns: 20_000,
        large_campaigns: 2_000,
        days: 500,
        until: yesterday,
        seed: 42,
        concurrency: 2,
        baseline_rows: 200_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--database-url" => a.database_url = value()?,
            "--out" => a.out = value()?,
            "--orgs" => a.orgs = value()?.parse().context("--orgs")?,
            "--campaigns" => a.campaigns = value()?.parse().context("--campaigns")?,
            "--large-campaigns" => {
                a.large_campaigns = value()?.parse().context("--large-campaigns")?
            }
            "--days" => a.days = value()?.parse().context("--days")?,
            "--until" => {
                let v = value()?;
                a.until = Date::parse(
                    &v,
                    time::macros::format_description!("[year]-[month]-[day]"),
                )
                .with_context(|| format!("--until {v}: a day such as 2026-12-06"))?
            }
            "--seed" => a.seed = value()?.parse().context("--seed")?,
            "--concurrency" => a.concurrency = value()?.parse().context("--concurrency")?,
            "--baseline-rows" => a.baseline_rows = value()?.parse().context("--baseline-rows")?,
            "-h" | "--help" => {
                println!(
                    "analytics_seed --database-url URL [--out FILE] [--orgs N] [--campaigns N] \
                     [--large-campaigns N] [--days D] [--until YYYY-MM-DD] [--seed S] \
                     [--concurrency C] [--baseline-rows N]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}` (see --help)"),
        }
    }
    if a.database_url.is_empty() {
        bail!("--database-url is required");
    }
    if a.orgs < 2 || a.large_campaigns == 0 || a.campaigns < a.large_campaigns + a.orgs - 1 {
        bail!("need at least 2 organisations and one campaign for each beyond the large one's");
    }
    if !(1..=3660).contains(&a.days) || a.concurrency == 0 {
        bail!("--days must be 1 to 3660 and --concurrency at least 1");
    }
    Ok(a)
}

/// SplitMix64: a small, well-mixed deterministic generator.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) from a key.
fn unit(key: u64) -> f64 {
    (mix(key) >> 11) as f64 / (1u64 << 53) as f64
}

/// One campaign's economics, fixed per seed and campaign.
#[derive(Clone)]
struct Campaign {
    id: Uuid,
    external_id: String,
    platform: &'static str,
    key: u64,
    daily_spend: f64,
    cpm: f64,
    ctr: f64,
    cvr: f64,
    order_value: f64,
}

fn campaign(seed: u64, k: u64) -> Campaign {
    let key = mix(seed ^ mix(k));
    let platform = PLATFORMS[(mix(key ^ 1) % PLATFORMS.len() as u64) as usize];
    Campaign {
        id: Uuid::from_u64_pair(seed, k),
        external_id: format!("{platform}-{k}"),
        platform,
        key,
        daily_spend: 5.0 + 495.0 * unit(key ^ 2).powi(2),
        cpm: 2.0 + 18.0 * unit(key ^ 3),
        ctr: 0.004 + 0.026 * unit(key ^ 4),
        cvr: 0.005 + 0.06 * unit(key ^ 5),
        order_value: 20.0 + 180.0 * unit(key ^ 6),
    }
}

/// The campaign's row on `day` (index `d` from the first day).
fn row(c: &Campaign, day: Date, d: i64, currency: Currency) -> DailyRow {
    let k = mix(c.key ^ (d as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let delivered = unit(k) >= 0.03;
    let weekday = 1.0 + 0.15 * ((day.weekday().number_days_from_monday() as f64) - 3.0) / 3.0;
    let noise = 0.7 + 0.6 * unit(k ^ 7);
    let spend = if delivered {
        c.daily_spend * weekday * noise
    } else {
        0.0
    };
    let impressions = (spend / c.cpm * 1000.0).round();
    let clicks = (impressions * c.ctr * (0.8 + 0.4 * unit(k ^ 8))).round();
    let conversions = clicks * c.cvr * (0.7 + 0.6 * unit(k ^ 9));
    let revenue = conversions * c.order_value;
    DailyRow {
        level: Level::Campaign,
        platform: c.platform.to_owned(),
        external_id: c.external_id.clone(),
        day,
        campaign_id: Some(c.id.to_string()),
        ad_set_id: None,
        ad_id: None,
        spend: Money::from_micros((spend * 1e6).round() as i64, currency),
        revenue: Money::from_micros((revenue * 1e6).round() as i64, currency),
        conversions_micros: (conversions * 1e6).round() as i64,
        impressions: impressions as i64,
        clicks: clicks as i64,
    }
}

/// Which campaigns organisation `i` holds: the large one first, the rest
/// shared as evenly as possible.
fn campaigns_of(a: &Args, i: usize) -> std::ops::Range<u64> {
    if i == 0 {
        return 0..a.large_campaigns as u64;
    }
    let rest = (a.campaigns - a.large_campaigns) as u64;
    let others = (a.orgs - 1) as u64;
    let j = (i - 1) as u64;
    let start = a.large_campaigns as u64 + j * rest / others;
    let end = a.large_campaigns as u64 + (j + 1) * rest / others;
    start..end
}

fn currency_of(i: usize) -> Currency {
    if i % 10 == 9 {
        Currency::EUR
    } else {
        Currency::USD
    }
}

/// The rows of some campaigns of one platform over `period`.
fn rows_of(
    camps: &[Campaign],
    platform: &str,
    period: Period,
    first: Date,
    currency: Currency,
) -> Vec<DailyRow> {
    let mut out = Vec::new();
    for c in camps.iter().filter(|c| c.platform == platform) {
        let mut day = period.since;
        while day <= period.until {
            out.push(row(c, day, (day - first).whole_days(), currency));
            day = day.next_day().expect("a calendar day");
        }
    }
    out
}

/// Writes one organisation's rows through `record_daily`, chunk by chunk.
async fn write_org(
    svc: &AnalyticsService,
    org: OrgId,
    camps: &[Campaign],
    first: Date,
    until: Date,
    currency: Currency,
) -> anyhow::Result<u64> {
    let scope = TenantScope::single(org);
    let mut written = 0;
    let mut since = first;
    while since <= until {
        let end = Ord::min(since + Duration::days(CHUNK_DAYS - 1), until);
        let period = Period::new(since, end).map_err(|e| anyhow::anyhow!(e.sentence()))?;
        for p in PLATFORMS {
            let rows = rows_of(camps, p, period, first, currency);
            if rows.is_empty() {
                continue;
            }
            written += svc
                .record_daily(&scope, p, period, &rows)
                .await
                .map_err(|e| anyhow::anyhow!("record_daily: {e}"))?;
        }
        since = end + Duration::days(1);
    }
    Ok(written)
}

/// The same rows into `analytics_daily` alone: what an ingest without the
/// totals roll-up and the cache would write.
async fn write_raw(
    db: &Db,
    org: OrgId,
    camps: &[Campaign],
    first: Date,
    until: Date,
    currency: Currency,
) -> anyhow::Result<u64> {
    let now = OffsetDateTime::now_utc();
    let mut written = 0;
    let mut since = first;
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    while since <= until {
        let end = Ord::min(since + Duration::days(CHUNK_DAYS - 1), until);
        let period = Period::new(since, end).map_err(|e| anyhow::anyhow!(e.sentence()))?;
        for p in PLATFORMS {
            let rows = rows_of(camps, p, period, first, currency);
            if rows.is_empty() {
                continue;
            }
            let mut tx = db.begin().await?;
            let del = Query::delete()
                .from_table(Alias::new("analytics_daily"))
                .and_where(Expr::col(Alias::new("org_id")).eq(org.0))
                .and_where(Expr::col(Alias::new("platform")).eq(p))
                .and_where(Expr::col(Alias::new("day")).gte(since.format(fmt)?))
                .and_where(Expr::col(Alias::new("day")).lte(end.format(fmt)?))
                .to_owned();
            tx.execute(&del).await?;
            for chunk in rows.chunks(500) {
                let mut ins = Query::insert()
                    .into_table(Alias::new("analytics_daily"))
                    .columns(
                        [
                            "org_id",
                            "level",
                            "platform",
                            "external_id",
                            "day",
                            "campaign_id",
                            "ad_set_id",
                            "ad_id",
                            "currency",
                            "spend_micros",
                            "revenue_micros",
                            "conversions_micros",
                            "impressions",
                            "clicks",
                            "updated_at",
                        ]
                        .map(Alias::new),
                    )
                    .to_owned();
                for r in chunk {
                    ins.values_panic([
                        org.0.into(),
                        "campaign".into(),
                        r.platform.clone().into(),
                        r.external_id.clone().into(),
                        r.day.format(fmt)?.into(),
                        r.campaign_id.clone().into(),
                        Option::<String>::None.into(),
                        Option::<String>::None.into(),
                        r.spend.currency.as_str().to_owned().into(),
                        r.spend.micros.into(),
                        r.revenue.micros.into(),
                        r.conversions_micros.into(),
                        r.impressions.into(),
                        r.clicks.into(),
                        now.into(),
                    ]);
                }
                tx.execute(&ins).await?;
                written += chunk.len() as u64;
            }
            tx.commit().await?;
        }
        since = end + Duration::days(1);
    }
    Ok(written)
}

async fn delete_org_rows(db: &Db, org: OrgId) -> anyhow::Result<()> {
    for table in [
        "analytics_daily",
        "analytics_daily_totals",
        "analytics_campaign_spans",
    ] {
        let del = Query::delete()
            .from_table(Alias::new(table))
            .and_where(Expr::col(Alias::new("org_id")).eq(org.0))
            .to_owned();
        db.execute(&del).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let backend = a.database_url.split(':').next().unwrap_or("?").to_owned();
    let mut config = Config::default();
    config.database.url = a.database_url.clone();
    config.roles = "api".into();
    config.bootstrap.demo = Some(false);
    config.log.level = "warn".into();
    // The cache is the server's concern; here every write would only drop it.
    config.set_section("analytics", json!({ "cache_ttl_secs": 0 }));
    let modules: Vec<Arc<dyn kiki_server::Module>> = vec![
        Arc::new(kiki_identity_service::IdentityModule::new()),
        Arc::new(kiki_analytics_service::AnalyticsModule::new()),
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = Application::build_with(
        config,
        BuildOptions {
            listener: Some(listener),
            modules,
            ..Default::default()
        },
    )
    .await
    .context("building the application")?;
    let state = app.state().clone();
    let svc: Arc<AnalyticsService> = state
        .services
        .get::<AnalyticsService>()
        .context("the analytics module is mounted")?;
    let first = a.until - Duration::days(a.days - 1);

    // The organisations and their owners.
    let t = Instant::now();
    let mut orgs = Vec::with_capacity(a.orgs);
    for i in 0..a.orgs {
        let email = format!("bench-{i}@kiki.local");
        let (_, org) = state
            .identity
            .create_admin(&email, PASSWORD, &format!("Analytics benchmark {i:03}"))
            .await
            .with_context(|| format!("creating {email}"))?;
        orgs.push(org);
    }
    eprintln!(
        "{backend}: {} organisations in {:.1} s",
        a.orgs,
        t.elapsed().as_secs_f64()
    );

    // The rows, `concurrency` organisations at a time.
    let t = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let done_rows = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let a = Arc::new(a);
    let orgs = Arc::new(orgs);
    let mut workers = Vec::new();
    for _ in 0..a.concurrency {
        let (svc, next, done_rows, a, orgs) = (
            svc.clone(),
            next.clone(),
            done_rows.clone(),
            a.clone(),
            orgs.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= orgs.len() {
                    return anyhow::Ok(());
                }
                let camps: Vec<Campaign> =
                    campaigns_of(&a, i).map(|k| campaign(a.seed, k)).collect();
                let n = write_org(&svc, orgs[i], &camps, first, a.until, currency_of(i)).await?;
                let total = done_rows.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
                eprintln!(
                    "  org {i:3}: {} campaigns, {n} rows; {total} rows in {:.0} s",
                    camps.len(),
                    t.elapsed().as_secs_f64()
                );
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let seed_s = t.elapsed().as_secs_f64();
    let rows = done_rows.load(std::sync::atomic::Ordering::Relaxed);

    // The roll-up's cost: the same scratch rows with and without it.
    let mut baseline = serde_json::Value::Null;
    if a.baseline_rows > 0 {
        let per_campaign = a.days as usize;
        let n = a.baseline_rows.div_ceil(per_campaign).max(1);
        let camps: Vec<Campaign> = (0..n as u64)
            .map(|k| campaign(a.seed ^ 0xBA5E, k))
            .collect();
        let (_, scratch) = state
            .identity
            .create_admin("bench-scratch@kiki.local", PASSWORD, "Analytics scratch")
            .await?;
        // Alternating rounds, so a change in the machine's load falls on
        // both ways alike; the medians are reported.
        let mut with_s = Vec::new();
        let mut without_s = Vec::new();
        let mut with = 0;
        for _ in 0..3 {
            let t = Instant::now();
            with = write_org(&svc, scratch, &camps, first, a.until, Currency::USD).await?;
            with_s.push(t.elapsed().as_secs_f64());
            delete_org_rows(&state.db, scratch).await?;
            let t = Instant::now();
            write_raw(&state.db, scratch, &camps, first, a.until, Currency::USD).await?;
            without_s.push(t.elapsed().as_secs_f64());
            delete_org_rows(&state.db, scratch).await?;
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (w, wo) = (median(&mut with_s.clone()), median(&mut without_s.clone()));
        baseline = json!({
            "rows": with,
            "rounds_with_rollup_s": with_s.iter().map(|s| round3(*s)).collect::<Vec<_>>(),
            "rounds_without_rollup_s": without_s.iter().map(|s| round3(*s)).collect::<Vec<_>>(),
            "with_rollup_rows_per_s": (with as f64 / w).round(),
            "without_rollup_rows_per_s": (with as f64 / wo).round(),
        });
        eprintln!("roll-up cost: {baseline}");
    }

    let large = campaigns_of(&a, 0);
    let out = json!({
        "database": backend,
        "orgs": orgs.iter().map(|o| o.0.to_string()).collect::<Vec<_>>(),
        "emails": (0..a.orgs).map(|i| format!("bench-{i}@kiki.local")).collect::<Vec<_>>(),
        "password": PASSWORD,
        "large_org": orgs[0].0.to_string(),
        "large_org_rows": (large.end - large.start) as i64 * a.days,
        "campaigns": a.campaigns,
        "days": a.days,
        "since": first.to_string(),
        "until": a.until.to_string(),
        "seed": a.seed,
        "rows": rows,
        "seed_s": round3(seed_s),
        "seed_rows_per_s": (rows as f64 / seed_s).round(),
        "rollup_cost": baseline,
    });
    if let Some(dir) = std::path::Path::new(&a.out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&a.out, serde_json::to_vec_pretty(&out)?)?;
    println!("{out}");
    state.db.close().await;
    Ok(())
}

fn round3(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}
