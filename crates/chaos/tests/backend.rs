//! The campaign's backend as the daemon stops it at a deadline (SIGTERM to its group): its run
//! must still end in the run log, or the oracle takes it for a run still going and reports the
//! node's next run as overlapping it (a false `node-overlap` seen in CI).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gfs2_chaos::history::{runs_from_log, RunLine};

#[test]
fn a_run_stopped_with_sigterm_records_its_end_as_terminated() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("runs.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gfs2-chaos"))
        .arg("backend")
        .arg("--run-log")
        .arg(&log)
        .args([
            "--min-ms",
            "60000",
            "--max-ms",
            "60001",
            "--fail-permille",
            "0",
        ])
        .args(["node-01", "on", "req-1"])
        .stdin(Stdio::null())
        .spawn()
        .expect("run gfs2-chaos backend");
    let started = Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("\"start\"")) {
        assert!(started.elapsed() < Duration::from_secs(30), "no start line");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let status = child.wait().expect("reap");
    assert_eq!(
        status.code(),
        Some(gfs2_chaos::backend::TERMINATED),
        "{status:?}"
    );
    let text = std::fs::read_to_string(&log).expect("the run log");
    let ends: Vec<RunLine> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<RunLine>(l).ok())
        .filter(|l| l.ev == "end")
        .collect();
    assert_eq!(ends.len(), 1, "{text}");
    assert_eq!(ends[0].code, Some(gfs2_chaos::backend::TERMINATED));
    let runs = runs_from_log(&text);
    assert_eq!(runs.len(), 1);
    assert!(runs[0].end_ns.is_some(), "the run has an end: {text}");
    assert!(!runs[0].succeeded(), "a terminated run is no fence");
}
