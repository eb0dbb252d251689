//! Sustained load: thousands of fences through real agent processes against one daemon
//! (`--simulate`), a bounded number of agents at a time, and afterwards a look at what the
//! daemon holds: file descriptors, memory, and what is left in the spool.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use system_tests::{wait_for, Agent, AgentProc, AgentRun, Daemon, Spool};

/// Fences in all (`GFS2_SYSTESTS_LOAD` overrides it, for longer measurements).
fn total() -> usize {
    env_number("GFS2_SYSTESTS_LOAD", 3000)
}

/// Agents running at once (`GFS2_SYSTESTS_LOAD_CONCURRENCY` overrides it).
fn concurrency() -> usize {
    env_number("GFS2_SYSTESTS_LOAD_CONCURRENCY", 32)
}

fn env_number(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// The daemon's peak RSS may not exceed this after the run (README: 7 MB under a burst).
const MAX_HWM_KB: u64 = 30 * 1024;
/// File descriptors the daemon may hold beyond its count at start once the load is over (a
/// descriptor or two may belong to work the runtime does lazily, such as a blocking thread's).
const FD_SLACK: usize = 2;

/// Promise: thousands of fences in a row leave the daemon as it started: every agent exits 0
/// with its own response, exactly one response per request, nothing left in the request
/// directory or `.claimed/`, no leaked file descriptors, and bounded memory.
#[test]
fn thousands_of_fences_leave_nothing_behind() {
    let _alone = crate::alone();
    let (count, width) = (total(), concurrency());
    let spool = Spool::new();
    let width_arg = width.to_string();
    let daemon = Daemon::start(&spool, &["--simulate", "--max-concurrent", &width_arg]);
    let pid = daemon.pid();
    let fds_start = fd_count(pid);
    let start = Instant::now();
    let runs = run_agents(&spool, count, width);
    let took = start.elapsed();

    let failed: Vec<_> = runs.iter().filter(|(_, r)| r.code != Some(0)).collect();
    assert!(
        failed.is_empty(),
        "{} of {count} agents failed, first: {:?}\ndaemon log tail:\n{}",
        failed.len(),
        failed.first(),
        tail(&daemon.log_text(), 20)
    );
    check_responses(&spool, count);
    let left = spool.drained(Duration::from_secs(30));
    assert!(left.is_empty(), "left in the request directory: {left:?}");
    let stray = stray_entries(&spool);
    assert!(
        stray.is_empty(),
        "stray files in the request directory: {stray:?}"
    );

    // The daemon closes a request's descriptors after publishing its response: give it a
    // moment (bounded) to get back to where it started.
    let fds_end = wait_for(Duration::from_secs(10), || {
        let n = fd_count(pid);
        (n <= fds_start + FD_SLACK).then_some(n)
    })
    .unwrap_or_else(|| fd_count(pid));
    let (hwm, rss) = (status_kb(pid, "VmHWM"), status_kb(pid, "VmRSS"));
    println!(
        "load: {count} fences, {width} agents at a time, in {:.1} s = {:.0} fences/s; daemon fds \
         {fds_start} -> {fds_end}, VmHWM {} KiB, VmRSS {} KiB after",
        took.as_secs_f64(),
        count as f64 / took.as_secs_f64(),
        hwm,
        rss
    );
    assert!(
        fds_end <= fds_start + FD_SLACK,
        "daemon fds grew from {fds_start} to {fds_end}: {:?}",
        fd_targets(pid)
    );
    assert!(hwm > 0 && hwm <= MAX_HWM_KB, "daemon VmHWM {hwm} KiB");
}

/// Runs `count` agents for nodes `load-0..count`, at most `width` at once; returns each
/// node's result.
fn run_agents(spool: &Spool, count: usize, width: usize) -> Vec<(String, AgentRun)> {
    let mut running: Vec<(String, AgentProc)> = Vec::new();
    let mut done = Vec::with_capacity(count);
    let mut next = 0;
    while done.len() < count {
        while running.len() < width && next < count {
            let node = format!("load-{next}");
            let agent = Agent::new(spool, "reboot", &node, 300).spawn();
            running.push((node, agent));
            next += 1;
        }
        let before = running.len();
        let mut i = 0;
        while i < running.len() {
            if running[i].1.finished() {
                let (node, agent) = running.swap_remove(i);
                done.push((node, agent.wait()));
            } else {
                i += 1;
            }
        }
        if running.len() == before {
            // The poll interval of this loop, which checks its own condition (an agent
            // finished) on every turn; wait_for fits no loop that also starts agents.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    done
}

/// Exactly one successful response per node, in the file named after its request, and one
/// `completed` event per node with that response's request id.
fn check_responses(spool: &Spool, count: usize) {
    let responses = spool.responses();
    assert_eq!(responses.len(), count, "responses");
    let mut nodes = HashSet::new();
    let mut ids = HashSet::new();
    for (name, r) in &responses {
        assert!(r.success, "{name}: {r:?}");
        assert_eq!(name, &format!("{}.json", r.request_id), "{name}: own file");
        assert!(
            nodes.insert(r.target_node.to_string()),
            "two responses for {}",
            r.target_node
        );
        assert!(
            ids.insert(r.request_id.to_string()),
            "two responses for {}",
            r.request_id
        );
    }
    let expected: HashSet<String> = (0..count).map(|i| format!("load-{i}")).collect();
    assert_eq!(nodes, expected, "one response per node");
    let completed = spool
        .events()
        .into_iter()
        .filter(|e| e["event"] == "completed")
        .filter(|e| e["request_id"].as_str().is_some_and(|id| ids.contains(id)))
        .count();
    assert_eq!(completed, count, "completed events matching a response");
}

/// Entries of the request directory other than the daemon's `.claimed/` and `.rejected/`
/// directories and its responder lock, dot-files included, and everything inside those two
/// (nothing was rejected).
fn stray_entries(spool: &Spool) -> Vec<String> {
    let list = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    // The daemon's own entries (its claims, rejected names, kept outcomes, its lock): only what
    // is left inside them is stray.
    let private = [
        ".claimed",
        ".rejected",
        ".outcomes",
        gfs2_fence_protocol::LOCK_FILE,
    ];
    let mut stray: Vec<String> = list(&spool.requests)
        .into_iter()
        .filter(|n| !private.contains(&n.as_str()))
        .collect();
    for sub in private {
        let inside = list(&spool.requests.join(sub));
        stray.extend(inside.into_iter().map(|n| format!("{sub}/{n}")));
    }
    stray
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or_else(|e| panic!("cannot list /proc/{pid}/fd: {e}"))
}

/// What the daemon's descriptors point at, for the failure message.
fn fd_targets(pid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .collect()
}

/// A `kB` field of `/proc/PID/status`.
fn status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
