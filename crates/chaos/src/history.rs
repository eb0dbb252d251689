//! What happened in one campaign, as plain data: the agents (exchanges), the backend runs read
//! back from the run log, the daemon instances, the faults, and the spool as it was left.
//!
//! The oracle reads only this, so it can be tested on histories written by hand. Times are
//! nanoseconds of the system clock (`CLOCK_REALTIME`), which the campaign never skews: the tool,
//! the backend and the run log all read the same clock; only agents under the clock-skew fault
//! see another one, and nothing here is taken from them.

use serde::{Deserialize, Serialize};

/// Nanoseconds since the epoch on the real system clock.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One agent run: a fence exchange as Pacemaker would start it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentRecord {
    pub idx: usize,
    pub pid: u32,
    pub node: String,
    pub action: String,
    pub fence_timeout_s: u64,
    /// Seconds of clock skew under `faketime`, if any.
    pub skew_s: Option<i64>,
    pub start_ns: u64,
    pub end_ns: u64,
    /// Exit code; `None` when a signal ended it.
    pub exit: Option<i32>,
    /// Killed by the campaign (a fault, or Pacemaker's timeout emulated).
    pub killed: bool,
    /// Killed because it outlived its `fence_timeout` (plus the time it was stopped and
    /// [`crate::oracle::OVERRUN_SLACK_S`]), as Pacemaker would kill it.
    pub overran: bool,
    /// How long a fault kept it stopped (SIGSTOP), in milliseconds.
    pub stopped_ms: u64,
    /// The request file it published, from its own stderr (`None`: it never said).
    pub request: Option<String>,
    /// It said the publish failed (`cannot publish the request`): the name it announced
    /// (logged before the publish, issue 11 #12) never reached the spool.
    #[serde(default)]
    pub publish_failed: bool,
    /// Where its stderr is kept, for the failure report.
    pub stderr: String,
}

impl AgentRecord {
    /// The request id: the file name without `.json` (the seed's naming, the default).
    pub fn request_id(&self) -> Option<&str> {
        self.request.as_deref()?.strip_suffix(".json")
    }
}

/// One run of the command backend, from its start and end lines in the run log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub pid: u32,
    /// The process that started it: which responder instance ran it.
    pub ppid: u32,
    pub node: String,
    pub action: String,
    pub request_id: String,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    pub code: Option<i32>,
}

impl RunRecord {
    pub fn succeeded(&self) -> bool {
        self.code == Some(0) && self.end_ns.is_some()
    }
}

/// A line of the run log, as the backend writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunLine {
    pub ev: String,
    pub pid: u32,
    pub ppid: u32,
    pub node: String,
    pub action: String,
    pub request_id: String,
    pub t_ns: u64,
    #[serde(default)]
    pub code: Option<i32>,
}

/// Pairs the run log's start and end lines (by backend PID) into runs. A line that does not
/// parse (a run killed mid-write) is skipped: its start or end is then simply missing.
pub fn runs_from_log(text: &str) -> Vec<RunRecord> {
    let mut runs: Vec<RunRecord> = Vec::new();
    for line in text.lines() {
        let Ok(l) = serde_json::from_str::<RunLine>(line) else {
            continue;
        };
        if l.ev == "start" {
            runs.push(RunRecord {
                pid: l.pid,
                ppid: l.ppid,
                node: l.node,
                action: l.action,
                request_id: l.request_id,
                start_ns: l.t_ns,
                end_ns: None,
                code: None,
            });
        } else if let Some(r) = runs
            .iter_mut()
            .rev()
            .find(|r| r.pid == l.pid && r.end_ns.is_none())
        {
            r.end_ns = Some(l.t_ns);
            r.code = l.code;
        }
    }
    runs
}

/// How a responder instance ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ending {
    /// Still running when the history was taken.
    Running,
    /// Killed by a signal (a crash as far as the spool is concerned).
    Signalled,
    /// Asked to stop (SIGTERM) and exited.
    Stopped,
    /// Exited on its own with this code (a failed start, typically).
    Exited(i32),
}

/// One responder process: the supervised daemon, or a second responder a fault started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub pid: u32,
    /// `main`, `second` or `second-simulate`.
    pub role: String,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    pub ending: Ending,
    /// Whether it wrote its heartbeat (it watched the spool) before it ended.
    pub ready: bool,
    /// Seconds its wall clock was skewed by libfaketime (the daemon-skew fault).
    #[serde(default)]
    pub skew_s: Option<i64>,
}

impl Instance {
    /// Whether it ended without the orderly shutdown that finishes or hands back its claims.
    pub fn ended_within(&self, from_ns: u64, to_ns: u64) -> bool {
        self.end_ns.is_some_and(|e| e >= from_ns && e <= to_ns) && self.ending != Ending::Running
    }
}

/// One injected fault.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRecord {
    pub class: String,
    pub detail: String,
    pub start_ns: u64,
    /// When it was reverted; equal to the start for instantaneous faults.
    pub end_ns: u64,
}

/// A response file as left in RESPONSE_DIR.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub name: String,
    pub success: bool,
    pub outcome: Option<String>,
    pub executed: Option<bool>,
}

/// The daemon's resources at the start and end of the campaign.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Resources {
    pub fds: usize,
    pub rss_kib: u64,
}

/// Everything the oracle needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    pub agents: Vec<AgentRecord>,
    pub runs: Vec<RunRecord>,
    pub instances: Vec<Instance>,
    pub faults: Vec<FaultRecord>,
    pub responses: Vec<ResponseRecord>,
    /// `*.json` names still in REQUEST_DIR at the end.
    pub requests_left: Vec<String>,
    /// Names still in REQUEST_DIR/.claimed at the end.
    pub claimed_left: Vec<String>,
    /// Withdrawn requests (`.X.json.cancel`) left in REQUEST_DIR.
    pub cancel_files: Vec<String>,
    /// Baseline and final resources of the daemon (none when it never became ready).
    pub baseline: Option<Resources>,
    pub final_resources: Option<Resources>,
    /// The most the supervised daemon held at once after the baseline (sampled every 100 ms).
    #[serde(default)]
    pub peak: Option<Resources>,
    /// Every run of the hostile hook, from its own log.
    #[serde(default)]
    pub hook_runs: Vec<crate::hook::HookRun>,
    /// Hook descendants still alive after the quiescent period (PIDs).
    #[serde(default)]
    pub hook_survivors: Vec<u32>,
    /// The lying responder's forged answers.
    #[serde(default)]
    pub lies: Vec<crate::liar::Lie>,
    /// Backlog requests not yet answered when their fault ended (answered ones are counted in
    /// the fault's detail and their responses removed, to keep RESPONSE_DIR small).
    #[serde(default)]
    pub backlog: Vec<String>,
    /// Each move of RESPONSE_DIR.
    #[serde(default)]
    pub moves: Vec<MoveRecord>,
    /// The lying BMC's true power states (the `lying-bmc` fault), and the lies it told.
    #[serde(default)]
    pub bmc_truth: Vec<crate::bmc::Truth>,
    #[serde(default)]
    pub bmc_told: std::collections::BTreeMap<String, u64>,
    /// Files holding a form of the BMC's secret (`path: form`), with the `lying-bmc` fault.
    #[serde(default)]
    pub secret_leaks: Vec<String>,
}

/// One move of RESPONSE_DIR by the moved-response-dir fault.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MoveRecord {
    pub start_ns: u64,
    pub end_ns: u64,
    /// The supervised daemon when the directory was moved, if it was running and not stopped.
    pub daemon_pid: Option<u32>,
    /// Responses that appeared in the old directory while it was moved away, and not in the
    /// new one: written where nobody reads.
    pub only_in_old: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_log_lines_pair_by_pid_and_a_torn_line_is_skipped() {
        let log = concat!(
            r#"{"ev":"start","pid":5,"ppid":1,"node":"n1","action":"off","request_id":"a","t_ns":10}"#,
            "\n",
            r#"{"ev":"start","pid":6,"ppid":1,"node":"n2","action":"on","request_id":"b","t_ns":11}"#,
            "\n",
            r#"{"ev":"end","pid":5,"ppid":1,"node":"n1","action":"off","request_id":"a","t_ns":20,"code":0}"#,
            "\n",
            r#"{"ev":"end","pid":6,"#,
        );
        let runs = runs_from_log(log);
        assert_eq!(runs.len(), 2);
        assert!(runs[0].succeeded());
        assert_eq!(runs[0].end_ns, Some(20));
        assert!(!runs[1].succeeded());
        assert_eq!(runs[1].end_ns, None);
    }
}
