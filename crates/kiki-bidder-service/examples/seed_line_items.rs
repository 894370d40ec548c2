//! Seeds a database with N workload line items from `kiki_bidder::sim`
//! (1,000: the bidder benchmarks' set), migrating it first, so that a
//! `kiki serve` started on it bids at once. For load scripts.
//! Usage: `seed_line_items sqlite:///tmp/kiki.db 1000`.

use kiki_server::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: seed_line_items DATABASE_URL [N]"))?;
    let n: usize = args.next().unwrap_or_else(|| "1000".into()).parse()?;
    let mut config = Config::default();
    config.database.url = url;
    let db = kiki_store::Db::connect(&config.database).await?;
    if !db.is_migrated() {
        db.migrate().await?;
    }
    let now = time::OffsetDateTime::now_utc();
    let mut tx = db.begin().await?;
    for li in kiki_bidder::sim::workload_line_items(n, 7) {
        kiki_bidder_service::seed_line_item(&mut tx, &li, now).await?;
    }
    tx.commit().await?;
    db.close().await;
    eprintln!("{n} workload line items seeded");
    Ok(())
}
