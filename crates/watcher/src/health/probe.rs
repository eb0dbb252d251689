//! Probing the levels of one node: the one function the daemon's rounds and `gfs2-fencing test`
//! both call, so the operator's tool sees what the daemon sees.

use std::time::{Duration, Instant, SystemTime};

use gfs2_fence_protocol::{LevelHealth, NodeName, Timestamp};

use crate::backend::support::process;
use crate::backend::{ProbeJob, ProbeOutcome};
use crate::fencing::Level;

/// How long past its deadline a probe may take before it is given up on: the child runner
/// needs a moment to kill a process group that ignored SIGTERM.
const PROBE_GRACE: Duration = Duration::from_secs(5);

/// Probes level `index` (0-based) of `node` within `timeout` (cut to the backend's own).
pub async fn probe_level(
    level: &Level,
    index: usize,
    node: &NodeName,
    timeout: Duration,
) -> LevelHealth {
    let limit = timeout.min(level.backend.timeout());
    let job = ProbeJob {
        node: node.clone(),
        deadline: SystemTime::now() + limit,
    };
    let started = Instant::now();
    // The probe's children run at the lowest CPU priority: a fence's go first.
    let probe = process::background(level.backend.probe(&job));
    let outcome = tokio::time::timeout(limit + PROBE_GRACE, probe)
        .await
        .unwrap_or_else(|_| {
            ProbeOutcome::down(format!(
                "the probe did not return within {} s",
                (limit + PROBE_GRACE).as_secs()
            ))
        });
    LevelHealth {
        level: index as u32 + 1,
        backend: level.name.clone(),
        kind: level.backend.kind().to_owned(),
        status: outcome.status,
        checked: Timestamp::now(),
        latency_ms: started.elapsed().as_millis() as u64,
        message: outcome.message,
    }
}

/// Probes every level of `node` one after the other (the daemon's rounds run them side by
/// side instead, under their own limit).
pub async fn probe_levels(
    levels: &[Level],
    node: &NodeName,
    timeout: Duration,
) -> Vec<LevelHealth> {
    let mut out = Vec::with_capacity(levels.len());
    for (i, level) in levels.iter().enumerate() {
        out.push(probe_level(level, i, node, timeout).await);
    }
    out
}
