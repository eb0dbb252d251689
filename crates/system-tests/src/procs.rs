//! Processes by PID through `/proc`: signals, "is it gone", children and names. Used to stop
//! exactly the processes a test started, never anything found by a broad name match.

use std::process::Child;
use std::time::Duration;

use rustix::process::{kill_process, Pid, Signal};

/// Sends `sig` to `pid`; a process that is already gone is not an error.
pub fn signal(pid: u32, sig: Signal) {
    if let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(p, sig);
    }
}

/// `(comm, state, ppid)` of a live process, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(String, char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm is in parentheses and may contain spaces; the fields after the last ')' are fixed.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let mut rest = text.get(close + 2..)?.split(' ');
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, state, ppid))
}

/// Whether `pid` still runs (a zombie counts as gone: it runs nothing).
pub fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(_, state, _)| state != 'Z' && state != 'X')
}

/// Every live process as `(pid, comm, ppid)`.
pub fn all() -> Vec<(u32, String, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let (comm, state, ppid) = stat(pid)?;
            (state != 'Z' && state != 'X').then_some((pid, comm, ppid))
        })
        .collect()
}

/// Live children of `parent`.
pub fn children(parent: u32) -> Vec<(u32, String)> {
    all()
        .into_iter()
        .filter(|(_, _, ppid)| *ppid == parent)
        .map(|(pid, comm, _)| (pid, comm))
        .collect()
}

/// Waits until none of `pids` runs; returns those still running after `bound`.
pub fn wait_gone(pids: &[u32], bound: Duration) -> Vec<u32> {
    let _ = crate::wait_for(bound, || pids.iter().all(|p| !alive(*p)).then_some(()));
    pids.iter().copied().filter(|p| alive(*p)).collect()
}

/// Waits for our own child to exit for at most `bound`; returns whether it exited.
pub fn wait_child(child: &mut Child, bound: Duration) -> bool {
    crate::wait_for(bound, || child.try_wait().ok().flatten()).is_some()
}

/// Stops our own child: SIGTERM, up to `grace` to exit, then SIGKILL, and reaps it.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    signal(child.id(), Signal::TERM);
    if !wait_child(child, grace) {
        let _ = child.kill();
    }
    let _ = child.wait();
}
