//! Support for the system tests: the real `fence_gfs2_recorder` and `fence_watcher` binaries,
//! run against each other through real directories, and a real single-node Pacemaker cluster.
//!
//! Everything here panics with a message naming what went wrong: it only ever runs inside a
//! `#[test]`, where a panic is the failure report. Every guard (daemon, agent, cluster) cleans
//! up in `Drop`, so a failing assertion leaves no process behind.

pub mod agent;
pub mod bins;
pub mod bmc;
pub mod cluster3;
pub mod daemon;
pub mod faults;
pub mod guides;
pub mod host_dirs;
pub mod hostile_redfish;
pub mod journal;
pub mod moto;
pub mod nnf_model;
pub mod pacemaker;
pub mod peers;
pub mod procs;
pub mod spool;

pub use agent::{Agent, AgentProc, AgentRun};
pub use daemon::Daemon;
pub use spool::Spool;

/// A free loopback port (bound and released; another process could take it in between, which
/// the kernel's rotation of ephemeral ports makes rare). Peers of tests that run in parallel
/// take their port from here, never a fixed number: two fixed ones collided in CI.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

use std::time::{Duration, Instant};

/// Polls `check` every 50 ms until it returns `Some`, or `None` once `bound` has passed.
/// Bounds are generous upper limits, never expectations.
pub fn wait_for<T>(bound: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if start.elapsed() > bound {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
