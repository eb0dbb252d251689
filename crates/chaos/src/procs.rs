//! Processes the campaign started, found and stopped by PID only: children by their `Child`,
//! orphans (guardians, backends whose daemon was killed) by their executable, which is one of
//! the campaign's own private copies, so nothing outside the campaign can ever match.

use std::path::Path;
use std::process::Child;

use rustix::process::{kill_process_group, Pid, Signal};

pub use system_tests::procs::{alive, signal};

/// Sends `sig` to the process group `pgid` (an agent and what it forked, as Pacemaker does).
pub fn signal_group(pgid: u32, sig: Signal) {
    if let Some(p) = i32::try_from(pgid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(p, sig);
    }
}

/// Whether `child` has exited (it is then reaped and its status kept by `Child`).
pub fn exited(child: &mut Child) -> Option<std::process::ExitStatus> {
    child.try_wait().ok().flatten()
}

/// Live processes whose executable is inside `dir` (the campaign's private binaries).
pub fn running_from(dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.starts_with(dir))
        })
        .filter(|pid| alive(*pid))
        .collect()
}

/// The number of open fds and the RSS (KiB) of `pid`.
pub fn resources(pid: u32) -> Option<crate::history::Resources> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(crate::history::Resources { fds, rss_kib })
}
