//! Start-up recovery (step 6 of the claim protocol) and full scans of `REQUEST_DIR`.
//!
//! A request in `.claimed` was claimed by a previous run that did not finish it. If its
//! response exists, the crash came between publishing and removing the claim: the claim is
//! removed and nothing runs. If a response was kept for it (`.outcomes`, it could not be
//! published), that is published first and nothing runs. Otherwise the outcome is unknown and the request is handled again:
//! a fence whose outcome is unknown must complete, and repeating a power-off or reboot is safe
//! where a missing one is not. (Unless its deadline has passed: then nobody waits for it any
//! more and a late repeat could strike a node that has since come back, so it is answered
//! `expired` instead; see `handle.rs`.)

use std::sync::Arc;

use super::handle;
use super::Context;

/// Answers or re-runs every claimed request a previous run left behind.
pub fn recover(d: &Arc<Context>) {
    let scan = match d.spool.claimed.scan() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot list claimed requests: {e}");
            return;
        }
    };
    // Claims with a kept response go first: their result is known, and publishing it takes no
    // backend slot.
    let mut files = scan.files;
    files.sort_by_key(|n| !matches!(d.spool.outcomes.exists(n.as_str()), Ok(true)));
    for name in files {
        match d.spool.answered(name.as_str()) {
            Ok(true) => {
                // A response kept for it is out of date: the published one is the record.
                let _ = d.spool.outcomes.remove(name.as_str());
                if let Err(e) = d.spool.claimed.remove(name.as_str()) {
                    tracing::error!(request = %name, "cannot remove an answered claim: {e}");
                } else {
                    d.metrics.already_answered();
                    tracing::info!(request = %name, "claimed request was answered before the restart; claim removed");
                }
            }
            Ok(false) => handle::submit_claimed(d, name),
            Err(e) => tracing::error!(request = %name, "cannot check for a response: {e}"),
        }
    }
    // Names cannot become unusable once claimed; this only cleans up by-hand mistakes.
    for raw in scan.unusable {
        tracing::warn!(
            "ignoring {:?} in .claimed: not a valid request file name",
            raw
        );
    }
}

/// Handles every request file in `REQUEST_DIR` (at start and after an inotify overflow).
pub fn scan_requests(d: &Arc<Context>) {
    match d.spool.requests.scan() {
        Ok(scan) => {
            for name in scan.files {
                handle::submit(d, name);
            }
            for raw in scan.unusable {
                handle::reject(d, &raw);
            }
        }
        Err(e) => tracing::error!("cannot scan the request directory: {e}"),
    }
}
