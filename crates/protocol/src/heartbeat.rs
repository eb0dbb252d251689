//! The responder's heartbeat, which the agent's `monitor` reads.
//!
//! The daemon writes the file at start and whenever what it says changes (backend health, the
//! number of simulated routes), and otherwise only touches its mtime, so a quiet heartbeat costs
//! one `utimensat` per interval; before each touch it publishes a small probe file
//! ([`PROBE_FILE`]), so a heartbeat proves that a response could be published.
//!
//! The optional fields are additions of issue 12: a heartbeat written by an older daemon, or by
//! a third-party responder, has neither, and its readers keep the behaviour of before (no health
//! known, nothing simulated).

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Name of the heartbeat file in the response directory. The leading dot hides it from every
/// protocol reader.
pub const HEARTBEAT_FILE: &str = ".fence_watcher.heartbeat";

/// Name of the file the daemon publishes in the response directory before each heartbeat
/// touch, proving that a response could be written now (a touch needs no free space). A
/// dot-name, ignored by every protocol reader; replaced on every tick.
pub const PROBE_FILE: &str = ".fence_watcher.probe";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub pid: u32,
    pub host: String,
    pub started: Timestamp,
    pub interval_secs: u64,
    /// How many routes (topology levels) fence through the `simulate` backend.
    #[serde(default)]
    pub simulated_routes: u32,
    /// The last probe results, when the daemon probes its backends (`[health]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

impl Heartbeat {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// What a probe of one level found. A probe never changes a power state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeStatus {
    /// The backend reached the node's power controller and read its state.
    Up,
    /// It could not (unreachable, refused credentials, an error from the device).
    Down,
    /// The backend has no way to probe (a `command` without `status_argv`): not known.
    Unprobed,
    /// The `simulate` backend: "healthy", and fences nothing.
    Simulated,
}

/// The probe results of every node the daemon serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub nodes: Vec<NodeHealth>,
}

/// One node's levels, in topology order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeHealth {
    pub node: String,
    pub levels: Vec<LevelHealth>,
}

/// The last probe of one level of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelHealth {
    /// 1-based, as `pcs stonith level` numbers them.
    pub level: u32,
    /// The `[backends.<name>]` key.
    pub backend: String,
    /// The backend type (`ipmitool`, `redfish`, ...).
    pub kind: String,
    pub status: ProbeStatus,
    pub checked: Timestamp,
    pub latency_ms: u64,
    /// One line, no secret.
    pub message: String,
}

impl NodeHealth {
    /// True when every level was probed and found down: no level can fence the node now. A
    /// level that cannot be probed is not known to be down, so it does not count against it.
    pub fn unfenceable(&self) -> bool {
        !self.levels.is_empty() && self.levels.iter().all(|l| l.status == ProbeStatus::Down)
    }

    /// The levels found down.
    pub fn down(&self) -> impl Iterator<Item = &LevelHealth> {
        self.levels.iter().filter(|l| l.status == ProbeStatus::Down)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(n: u32, status: ProbeStatus) -> LevelHealth {
        LevelHealth {
            level: n,
            backend: format!("b{n}"),
            kind: "ipmitool".into(),
            status,
            checked: Timestamp::now(),
            latency_ms: 3,
            message: String::new(),
        }
    }

    #[test]
    fn a_node_is_unfenceable_only_when_every_level_is_down() {
        let mut n = NodeHealth {
            node: "n1".into(),
            levels: vec![level(1, ProbeStatus::Down), level(2, ProbeStatus::Up)],
        };
        assert!(!n.unfenceable());
        assert_eq!(n.down().count(), 1);
        n.levels[1].status = ProbeStatus::Unprobed;
        assert!(
            !n.unfenceable(),
            "an unprobed level is not known to be down"
        );
        n.levels[1].status = ProbeStatus::Down;
        assert!(n.unfenceable());
    }

    #[test]
    fn a_heartbeat_of_before_issue_12_still_parses() {
        let old = br#"{"pid":7,"host":"h","started":"2026-12-01T00:00:00Z","interval_secs":10}"#;
        let hb = Heartbeat::from_json(old).expect("parses");
        assert_eq!(hb.simulated_routes, 0);
        assert!(hb.health.is_none());
        let back = Heartbeat::from_json(&hb.to_json()).expect("round trip");
        assert_eq!(back, hb);
    }
}
