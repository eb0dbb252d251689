//! When a fence runs: the concurrency limit, coalescing of overlapping duplicates, and the
//! deadline.
//!
//! Requests for different nodes run concurrently, at most `max_concurrent` backend runs at once.
//! A request for a (node, action) that already has a run under way joins that run instead of
//! starting another; every joined request is still answered on its own. A request whose deadline
//! passes while it waits for a slot is answered as expired and never started.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{Action, NodeName, Request};
use tokio::sync::{watch, Semaphore};

use super::topology::{run_levels, RunResult};
use crate::backend::FenceJob;
use crate::requests::Context;

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

/// The state a run shares with the requests that joined it: `None` while it runs, then
/// `Some(None)` when the leader did not run after all (joiners then decide for themselves), or
/// `Some(Some(result))`.
type Shared = Option<Option<Arc<RunResult>>>;

/// Runs fences under the concurrency limit, one run per (node, action) at a time.
#[derive(Debug)]
pub struct Scheduler {
    permits: Semaphore,
    runs: Mutex<HashMap<(NodeName, Action), watch::Receiver<Shared>>>,
}

enum Role {
    Lead(watch::Sender<Shared>),
    Join(watch::Receiver<Shared>),
}

impl Scheduler {
    pub fn new(max_concurrent: usize) -> Self {
        Scheduler {
            permits: Semaphore::new(max_concurrent),
            runs: Mutex::new(HashMap::new()),
        }
    }

    /// Decides `req`: runs its route, joins a run under way, or reports why it cannot run.
    pub async fn fence(&self, d: &Context, req: &Request) -> Decision {
        loop {
            if req.is_expired() {
                return Decision::Expired;
            }
            let key = (req.target_node.clone(), req.action);
            match self.role(&key) {
                Role::Join(mut rx) => {
                    let shared = rx.wait_for(Option::is_some).await.map(|v| v.clone());
                    if let Ok(Some(Some(result))) = shared {
                        d.metrics.coalesced();
                        return Decision::Ran {
                            result,
                            joined: true,
                        };
                    }
                    // The leader did not run (or vanished): decide for ourselves.
                }
                Role::Lead(tx) => {
                    let decision = self.lead(d, req).await;
                    self.lock().remove(&key);
                    let shared = match &decision {
                        Decision::Ran { result, .. } => Some(result.clone()),
                        _ => None,
                    };
                    tx.send_replace(Some(shared));
                    return decision;
                }
            }
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(NodeName, Action), watch::Receiver<Shared>>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn role(&self, key: &(NodeName, Action)) -> Role {
        let mut runs = self.lock();
        if let Some(rx) = runs.get(key) {
            return Role::Join(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        runs.insert(key.clone(), rx);
        Role::Lead(tx)
    }

    async fn lead(&self, d: &Context, req: &Request) -> Decision {
        let Some(levels) = d.routes().route(&req.target_node).map(<[_]>::to_vec) else {
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
        let result = Arc::new(run_levels(&levels, &job, &d.metrics).await);
        d.metrics.fence_duration(result.duration);
        if result.success {
            d.after_fence(&job);
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
