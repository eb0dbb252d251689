//! The `command` backend: runs a site's own fencing program from an argv template, no shell.
//!
//! `argv = ["/usr/local/bin/fence-node", "--node", "{node}", "{action}"]`: each element is one
//! argument after expansion (a node name can never split into two or reach a shell), the program
//! itself must be fixed (no placeholder in `argv[0]`), the environment is the clean base plus
//! `env`, stdin is `/dev/null`, and exit 0 is success.
//!
//! ```toml
//! [backends.site]
//! type = "command"
//! argv = ["/usr/local/bin/fence-node", "--node", "{node}", "--id", "{request_id}", "{action}"]
//! env = { FENCE_SITE = "b" }
//! timeout_secs = 60
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::support::template::{Template, Var};
use super::support::{common, message, process};
use super::{Backend, FenceFuture, FenceJob};

/// Configuration of the `command` backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// Program and arguments; `{node}`, `{action}`, `{request_id}` allowed after `argv[0]`.
    pub argv: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_secs: Option<f64>,
}

/// The built `command` backend.
#[derive(Debug)]
pub struct CommandBackend {
    program: PathBuf,
    args: Vec<Template>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl CommandConfig {
    pub(super) fn build(&self) -> Result<CommandBackend, String> {
        let timeout = common::timeout(self.timeout_secs)?;
        let Some((first, rest)) = self.argv.split_first() else {
            return Err("argv is empty; it needs at least the program".to_owned());
        };
        if first.contains(['{', '}']) {
            return Err(format!(
                "argv[0] {first:?} must not contain a placeholder or brace"
            ));
        }
        let program = common::resolve_program("argv[0]", first)?;
        let all = [Var::Node, Var::Action, Var::RequestId];
        let mut args = Vec::new();
        for (i, a) in rest.iter().enumerate() {
            if a.contains('\0') {
                return Err(format!("argv[{}] contains a NUL byte", i + 1));
            }
            args.push(Template::parse(a, &all).map_err(|e| format!("argv[{}] {e}", i + 1))?);
        }
        let env = common::env(&self.env)?;
        Ok(CommandBackend {
            program,
            args,
            env,
            timeout,
        })
    }
}

impl Backend for CommandBackend {
    fn kind(&self) -> &'static str {
        "command"
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a> {
        Box::pin(async move {
            let vars = common::vars(job);
            let args: Vec<String> = self.args.iter().map(|t| t.render(&vars)).collect();
            let spec = process::Spec {
                program: &self.program,
                args: &args,
                env: &self.env,
                stdin: None,
            };
            let limit = job.limit(self.timeout);
            let run = process::run(spec, Instant::now() + limit).await;
            let name = self
                .program
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            let what = format!("{name} {} of {}", job.action, job.node.as_str());
            message::exit_outcome(&what, &run, &self.program, limit, &[])
        })
    }
}
