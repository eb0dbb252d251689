//! The campaign's output: counts, and for each violation the oracle, the request and the fault
//! timeline around it; the same as JSON with the whole history for `--report`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::history::{Ending, History};
use crate::oracle::{Verdict, Violation};

/// The counts a campaign ends with.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub seed: u64,
    pub exchanges: usize,
    pub warmup_exchanges: usize,
    pub faults_per_class: BTreeMap<String, usize>,
    pub faults_total: usize,
    pub agent_exit_0: usize,
    pub agent_exit_1: usize,
    pub agent_exit_other: usize,
    pub agents_killed: usize,
    pub backend_runs: usize,
    pub daemon_starts: usize,
    pub daemon_failed_starts: usize,
    pub violations_per_kind: BTreeMap<String, usize>,
    pub extra_runs_explained: usize,
    pub unpublished: usize,
    /// Answers of the lying BMC, by lie (`lying-bmc`), and the successes it proved (exits 0 of
    /// the agents of its nodes).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bmc_lies_told: BTreeMap<String, u64>,
    pub bmc_exit_0: usize,
    pub wall_secs: f64,
    pub cut_short: bool,
}

/// Builds the summary of a judged history.
pub fn summarize(h: &History, v: &Verdict, seed: u64, warmup: usize, starts: usize) -> Summary {
    let mut faults_per_class = BTreeMap::new();
    for f in &h.faults {
        *faults_per_class.entry(f.class.clone()).or_insert(0) += 1;
    }
    let mut violations_per_kind = BTreeMap::new();
    for x in &v.violations {
        *violations_per_kind.entry(x.kind.to_owned()).or_insert(0) += 1;
    }
    let exits = |c: Option<i32>| h.agents.iter().filter(|a| a.exit == c).count();
    let failed_starts = h
        .instances
        .iter()
        .filter(|i| i.role == "main" && !i.ready && matches!(i.ending, Ending::Exited(_)))
        .count();
    Summary {
        seed,
        exchanges: h.agents.len().saturating_sub(warmup),
        warmup_exchanges: warmup.min(h.agents.len()),
        faults_total: h.faults.len(),
        faults_per_class,
        agent_exit_0: exits(Some(0)),
        agent_exit_1: exits(Some(1)),
        agent_exit_other: h.agents.len() - exits(Some(0)) - exits(Some(1)),
        agents_killed: h.agents.iter().filter(|a| a.killed).count(),
        backend_runs: h.runs.len(),
        daemon_starts: starts,
        daemon_failed_starts: failed_starts,
        violations_per_kind,
        extra_runs_explained: v.extra_runs_explained,
        unpublished: v.unpublished,
        bmc_lies_told: h.bmc_told.clone(),
        bmc_exit_0: h
            .agents
            .iter()
            .filter(|a| a.exit == Some(0) && crate::bmc::is_bmc_node(&a.node))
            .count(),
        wall_secs: 0.0,
        cut_short: false,
    }
}

/// Milliseconds of `t` after `t0`, signed.
fn rel(t: u64, t0: u64) -> String {
    if t == 0 {
        return "start".to_owned();
    }
    let ms = (i128::from(t) - i128::from(t0)) / 1_000_000;
    format!("{ms:+}ms")
}

/// The faults and responder starts/ends within 2 s of the violation's interval.
pub fn timeline(h: &History, x: &Violation, t0: u64) -> String {
    const SLACK: u64 = 2_000_000_000;
    let (from, to) = (
        x.from_ns.saturating_sub(SLACK),
        x.to_ns.saturating_add(SLACK),
    );
    let mut lines: Vec<(u64, String)> = Vec::new();
    for f in h
        .faults
        .iter()
        .filter(|f| f.end_ns >= from && f.start_ns <= to)
    {
        let until = if f.end_ns > f.start_ns {
            format!(" until {}", rel(f.end_ns, t0))
        } else {
            String::new()
        };
        lines.push((
            f.start_ns,
            format!("fault {}: {}{until}", f.class, f.detail),
        ));
    }
    for i in &h.instances {
        if i.start_ns >= from && i.start_ns <= to {
            lines.push((
                i.start_ns,
                format!("{} fence_watcher {} started", i.role, i.pid),
            ));
        } else if i.start_ns < from && i.end_ns.is_none_or(|e| e > to) {
            let what = format!("{} fence_watcher {} running throughout", i.role, i.pid);
            lines.push((i.start_ns, what));
        }
        if let Some(e) = i.end_ns.filter(|e| *e >= from && *e <= to) {
            lines.push((
                e,
                format!("{} fence_watcher {} ended: {:?}", i.role, i.pid, i.ending),
            ));
        }
    }
    lines.sort();
    let mut out = String::new();
    for (t, l) in lines {
        let _ = writeln!(out, "      {} {l}", rel(t, t0));
    }
    if out.is_empty() {
        out.push_str("      (no fault or responder event in that window)\n");
    }
    out
}

/// The text report: violations with their timelines, then the counts.
pub fn text(h: &History, v: &Verdict, s: &Summary, t0: u64) -> String {
    let mut out = String::new();
    for x in &v.violations {
        let _ = writeln!(
            out,
            "VIOLATION oracle {} {}: {}\n    request: {}\n    window: {} .. {}\n    timeline:",
            x.oracle,
            x.kind,
            x.message,
            x.request.as_deref().unwrap_or("-"),
            rel(x.from_ns, t0),
            if x.to_ns == u64::MAX {
                "end".to_owned()
            } else {
                rel(x.to_ns, t0)
            }
        );
        out.push_str(&timeline(h, x, t0));
    }
    let _ = writeln!(
        out,
        "SUMMARY {}",
        serde_json::to_string(s).unwrap_or_default()
    );
    out
}
