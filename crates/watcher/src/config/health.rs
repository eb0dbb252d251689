//! `[health]`: how often the daemon probes every level of every node it may have to fence, and
//! which nodes those are (the `nodelist` of `corosync.conf`, through the protocol's one reader,
//! plus `nodes`).
//!
//! ```toml
//! [health]
//! interval_secs = 60            # between the starts of two probe rounds; 0 = no probes
//! nodes = ["cn-spare"]          # probed besides corosync.conf's nodes
//! corosync_conf = "/etc/corosync/corosync.conf"   # a missing file means no nodes from it
//! timeout_secs = 10             # one probe, at most (never more than the backend's timeout)
//! max_concurrent = 4            # probes at once; apart from, and never taking, a fence's slot
//! ```

use std::path::PathBuf;
use std::time::Duration;

use gfs2_fence_protocol::corosync::{CorosyncError, Nodelist, DEFAULT_COROSYNC_CONF};
use gfs2_fence_protocol::NodeName;
use serde::Deserialize;

use super::ConfigError;

/// Longest accepted `interval_secs` (one day).
const MAX_INTERVAL_SECS: u64 = 86_400;
/// Longest accepted `timeout_secs`.
const MAX_TIMEOUT_SECS: u64 = 600;
/// Most probes at once: each one is a child process or an HTTP connection.
const MAX_CONCURRENT: usize = 64;

/// The `[health]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    pub interval_secs: u64,
    pub nodes: Vec<String>,
    pub corosync_conf: PathBuf,
    pub timeout_secs: u64,
    pub max_concurrent: usize,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            interval_secs: 60,
            nodes: Vec::new(),
            corosync_conf: PathBuf::from(DEFAULT_COROSYNC_CONF),
            timeout_secs: 10,
            max_concurrent: 4,
        }
    }
}

/// The nodes to probe, and the `corosync.conf` nodes that are no valid node name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub nodes: Vec<NodeName>,
    pub skipped: Vec<String>,
}

impl HealthConfig {
    /// Time between the starts of two rounds; `None` when probing is off.
    pub fn interval(&self) -> Option<Duration> {
        (self.interval_secs > 0).then(|| Duration::from_secs(self.interval_secs))
    }

    /// The most one probe may take.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The checks of the table itself (the nodelist is read by [`HealthConfig::targets`]).
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.interval_secs > MAX_INTERVAL_SECS {
            return bad(format!(
                "health.interval_secs {} must be at most {MAX_INTERVAL_SECS} (0 turns probes off)",
                self.interval_secs
            ));
        }
        if !(1..=MAX_TIMEOUT_SECS).contains(&self.timeout_secs) {
            return bad(format!(
                "health.timeout_secs {} must be between 1 and {MAX_TIMEOUT_SECS}",
                self.timeout_secs
            ));
        }
        if !(1..=MAX_CONCURRENT).contains(&self.max_concurrent) {
            return bad(format!(
                "health.max_concurrent {} must be between 1 and {MAX_CONCURRENT}",
                self.max_concurrent
            ));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            NodeName::parse(n)
                .map_err(|e| ConfigError::Invalid(format!("health.nodes[{i}] {n:?}: {e}")))?;
        }
        Ok(())
    }

    /// Every node of `corosync_conf`'s nodelist (its `name`, else its `ring0_addr`, as
    /// Pacemaker names it), then `nodes`, each once, in that order. A missing file gives no
    /// node; a file corosync would refuse is an error.
    pub fn targets(&self) -> Result<Targets, CorosyncError> {
        let listed = match Nodelist::read(&self.corosync_conf) {
            Ok(list) => list.nodes,
            Err(CorosyncError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let mut out = Targets::default();
        let named = listed
            .iter()
            .filter_map(|n| n.name.as_deref().or(n.ring_addr(0)));
        for name in named.chain(self.nodes.iter().map(String::as_str)) {
            match NodeName::parse(name) {
                Ok(node) if !out.nodes.contains(&node) => out.nodes.push(node),
                Ok(_) => {}
                Err(_) => out.skipped.push(name.to_owned()),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_conf(text: &str) -> (tempfile::TempDir, HealthConfig) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("corosync.conf");
        std::fs::write(&path, text).expect("write");
        let cfg = HealthConfig {
            corosync_conf: path,
            nodes: vec!["spare".into(), "cn1".into()],
            ..HealthConfig::default()
        };
        (dir, cfg)
    }

    #[test]
    fn targets_are_the_nodelist_then_the_extra_nodes_each_once() {
        let (_dir, cfg) = with_conf(
            "nodelist {\n node {\n  name: cn1\n  nodeid: 1\n }\n node {\n  ring0_addr: cn2\n  \
             nodeid: 2\n }\n node {\n  name: bad/name\n  nodeid: 3\n }\n}\n",
        );
        let t = cfg.targets().expect("targets");
        let names: Vec<&str> = t.nodes.iter().map(NodeName::as_str).collect();
        assert_eq!(names, ["cn1", "cn2", "spare"]);
        assert_eq!(t.skipped, ["bad/name"]);
    }

    #[test]
    fn a_missing_nodelist_is_no_node_and_a_malformed_one_an_error() {
        let cfg = HealthConfig {
            corosync_conf: "/nonexistent/corosync.conf".into(),
            ..HealthConfig::default()
        };
        assert!(cfg.targets().expect("missing is fine").nodes.is_empty());
        let (_dir, bad) = with_conf("nodelist {\n node {\n  name: cn1\n");
        let e = bad.targets().expect_err("no closing brace").to_string();
        assert!(
            e.contains("corosync.conf") && e.contains("closing brace"),
            "{e}"
        );
    }

    #[test]
    fn the_table_is_checked_key_by_key() {
        let ok = HealthConfig::default();
        assert!(ok.validate().is_ok());
        assert_eq!(ok.interval(), Some(Duration::from_secs(60)));
        let off = HealthConfig {
            interval_secs: 0,
            ..HealthConfig::default()
        };
        assert!(off.validate().is_ok() && off.interval().is_none());
        let cases = [
            (
                HealthConfig {
                    timeout_secs: 0,
                    ..ok.clone()
                },
                "health.timeout_secs",
            ),
            (
                HealthConfig {
                    max_concurrent: 0,
                    ..ok.clone()
                },
                "health.max_concurrent",
            ),
            (
                HealthConfig {
                    interval_secs: 1 << 40,
                    ..ok.clone()
                },
                "health.interval_secs",
            ),
            (
                HealthConfig {
                    nodes: vec!["a b".into()],
                    ..ok.clone()
                },
                "health.nodes[0]",
            ),
        ];
        for (cfg, key) in cases {
            let e = cfg.validate().expect_err(key).to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
    }
}
