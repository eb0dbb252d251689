//! The optional command run after each successful fence, e.g. `dlm_tool fence_ack {nodeid}` so
//! DLM learns of the fence as it does from dlm_controld's own fencing. It runs without a shell,
//! with `{node}`, `{nodeid}` and `{action}` replaced in its arguments; its failure is logged and
//! counted, and never changes a response.

use std::process::Stdio;
use std::time::Duration;

use gfs2_fence_protocol::{Action, NodeName};

use super::corosync;
use crate::config::AfterFenceConfig;
use crate::observe::Metrics;

#[derive(Debug)]
pub struct AfterFence {
    cfg: AfterFenceConfig,
}

impl AfterFence {
    pub fn new(cfg: AfterFenceConfig) -> Self {
        AfterFence { cfg }
    }

    /// The argv for one fence; an error when `{nodeid}` is needed and not found.
    pub fn argv(
        &self,
        node: &NodeName,
        action: Action,
    ) -> Result<Vec<String>, corosync::NodeIdError> {
        let needs_id = self.cfg.command.iter().any(|a| a.contains("{nodeid}"));
        let id = if needs_id {
            corosync::lookup(&self.cfg.corosync_conf, node.as_str())?.to_string()
        } else {
            String::new()
        };
        Ok(self
            .cfg
            .command
            .iter()
            .map(|a| {
                a.replace("{node}", node.as_str())
                    .replace("{nodeid}", &id)
                    .replace("{action}", action.as_str())
            })
            .collect())
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
        let child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let limit = Duration::from_secs(self.cfg.timeout_secs);
        let shown = argv.join(" ");
        match tokio::time::timeout(limit, child).await {
            Ok(Ok(out)) if out.status.success() => {
                tracing::info!(node = %node, "after-fence command succeeded: {shown}")
            }
            Ok(Ok(out)) => {
                metrics.after_fence_failed();
                let err = String::from_utf8_lossy(&out.stderr);
                let first = err
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect::<String>();
                tracing::error!(node = %node, "after-fence command {shown} failed ({}): {first}", out.status);
            }
            Ok(Err(e)) => {
                metrics.after_fence_failed();
                tracing::error!(node = %node, "cannot run after-fence command {shown}: {e}");
            }
            Err(_) => {
                metrics.after_fence_failed();
                tracing::error!(node = %node, "after-fence command {shown} timed out after {}s and was killed", limit.as_secs());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(command: &[&str], conf: &std::path::Path) -> AfterFence {
        AfterFence::new(AfterFenceConfig {
            command: command.iter().map(|s| s.to_string()).collect(),
            timeout_secs: 5,
            corosync_conf: conf.to_owned(),
        })
    }

    #[tokio::test(flavor = "current_thread")]
    async fn substitutes_placeholders_and_runs_without_a_shell() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let conf = tmp.path().join("corosync.conf");
        std::fs::write(
            &conf,
            "nodelist {\n node {\n name: cn-7\n nodeid: 7\n }\n}\n",
        )
        .expect("write");
        let out = tmp.path().join("out");
        let script = format!("echo \"$0 $1 $2\" > {}", out.display());
        let h = hook(
            &["/bin/sh", "-c", &script, "{node}", "{nodeid}", "{action}"],
            &conf,
        );
        let node = NodeName::parse("cn-7").expect("valid");
        let m = Metrics::default();
        h.run(&node, Action::Off, &m).await;
        assert_eq!(
            std::fs::read_to_string(&out).expect("ran").trim(),
            "cn-7 7 off"
        );
        let unknown = NodeName::parse("cn-8").expect("valid");
        assert!(h.argv(&unknown, Action::Off).is_err());
        h.run(&unknown, Action::Off, &m).await;
        assert!(m
            .render()
            .contains("fence_watcher_after_fence_failures_total 1"));
    }
}
