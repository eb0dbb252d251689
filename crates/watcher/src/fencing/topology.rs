//! Fencing topology: which backends fence which node, and in what order.
//!
//! As in Pacemaker's fencing topology, a node is fenced by an ordered list of levels; the first
//! level that succeeds wins and when every level fails the result carries every level's error.
//! The first `[[topology]]` entry with a pattern matching the node is the node's route.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gfs2_fence_protocol::{LevelResult, NodeName, Timestamp};

use crate::backend::{Backend, BackendBuildError, BackendOutcome, FenceJob};
use crate::config::Config;
use crate::observe::metrics::LevelEnd;
use crate::observe::Metrics;

/// How long past its own timeout a backend may take before the daemon gives up on it. Backends
/// enforce their timeouts themselves; this only keeps a broken one from holding a slot forever.
const BACKEND_GRACE: Duration = Duration::from_secs(10);

/// How close to the deadline a failed level counts as cut by it.
const CUT_TOLERANCE: Duration = Duration::from_millis(50);

/// One level: a backend and the name it has in the configuration.
#[derive(Debug, Clone)]
pub struct Level {
    pub name: String,
    pub backend: Arc<dyn Backend>,
}

/// The routes of a configuration, with their backends built.
#[derive(Debug, Default)]
pub struct Routes {
    entries: Vec<(Vec<glob::Pattern>, Vec<Level>)>,
}

/// What running the levels of a route did.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub success: bool,
    /// The backend that succeeded, or the last one tried.
    pub backend: String,
    pub levels: Vec<LevelResult>,
    pub message: String,
    pub duration: Duration,
}

impl Routes {
    /// Builds every backend of the configuration (each once, shared between routes), and logs
    /// at WARN what in it is probably not meant ([`crate::config::lint`]): at every start and
    /// reload, and in `--check-config`'s output.
    pub fn build(cfg: &Config) -> Result<Routes, BackendBuildError> {
        for warning in crate::config::lint::warnings(cfg) {
            tracing::warn!("{warning}");
        }
        let mut built: HashMap<&str, Arc<dyn Backend>> = HashMap::new();
        for (name, bc) in &cfg.backends {
            built.insert(name, bc.build(name)?);
        }
        let mut entries = Vec::new();
        for entry in &cfg.topology {
            // Patterns and level names were checked by config validation.
            let patterns = entry
                .nodes
                .iter()
                .filter_map(|p| glob::Pattern::new(p).ok())
                .collect();
            let levels = entry
                .levels
                .iter()
                .filter_map(|l| {
                    built.get(l.as_str()).map(|b| Level {
                        name: l.clone(),
                        backend: b.clone(),
                    })
                })
                .collect();
            entries.push((patterns, levels));
        }
        Ok(Routes { entries })
    }

    /// These routes and one more, tried after them: nodes matching any of `patterns` are
    /// fenced by `levels`. For routes built in code (tests, tools) instead of a configuration.
    pub fn with_route(
        mut self,
        patterns: &[&str],
        levels: Vec<Level>,
    ) -> Result<Routes, glob::PatternError> {
        let patterns = patterns
            .iter()
            .map(|p| glob::Pattern::new(p))
            .collect::<Result<_, _>>()?;
        self.entries.push((patterns, levels));
        Ok(self)
    }

    /// Every route (a level of an entry) that fences through a simulated backend, described as
    /// `topology[0] level 1 (simulate) for "*"`, in order. A success there fences nothing:
    /// the daemon warns, counts them in a gauge and in the heartbeat.
    pub fn simulated(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (i, (patterns, levels)) in self.entries.iter().enumerate() {
            let nodes: Vec<String> = patterns
                .iter()
                .map(|p| format!("{:?}", p.as_str()))
                .collect();
            for (j, level) in levels.iter().enumerate() {
                if level.backend.simulated() {
                    found.push(format!(
                        "topology[{i}] level {} ({}) for {}",
                        j + 1,
                        level.name,
                        nodes.join(", ")
                    ));
                }
            }
        }
        found
    }

    /// How many levels of all the entries fence through a backend that only pretends
    /// (`simulate`): the heartbeat says it, so that no monitor takes them for fencing.
    pub fn simulated_levels(&self) -> u32 {
        self.simulated().len() as u32
    }

    /// Every backend the routes use, once each, as (`[backends.X]` key, type), in route order.
    pub fn backends(&self) -> Vec<(String, &'static str)> {
        let mut found: Vec<(String, &'static str)> = Vec::new();
        for level in self.entries.iter().flat_map(|(_, levels)| levels) {
            if !found.iter().any(|(name, _)| *name == level.name) {
                found.push((level.name.clone(), level.backend.kind()));
            }
        }
        found
    }

    /// The levels that fence `node`, or `None` when no entry matches it.
    pub fn route(&self, node: &NodeName) -> Option<&[Level]> {
        self.entries
            .iter()
            .find(|(patterns, _)| patterns.iter().any(|p| p.matches(node.as_str())))
            .map(|(_, levels)| levels.as_slice())
    }
}

/// Runs the levels in order until one succeeds. No level after the first starts once the job's
/// deadline has passed (the result names the level not started, the deadline and the time it
/// was seen; the caller checks before the first, as a run that started no level did not run),
/// and each one gets at most the time left: a late success would answer nobody, and could
/// strike a node that has rejoined since Pacemaker gave up on the request.
pub async fn run_levels(levels: &[Level], job: &FenceJob, metrics: &Metrics) -> RunResult {
    let started = Instant::now();
    let mut results = Vec::with_capacity(levels.len());
    for (i, level) in levels.iter().enumerate() {
        let t0 = Instant::now();
        if i > 0 && job.time_left().is_some_and(|left| left.is_zero()) {
            results.push(not_started(i, level, job));
            break;
        }
        let allowed = job.limit(level.backend.timeout());
        let cut = allowed < level.backend.timeout();
        let limit = allowed + BACKEND_GRACE;
        let mut outcome = tokio::time::timeout(limit, level.backend.fence(job))
            .await
            .unwrap_or_else(|_| {
                BackendOutcome::failed(format!(
                    "backend did not return within {}s",
                    limit.as_secs()
                ))
            });
        // Within a tick of the deadline: the backend's monotonic timer and the wall-clock
        // deadline may disagree by a hair.
        let at_deadline = job.time_left().is_some_and(|left| left < CUT_TOLERANCE);
        if cut && !outcome.success && at_deadline {
            // Say why a level failed sooner than its timeout_secs.
            let deadline = job.deadline.map(Timestamp::from).map(|t| t.to_string());
            outcome.message = format!(
                "{} (cut at the request's deadline {})",
                outcome.message,
                deadline.unwrap_or_default()
            );
        }
        let took = t0.elapsed();
        let end = if outcome.success {
            LevelEnd::Success
        } else if took + CUT_TOLERANCE >= allowed {
            // It used all the time it had: cut by its timeout or by the request's deadline.
            LevelEnd::Timeout
        } else {
            LevelEnd::Failure
        };
        metrics.backend_run(&level.name, level.backend.kind(), end, took);
        if outcome.success && i > 0 {
            metrics.fell_back(&level.name);
        }
        if !outcome.success {
            warn_level_failed(job, i + 1, &level.name, &outcome.message);
        }
        results.push(LevelResult {
            level: i as u32 + 1,
            backend: level.name.clone(),
            success: outcome.success,
            message: outcome.message,
            duration_ms: took.as_millis() as u64,
            simulated: level.backend.simulated(),
        });
        if outcome.success {
            break;
        }
    }
    summarize(job, results, started.elapsed())
}

/// Every failed level is a WARN with its error, even when a later level saves the fence: a
/// dead BMC must not hide behind a working PDU until the day the PDU fails too (issue 12).
fn warn_level_failed(job: &FenceJob, level: usize, backend: &str, error: &str) {
    let (action, node) = (job.action, &job.node);
    tracing::warn!(
        request_id = %job.request_id,
        node = %node,
        action = action.as_str(),
        level,
        backend,
        "{action} of {node}: level {level} ({backend}) failed: {error}"
    );
}

/// The result of a level the deadline kept from starting: a failure, with both times.
fn not_started(i: usize, level: &Level, job: &FenceJob) -> LevelResult {
    let deadline = job.deadline.map(Timestamp::from).map(|t| t.to_string());
    LevelResult {
        level: i as u32 + 1,
        backend: level.name.clone(),
        success: false,
        message: format!(
            "not started: the request's deadline {} passed (now {})",
            deadline.unwrap_or_default(),
            Timestamp::now()
        ),
        duration_ms: 0,
        simulated: level.backend.simulated(),
    }
}

fn summarize(job: &FenceJob, levels: Vec<LevelResult>, duration: Duration) -> RunResult {
    let (action, node) = (job.action, &job.node);
    let backend = levels.last().map(|l| l.backend.clone()).unwrap_or_default();
    let message = match levels.iter().find(|l| l.success) {
        Some(l) => format!(
            "{action} of {node} succeeded via level {} ({}): {}",
            l.level, l.backend, l.message
        ),
        None if levels.is_empty() => format!("{action} of {node} failed: no fencing level"),
        None => {
            let errors: Vec<String> = levels
                .iter()
                .map(|l| format!("level {} ({}): {}", l.level, l.backend, l.message))
                .collect();
            format!(
                "{action} of {node} failed at every level: {}",
                errors.join("; ")
            )
        }
    };
    RunResult {
        success: levels.iter().any(|l| l.success),
        backend,
        levels,
        message,
        duration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gfs2_fence_protocol::{Action, RequestId};

    fn level(n: u32, ok: bool) -> LevelResult {
        LevelResult {
            level: n,
            backend: format!("b{n}"),
            success: ok,
            message: format!("m{n}"),
            duration_ms: 1,
            simulated: false,
        }
    }

    fn level_of(name: &str, table: &str) -> Level {
        let config: crate::backend::BackendConfig = toml::from_str(table).expect("a table");
        Level {
            name: name.into(),
            backend: config.build(name).expect("builds"),
        }
    }

    #[test]
    fn simulated_routes_are_each_level_that_fences_through_the_simulation() {
        let real = || level_of("ipmi", "type = \"command\"\nargv = [\"/bin/true\"]");
        let sim = || level_of("sim", "type = \"simulate\"");
        let none = Routes::default()
            .with_route(&["*"], vec![real()])
            .expect("route");
        assert!(none.simulated().is_empty());
        let some = Routes::default()
            .with_route(&["cn-*", "gpu-*"], vec![real(), sim()])
            .and_then(|r| r.with_route(&["*"], vec![sim()]))
            .expect("routes");
        assert_eq!(
            some.simulated(),
            [
                "topology[0] level 2 (sim) for \"cn-*\", \"gpu-*\"",
                "topology[1] level 1 (sim) for \"*\"",
            ]
        );
    }

    #[test]
    fn summary_names_the_winner_or_every_error() {
        let job = FenceJob {
            request_id: RequestId::new(),
            node: NodeName::parse("cn1").expect("valid"),
            action: Action::Off,
            gfs2_filesystems: vec![],
            deadline: None,
        };
        let r = summarize(&job, vec![level(1, false), level(2, true)], Duration::ZERO);
        assert!(r.success && r.backend == "b2");
        assert!(r.message.contains("level 2 (b2)"), "{}", r.message);
        let r = summarize(&job, vec![level(1, false), level(2, false)], Duration::ZERO);
        assert!(!r.success);
        assert!(
            r.message.contains("m1") && r.message.contains("m2"),
            "{}",
            r.message
        );
    }
}
