//! The optional command run after each successful fence, e.g. `dlm_tool fence_ack {nodeid}` so
//! DLM learns of the fence as it does from dlm_controld's own fencing. It runs without a shell,
//! with `{node}`, `{nodeid}` and `{action}` replaced in its arguments by the one template engine
//! (so a misspelled placeholder is a configuration error), through the one process runner
//! (environment cleared but for `process::BASE_ENV`, own process group, bounded output, the
//! group killed on timeout); its failure is logged and counted, and never changes a response.

use std::path::Path;

use gfs2_fence_protocol::corosync::{self, CorosyncError};
use gfs2_fence_protocol::{Action, NodeName};
use tokio::time::{Duration, Instant};

use crate::backend::support::process::{self, Finish, Spec};
use crate::backend::support::template::{Template, Var, Vars};
use crate::config::{AfterFenceConfig, ConfigError};
use crate::observe::Metrics;

/// The after-fence command, its templates parsed.
#[derive(Debug)]
pub struct AfterFence {
    argv: Vec<Template>,
    timeout: Duration,
    corosync_conf: std::path::PathBuf,
}

impl AfterFence {
    /// Parses every argument of the command; an unknown placeholder is an error (which
    /// configuration validation has already reported).
    pub fn new(cfg: &AfterFenceConfig) -> Result<Self, ConfigError> {
        Ok(AfterFence {
            argv: cfg.templates()?,
            timeout: Duration::from_secs(cfg.timeout_secs),
            corosync_conf: cfg.corosync_conf.clone(),
        })
    }

    /// The argv for one fence; an error when `{nodeid}` is needed and not found (the lookup is
    /// the protocol's, the same as discovery's: an ambiguous name is an error, not a guess).
    pub fn argv(&self, node: &NodeName, action: Action) -> Result<Vec<String>, CorosyncError> {
        let id = if self.argv.iter().any(|t| t.uses(Var::NodeId)) {
            corosync::node_id(&self.corosync_conf, node.as_str())?.to_string()
        } else {
            String::new()
        };
        let vars = Vars {
            node: node.as_str(),
            action: action.as_str(),
            request_id: "",
            nodeid: &id,
        };
        Ok(self.argv.iter().map(|t| t.render(&vars)).collect())
    }

    pub async fn run(&self, node: &NodeName, action: Action, metrics: &Metrics) {
        let argv = match self.argv(node, action) {
            Ok(a) => a,
            Err(e) => {
                metrics.after_fence_failed();
                tracing::error!(node = %node, "after-fence command not run: {e}");
                return;
            }
        };
        let Some((program, args)) = argv.split_first() else {
            return;
        };
        let program = Path::new(program);
        let spec = Spec {
            program,
            args,
            env: &[],
            stdin: None,
        };
        let run = process::run(spec, Instant::now() + self.timeout).await;
        let shown = argv.join(" ");
        match &run.finish {
            Finish::Exited(st) if st.success() => {
                tracing::info!(node = %node, "after-fence command succeeded: {shown}")
            }
            Finish::Exited(_) => {
                metrics.after_fence_failed();
                let err = String::from_utf8_lossy(&run.stderr);
                let first: String = err.lines().next().unwrap_or("").chars().take(300).collect();
                let how = run.describe(program, self.timeout);
                tracing::error!(node = %node, "after-fence command {shown} failed ({how}): {first}");
            }
            Finish::TimedOut => {
                metrics.after_fence_failed();
                tracing::error!(node = %node, "after-fence command {shown} timed out after {}s and was killed", self.timeout.as_secs());
            }
            Finish::SpawnFailed(e) | Finish::WaitFailed(e) => {
                metrics.after_fence_failed();
                tracing::error!(node = %node, "cannot run after-fence command {shown}: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests;
