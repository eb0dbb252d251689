//! The `command` backend: runs a site's own fencing program from an argv template, no shell.
//!
//! `argv = ["/usr/local/bin/fence-node", "--node", "{node}", "{action}"]`: each element is one
//! argument after expansion (a node name can never split into two or reach a shell), the program
//! itself must be fixed (no placeholder in `argv[0]`), the environment is the clean base plus
//! `env`, stdin is `/dev/null`, and exit 0 is success.
//!
//! The optional `status_argv` is the health probe (`[health]`): the same rules, `{node}` and
//! `{action}` (= `status`) allowed, exit 0 = the node's power controller is reachable. It must
//! only read state. Without it the backend is reported `unprobed`.
//!
//! ```toml
//! [backends.site]
//! type = "command"
//! argv = ["/usr/local/bin/fence-node", "--node", "{node}", "--id", "{request_id}", "{action}"]
//! status_argv = ["/usr/local/bin/fence-node", "--node", "{node}", "status"]   # optional
//! env = { FENCE_SITE = "b" }
//! timeout_secs = 60
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::support::template::{Template, Var, Vars};
use super::support::{common, message, process};
use super::{Backend, FenceFuture, FenceJob, ProbeFuture, ProbeJob, ProbeOutcome, ProbeStatus};

/// Configuration of the `command` backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// Program and arguments; `{node}`, `{action}`, `{request_id}` allowed after `argv[0]`.
    pub argv: Vec<String>,
    /// The health probe: read-only, exit 0 = reachable; `{node}`, `{action}` allowed.
    #[serde(default)]
    pub status_argv: Option<Vec<String>>,
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
    /// `status_argv`: program and arguments.
    status: Option<(PathBuf, Vec<Template>)>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl CommandConfig {
    pub(super) fn build(&self) -> Result<CommandBackend, String> {
        let timeout = common::timeout(self.timeout_secs)?;
        let all = [Var::Node, Var::Action, Var::RequestId];
        let (program, args) = argv("argv", &self.argv, &all)?;
        let status = match &self.status_argv {
            Some(s) => Some(argv("status_argv", s, &[Var::Node, Var::Action])?),
            None => None,
        };
        let env = common::env(&self.env)?;
        Ok(CommandBackend {
            program,
            args,
            status,
            env,
            timeout,
        })
    }
}

/// Checks an argv setting (`key`): a fixed program, then templates of the `allowed` variables.
fn argv(key: &str, argv: &[String], allowed: &[Var]) -> Result<(PathBuf, Vec<Template>), String> {
    let Some((first, rest)) = argv.split_first() else {
        return Err(format!("{key} is empty; it needs at least the program"));
    };
    if first.contains(['{', '}']) {
        return Err(format!(
            "{key}[0] {first:?} must not contain a placeholder or brace"
        ));
    }
    let program = common::resolve_program(&format!("{key}[0]"), first)?;
    let mut args = Vec::new();
    for (i, a) in rest.iter().enumerate() {
        if a.contains('\0') {
            return Err(format!("{key}[{}] contains a NUL byte", i + 1));
        }
        args.push(Template::parse(a, allowed).map_err(|e| format!("{key}[{}] {e}", i + 1))?);
    }
    Ok((program, args))
}

impl CommandBackend {
    /// Runs `status_argv` once: exit 0 is up, anything else (a timeout included) down.
    async fn probe_job(&self, job: &ProbeJob) -> ProbeOutcome {
        let Some((program, templates)) = &self.status else {
            return ProbeOutcome {
                status: ProbeStatus::Unprobed,
                message: "no status_argv: this command backend cannot be probed".to_owned(),
            };
        };
        let vars = Vars {
            node: job.node.as_str(),
            action: "status",
            request_id: "",
            nodeid: "",
        };
        let args: Vec<String> = templates.iter().map(|t| t.render(&vars)).collect();
        let spec = process::Spec {
            program,
            args: &args,
            env: &self.env,
            stdin: None,
        };
        let limit = job.limit(self.timeout);
        let run = process::run(spec, Instant::now() + limit).await;
        let name = program.file_name().unwrap_or_default().to_string_lossy();
        let what = format!("{name} status of {}", job.node.as_str());
        let outcome = message::exit_outcome(&what, &run, program, limit, &[]);
        match outcome.success {
            true => ProbeOutcome::up(outcome.message),
            false => ProbeOutcome::down(outcome.message),
        }
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

    fn probe<'a>(&'a self, job: &'a ProbeJob) -> ProbeFuture<'a> {
        Box::pin(self.probe_job(job))
    }
}
