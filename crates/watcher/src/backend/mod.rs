//! Fencing backends: the one seam between the daemon and the things that really fence.
//!
//! The scheduler hands a [`FenceJob`] to a [`Backend`] and gets a [`BackendOutcome`] back. A
//! backend reports success only when the thing it drove confirmed the action; it enforces its own
//! timeout (killing its whole child process group) and never panics on what a child prints.
//! Backends are built from the `[backends.<name>]` tables of the configuration.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use gfs2_fence_protocol::{Action, NodeName, RequestId};
use serde::Deserialize;

/// What the scheduler asks a backend to do.
#[derive(Debug, Clone)]
pub struct FenceJob {
    pub request_id: RequestId,
    pub node: NodeName,
    pub action: Action,
    pub gfs2_filesystems: Vec<String>,
}

/// What a backend reports. `success` is true only when the action was confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendOutcome {
    pub success: bool,
    /// One line for the response and the logs; never contains a secret.
    pub message: String,
}

impl BackendOutcome {
    pub fn ok(message: impl Into<String>) -> Self {
        BackendOutcome { success: true, message: message.into() }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        BackendOutcome { success: false, message: message.into() }
    }
}

/// The future a backend returns.
pub type FenceFuture<'a> = Pin<Box<dyn Future<Output = BackendOutcome> + Send + 'a>>;

/// A way to fence a node.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The backend type as written in the configuration (`fence-agent`, `ipmitool`, ...).
    fn kind(&self) -> &'static str;
    /// The configured timeout; the backend enforces it itself.
    fn timeout(&self) -> Duration;
    /// Performs the action. Must return within `timeout()` plus a little.
    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a>;
}

/// One `[backends.<name>]` table of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BackendConfig {
    Simulate(SimulateConfig),
}

/// Configuration of the `simulate` backend (placeholder until the backends land).
#[derive(Debug, Clone, Deserialize)]
pub struct SimulateConfig {
    #[serde(default)]
    pub delay_secs: f64,
}

/// A configuration that cannot be turned into a backend.
#[derive(Debug, thiserror::Error)]
#[error("backend {name}: {reason}")]
pub struct BackendBuildError {
    pub name: String,
    pub reason: String,
}

impl BackendConfig {
    /// Builds the backend named `name` (the table's key, used in messages and metrics).
    pub fn build(&self, name: &str) -> Result<Arc<dyn Backend>, BackendBuildError> {
        let _ = name;
        todo!("backends land with the backends work")
    }
}
