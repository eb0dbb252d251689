//! The state every request task shares: the spool, the scheduler, the metrics, the names being
//! handled, and the count of tasks that shutdown waits for.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use gfs2_fence_protocol::SpoolName;
use tokio::sync::Notify;

use super::Spool;
use crate::backend::FenceJob;
use crate::config::Config;
use crate::fencing::AfterFence;
use crate::fencing::Routes;
use crate::fencing::Scheduler;
use crate::observe::Metrics;
use crate::observe::RateLimiter;

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
    routes: RwLock<Arc<Routes>>,
    after_fence: RwLock<Option<Arc<AfterFence>>>,
    /// Names being handled; `true` when the name was seen again meanwhile.
    busy: Mutex<HashMap<SpoolName, bool>>,
    stopping: AtomicBool,
    tasks: AtomicUsize,
    idle: Notify,
}

/// Counts a request task from its start to its end, so shutdown knows when all are done.
pub struct TaskGuard(Arc<Context>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.0.tasks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_one();
        }
    }
}

impl Context {
    pub fn new(cfg: &Config, routes: Routes, spool: Spool) -> Context {
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        Context {
            spool,
            metrics: Arc::new(Metrics::default()),
            scheduler: Scheduler::new(cfg.daemon.max_concurrent),
            responder: format!("fence_watcher@{host}"),
            hostile_log: RateLimiter::new(20, 1.0),
            routes: RwLock::new(Arc::new(routes)),
            after_fence: RwLock::new(
                cfg.after_fence
                    .clone()
                    .map(|c| Arc::new(AfterFence::new(c))),
            ),
            busy: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            tasks: AtomicUsize::new(0),
            idle: Notify::new(),
        }
    }

    /// The current routes (replaced as a whole on reload).
    pub fn routes(&self) -> Arc<Routes> {
        self.routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Installs a reloaded configuration.
    pub fn replace(&self, routes: Routes, after_fence: Option<AfterFence>) {
        *self.routes.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(routes);
        *self.after_fence.write().unwrap_or_else(|p| p.into_inner()) = after_fence.map(Arc::new);
    }

    /// Starts the after-fence command for a successful fence, if one is configured. It runs on
    /// its own: its result is logged and never changes a response.
    pub fn after_fence(&self, job: &FenceJob) {
        let hook = self
            .after_fence
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(hook) = hook {
            let (node, action, metrics) = (job.node.clone(), job.action, self.metrics.clone());
            tokio::spawn(async move { hook.run(&node, action, &metrics).await });
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

    pub fn task(self: &Arc<Self>) -> TaskGuard {
        self.tasks.fetch_add(1, Ordering::AcqRel);
        TaskGuard(self.clone())
    }

    pub fn tasks(&self) -> usize {
        self.tasks.load(Ordering::Acquire)
    }

    /// Waits until no request task is running.
    pub async fn idle(&self) {
        while self.tasks() > 0 {
            self.idle.notified().await;
        }
    }

    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}
