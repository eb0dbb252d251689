//! Fencing backends: the one seam between the daemon and the things that really fence.
//!
//! The scheduler hands a [`FenceJob`] to a [`Backend`] and gets a [`BackendOutcome`] back. A
//! backend reports success only when the thing it drove confirmed the action; it enforces its own
//! timeout (killing its whole child process group) and never panics on what a child prints.
//! Backends are built from the `[backends.<name>]` tables of the configuration; everything that
//! can be checked is checked when the backend is built, so a bad table stops the daemon at start
//! instead of failing the first fence.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use gfs2_fence_protocol::ProbeStatus;
use gfs2_fence_protocol::{Action, NodeName, RequestId};
use serde::Deserialize;

pub mod aws_ec2;
pub mod command;
pub mod fence_agent;
pub mod ipmitool;
pub mod redfish;
pub mod simulate;
pub mod support;

pub use aws_ec2::AwsEc2Config;
pub use command::CommandConfig;
pub use fence_agent::FenceAgentConfig;
pub use ipmitool::IpmitoolConfig;
pub use redfish::RedfishConfig;
pub use simulate::{SimulateConfig, SimulateOutcome};
pub use support::common::DEFAULT_TIMEOUT_SECS;

/// What the scheduler asks a backend to do.
#[derive(Debug, Clone)]
pub struct FenceJob {
    pub request_id: RequestId,
    pub node: NodeName,
    pub action: Action,
    /// Not used by the built-in backends (they fence whole nodes); kept for logs and hooks.
    pub gfs2_filesystems: Vec<String>,
    /// When the requests this run answers stop waiting (`None`: never). No level starts after
    /// it, and no backend runs past it: see [`FenceJob::limit`].
    pub deadline: Option<SystemTime>,
}

impl FenceJob {
    /// Time until the deadline: `None` without one, zero once it has passed.
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline.map(|d| {
            d.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
    }

    /// A backend's own `timeout`, cut to the time left before the deadline: a result nobody
    /// waits for any more proves nothing to anyone, and a late fence can strike a node that
    /// has rejoined since.
    pub fn limit(&self, timeout: Duration) -> Duration {
        self.time_left().map_or(timeout, |left| timeout.min(left))
    }
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
        BackendOutcome {
            success: true,
            message: message.into(),
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        BackendOutcome {
            success: false,
            message: message.into(),
        }
    }
}

/// The future a backend returns.
pub type FenceFuture<'a> = Pin<Box<dyn Future<Output = BackendOutcome> + Send + 'a>>;

/// What the health checker asks a backend: can it reach `node`'s power controller now? A probe
/// reads state only (`chassis power status`, `PowerState`, the agent's `status`); it never
/// changes one.
#[derive(Debug, Clone)]
pub struct ProbeJob {
    pub node: NodeName,
    /// The probe gives up by then (the `[health]` timeout, never more than the backend's own).
    pub deadline: SystemTime,
}

impl ProbeJob {
    /// A backend's own `timeout`, cut to the time left before the probe's deadline.
    pub fn limit(&self, timeout: Duration) -> Duration {
        let left = self
            .deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        // To the next millisecond: a limit read back from a deadline is a hair short of the
        // round number it was made from, and messages name it.
        let left = Duration::from_millis(left.as_micros().div_ceil(1000) as u64);
        timeout.min(left)
    }
}

/// What a probe found; `message` is one line without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOutcome {
    pub status: gfs2_fence_protocol::ProbeStatus,
    pub message: String,
}

impl ProbeOutcome {
    pub fn up(message: impl Into<String>) -> Self {
        ProbeOutcome {
            status: ProbeStatus::Up,
            message: message.into(),
        }
    }
    pub fn down(message: impl Into<String>) -> Self {
        ProbeOutcome {
            status: ProbeStatus::Down,
            message: message.into(),
        }
    }
}

/// The future a probe returns.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'a>>;

/// A way to fence a node.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The backend type as written in the configuration (`fence-agent`, `ipmitool`, ...).
    /// For logs and metrics labels.
    fn kind(&self) -> &'static str;
    /// The configured timeout; the backend enforces it itself.
    fn timeout(&self) -> Duration;
    /// Performs the action. Must return within `timeout()` plus a little.
    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a>;
    /// Whether this backend only pretends (the `simulate` backend): its levels are marked in
    /// the response, so that no agent takes a simulated success for a fence.
    fn simulated(&self) -> bool {
        false
    }
    /// Reads the node's power state without changing it (issue 12). A backend that has no way
    /// to do so reports `Unprobed`.
    fn probe<'a>(&'a self, job: &'a ProbeJob) -> ProbeFuture<'a> {
        let _ = job;
        Box::pin(async {
            ProbeOutcome {
                status: gfs2_fence_protocol::ProbeStatus::Unprobed,
                message: "this backend cannot be probed".to_owned(),
            }
        })
    }
}

/// One `[backends.<name>]` table of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BackendConfig {
    FenceAgent(FenceAgentConfig),
    Ipmitool(IpmitoolConfig),
    Command(CommandConfig),
    Simulate(SimulateConfig),
    Redfish(RedfishConfig),
    AwsEc2(AwsEc2Config),
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
        let built: Result<Arc<dyn Backend>, String> = match self {
            BackendConfig::FenceAgent(c) => c.build().map(|b| Arc::new(b) as Arc<dyn Backend>),
            BackendConfig::Ipmitool(c) => c.build().map(|b| Arc::new(b) as Arc<dyn Backend>),
            BackendConfig::Command(c) => c.build().map(|b| Arc::new(b) as Arc<dyn Backend>),
            BackendConfig::Simulate(c) => c.build().map(|b| Arc::new(b) as Arc<dyn Backend>),
            BackendConfig::Redfish(c) => redfish::Redfish::new(name, c)
                .map(|b| Arc::new(b) as Arc<dyn Backend>)
                .map_err(|e| e.to_string()),
            BackendConfig::AwsEc2(c) => {
                aws_ec2::AwsEc2::new(name, c).map(|b| Arc::new(b) as Arc<dyn Backend>)
            }
        };
        built.map_err(|reason| BackendBuildError {
            name: name.to_owned(),
            reason,
        })
    }

    /// The configured timeout (the default when unset), as the backend will enforce it. An
    /// invalid value gives the default here; [`BackendConfig::build`] reports it.
    pub fn timeout(&self) -> Duration {
        let secs = match self {
            BackendConfig::FenceAgent(c) => c.timeout_secs,
            BackendConfig::Ipmitool(c) => c.timeout_secs,
            BackendConfig::Command(c) => c.timeout_secs,
            BackendConfig::Simulate(c) => match c.build() {
                Ok(sim) => return sim.timeout(),
                Err(_) => None,
            },
            BackendConfig::Redfish(c) => return Duration::from_secs(c.timeout_secs),
            BackendConfig::AwsEc2(c) => c.timeout_secs,
        };
        support::common::timeout(secs).unwrap_or(Duration::from_secs(DEFAULT_TIMEOUT_SECS))
    }
}
