//! Every metric the daemon keeps, in one struct, rendered in the Prometheus text format
//! (`metrics/render.rs`). Labelled counters are exposed at 0 for every label value known in
//! advance (outcomes × actions, the backends of the current routes), so that `increase()` sees
//! the first failure instead of a series that starts at 1.
//!
//! The series, their types, labels and meanings are listed in the crate README (`## Metrics`);
//! a test checks that the table names every family rendered here, with its type.

mod histogram;
mod pending;
mod render;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gfs2_fence_protocol::{Action, Outcome};

use histogram::Histogram;
pub use pending::Held as Pending;

/// How one level (one backend run) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelEnd {
    Success,
    Failure,
    /// It failed having used all the time it had (its own timeout, or what was left before
    /// the request's deadline): a dead or hung controller, not a refusal.
    Timeout,
}

impl LevelEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            LevelEnd::Success => "success",
            LevelEnd::Failure => "failure",
            LevelEnd::Timeout => "timeout",
        }
    }
    const ALL: [LevelEnd; 3] = [LevelEnd::Success, LevelEnd::Failure, LevelEnd::Timeout];
}

/// The label value of a request counter without a backend or an action.
const NONE: &str = "none";

type Counts<K> = Mutex<BTreeMap<K, u64>>;

/// The daemon's metrics. Cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (outcome, action, backend)
    requests: Counts<(&'static str, &'static str, String)>,
    /// (backend, result)
    backend_runs: Counts<(String, &'static str)>,
    /// (backend, kind)
    backend_durations: Mutex<BTreeMap<(String, &'static str), Histogram>>,
    fallbacks: Counts<String>,
    /// The backends of the current routes, (name, kind): their series exist from the start.
    known_backends: Mutex<Vec<(String, &'static str)>>,
    pending: Arc<pending::PendingTable>,
    in_flight: AtomicI64,
    /// Microseconds since the Unix epoch; 0 before the first heartbeat.
    heartbeat_micros: AtomicU64,
    inotify_fallback: AtomicI64,
    /// Inverted so that `Default` (0) means "can publish" before the first probe.
    cannot_publish: AtomicI64,
    simulated_routes: AtomicI64,
    fence_duration: Mutex<Histogram>,
    invalid_requests: AtomicU64,
    rejected_files: AtomicU64,
    coalesced_requests: AtomicU64,
    already_answered: AtomicU64,
    recovered_requests: AtomicU64,
    after_fence_failures: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_refused: AtomicU64,
    /// The health probes' metrics (`observe/probes.rs`).
    pub probes: super::probes::ProbeMetrics,
}

/// Keeps `fence_watcher_in_flight` raised while it lives.
#[derive(Debug)]
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked mid-increment; counting goes on.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn bump<K: Ord>(map: &Counts<K>, key: K) {
    *locked(map).entry(key).or_insert(0) += 1;
}

impl Metrics {
    /// A request answered; `action` is `None` for an invalid one.
    pub fn answered(&self, outcome: Outcome, action: Option<Action>, backend: &str) {
        let backend = if backend.is_empty() { NONE } else { backend };
        let action = action.map_or(NONE, Action::as_str);
        bump(
            &self.requests,
            (outcome.as_str(), action, backend.to_owned()),
        );
        if outcome == Outcome::Invalid {
            self.invalid_requests.fetch_add(1, Relaxed);
        }
    }

    /// One level run: `backend` is its `[backends.X]` key, `kind` its type.
    pub fn backend_run(&self, backend: &str, kind: &'static str, end: LevelEnd, took: Duration) {
        bump(&self.backend_runs, (backend.to_owned(), end.as_str()));
        locked(&self.backend_durations)
            .entry((backend.to_owned(), kind))
            .or_default()
            .observe(took);
    }

    /// A fence saved by `backend`, a level after the first.
    pub fn fell_back(&self, backend: &str) {
        bump(&self.fallbacks, backend.to_owned());
    }

    /// The backends of the routes now in force (at start and at every reload).
    pub fn known_backends(&self, backends: Vec<(String, &'static str)>) {
        *locked(&self.known_backends) = backends;
    }

    /// Counts a request seen as pending while the guard lives (its unit of work).
    pub fn pending(&self) -> Pending {
        self.pending.hold(SystemTime::now())
    }

    /// Counts a claimed request as in flight while the guard lives.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Relaxed);
        InFlight(self)
    }

    /// A heartbeat was written now.
    pub fn heartbeat(&self) {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        self.heartbeat_micros.store(micros, Relaxed);
    }

    pub fn inotify_fallback(&self, polling: bool) {
        self.inotify_fallback.store(i64::from(polling), Relaxed);
    }

    pub fn can_publish(&self, ok: bool) {
        self.cannot_publish.store(i64::from(!ok), Relaxed);
    }

    pub fn simulated_routes(&self, n: usize) {
        self.simulated_routes
            .store(i64::try_from(n).unwrap_or(i64::MAX), Relaxed);
    }

    pub fn fence_duration(&self, d: Duration) {
        locked(&self.fence_duration).observe(d);
    }

    pub fn rejected_file(&self) {
        self.rejected_files.fetch_add(1, Relaxed);
    }

    pub fn coalesced(&self) {
        self.coalesced_requests.fetch_add(1, Relaxed);
    }

    pub fn already_answered(&self) {
        self.already_answered.fetch_add(1, Relaxed);
    }

    pub fn recovered(&self) {
        self.recovered_requests.fetch_add(1, Relaxed);
    }

    pub fn after_fence_failed(&self) {
        self.after_fence_failures.fetch_add(1, Relaxed);
    }

    pub fn reload(&self, ok: bool) {
        let c = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_refused
        };
        c.fetch_add(1, Relaxed);
    }
}
