//! What happens once a request has been claimed and found valid: when it may run
//! (`schedule.rs`: the concurrency limit, coalescing, the deadline), which backends fence its
//! node and in what order (`topology.rs`), and the command run after a successful fence
//! (`after_fence.rs`, with the node ids of the protocol's `corosync` reader). `routing.rs` holds the routes and the
//! hook that a reload replaces.

pub mod after_fence;
pub mod routing;
pub mod schedule;
pub mod topology;

pub use after_fence::AfterFence;
pub use routing::Routing;
pub use schedule::{Decision, Scheduler};
pub use topology::{run_levels, Level, Routes, RunResult};
