//! The HTTP edge of KIKI: configuration, router composition, the middleware
//! stack (request id, logs, metrics, error envelope, limits, CORS, security
//! headers, compression), health, API versioning, OpenAPI and graceful
//! shutdown. Errors become HTTP responses here and nowhere else.

pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod error_tracking;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod keepalive;
pub mod metrics;
pub mod middleware;
pub mod module;
pub mod openapi;
pub mod platform;
pub mod roles;
pub mod routes;
pub mod state;
pub mod telemetry;
pub mod vault;
pub mod versioning;

pub use app::{Application, BuildOptions};
pub use config::{Config, ConfigSection, ModuleSettings};
pub use error::ApiError;
pub use module::{Module, ModuleContext, Mount, Service, Services};
pub use platform::Platform;
pub use roles::Roles;
pub use state::AppState;

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
