//! The claim protocol of `docs/DESIGN.md`, in the order a request goes through it:
//!
//! 1. `handle.rs`: a name seen in `REQUEST_DIR` becomes one task (bounded), which
//! 2. `claim.rs`: skips what is already answered, claims by renaming into `.claimed`, reads and
//!    validates the claimed copy,
//! 3. asks `crate::fencing` for a decision, and
//! 4. `respond.rs`: publishes the response (content fsynced), never replacing one, then removes
//!    the claim (retrying while the response directory refuses it);
//! 5. `recovery.rs`: at start-up, answered claims are removed and unanswered ones handled again.
//!
//! `clock.rs` says when a requester's clock and this host's disagree. `spool.rs` opens the five
//! directories; `context.rs` is the state the request tasks share;
//! `sweep.rs` answers requests that pass their deadline while they wait for a task.

pub mod claim;
pub mod clock;
pub mod context;
pub mod handle;
pub mod recovery;
pub mod respond;
pub mod spool;
pub mod sweep;

pub use context::{Context, TASK_WINDOW};
pub use handle::{reject, submit, submit_claimed, Origin};
pub use spool::Spool;

#[cfg(test)]
mod tests;
