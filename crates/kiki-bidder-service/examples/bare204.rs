//! The baseline of the HTTP load test: a bare axum server answering every
//! `POST /openrtb2/bid` with 204 after reading the body. Usage:
//! `bare204 127.0.0.1:9204`.

/// The allocator `kiki serve` uses: the two servers differ only in the work per request.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9204".into());
    let app = Router::new().route(
        "/openrtb2/bid",
        post(|_body: Bytes| async { StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("bare 204 server on {addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
