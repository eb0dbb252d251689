//! SIGTERM/SIGINT: stop taking new requests and let in-flight ones finish within the grace
//! period, responses that could not be published still retried meanwhile. What stays
//! unfinished or unpublished is said as it is, and makes the exit status 1.

use std::sync::Arc;
use std::time::Duration;

use crate::requests::Context;

use super::notify;

/// Stops taking requests and waits up to `grace` for those in flight. True when all finished.
pub async fn drain(d: &Arc<Context>, grace: Duration) -> bool {
    d.drain();
    let n = d.tasks();
    tracing::info!(
        "stopping: no new requests; waiting up to {}s for {n} in flight",
        grace.as_secs()
    );
    notify::stopping(&format!("stopping: {n} requests in flight"));
    if tokio::time::timeout(grace, d.idle()).await.is_ok() {
        tracing::info!("stopped: every request in flight was answered");
        return true;
    }
    let (kept, lost) = d.unpublished_counts();
    let unfinished = d.tasks().saturating_sub(kept + lost);
    if kept > 0 {
        tracing::error!(
            "stopped: {kept} responses could not be published; their outcomes are kept in {} \
             and will be published at the next start",
            d.spool.outcomes.path().display()
        );
    }
    if lost > 0 {
        tracing::error!(
            "stopped: {lost} responses could not be published nor kept; those requests stay \
             claimed and are handled again at the next start"
        );
    }
    if unfinished > 0 {
        tracing::warn!(
            "stopped with {unfinished} requests unfinished after the {}s grace period; they stay claimed and are handled again at the next start",
            grace.as_secs()
        );
    }
    false
}
