//! The reference for the edge benchmark: a bare axum server answering
//! `GET /healthz` with a fixed JSON body and no middleware, built with the same
//! profile as `kiki`, so the ratio of the two measures what KIKI's middleware
//! stack and health probes cost. Usage: `bare_hello 127.0.0.1:18081`.

use axum::Router;
use axum::routing::get;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let app = Router::new().route(
                "/healthz",
                get(|| async { axum::Json(serde_json::json!({"status": "healthy"})) }),
            );
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            println!("listening on http://{addr}");
            axum::serve(listener, app).await
        })
}
