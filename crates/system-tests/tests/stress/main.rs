//! Load and benchmarks: bursts of 300 agents at once (`burst`), thousands of fences in a row
//! (`load`), fence latency against real BMC emulators (`peers_bench`) and the operator views on
//! a big spool (`views_bench`), the benchmarks ignored by default.
//!
//! A binary of its own, and one test at a time inside it ([`alone`]): a burst deliberately
//! holds more inotify instances than `fs.inotify.max_user_instances` allows (shared by every
//! process of the user), which would starve the daemons and agents of any test beside it, and
//! the load test's file-descriptor and memory figures, like the benchmarks' times, measure
//! one test only when nothing else runs.

use std::sync::{Mutex, MutexGuard};

mod burst;
mod load;
mod peers_bench;
mod peers_bench_ec2;
mod probe_bench;
mod views_bench;

/// Held for the whole of every test in this binary, so each runs alone.
fn alone() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    // A test that panicked while holding it cleaned up in its own Drops.
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}
