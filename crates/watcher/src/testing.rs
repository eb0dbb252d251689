//! Test doubles for the unit tests of scheduling, responding and recovery (compiled for tests
//! only). [`TestBackend`] is a test double of the [`Backend`] trait: these are unit tests of
//! what happens around a backend run, so the run itself is counted and held open on demand;
//! the real backends are tested against real processes and BMCs in `tests/it/`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gfs2_fence_protocol::{Action, Gfs2Discovery, NodeName, Request, SpoolName};
use tokio::sync::{watch, Semaphore};

use crate::backend::{Backend, BackendOutcome, FenceFuture, FenceJob};
use crate::fencing::{Level, Routes, Routing};
use crate::requests::{Context, Spool};

/// A backend that counts its runs and, when gated, holds each run until [`TestBackend::release`].
#[derive(Debug)]
pub struct TestBackend {
    success: bool,
    gate: Option<Semaphore>,
    started: watch::Sender<usize>,
    running: AtomicUsize,
    peak: AtomicUsize,
    /// `"<node> <action>"` of every run, in the order they started.
    order: Mutex<Vec<String>>,
}

impl TestBackend {
    /// Answers at once, with `success`.
    pub fn open(success: bool) -> Arc<TestBackend> {
        Arc::new(Self::with_gate(success, None))
    }

    /// Succeeds, but each run waits for one [`TestBackend::release`].
    pub fn gated() -> Arc<TestBackend> {
        Arc::new(Self::with_gate(true, Some(Semaphore::new(0))))
    }

    fn with_gate(success: bool, gate: Option<Semaphore>) -> TestBackend {
        TestBackend {
            success,
            gate,
            started: watch::Sender::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            order: Mutex::new(Vec::new()),
        }
    }

    /// Lets `n` held runs finish.
    pub fn release(&self, n: usize) {
        if let Some(g) = &self.gate {
            g.add_permits(n);
        }
    }

    /// Runs started so far.
    pub fn runs(&self) -> usize {
        *self.started.borrow()
    }

    /// Waits until at least `n` runs have started.
    pub async fn started(&self, n: usize) {
        let mut rx = self.started.subscribe();
        rx.wait_for(|s| *s >= n)
            .await
            .expect("sender lives in self");
    }

    /// Most runs that were under way at the same time.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// `"<node> <action>"` of every run so far, in the order they started.
    pub fn order(&self) -> Vec<String> {
        self.order.lock().expect("not poisoned").clone()
    }

    /// Runs under way now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}

impl Backend for TestBackend {
    fn kind(&self) -> &'static str {
        "test"
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a> {
        Box::pin(async move {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            let what = format!("{} {}", job.node, job.action);
            self.order.lock().expect("not poisoned").push(what);
            self.started.send_modify(|s| *s += 1);
            if let Some(g) = &self.gate {
                g.acquire().await.expect("never closed").forget();
            }
            self.running.fetch_sub(1, Ordering::SeqCst);
            let what = format!("test {} of {}", job.action, job.node);
            if self.success {
                BackendOutcome::ok(what)
            } else {
                BackendOutcome::failed(what)
            }
        })
    }
}

/// Routes sending every `cn-*` node to `backend` (level name `test`); other nodes have none.
pub fn routing(backend: &Arc<TestBackend>) -> Arc<Routing> {
    let level = Level {
        name: "test".into(),
        backend: backend.clone(),
    };
    let routes = Routes::default()
        .with_route(&["cn-*"], vec![level])
        .expect("valid pattern");
    Arc::new(Routing::new(routes, None))
}

/// A request for `node`, due in `timeout`.
pub fn request(node: &str, action: Action, timeout: Duration) -> Request {
    Request::new(
        action,
        NodeName::parse(node).expect("node name"),
        Gfs2Discovery::disabled("test"),
        "test".into(),
        timeout,
    )
}

/// The spool file name of `req`.
pub fn name_of(req: &Request) -> SpoolName {
    SpoolName::parse(&format!("{}.json", req.request_id)).expect("spool name")
}

/// A daemon context over `REQUEST_DIR` `tmp/req` and `RESPONSE_DIR` `tmp/resp`.
pub fn context(tmp: &std::path::Path, backend: &Arc<TestBackend>, max: usize) -> Arc<Context> {
    let spool = Spool::open(&tmp.join("req"), &tmp.join("resp")).expect("spool");
    Arc::new(Context::new(spool, routing(backend), max))
}
