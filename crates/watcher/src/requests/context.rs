//! The state every request task shares: the spool, the scheduler, the metrics, the names being
//! handled, the bounded set of request tasks, and the count of requests shutdown waits for.
//!
//! Request tasks are bounded: a task starts only with one of `max_concurrent + TASK_WINDOW`
//! slots, taken before the task is spawned (as mini-redis takes its permit before spawning a
//! connection task). A name that finds no free slot waits in a queue (a name, not a task) and
//! the next task to finish takes it up, so a flood of request files makes a bounded number of
//! tasks, and the event loop never waits for a slot (it keeps the heartbeat and the signals).
//! A queued name is not claimed nor read: the work ahead is bounded, not only the tasks. What
//! passes its deadline while queued is answered by `sweep.rs`, without waiting for a slot.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use gfs2_fence_protocol::SpoolName;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::Spool;
use crate::fencing::{Routing, Scheduler};
use crate::observe::metrics::Pending;
use crate::observe::{Metrics, RateLimiter};

/// Request tasks allowed beyond `max_concurrent`. Requests past the backend slots still have
/// work that needs no backend: cancelled, expired and invalid ones are answered at once,
/// duplicates join a run that has not started, and every request's spool steps (claim, read, publish)
/// run on the 8 blocking threads. 32 keeps those flowing behind slow fences (4 per blocking
/// thread) while bounding what a flood of files can make; a request that waits for a task slot
/// stays unclaimed in `REQUEST_DIR` and, if its deadline passes meanwhile, is answered expired.
pub const TASK_WINDOW: usize = 32;

/// Everything the request tasks share.
#[derive(Debug)]
pub struct Context {
    pub spool: Spool,
    pub metrics: Arc<Metrics>,
    pub scheduler: Scheduler,
    /// `fence_watcher@<host>`, written into every response.
    pub responder: String,
    /// Limits log lines that hostile spool files can trigger.
    pub hostile_log: RateLimiter,
    /// Names being handled; `true` when the name was seen again meanwhile.
    busy: Mutex<HashMap<SpoolName, bool>>,
    /// Slots of request tasks.
    slots: Arc<Semaphore>,
    /// Work waiting for a slot; taken up by the next task that finishes (or, once due, by
    /// `sweep.rs`).
    queue: Mutex<VecDeque<Work>>,
    /// Woken when work is queued (for `sweep.rs`).
    queued: Notify,
    stopping: AtomicBool,
    /// Set by a stop with a grace period: unpublished responses are retried until the exit.
    draining: AtomicBool,
    tasks: AtomicUsize,
    idle: Notify,
    /// False while the heartbeat's probe (or a response) could not be published: no request is
    /// claimed then, so no new fence starts that could not be answered.
    publishable: AtomicBool,
    /// Responses waiting to be published again, by whether their outcome is kept on disk.
    unpublished: [AtomicUsize; 2],
}

/// One request to handle, queued until a task slot is free.
#[derive(Debug)]
pub struct Work {
    pub name: SpoolName,
    /// Found in `.claimed` at start-up rather than picked up from `REQUEST_DIR`.
    pub recovered: bool,
    /// Counts the request from submission to its end, so shutdown waits for queued ones too.
    pub(super) _count: TaskGuard,
    /// The same span in `fence_watcher_pending_requests`; told the deadline once it is read.
    pub(super) pending: Pending,
}

/// Counts a request from its submission to its end, so shutdown knows when all are done.
#[derive(Debug)]
pub struct TaskGuard(Arc<Context>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.0.tasks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_one();
        }
    }
}

/// Counts one response waiting to be published again (see [`Context::unpublished`]).
#[derive(Debug)]
pub struct UnpublishedGuard(Arc<Context>, bool);

impl Drop for UnpublishedGuard {
    fn drop(&mut self) {
        self.0.unpublished[usize::from(self.1)].fetch_sub(1, Ordering::AcqRel);
    }
}

impl Context {
    /// The shared state of a daemon fencing through `routing`, at most `max_concurrent`
    /// backend runs at once.
    pub fn new(spool: Spool, routing: Arc<Routing>, max_concurrent: usize) -> Context {
        let metrics = Arc::new(Metrics::default());
        Context {
            spool,
            scheduler: Scheduler::new(max_concurrent, routing, metrics.clone()),
            metrics,
            responder: format!("fence_watcher@{}", gfs2_fence_protocol::hostname()),
            hostile_log: RateLimiter::new(20, 1.0),
            busy: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(max_concurrent + TASK_WINDOW)),
            queue: Mutex::new(VecDeque::new()),
            queued: Notify::new(),
            stopping: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            tasks: AtomicUsize::new(0),
            idle: Notify::new(),
            publishable: AtomicBool::new(true),
            unpublished: [AtomicUsize::new(0), AtomicUsize::new(0)],
        }
    }

    /// Marks `name` as being handled; false when it already is (it is then looked at again
    /// when the current handling ends: a writer may have published a new file of that name,
    /// as the agent does when it cancels).
    pub fn begin(&self, name: &SpoolName) -> bool {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        match busy.get_mut(name) {
            Some(again) => {
                *again = true;
                false
            }
            None => {
                busy.insert(name.clone(), false);
                true
            }
        }
    }

    /// Ends the handling of `name`; true when it was seen again meanwhile.
    pub fn end(&self, name: &SpoolName) -> bool {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.remove(name).unwrap_or(false)
    }

    /// A unit of work for `name`, counted until it is dropped.
    pub fn work(self: &Arc<Self>, name: SpoolName, recovered: bool) -> Work {
        self.tasks.fetch_add(1, Ordering::AcqRel);
        Work {
            name,
            recovered,
            _count: TaskGuard(self.clone()),
            pending: self.metrics.pending(),
        }
    }

    /// A task slot for `work`, or `None` when every slot is taken (the work is then queued
    /// for the next task that finishes). Checked under the queue's lock, as is the release in
    /// [`Context::next_or_release`], so queued work is never stranded.
    pub fn slot_or_queue(&self, work: Work) -> Option<(OwnedSemaphorePermit, Work)> {
        let mut queue = self.lock_queue();
        match self.slots.clone().try_acquire_owned() {
            Ok(permit) => Some((permit, work)),
            // Never closed; no slot means: wait in the queue.
            Err(_) => {
                queue.push_back(work);
                self.queued.notify_one();
                None
            }
        }
    }

    /// The next queued work for a task that finished its own; when there is none the task's
    /// slot is released.
    pub fn next_or_release(
        &self,
        permit: OwnedSemaphorePermit,
    ) -> Option<(OwnedSemaphorePermit, Work)> {
        let mut queue = self.lock_queue();
        match queue.pop_front() {
            Some(work) => Some((permit, work)),
            None => {
                drop(permit);
                None
            }
        }
    }

    /// Returns once some work waits in the queue.
    pub async fn until_queued(&self) {
        while self.lock_queue().is_empty() {
            self.queued.notified().await;
        }
    }

    /// The names of the queued requests still in `REQUEST_DIR` (not the recovered claims).
    pub fn queued_names(&self) -> Vec<SpoolName> {
        let queue = self.lock_queue();
        queue
            .iter()
            .filter(|w| !w.recovered)
            .map(|w| w.name.clone())
            .collect()
    }

    /// Takes the queued work of `names` out of the queue (for `sweep.rs`).
    pub fn take_queued(&self, names: &HashSet<SpoolName>) -> Vec<Work> {
        if names.is_empty() {
            return Vec::new();
        }
        let mut queue = self.lock_queue();
        let (taken, kept): (VecDeque<Work>, VecDeque<Work>) = queue
            .drain(..)
            .partition(|w| !w.recovered && names.contains(&w.name));
        *queue = kept;
        taken.into()
    }

    fn lock_queue(&self) -> MutexGuard<'_, VecDeque<Work>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests submitted and not yet finished (running or queued).
    pub fn tasks(&self) -> usize {
        self.tasks.load(Ordering::Acquire)
    }

    /// Request tasks running now (at most `max_concurrent + TASK_WINDOW`).
    pub fn running(&self) -> usize {
        self.slots_total() - self.slots.available_permits()
    }

    fn slots_total(&self) -> usize {
        self.scheduler.max_concurrent() + TASK_WINDOW
    }

    /// Waits until no request is running or queued.
    pub async fn idle(&self) {
        while self.tasks() > 0 {
            self.idle.notified().await;
        }
    }

    /// Whether a response could be published when last tried (probe or response).
    pub fn can_publish(&self) -> bool {
        self.publishable.load(Ordering::Acquire)
    }

    /// Records whether publishing works; true when that changed. Logged once per change, so a
    /// full disk does not flood the log with one line per tick.
    pub fn set_publishable(&self, ok: bool, why: &dyn std::fmt::Display) -> bool {
        if self.publishable.swap(ok, Ordering::AcqRel) == ok {
            return false;
        }
        self.metrics.can_publish(ok);
        if ok {
            tracing::info!("publishing in the response directory works again; fences resume");
        } else {
            tracing::warn!(
                "cannot publish in the response directory ({why}): no new request is claimed \
                 until it can be written again (the heartbeat is not touched meanwhile)"
            );
        }
        true
    }

    /// Counts a response waiting to be published again while the returned guard lives.
    pub fn unpublished(self: &Arc<Self>, kept: bool) -> UnpublishedGuard {
        self.unpublished[usize::from(kept)].fetch_add(1, Ordering::AcqRel);
        UnpublishedGuard(self.clone(), kept)
    }

    /// Responses not yet published: (outcome kept on disk, outcome not kept).
    pub fn unpublished_counts(&self) -> (usize, usize) {
        let n = |i: usize| self.unpublished[i].load(Ordering::Acquire);
        (n(1), n(0))
    }

    /// Stops taking requests; nothing is retried any more.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Stops taking requests, but keeps retrying unpublished responses until the process exits
    /// (the grace period of SIGTERM bounds that).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Release);
        self.stop();
    }

    /// Whether retries should end: stopped without a grace period.
    pub fn retries_end(&self) -> bool {
        self.is_stopping() && !self.draining.load(Ordering::Acquire)
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}
