//! The configuration as it is now: the start-up configuration, with the
//! reloadable values rotated in Vault applied since. Services that hold a
//! reloadable setting (a provider key, the encryption key ring) read it from
//! here at the moment they use it, or subscribe to changes.

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Config;

/// A shared, watchable handle on the live configuration. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    tx: Arc<watch::Sender<Arc<Config>>>,
}

impl LiveConfig {
    pub fn new(config: Arc<Config>) -> LiveConfig {
        LiveConfig {
            tx: Arc::new(watch::Sender::new(config)),
        }
    }

    /// The configuration in force now.
    pub fn current(&self) -> Arc<Config> {
        self.tx.borrow().clone()
    }

    /// A receiver told of every change (`changed().await`).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.tx.subscribe()
    }

    /// Makes `config` the live configuration.
    pub fn publish(&self, config: Config) {
        self.tx.send_replace(Arc::new(config));
    }
}
