//! What `monitor` (and `gfs2-fencing check`) make of the backend health in the responder's heartbeat (issue 12).
//!
//! The daemon probes every level of every node it serves without changing a power state and
//! writes the last results into the heartbeat; here they become a verdict: a node that no level
//! can fence now fails `monitor` (so Pacemaker shows the device FAILED weeks before the fence
//! that would have found out), a level down while another works is a warning. A heartbeat
//! without health (an older daemon, a third-party responder) is not judged. The daemon's side
//! (probing, writing) is tested by its own tests; this is only the reading, kept pure so that
//! every case is a unit test.

use std::str::FromStr;

use gfs2_fence_protocol::{Health, LevelHealth, NodeHealth};

use crate::text::{escape, quoted};

/// The `backend_health` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendHealth {
    /// A node no level can fence fails `monitor`; a level down is a warning.
    Fail,
    /// Both are warnings.
    Warn,
    /// Health is not looked at.
    Ignore,
}

impl FromStr for BackendHealth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "fail" => Ok(BackendHealth::Fail),
            "warn" => Ok(BackendHealth::Warn),
            "ignore" => Ok(BackendHealth::Ignore),
            _ => Err(format!(
                "{} is not fail, warn or ignore",
                quoted(s, "value")
            )),
        }
    }
}

/// What the health says: at most one failure line, and warnings, each one line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub failure: Option<String>,
    pub warnings: Vec<String>,
}

/// Nodes named one by one in a message; the rest are counted.
const NAMED_MAX: usize = 5;
/// Longest probe message shown (the daemon's are one line already; this bounds a hostile one).
const MESSAGE_MAX: usize = 200;

/// Judges `health` under `mode`.
pub fn judge(health: Option<&Health>, mode: BackendHealth) -> Verdict {
    let Some(health) = health.filter(|_| mode != BackendHealth::Ignore) else {
        return Verdict::default();
    };
    let (dead, degraded): (Vec<&NodeHealth>, Vec<&NodeHealth>) = health
        .nodes
        .iter()
        .filter(|n| n.down().next().is_some())
        .partition(|n| n.unfenceable());
    let mut verdict = Verdict {
        failure: None,
        warnings: degraded_lines(&degraded),
    };
    if let Some(first) = dead.first() {
        let line = unfenceable_line(first, &dead[1..]);
        match mode {
            BackendHealth::Fail => verdict.failure = Some(line),
            _ => verdict.warnings.insert(0, line),
        }
    }
    verdict
}

/// `node cn2 can be fenced by no level: level 1 (bmc, ipmitool): <error>; ...`, with the other
/// such nodes named after it.
fn unfenceable_line(node: &NodeHealth, others: &[&NodeHealth]) -> String {
    let levels: Vec<String> = node.levels.iter().map(level_text).collect();
    let mut line = format!(
        "backend health: node {} can be fenced by no level: {}",
        escape(&node.node, 80),
        levels.join("; ")
    );
    if !others.is_empty() {
        line.push_str(&format!(
            " (nor can {} other node{}: {})",
            others.len(),
            if others.len() == 1 { "" } else { "s" },
            names(others)
        ));
    }
    line.push_str(&format!(
        "; repair the power controller or its credentials (gfs2-fencing test {} probes each of its levels now), or set backend_health=warn",
        escape(&node.node, 80)
    ));
    line
}

/// One warning per node with a level down and another that works, the first few named.
fn degraded_lines(nodes: &[&NodeHealth]) -> Vec<String> {
    let mut lines: Vec<String> = nodes
        .iter()
        .take(NAMED_MAX)
        .map(|n| {
            let down: Vec<String> = n.down().map(level_text).collect();
            format!(
                "backend health: node {} has a level down, another still works: {}",
                escape(&n.node, 80),
                down.join("; ")
            )
        })
        .collect();
    if nodes.len() > NAMED_MAX {
        lines.push(format!(
            "backend health: {} more nodes have a level down: {}",
            nodes.len() - NAMED_MAX,
            names(&nodes[NAMED_MAX..])
        ));
    }
    lines
}

/// `level 1 (bmc, ipmitool): <message>`.
fn level_text(l: &LevelHealth) -> String {
    format!(
        "level {} ({}, {}): {}",
        l.level,
        escape(&l.backend, 80),
        escape(&l.kind, 40),
        escape(&l.message, MESSAGE_MAX)
    )
}

/// The first few node names, then how many more.
fn names(nodes: &[&NodeHealth]) -> String {
    let mut shown: Vec<String> = nodes
        .iter()
        .take(NAMED_MAX)
        .map(|n| escape(&n.node, 80))
        .collect();
    if nodes.len() > NAMED_MAX {
        shown.push(format!("and {} more", nodes.len() - NAMED_MAX));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gfs2_fence_protocol::{ProbeStatus, Timestamp};

    fn level(n: u32, backend: &str, status: ProbeStatus, message: &str) -> LevelHealth {
        LevelHealth {
            level: n,
            backend: backend.into(),
            kind: "ipmitool".into(),
            status,
            checked: Timestamp::now(),
            latency_ms: 4,
            message: message.into(),
        }
    }

    fn node(name: &str, levels: Vec<LevelHealth>) -> NodeHealth {
        NodeHealth {
            node: name.into(),
            levels,
        }
    }

    use ProbeStatus::{Down, Simulated, Unprobed, Up};

    fn health() -> Health {
        Health {
            nodes: vec![
                node("cn1", vec![level(1, "bmc", Up, "on")]),
                node(
                    "cn2",
                    vec![
                        level(1, "bmc", Down, "password refused"),
                        level(2, "pdu", Up, "on"),
                    ],
                ),
                node(
                    "cn3",
                    vec![
                        level(1, "bmc", Down, "unreachable"),
                        level(2, "pdu", Down, "connection refused"),
                    ],
                ),
            ],
        }
    }

    #[test]
    fn a_node_no_level_can_fence_fails_naming_node_levels_backends_and_errors() {
        let v = judge(Some(&health()), BackendHealth::Fail);
        let failure = v.failure.expect("cn3 is unfenceable");
        for part in [
            "node cn3 can be fenced by no level",
            "level 1 (bmc, ipmitool): unreachable",
            "level 2 (pdu, ipmitool): connection refused",
            "backend_health=warn",
        ] {
            assert!(failure.contains(part), "{part}: {failure}");
        }
        assert!(!failure.contains('\n'));
        assert_eq!(v.warnings.len(), 1, "{:?}", v.warnings);
        assert!(
            v.warnings[0].contains(
                "node cn2 has a level down, another still works: level 1 (bmc, ipmitool): password refused"
            ),
            "{:?}",
            v.warnings
        );
    }

    /// Issue 12 (both halves together): the failure pointed at `gfs2-fencing check`, which
    /// prints this very line again (it judges by this function) and shows only the bad nodes'
    /// levels; the command that probes every level of one node now is `gfs2-fencing test NODE`.
    #[test]
    fn the_failure_points_at_the_command_that_probes_the_nodes_levels() {
        let failure = judge(Some(&health()), BackendHealth::Fail)
            .failure
            .expect("cn3 is unfenceable");
        assert!(
            failure.contains("gfs2-fencing test cn3 probes each of its levels now"),
            "{failure}"
        );
        assert!(!failure.contains("gfs2-fencing check"), "{failure}");
    }

    #[test]
    fn warn_turns_the_failure_into_a_warning_and_ignore_looks_at_nothing() {
        let v = judge(Some(&health()), BackendHealth::Warn);
        assert_eq!(v.failure, None);
        assert_eq!(v.warnings.len(), 2);
        assert!(v.warnings[0].contains("node cn3 can be fenced by no level"));
        assert_eq!(
            judge(Some(&health()), BackendHealth::Ignore),
            Verdict::default()
        );
    }

    #[test]
    fn no_health_healthy_nodes_and_unknown_levels_pass_silently() {
        assert_eq!(judge(None, BackendHealth::Fail), Verdict::default());
        let fine = Health {
            nodes: vec![
                node("cn1", vec![level(1, "bmc", Up, "on")]),
                node("cn2", vec![level(1, "cmd", Unprobed, "no status_argv")]),
                node("cn3", vec![level(1, "sim", Simulated, "simulated")]),
                node("cn4", vec![]),
            ],
        };
        assert_eq!(judge(Some(&fine), BackendHealth::Fail), Verdict::default());
        let mixed = Health {
            nodes: vec![node(
                "cn1",
                vec![level(1, "bmc", Down, "x"), level(2, "cmd", Unprobed, "")],
            )],
        };
        let v = judge(Some(&mixed), BackendHealth::Fail);
        assert_eq!(v.failure, None, "an unprobed level is not known to be down");
        assert_eq!(v.warnings.len(), 1);
    }

    #[test]
    fn many_bad_nodes_stay_a_few_bounded_lines() {
        let bad = |i: usize, both: bool| {
            let second = if both { Down } else { Up };
            node(
                &format!("cn{i}"),
                vec![
                    level(1, "bmc", Down, &"e\n".repeat(500)),
                    level(2, "pdu", second, "x"),
                ],
            )
        };
        let nodes = (0..200).map(|i| bad(i, i % 2 == 0)).collect();
        let v = judge(Some(&Health { nodes }), BackendHealth::Fail);
        let failure = v.failure.expect("unfenceable nodes");
        assert!(
            failure.contains("node cn0 can be fenced by no level")
                && failure
                    .contains("nor can 99 other nodes: cn2, cn4, cn6, cn8, cn10, and 94 more"),
            "{failure}"
        );
        assert!(!failure.contains('\n') && failure.len() < 2000, "{failure}");
        assert_eq!(v.warnings.len(), NAMED_MAX + 1);
        assert!(v.warnings[NAMED_MAX].contains("95 more nodes have a level down"));
    }

    #[test]
    fn the_parameter_reads_three_words_in_any_case() {
        assert_eq!("FAIL".parse(), Ok(BackendHealth::Fail));
        assert_eq!("warn".parse(), Ok(BackendHealth::Warn));
        assert_eq!("Ignore".parse(), Ok(BackendHealth::Ignore));
        let e = "off\n".parse::<BackendHealth>().expect_err("not a word");
        assert!(
            e.contains("\\n") && e.contains("fail, warn or ignore"),
            "{e}"
        );
    }
}
