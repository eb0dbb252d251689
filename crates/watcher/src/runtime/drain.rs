//! SIGTERM/SIGINT: stop taking new requests and let in-flight ones finish within the grace
//! period.

use std::sync::Arc;
use std::time::Duration;

use crate::requests::Context;

use super::notify;

/// Stops taking requests and waits up to `grace` for those in flight. True when all finished.
pub async fn drain(d: &Arc<Context>, grace: Duration) -> bool {
    d.stop();
    let n = d.tasks();
    tracing::info!(
        "stopping: no new requests; waiting up to {}s for {n} in flight",
        grace.as_secs()
    );
    notify::stopping(&format!("stopping: {n} requests in flight"));
    match tokio::time::timeout(grace, d.idle()).await {
        Ok(()) => {
            tracing::info!("stopped: every request in flight was answered");
            true
        }
        Err(_) => {
            tracing::warn!(
                "stopped with {} requests unfinished after the {}s grace period; they stay claimed and are handled again at the next start",
                d.tasks(),
                grace.as_secs()
            );
            false
        }
    }
}
