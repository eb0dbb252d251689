//! When a fence runs: the concurrency limit, coalescing of overlapping duplicates, and the
//! deadline.
//!
//! Requests for different nodes run concurrently, at most `max_concurrent` backend runs at once.
//! A request for a (node, action) that already has a run under way joins that run instead of
//! starting another; every joined request is still answered on its own. A request whose deadline
//! passes while it waits for a slot is answered as expired and never started.
//!
//! The scheduler is given what it needs (the [`Routing`] handle and the metrics) rather than
//! the daemon, so it is unit-tested on its own (below).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{Action, NodeName, Request};
use tokio::sync::{watch, Semaphore};

use crate::backend::FenceJob;
use crate::observe::Metrics;

use super::topology::{run_levels, RunResult};
use super::Routing;

/// What became of a request handed to the scheduler.
#[derive(Debug, Clone)]
pub enum Decision {
    /// A backend run decided it; `joined` when it was another request's run.
    Ran {
        result: Arc<RunResult>,
        joined: bool,
    },
    /// Its deadline passed before it could start.
    Expired,
    /// No `[[topology]]` entry matches the node.
    NoRoute,
}

/// The state a run shares with the requests that joined it.
#[derive(Debug, Clone)]
enum RunState {
    /// The leader is waiting for a slot or running the backends.
    Running,
    /// The leader ran; every joiner answers with this result.
    Ran(Arc<RunResult>),
    /// The leader did not run after all (expired, no route): joiners decide for themselves.
    NotRun,
}

type Runs = HashMap<(NodeName, Action), watch::Receiver<RunState>>;

/// Runs fences under the concurrency limit, one run per (node, action) at a time.
#[derive(Debug)]
pub struct Scheduler {
    permits: Semaphore,
    max_concurrent: usize,
    runs: Mutex<Runs>,
    routing: Arc<Routing>,
    metrics: Arc<Metrics>,
}

enum Role {
    Lead(watch::Sender<RunState>),
    Join(watch::Receiver<RunState>),
}

impl Scheduler {
    /// At most `max_concurrent` backend runs at once, fenced by the routes of `routing`.
    pub fn new(max_concurrent: usize, routing: Arc<Routing>, metrics: Arc<Metrics>) -> Self {
        Scheduler {
            permits: Semaphore::new(max_concurrent),
            max_concurrent,
            runs: Mutex::new(HashMap::new()),
            routing,
            metrics,
        }
    }

    /// The most backend runs at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// The routes and hook this scheduler fences with (replaced on reload).
    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// Decides `req`: runs its route, joins a run under way, or reports why it cannot run.
    ///
    /// A joiner waits only for its leader's result, never for a permit: the leader holds the
    /// only permit the run needs, so coalesced requests cannot deadlock on the limit.
    pub async fn fence(&self, req: &Request) -> Decision {
        loop {
            if req.is_expired() {
                return Decision::Expired;
            }
            let key = (req.target_node.clone(), req.action);
            match self.role(&key) {
                Role::Join(mut rx) => {
                    let state = rx
                        .wait_for(|s| !matches!(s, RunState::Running))
                        .await
                        .map(|s| s.clone());
                    if let Ok(RunState::Ran(result)) = state {
                        self.metrics.coalesced();
                        return Decision::Ran {
                            result,
                            joined: true,
                        };
                    }
                    // The leader did not run (or vanished): decide for ourselves.
                }
                Role::Lead(tx) => {
                    let decision = self.lead(req).await;
                    self.lock().remove(&key);
                    tx.send_replace(match &decision {
                        Decision::Ran { result, .. } => RunState::Ran(result.clone()),
                        _ => RunState::NotRun,
                    });
                    return decision;
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Runs> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn role(&self, key: &(NodeName, Action)) -> Role {
        let mut runs = self.lock();
        if let Some(rx) = runs.get(key) {
            return Role::Join(rx.clone());
        }
        let (tx, rx) = watch::channel(RunState::Running);
        runs.insert(key.clone(), rx);
        Role::Lead(tx)
    }

    async fn lead(&self, req: &Request) -> Decision {
        let routes = self.routing.routes();
        let Some(levels) = routes.route(&req.target_node).map(<[_]>::to_vec) else {
            return Decision::NoRoute;
        };
        let permit = match time_left(req) {
            None => self.permits.acquire().await,
            Some(left) => match tokio::time::timeout(left, self.permits.acquire()).await {
                Ok(p) => p,
                Err(_) => return Decision::Expired,
            },
        };
        // The semaphore is never closed; a closed one would mean shutting down.
        let Ok(_permit) = permit else {
            return Decision::Expired;
        };
        if req.is_expired() {
            return Decision::Expired;
        }
        let job = FenceJob {
            request_id: req.request_id.clone(),
            node: req.target_node.clone(),
            action: req.action,
            gfs2_filesystems: req.gfs2_filesystems.clone(),
        };
        let result = Arc::new(run_levels(&levels, &job, &self.metrics).await);
        self.metrics.fence_duration(result.duration);
        if result.success {
            self.routing.after_fence(&job, &self.metrics);
        }
        Decision::Ran {
            result,
            joined: false,
        }
    }
}

/// Time until the request's deadline; `None` when it has none.
fn time_left(req: &Request) -> Option<Duration> {
    let deadline = req.deadline?.to_system_time();
    Some(
        deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests;
