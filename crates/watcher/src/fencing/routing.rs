//! The part of the configuration that a fence uses and a reload replaces: the routes (which
//! levels fence which node) and the after-fence hook. The scheduler holds this handle instead of
//! the whole daemon, so it can be built and tested on its own.

use std::sync::{Arc, RwLock};

use crate::backend::FenceJob;
use crate::observe::Metrics;

use super::{AfterFence, Routes};

/// The current routes and after-fence hook, each replaced as a whole on reload.
#[derive(Debug)]
pub struct Routing {
    routes: RwLock<Arc<Routes>>,
    after_fence: RwLock<Option<Arc<AfterFence>>>,
}

impl Routing {
    pub fn new(routes: Routes, after_fence: Option<AfterFence>) -> Self {
        Routing {
            routes: RwLock::new(Arc::new(routes)),
            after_fence: RwLock::new(after_fence.map(Arc::new)),
        }
    }

    /// The current routes.
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
    pub fn after_fence(&self, job: &FenceJob, metrics: &Arc<Metrics>) {
        let hook = self
            .after_fence
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(hook) = hook {
            let (node, action, metrics) = (job.node.clone(), job.action, metrics.clone());
            tokio::spawn(async move { hook.run(&node, action, &metrics).await });
        }
    }
}
