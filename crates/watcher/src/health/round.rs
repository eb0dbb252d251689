//! One probe round: every level of every target node, at most `max_concurrent` probes at once,
//! then the results into the board, the metrics and (on a change of state) the log.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use gfs2_fence_protocol::{Health, LevelHealth, NodeHealth, NodeName, ProbeStatus};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::probe::probe_level;
use crate::config::HealthConfig;
use crate::fencing::{Level, Routes, Routing};
use crate::observe::probes::ProbeSample;
use crate::observe::Metrics;

/// A level as the log remembers it: node, level number, backend.
type LevelKey = (String, u32, String);

/// What the rounds remember between them: the last state of each level, so that only a change
/// is logged, and the last target error, so that it is logged once.
#[derive(Debug, Default)]
pub struct Memory {
    states: HashMap<LevelKey, ProbeStatus>,
    target_error: Option<String>,
    /// Nodes found without a route, said once each.
    unrouted: HashSet<NodeName>,
}

/// Runs one round and returns its results.
pub async fn run(
    cfg: &HealthConfig,
    routing: &Routing,
    metrics: &Metrics,
    memory: &mut Memory,
) -> Health {
    let targets = targets(cfg, memory);
    let routes = routing.routes();
    // Probes have their own limit: a fence's slot is never taken nor waited for.
    let limit = Arc::new(Semaphore::new(cfg.max_concurrent));
    let mut probes = JoinSet::new();
    let mut nodes = Vec::with_capacity(targets.len());
    for (n, node) in targets.into_iter().enumerate() {
        for (i, level) in levels_of(&routes, &node, memory).into_iter().enumerate() {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break;
            };
            let (node, timeout) = (node.clone(), cfg.timeout());
            probes.spawn(async move {
                let _permit = permit;
                (n, probe_level(&level, i, &node, timeout).await)
            });
        }
        nodes.push(NodeHealth {
            node: node.to_string(),
            levels: Vec::new(),
        });
    }
    while let Some(done) = probes.join_next().await {
        if let Ok((n, level)) = done {
            nodes[n].levels.push(level);
        }
    }
    for node in &mut nodes {
        node.levels.sort_by_key(|l| l.level);
    }
    record(&nodes, metrics, memory);
    Health { nodes }
}

/// The levels that would fence `node`; a node without any is said once (until it has some).
fn levels_of(routes: &Routes, node: &NodeName, memory: &mut Memory) -> Vec<Level> {
    let levels = routes.route(node).map(<[_]>::to_vec).unwrap_or_default();
    if !levels.is_empty() {
        memory.unrouted.remove(node);
    } else if memory.unrouted.insert(node.clone()) {
        tracing::warn!(
            node = %node,
            "health: no [[topology]] entry matches {node}: no level could fence it"
        );
    }
    levels
}

/// The nodes of this round; when corosync.conf cannot be read, `nodes` alone, said once.
fn targets(cfg: &HealthConfig, memory: &mut Memory) -> Vec<NodeName> {
    match cfg.targets() {
        Ok(t) => {
            if memory.target_error.take().is_some() {
                tracing::info!("{} can be read again", cfg.corosync_conf.display());
            }
            for name in &t.skipped {
                tracing::debug!("corosync.conf node {name:?} is not a valid node name; not probed");
            }
            t.nodes
        }
        Err(e) => {
            let e = e.to_string();
            if memory.target_error.as_ref() != Some(&e) {
                tracing::warn!("health probes: {e}; probing only health.nodes");
                memory.target_error = Some(e);
            }
            cfg.nodes
                .iter()
                .filter_map(|n| NodeName::parse(n).ok())
                .collect()
        }
    }
}

/// Metrics of every level, and a log line for each level whose state changed.
fn record(nodes: &[NodeHealth], metrics: &Metrics, memory: &mut Memory) {
    let probes = &metrics.probes;
    let mut samples = BTreeMap::new();
    let mut seen = HashMap::new();
    for node in nodes {
        for l in &node.levels {
            probes.probed(std::time::Duration::from_millis(l.latency_ms));
            let at = l.checked.unix_seconds_f64();
            samples.insert(
                (l.backend.clone(), node.node.clone()),
                ProbeSample::new(l.status, at),
            );
            let key = (node.node.clone(), l.level, l.backend.clone());
            log_change(&node.node, l, memory.states.get(&key).copied());
            seen.insert(key, l.status);
        }
    }
    probes.round(samples);
    memory.states = seen;
}

fn log_change(node: &str, l: &LevelHealth, before: Option<ProbeStatus>) {
    let (level, backend, message) = (l.level, l.backend.as_str(), l.message.as_str());
    match (before, l.status) {
        (Some(ProbeStatus::Down), ProbeStatus::Down) => {}
        (_, ProbeStatus::Down) => tracing::warn!(
            node,
            level,
            backend,
            "health: level {level} ({backend}) of {node} is DOWN: {message}"
        ),
        (Some(ProbeStatus::Down), ProbeStatus::Up) => tracing::info!(
            node,
            level,
            backend,
            "health: level {level} ({backend}) of {node} is up again: {message}"
        ),
        (None, status) => tracing::debug!(
            node,
            level,
            backend,
            ?status,
            "health: first probe: {message}"
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendConfig;

    /// A real `command` backend (real processes, no double): `status` is its `status_argv`.
    fn level(name: &str, status: Option<&str>) -> Level {
        let status = status.map_or(String::new(), |s| {
            format!("status_argv = [\"/bin/sh\", \"-c\", \"{s}\"]\n")
        });
        let text = format!("type = \"command\"\nargv = [\"/bin/true\"]\n{status}");
        let cfg: BackendConfig = toml::from_str(&text).expect("backend table");
        Level {
            name: name.to_owned(),
            backend: cfg.build(name).expect("builds"),
        }
    }

    #[tokio::test]
    async fn a_round_probes_every_level_in_order_and_records_each() {
        let levels = vec![
            level("up", Some("exit 0")),
            level("down", Some("echo no BMC >&2; exit 1")),
            level("none", None),
        ];
        let routes = Routes::default()
            .with_route(&["cn*"], levels)
            .expect("route");
        let routing = Routing::new(routes, None);
        let metrics = Metrics::default();
        let cfg = HealthConfig {
            corosync_conf: "/nonexistent/corosync.conf".into(),
            nodes: vec!["cn1".into(), "cn2".into(), "other".into()],
            max_concurrent: 2,
            ..HealthConfig::default()
        };
        let mut memory = Memory::default();
        let health = run(&cfg, &routing, &metrics, &mut memory).await;
        let names: Vec<&str> = health.nodes.iter().map(|n| n.node.as_str()).collect();
        assert_eq!(names, ["cn1", "cn2", "other"]);
        for node in &health.nodes[..2] {
            let got: Vec<(u32, &str, ProbeStatus)> = node
                .levels
                .iter()
                .map(|l| (l.level, l.backend.as_str(), l.status))
                .collect();
            assert_eq!(
                got,
                [
                    (1, "up", ProbeStatus::Up),
                    (2, "down", ProbeStatus::Down),
                    (3, "none", ProbeStatus::Unprobed)
                ]
            );
            assert!(
                node.levels[1].message.contains("no BMC"),
                "{:?}",
                node.levels[1]
            );
            assert!(!node.unfenceable());
        }
        assert!(
            health.nodes[2].levels.is_empty(),
            "no route, nothing probed"
        );
        let text = metrics.render();
        assert!(
            text.contains("fence_watcher_backend_up{backend=\"down\",node=\"cn2\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("fence_watcher_probe_duration_seconds_count 6"),
            "{text}"
        );
        assert_eq!(memory.states.len(), 6);
    }
}
