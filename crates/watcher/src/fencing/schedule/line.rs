//! One run in a node's line: its action, the requests waiting for it (members, each with its
//! deadline), and its state, which members and the next run in the line watch.
//!
//! Lock order: the scheduler's lines, then a run's members. The move from waiting to running
//! and a member's leaving both happen under the members' lock, so a member either leaves
//! before the run starts (and is answered expired) or is one of those it started for.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use gfs2_fence_protocol::Action;
use tokio::sync::watch;

use crate::fencing::RunResult;

/// Where a run is.
#[derive(Debug, Clone)]
pub enum State {
    /// Waiting for the run before it in the line, or for a permit.
    Waiting,
    /// The backends run.
    Running,
    Done(Done),
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum Done {
    Ran {
        result: Arc<RunResult>,
        owner: u64,
    },
    /// The node lost its route before the run's turn (a reload).
    NoRoute,
    /// Nobody wanted it any more by its turn: every member had passed its deadline.
    NotRun,
}

/// A member: its id and its deadline (`None`: none).
type Member = (u64, Option<SystemTime>);

#[derive(Debug)]
pub struct Run {
    pub action: Action,
    state: watch::Sender<State>,
    members: Mutex<Vec<Member>>,
}

impl Run {
    pub fn new(action: Action, first: u64, deadline: Option<SystemTime>) -> Run {
        Run {
            action,
            state: watch::Sender::new(State::Waiting),
            members: Mutex::new(vec![(first, deadline)]),
        }
    }

    fn members(&self) -> MutexGuard<'_, Vec<Member>> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn subscribe(&self) -> watch::Receiver<State> {
        self.state.subscribe()
    }

    /// Adds a member, unless the run has started (called under the lines' lock, as `start` and
    /// `finish` are). A run already under way began before this request existed, so its result
    /// is no proof for it: a success is reported only for a run that started after the request
    /// (DESIGN.md, "Daemon claim protocol", step 4); the request waits for the next run.
    pub fn join(&self, member: u64, deadline: Option<SystemTime>) -> bool {
        let mut members = self.members();
        if !matches!(*self.state.borrow(), State::Waiting) {
            return false;
        }
        members.push((member, deadline));
        true
    }

    /// Removes a member whose deadline passed; false when the run started meanwhile while
    /// the member was still in time (it then waits for the result: it was started for it).
    pub fn leave(&self, member: u64) -> bool {
        let mut members = self.members();
        if matches!(*self.state.borrow(), State::Waiting) {
            members.retain(|(m, _)| *m != member);
            return true;
        }
        // Once started, the members are those it was started for (`start` keeps only them):
        // one of them stays, and is answered with the run's result.
        !members.iter().any(|(m, _)| *m == member)
    }

    /// Whether `member` is (still) one the run is for.
    pub fn is_member(&self, member: u64) -> bool {
        self.members().iter().any(|(m, _)| *m == member)
    }

    /// How long the run is still wanted: `None` when nobody wants it, `Some(None)` when a
    /// member has no deadline, else the latest deadline of the members.
    pub fn wanted_until(&self) -> Option<Option<SystemTime>> {
        wanted_until(&self.members())
    }

    /// Marks the run started for the members still in time and returns the earliest of them
    /// (the one the run is counted for); `None` when none is. A member past its deadline is
    /// dropped here, so it is answered expired even if its own timer has not fired yet.
    pub fn start(&self) -> Option<u64> {
        let mut members = self.members();
        let now = SystemTime::now();
        members.retain(|(_, d)| d.is_none_or(|d| d > now));
        let owner = members.first().map(|(m, _)| *m)?;
        self.state.send_replace(State::Running);
        Some(owner)
    }

    pub fn finish(&self, done: Done) {
        let _members = self.members();
        self.state.send_replace(State::Done(done));
    }

    /// Waits until the run has ended.
    pub async fn ended(&self) {
        let mut rx = self.state.subscribe();
        // The sender lives in self, so the channel cannot close while we wait.
        let _ = rx.wait_for(|s| matches!(s, State::Done(_))).await;
    }
}

fn wanted_until(members: &[Member]) -> Option<Option<SystemTime>> {
    if members.is_empty() {
        return None;
    }
    if members.iter().any(|(_, d)| d.is_none()) {
        return Some(None);
    }
    members.iter().filter_map(|(_, d)| *d).max().map(Some)
}
