//! GFS2 discovery: which shared filesystems the fenced node could reach, from the cluster's own
//! sources (Pacemaker, DLM, NNF/Kubernetes, local mounts). Discovery never fails a fence: a
//! source that is missing, fails, hangs or prints garbage is recorded and the others still count.
//!
//! Every source runs on its own thread with its own deadline, `min(source_timeout, budget)`
//! from the start; external commands are killed (whole process group) at that deadline, and
//! `discover` returns at the budget (plus a short grace for the kills) whatever still runs.
//! Findings are merged in configured source order; see `merge` for the identity rule.

mod dlm;
mod merge;
mod mounts;
mod nnf;
mod pacemaker;
mod run;
mod source;

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use gfs2_fence_protocol::{Gfs2Discovery, NodeName, SourceFailure};

pub use merge::{Finding, NameKind};
pub use source::{Source, SourceListError};

/// Parsers of each source's output, public for tests, benchmarks and tools.
pub mod parse {
    pub use crate::dlm::{parse_ls as dlm_ls, Lockspace};
    pub use crate::mounts::{parse_mountinfo, Gfs2Mount};
    pub use crate::nnf::parse as nnf_storages;
    /// The quick-xml helpers of the CIB and crm_mon readers, for other readers of Pacemaker's
    /// XML (`gfs2-fencing doctor`).
    pub use crate::pacemaker::xml;
    pub use crate::pacemaker::{active_on as crm_mon_active_on, parse_cib, CibConfig, FsResource};
    pub use gfs2_fence_protocol::corosync::{
        node_id as corosync_node_id, Nodelist as CorosyncNodelist,
    };
}

/// How discovery runs. The agent fills it from its options (`gfs2_sources`, `gfs2_timeout`, ...).
#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    /// Sources in order; results are merged in this order.
    pub sources: Vec<Source>,
    /// Total time budget for all sources together.
    pub budget: Duration,
    pub crm_mon: PathBuf,
    pub cibadmin: PathBuf,
    pub dlm_tool: PathBuf,
    pub kubectl: PathBuf,
    pub kubeconfig: Option<PathBuf>,
    pub nnf_namespace: Option<String>,
    pub corosync_conf: PathBuf,
    pub mountinfo: PathBuf,
    /// Each source's own time limit, capped by `budget`. Sources run concurrently.
    pub source_timeout: Duration,
    /// Where the kernel lists mounted GFS2 filesystems by lock table (`/sys/fs/gfs2`).
    pub gfs2_sysfs: PathBuf,
    /// `CIB_file` for crm_mon and cibadmin (offline analysis, tests); `None` inherits the
    /// environment, i.e. the live cluster unless the caller's own `CIB_file` says otherwise.
    pub cib_file: Option<PathBuf>,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            sources: Source::ALL.to_vec(),
            budget: Duration::from_secs(2),
            crm_mon: "crm_mon".into(),
            cibadmin: "cibadmin".into(),
            dlm_tool: "dlm_tool".into(),
            kubectl: "kubectl".into(),
            kubeconfig: None,
            nnf_namespace: None,
            corosync_conf: gfs2_fence_protocol::corosync::DEFAULT_COROSYNC_CONF.into(),
            mountinfo: "/proc/self/mountinfo".into(),
            source_timeout: Duration::from_millis(1500),
            gfs2_sysfs: "/sys/fs/gfs2".into(),
            cib_file: None,
        }
    }
}

/// Time allowed after the budget for sources to report a kill they just made.
const KILL_GRACE: Duration = Duration::from_millis(100);

/// What one source found, and what went wrong in it (a source may find some and fail some).
#[derive(Debug, Default)]
pub struct SourceOutcome {
    pub found: Vec<Finding>,
    pub problems: Vec<String>,
}

impl SourceOutcome {
    pub fn found(found: Vec<Finding>) -> Self {
        SourceOutcome {
            found,
            problems: Vec::new(),
        }
    }

    pub fn failed(why: impl Into<String>) -> Self {
        SourceOutcome {
            found: Vec::new(),
            problems: vec![why.into()],
        }
    }
}

/// Finds the GFS2 filesystems `target` could reach. Never fails; never exceeds the budget by more
/// than the time to kill a child.
pub fn discover(target: &NodeName, cfg: &DiscoveryConfig) -> Gfs2Discovery {
    let start = Instant::now();
    let budget_end = start + cfg.budget;
    let deadline = start + cfg.source_timeout.min(cfg.budget);
    let (tx, rx) = mpsc::channel();
    let mut sources: Vec<Source> = Vec::new();
    for s in &cfg.sources {
        if sources.contains(s) {
            continue;
        }
        let (tx2, cfg, target, index) = (tx.clone(), cfg.clone(), target.clone(), sources.len());
        let s = *s;
        // Detached on purpose: a source stuck past the budget must not hold the fence up.
        let spawned = thread::Builder::new()
            .name(format!("gfs2-{s}"))
            .spawn(move || {
                let _ = tx2.send((index, run_source(s, target.as_str(), &cfg, deadline)));
            });
        if spawned.is_err() {
            let _ = tx.send((index, SourceOutcome::failed("could not start a thread")));
        }
        sources.push(s);
    }
    drop(tx);
    let mut outcomes: Vec<Option<SourceOutcome>> = sources.iter().map(|_| None).collect();
    let mut pending = sources.len();
    while pending > 0 {
        let wait = (budget_end + KILL_GRACE).saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok((i, outcome)) => {
                outcomes[i] = Some(outcome);
                pending -= 1;
            }
            Err(_) => break,
        }
    }
    assemble(target, cfg, &sources, outcomes, start)
}

fn assemble(
    target: &NodeName,
    cfg: &DiscoveryConfig,
    sources: &[Source],
    outcomes: Vec<Option<SourceOutcome>>,
    start: Instant,
) -> Gfs2Discovery {
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    for (s, outcome) in sources.iter().zip(outcomes) {
        let outcome = outcome.unwrap_or_else(|| {
            SourceOutcome::failed(format!(
                "timed out (budget of {} ms)",
                cfg.budget.as_millis()
            ))
        });
        findings.extend(outcome.found);
        errors.extend(outcome.problems.into_iter().map(|reason| SourceFailure {
            source: s.as_str().to_string(),
            reason,
        }));
    }
    let filesystems = merge::merge(findings);
    let reason = match (filesystems.is_empty(), errors.is_empty()) {
        (true, true) => Some(format!("no gfs2 filesystem found for {}", target.as_str())),
        (true, false) => Some(format!(
            "no gfs2 filesystem found for {}; {} source problem(s)",
            target.as_str(),
            errors.len()
        )),
        (false, false) => Some(format!("partial: {} source problem(s)", errors.len())),
        (false, true) => None,
    };
    Gfs2Discovery {
        enabled: true,
        reason,
        filesystems,
        errors,
        elapsed_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

fn run_source(s: Source, target: &str, cfg: &DiscoveryConfig, deadline: Instant) -> SourceOutcome {
    match s {
        Source::Pacemaker => pacemaker::discover(target, cfg, deadline),
        Source::Dlm => dlm::discover(target, &cfg.corosync_conf, &cfg.dlm_tool, deadline),
        Source::Nnf => nnf::discover(target, cfg, deadline),
        Source::Mounts => match mounts::discover(&cfg.mountinfo, &cfg.gfs2_sysfs) {
            Ok(found) => SourceOutcome::found(found),
            Err(e) => SourceOutcome::failed(e.to_string()),
        },
    }
}
