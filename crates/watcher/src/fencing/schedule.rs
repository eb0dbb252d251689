//! When a fence runs: one node's requests one at a time in arrival order, coalescing of
//! overlapping duplicates, the concurrency limit, and the deadline.
//!
//! Each node has a line of runs (`line.rs`). A request joins the last run in its node's line
//! when that run is for the same action and has not started (identical overlapping requests
//! share one backend run, and each is answered on its own); otherwise it adds a new run at the
//! end. A run under way when a request arrives began before the request existed, so its result
//! proves nothing for it: the request waits for the next run (issue 10's rule: a success needs
//! a run that started after the request). A run starts only after the run before it in the line has ended, so an `off` and a
//! `reboot` of one node never reach its BMC at once, and a later `off` never overtakes an
//! earlier `reboot` (the node ends up as the last request asked). Runs of different nodes are
//! concurrent, at most `max_concurrent` at once.
//!
//! A run is carried by the request that made it, in its own task; when that request's deadline
//! passes while the run still waits (for its turn or a permit), it is answered expired at once,
//! never started, and the run goes on in a task of its own, in its place in the line, for the
//! requests that still want it; a run nobody wants any more ends without starting, after its
//! predecessor, so the order holds even then.
//!
//! The scheduler is given what it needs (the [`Routing`] handle and the metrics) rather than
//! the daemon, so it is unit-tested on its own (`schedule/tests.rs`).

mod line;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{NodeName, Request};
use tokio::sync::Semaphore;

use crate::backend::FenceJob;
use crate::observe::Metrics;

use super::topology::{run_levels, RunResult};
use super::Routing;
use line::{Done, Run, State};

/// What became of a request handed to the scheduler.
#[derive(Debug, Clone)]
pub enum Decision {
    /// A backend run decided it; `joined` when the run was started for another request.
    Ran {
        result: Arc<RunResult>,
        joined: bool,
    },
    /// Its deadline passed before it could start.
    Expired,
    /// No `[[topology]]` entry matches the node.
    NoRoute,
}

/// The last run of each node's line; a run points to the one before it.
type Lines = HashMap<NodeName, Arc<Run>>;

/// Runs fences under the concurrency limit, one run per node at a time.
#[derive(Debug)]
pub struct Scheduler {
    shared: Arc<Shared>,
    max_concurrent: usize,
    next_member: AtomicU64,
}

/// What the run tasks share with the scheduler.
#[derive(Debug)]
struct Shared {
    permits: Semaphore,
    lines: Mutex<Lines>,
    routing: Arc<Routing>,
    metrics: Arc<Metrics>,
}

impl Scheduler {
    /// At most `max_concurrent` backend runs at once, fenced by the routes of `routing`.
    pub fn new(max_concurrent: usize, routing: Arc<Routing>, metrics: Arc<Metrics>) -> Self {
        Scheduler {
            shared: Arc::new(Shared {
                permits: Semaphore::new(max_concurrent),
                lines: Mutex::new(HashMap::new()),
                routing,
                metrics,
            }),
            max_concurrent,
            next_member: AtomicU64::new(0),
        }
    }

    /// The most backend runs at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// The routes and hook this scheduler fences with (replaced on reload).
    pub fn routing(&self) -> &Routing {
        &self.shared.routing
    }

    /// Decides `req`: joins or queues a run in its node's line and waits for it, or reports
    /// why it cannot run. Never waits past `deadline` for a run to start: the request's own,
    /// or an earlier one by this host's clock where the request's cannot be trusted
    /// (`requests/clock.rs`, `local_deadline`).
    pub async fn fence(&self, req: &Request, deadline: Option<SystemTime>) -> Decision {
        if req.cancelled || time_left(deadline).is_some_and(|left| left.is_zero()) {
            return Decision::Expired;
        }
        if self.routing().routes().route(&req.target_node).is_none() {
            return Decision::NoRoute;
        }
        let me = self.next_member.fetch_add(1, Ordering::Relaxed);
        let (run, carry) = self.enqueue(req, me, deadline);
        let ours = match carry {
            Some(carry) => drive(carry, &run, me, deadline).await,
            None => follow(&run, me, deadline).await,
        };
        if !ours {
            return Decision::Expired;
        }
        let mut rx = run.subscribe();
        let done = rx.wait_for(|s| matches!(s, State::Done(_))).await;
        match done.map(|s| s.clone()) {
            Ok(State::Done(Done::Ran { result, owner })) => {
                let joined = owner != me;
                if joined {
                    self.shared.metrics.coalesced();
                }
                Decision::Ran { result, joined }
            }
            Ok(State::Done(Done::NoRoute)) => Decision::NoRoute,
            // Not run: every request that wanted it was past its deadline.
            _ => Decision::Expired,
        }
    }

    /// Joins the last run of the node's line, or puts a new run at its end; in that case also
    /// returns what carries it (its turn, a permit, the backends), for the caller to drive.
    fn enqueue(
        &self,
        req: &Request,
        me: u64,
        deadline: Option<SystemTime>,
    ) -> (Arc<Run>, Option<Carry>) {
        let mut lines = self.shared.lock();
        let tail = lines.get(&req.target_node).cloned();
        if let Some(run) = tail.as_ref().filter(|t| t.action == req.action) {
            if run.join(me, deadline) {
                return (run.clone(), None);
            }
        }
        let run = Arc::new(Run::new(req.action, me, deadline));
        lines.insert(req.target_node.clone(), run.clone());
        let job = FenceJob {
            request_id: req.request_id.clone(),
            node: req.target_node.clone(),
            action: req.action,
            gfs2_filesystems: req.gfs2_filesystems.clone(),
            deadline,
        };
        let (shared, this) = (self.shared.clone(), run.clone());
        let carry = Box::pin(async move { shared.carry(this, tail, job).await });
        (run, Some(carry))
    }
}

/// A run's whole course, as a future that owns what it needs.
type Carry = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The member that made a run carries it in its own task (no task more per run) until the run
/// ends, or until its own deadline passes before the run started: then it is answered expired
/// and hands the run on to a task of its own, which keeps its place in the line for the other
/// members (or ends it unstarted, after its predecessor). True when the run is ours.
async fn drive(mut carry: Carry, run: &Run, me: u64, deadline: Option<SystemTime>) -> bool {
    match time_left(deadline) {
        None => carry.await,
        Some(left) => tokio::select! {
            () = &mut carry => {}
            () = tokio::time::sleep(left) => {
                if run.leave(me) {
                    tokio::spawn(carry);
                    return false;
                }
                // It started in time for us.
                carry.await;
            }
        },
    }
    run.is_member(me)
}

/// A member that joined: waits for the run to start, at most until its deadline. True when the
/// run is ours (started while we were in time).
async fn follow(run: &Run, me: u64, deadline: Option<SystemTime>) -> bool {
    let mut rx = run.subscribe();
    let started = rx.wait_for(|s| !matches!(s, State::Waiting));
    let in_time = match time_left(deadline) {
        None => started.await.is_ok(),
        Some(left) => tokio::time::timeout(left, started).await.is_ok(),
    };
    // Timed out: leave, unless the run started meanwhile in time for us. Not timed out: the
    // run may still have started just after our deadline, for others only.
    if in_time {
        run.is_member(me)
    } else {
        !run.leave(me)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The task of one run: its turn, a permit, the backends, the result for every member.
    async fn carry(&self, run: Arc<Run>, before: Option<Arc<Run>>, job: FenceJob) {
        if let Some(before) = before {
            before.ended().await;
        }
        let done = self.start_and_run(&run, &job).await;
        let mut lines = self.lock();
        if lines.get(&job.node).is_some_and(|t| Arc::ptr_eq(t, &run)) {
            lines.remove(&job.node);
        }
        // Under the lines' lock, so nobody joins a run that has ended.
        run.finish(done);
    }

    async fn start_and_run(&self, run: &Run, job: &FenceJob) -> Done {
        let permit = loop {
            // Nobody left, or every member past its deadline: end without starting.
            let Some(until) = run.wanted_until() else {
                return Done::NotRun;
            };
            let Some(left) = time_left(until) else {
                // A member without a deadline: wait as long as it takes.
                break self.permits.acquire().await;
            };
            if left.is_zero() {
                return Done::NotRun;
            }
            tokio::select! {
                p = self.permits.acquire() => break p,
                // A member may have joined with a later deadline meanwhile: look again.
                _ = tokio::time::sleep(left) => {}
            }
        };
        // The semaphore is never closed; a closed one would mean shutting down.
        let Ok(_permit) = permit else {
            return Done::NotRun;
        };
        let routes = self.routing.routes();
        let Some(levels) = routes.route(&job.node).map(<[_]>::to_vec) else {
            return Done::NoRoute;
        };
        let Some(owner) = run.start() else {
            return Done::NotRun;
        };
        // The run answers every member still in it: it may go on until the last one's deadline.
        let job = FenceJob {
            deadline: run.wanted_until().flatten(),
            ..job.clone()
        };
        if job.time_left().is_some_and(|left| left.is_zero()) {
            // The last deadline passed between the start and here: nothing ran.
            return Done::NotRun;
        }
        let result = Arc::new(run_levels(&levels, &job, &self.metrics).await);
        self.metrics.fence_duration(result.duration);
        if result.success {
            self.routing.after_fence(&job, &self.metrics);
        }
        Done::Ran { result, owner }
    }
}

/// Time until `deadline`; `None` when there is none (zero once it has passed).
fn time_left(deadline: Option<SystemTime>) -> Option<Duration> {
    deadline.map(|d| {
        d.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    })
}

#[cfg(test)]
mod tests;
