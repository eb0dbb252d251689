//! The latest probe results and the count of simulated routes: written by the rounds and by a
//! reload, read by the heartbeat, which rewrites its file only when they changed.

use std::sync::{Mutex, MutexGuard};

use gfs2_fence_protocol::Health;
use tokio::sync::Notify;

/// What the heartbeat says beyond "alive".
#[derive(Debug, Default)]
pub struct Board {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    simulated_routes: u32,
    health: Option<Health>,
    /// Changed since the heartbeat last wrote it.
    dirty: bool,
}

impl Board {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the number of simulated routes (at start and at every reload).
    pub fn set_simulated_routes(&self, n: u32) {
        let mut s = self.lock();
        if s.simulated_routes != n {
            s.simulated_routes = n;
            s.dirty = true;
            drop(s);
            self.changed.notify_one();
        }
    }

    /// Records the results of a round (`None`: probing was turned off).
    pub fn publish(&self, health: Option<Health>) {
        let mut s = self.lock();
        if s.health != health {
            s.health = health;
            s.dirty = true;
            drop(s);
            self.changed.notify_one();
        }
    }

    /// The current values, and whether they changed since the last call that took them.
    pub fn take(&self) -> (u32, Option<Health>, bool) {
        let mut s = self.lock();
        let dirty = std::mem::replace(&mut s.dirty, false);
        (s.simulated_routes, s.health.clone(), dirty)
    }

    /// Whether the values changed since they were last taken.
    pub fn is_dirty(&self) -> bool {
        self.lock().dirty
    }

    /// Marks the values unwritten again (the heartbeat could not be written).
    pub fn unwritten(&self) {
        self.lock().dirty = true;
    }

    /// Returns once something changed since the last wake-up.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}
