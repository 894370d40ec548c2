//! The identity context's HTTP API (module `identity`): sign-in and tokens,
//! dashboard sessions, registration and password reset, the caller's profile,
//! password and MFA, organisations, members, invitations, API keys, the audit
//! log, decision records, the permission matrix and the in-app outbox.
//!
//! The rules live in `kiki-identity` (no HTTP); authentication stays at the
//! edge (`kiki_server::auth::{Auth, RequirePermission}` call
//! [`kiki_identity::Identity`]), so every module's handlers resolve callers
//! the same way. This crate only translates HTTP into calls on the
//! `Identity` the edge builds and shares on the state.
//!
//! - `api/`: the handlers with their OpenAPI annotations and the route list.

pub mod api;

use futures::future::BoxFuture;
use kiki_server::{Module, ModuleContext, Mount};
use kiki_shield::EncryptedColumn;

/// The `identity` module, mounted first by `kiki serve` and by every `TestApp`.
#[derive(Debug, Default)]
pub struct IdentityModule;

impl IdentityModule {
    pub fn new() -> IdentityModule {
        IdentityModule
    }
}

impl Module for IdentityModule {
    fn name(&self) -> &'static str {
        "identity"
    }

    fn encrypted_columns(&self) -> Vec<EncryptedColumn> {
        kiki_identity::ENCRYPTED_COLUMNS.to_vec()
    }

    fn init<'a>(&'a self, _: &'a mut ModuleContext<'_>) -> BoxFuture<'a, anyhow::Result<Mount>> {
        Box::pin(async { Ok(Mount::new().api(api::api())) })
    }
}
