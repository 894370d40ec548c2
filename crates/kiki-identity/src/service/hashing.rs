//! The password-hashing pool. An argon2id hash or verification takes one core
//! for tens of milliseconds; run on the async workers, a burst of sign-ins
//! would stall every other request of the process (the bid path included).
//! So every hash runs on tokio's blocking threads, at most
//! `auth.max_concurrent_hashes` at once (default: the number of cores); a
//! request that finds every slot busy waits up to `auth.hash_wait_ms`, then
//! is refused with [`IdentityError::Busy`] (503 with `Retry-After`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kiki_credentials::password::PasswordHasher;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::{IdentityError, Result};

/// Seconds a refused request is told to wait before trying again.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// Runs password hashing off the async workers, with a bound. Cheap to clone.
#[derive(Clone)]
pub struct HashPool {
    hasher: Arc<PasswordHasher>,
    permits: Arc<Semaphore>,
    limit: usize,
    wait: Duration,
    waiting: Arc<AtomicUsize>,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("limit", &self.limit)
            .field("wait", &self.wait)
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}

/// Counts a request as waiting for a slot until dropped (also when the
/// request is abandoned while it waits).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn start(n: &'a AtomicUsize) -> Waiting<'a> {
        n.fetch_add(1, Ordering::SeqCst);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashPool {
    /// A pool running at most `limit` (at least 1) hashes at once; a request
    /// waits at most `wait` for a slot.
    pub fn new(hasher: PasswordHasher, limit: usize, wait: Duration) -> HashPool {
        let limit = limit.max(1);
        HashPool {
            hasher: Arc::new(hasher),
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            wait,
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The most hashes that run at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Requests waiting for a free slot right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// The hasher (its parameters; synchronous use outside request paths).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Runs `work` on a blocking thread once a slot is free; the slot is
    /// held until `work` returns.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&PasswordHasher) -> T + Send + 'static,
    {
        let permit = {
            let _waiting = Waiting::start(&self.waiting);
            match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(p)) => p,
                // The semaphore is never closed; a timeout is the busy case.
                Ok(Err(_)) | Err(_) => {
                    tracing::warn!(
                        hash.limit = self.limit,
                        hash.waiting = self.waiting(),
                        "every password-hashing slot stayed busy; request refused"
                    );
                    return Err(IdentityError::Busy {
                        retry_after_secs: BUSY_RETRY_AFTER_SECS,
                    });
                }
            }
        };
        let hasher = self.hasher.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&hasher)
        })
        .await
        .map_err(|e| IdentityError::Credential(format!("password hashing stopped: {e}")))
    }

    /// A new argon2id PHC string for `password`.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let password = SecretString::from(password.to_owned());
        Ok(self
            .run(move |h| h.hash(password.expose_secret()))
            .await??)
    }

    /// Whether `password` matches `phc`.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool> {
        let password = SecretString::from(password.to_owned());
        let phc = phc.to_owned();
        self.run(move |h| h.verify(password.expose_secret(), &phc))
            .await
    }

    /// The work of one [`HashPool::verify`] for an unknown account.
    pub async fn verify_dummy(&self, password: &str) -> Result<()> {
        let password = SecretString::from(password.to_owned());
        self.run(move |h| h.verify_dummy(password.expose_secret()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::DomainError;
    use kiki_credentials::password::Argon2Params;
    use std::sync::{Condvar, Mutex};

    fn cheap_hasher() -> PasswordHasher {
        PasswordHasher::new(Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .expect("valid parameters")
    }

    /// A gate the blocking work waits at until the test opens it.
    #[derive(Default)]
    struct Gate {
        open: Mutex<bool>,
        cv: Condvar,
    }

    impl Gate {
        fn wait(&self) {
            let mut open = self.open.lock().expect("gate");
            while !*open {
                open = self.cv.wait(open).expect("gate");
            }
        }
        fn open(&self) {
            *self.open.lock().expect("gate") = true;
            self.cv.notify_all();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_the_limit() {
        let pool = HashPool::new(cheap_hasher(), 2, Duration::from_secs(3600));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Gate::default());
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (pool, in_flight, most, gate) =
                (pool.clone(), in_flight.clone(), most.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                pool.run(move |h| {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    gate.wait();
                    let ok = h.verify("not it", "not a hash");
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    ok
                })
                .await
            }));
        }
        // Two hashes hold the slots and the other four queue behind them.
        // Without the bound all six would run and this state never comes.
        let settled = tokio::time::timeout(Duration::from_secs(60), async {
            while !(in_flight.load(Ordering::SeqCst) == 2 && pool.waiting() == 4) {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(
            settled.is_ok(),
            "in flight {}, waiting {}",
            in_flight.load(Ordering::SeqCst),
            pool.waiting()
        );
        assert_eq!(most.load(Ordering::SeqCst), 2);
        gate.open();
        for t in tasks {
            assert!(!t.await.expect("joined").expect("ran"));
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(in_flight.load(Ordering::SeqCst), 0);
        assert_eq!(pool.waiting(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hash_that_finds_no_free_slot_in_time_is_refused_as_busy() {
        let pool = HashPool::new(cheap_hasher(), 1, Duration::ZERO);
        let gate = Arc::new(Gate::default());
        let started = Arc::new(AtomicUsize::new(0));
        let holder = {
            let (pool, gate, started) = (pool.clone(), gate.clone(), started.clone());
            tokio::spawn(async move {
                pool.run(move |_| {
                    started.fetch_add(1, Ordering::SeqCst);
                    gate.wait();
                })
                .await
            })
        };
        while started.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let err = pool.verify("pw", "x").await.expect_err("no free slot");
        assert!(
            matches!(
                err,
                IdentityError::Busy {
                    retry_after_secs: 1
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.code(), kiki_core::ErrorCode::Unavailable);
        assert_eq!(err.retry_after(), Some(1));
        assert_eq!(pool.waiting(), 0);
        gate.open();
        holder.await.expect("joined").expect("ran");
        // Once the slot is free again, work runs.
        let phc = pool.hash("a-long-enough-password").await.expect("hashed");
        assert!(
            pool.verify("a-long-enough-password", &phc)
                .await
                .expect("verified")
        );
    }
}
