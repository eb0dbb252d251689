//! The responder's heartbeat, which the agent's `monitor` reads.
//!
//! The daemon writes the file once at start and then only touches its mtime, so a heartbeat costs
//! one `utimensat` per interval; before each touch it publishes a small probe file
//! ([`PROBE_FILE`]), so a heartbeat proves that a response could be published.

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
}

impl Heartbeat {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}
