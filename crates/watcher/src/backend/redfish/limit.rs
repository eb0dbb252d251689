//! The per-BMC concurrency limit: a burst of fences (a rack losing power) must not open dozens
//! of sessions on one BMC, which many BMCs answer with 503 or by hanging.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};

/// One semaphore of `per_bmc` permits for each `host:port`, created on first use.
#[derive(Debug)]
pub struct BmcLimiter {
    per_bmc: usize,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl BmcLimiter {
    pub fn new(per_bmc: usize) -> BmcLimiter {
        BmcLimiter {
            per_bmc,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot of `bmc`; the slot is given back when the permit drops.
    pub async fn acquire(&self, bmc: &str) -> Result<OwnedSemaphorePermit, AcquireError> {
        let semaphore = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots
                .entry(bmc.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_bmc)))
                .clone()
        };
        // The semaphores are never closed, so this does not fail in practice.
        semaphore.acquire_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn pending(limiter: &BmcLimiter, bmc: &str) -> bool {
        tokio::time::timeout(Duration::from_millis(50), limiter.acquire(bmc))
            .await
            .is_err()
    }

    #[tokio::test]
    async fn a_third_fence_on_one_bmc_waits_while_other_bmcs_go_on() {
        let limiter = BmcLimiter::new(2);
        let a1 = limiter.acquire("a:443").await.expect("open");
        let _a2 = limiter.acquire("a:443").await.expect("open");
        assert!(
            pending(&limiter, "a:443").await,
            "third slot of a:443 must wait"
        );
        assert!(
            !pending(&limiter, "b:443").await,
            "another bmc has its own slots"
        );
        drop(a1);
        assert!(
            !pending(&limiter, "a:443").await,
            "a freed slot is reusable"
        );
    }
}
