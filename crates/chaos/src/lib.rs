//! `gfs2-chaos`: a chaos campaign against the real `fence_watcher` and `fence_gfs2_recorder`.
//!
//! Agents run as Pacemaker runs them, a few at a time, for random nodes and actions; the daemon
//! fences through a `command` backend (this same executable, `gfs2-chaos backend`) that records
//! every run in a run log; faults are injected at random (see [`faults`]); afterwards the
//! [`oracle`] checks the history against what the pair promises. A seed fixes every choice, so
//! a failure replays with `--seed`.

pub mod agents;
pub mod backend;
pub mod bmc;
pub mod campaign;
pub mod collect;
pub mod error;
pub mod faults;
pub mod history;
pub mod hogs;
pub mod hook;
pub mod liar;
pub mod oracle;
pub mod procs;
pub mod report;
pub mod rng;
pub mod supervisor;
pub mod world;
