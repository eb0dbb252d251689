//! The `simulate` backend: fences nothing, after an optional delay, with a chosen outcome.
//!
//! For demos and tests of everything around the backends. Its messages always say that nothing
//! was fenced, so a simulated success can never be mistaken for a real fence in a response or a
//! log. A `delay_secs` longer than an explicit `timeout_secs` simulates a hanging backend; without
//! `timeout_secs` the timeout is 60 s or `delay_secs` + 1, whichever is longer.
//!
//! ```toml
//! [backends.demo]
//! type = "simulate"
//! delay_secs = 0.5                 # default 0
//! outcome = "success"              # or "fail"
//! timeout_secs = 60                # default: 60, or delay_secs + 1 if longer
//! ```

use std::time::Duration;

use serde::Deserialize;

use super::support::common;
use super::{Backend, BackendOutcome, FenceFuture, FenceJob, ProbeFuture, ProbeJob, ProbeOutcome};
use gfs2_fence_protocol::ProbeStatus;

/// Configuration of the `simulate` backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateConfig {
    /// Seconds to wait before answering.
    #[serde(default)]
    pub delay_secs: f64,
    #[serde(default)]
    pub outcome: SimulateOutcome,
    #[serde(default)]
    pub timeout_secs: Option<f64>,
}

/// What the simulation answers: `outcome = "..."` in a table, or `--simulate-outcome` (the
/// same names in both places).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SimulateOutcome {
    #[default]
    Success,
    Fail,
}

/// The built `simulate` backend.
#[derive(Debug)]
pub struct Simulate {
    delay: Duration,
    outcome: SimulateOutcome,
    timeout: Duration,
}

impl SimulateConfig {
    pub fn build(&self) -> Result<Simulate, String> {
        if !(self.delay_secs >= 0.0 && self.delay_secs <= 86_400.0) {
            return Err(format!(
                "delay_secs {} must be between 0 and 86400",
                self.delay_secs
            ));
        }
        let delay = Duration::from_secs_f64(self.delay_secs);
        // Without an explicit timeout, a long delay is a slow simulation, not a hang.
        let timeout = match self.timeout_secs {
            None => common::timeout(None)?.max(delay + Duration::from_secs(1)),
            Some(_) => common::timeout(self.timeout_secs)?,
        };
        Ok(Simulate {
            delay,
            outcome: self.outcome,
            timeout,
        })
    }
}

impl Backend for Simulate {
    fn kind(&self) -> &'static str {
        "simulate"
    }

    fn simulated(&self) -> bool {
        true
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a> {
        Box::pin(async move {
            let what = format!("{} of {}", job.action, job.node.as_str());
            let limit = job.limit(self.timeout);
            if self.delay > limit {
                tokio::time::sleep(limit).await;
                let secs = limit.as_secs_f64();
                return BackendOutcome::failed(format!(
                    "simulated {what} timed out after {secs} s (no real fencing)"
                ));
            }
            tokio::time::sleep(self.delay).await;
            match self.outcome {
                SimulateOutcome::Success => {
                    BackendOutcome::ok(format!("simulated {what} (no real fencing)"))
                }
                SimulateOutcome::Fail => {
                    BackendOutcome::failed(format!("simulated failure of {what} (no real fencing)"))
                }
            }
        })
    }

    /// Always "healthy", and always saying that it fences nothing: a simulated level is never
    /// reported `up`.
    fn probe<'a>(&'a self, job: &'a ProbeJob) -> ProbeFuture<'a> {
        let _ = job;
        Box::pin(async {
            ProbeOutcome {
                status: ProbeStatus::Simulated,
                message: "healthy, simulated (no real fencing)".to_owned(),
            }
        })
    }
}
