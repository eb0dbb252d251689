//! The requests the daemon has seen and not answered yet, for the pending gauges: each one is
//! registered while its [`Held`] guard lives (it goes with the request's unit of work, from its
//! submission to its end), so no path out of a request can forget to count it down.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// When this daemon saw the request: the daemon's own clock, so the age does not depend on
    /// the requester's.
    since: SystemTime,
    /// The request's deadline, once it has been read.
    deadline: Option<SystemTime>,
}

#[derive(Debug, Default)]
pub struct PendingTable {
    table: Mutex<(u64, BTreeMap<u64, Entry>)>,
}

/// What the pending gauges show at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    pub count: usize,
    /// Age of the oldest, zero when none is pending.
    pub oldest: Duration,
    /// How many are held past their deadline.
    pub late: usize,
}

/// A request seen by the daemon; dropped when it is answered (or abandoned at a stop).
#[derive(Debug)]
pub struct Held {
    pending: Arc<PendingTable>,
    id: u64,
}

impl PendingTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, BTreeMap<u64, Entry>)> {
        // A poisoned lock only means another thread panicked mid-update; counting goes on.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn hold(self: &Arc<Self>, since: SystemTime) -> Held {
        let mut t = self.lock();
        t.0 += 1;
        let id = t.0;
        t.1.insert(
            id,
            Entry {
                since,
                deadline: None,
            },
        );
        Held {
            pending: self.clone(),
            id,
        }
    }

    pub fn snapshot(&self, now: SystemTime) -> Snapshot {
        let t = self.lock();
        let age = |e: &Entry| now.duration_since(e.since).unwrap_or(Duration::ZERO);
        Snapshot {
            count: t.1.len(),
            oldest: t.1.values().map(age).max().unwrap_or(Duration::ZERO),
            late: t
                .1
                .values()
                .filter(|e| e.deadline.is_some_and(|d| d < now))
                .count(),
        }
    }
}

impl Held {
    /// Records the request's deadline once it is known (after the request was read).
    pub fn deadline(&self, deadline: Option<SystemTime>) {
        if let Some(e) = self.pending.lock().1.get_mut(&self.id) {
            e.deadline = deadline;
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.pending.lock().1.remove(&self.id);
    }
}
