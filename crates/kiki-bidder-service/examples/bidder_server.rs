//! The bidder under load: the real application (`kiki serve --roles bidder`
//! with only the bidder module) on a fresh SQLite file seeded with N workload
//! line items from `kiki_bidder::sim`, exchanges allowed from 127.0.0.1.
//! The OpenRTB endpoints answer on the API router (first address, under the
//! edge stack; its rate limit is off here, as a load from one address would
//! otherwise be refused) and on the exchange listener (fourth argument,
//! `bidder.exchange_listen`, the address exchanges use in production).
//! Usage: `bidder_server 127.0.0.1:9300 1000 /tmp/kiki-bench.db 127.0.0.1:9301`.

/// The allocator `kiki serve` uses, so the measurement is of the shipped binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use kiki_bidder_service::BidderModule;
use kiki_server::{Application, BuildOptions, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9300".into());
    let n: usize = args.next().unwrap_or_else(|| "1000".into()).parse()?;
    let file = args
        .next()
        .unwrap_or_else(|| "/tmp/kiki-bidder-bench.db".into());
    let exchange = args.next().unwrap_or_else(|| "127.0.0.1:9301".into());
    let _ = std::fs::remove_file(&file);
    let mut config = Config::default();
    config.database.url = format!("sqlite://{file}");
    config.http.bind = addr.clone();
    config.http.rate_limit.enabled = false;
    config.log.level = "warn".into();
    config.bootstrap.demo = Some(false);
    config.set_section(
        "bidder",
        serde_json::json!({
            "exchanges": [{ "name": "load", "allowed_addrs": ["127.0.0.1/32"] }],
            "exchange_listen": exchange,
            "reporting_flush_secs": 5,
        }),
    );
    // Seed the line items straight into the store, then start the bidder role.
    {
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
    }
    config.roles = "bidder".into();
    let app = Application::build_with(
        config,
        BuildOptions {
            modules: vec![Arc::new(BidderModule::new())],
            ..Default::default()
        },
    )
    .await?;
    eprintln!("bidder with {n} line items: API router on {addr}, exchange listener on {exchange}");
    app.run_until(kiki_server::shutdown_signal()).await
}
