//! The `fence-agent` backend: runs a ClusterLabs fence agent the way Pacemaker does.
//!
//! No argv options: everything goes on stdin as `key=value` lines (`action=`, the target as
//! `port=`/`plug=` and `nodename=`, the `params` with `{node}` expanded, the per-node overrides of
//! `[nodes.<node>]`, then the secrets read from `secret_files`), so a password never shows in
//! `/proc/*/cmdline`. Exit 0 is success; with `verify = true` an `off` is confirmed by a second run
//! with `action=status`, which must exit 2 (the agents' "off").
//!
//! ```toml
//! [backends.ipmi]
//! type = "fence-agent"
//! agent = "fence_ipmilan"          # bare name (/usr/sbin, /usr/bin) or absolute path
//! target_arg = "none"              # "port" (default), "plug" or "none"; nodename= is always sent
//! verify = false                   # true: confirm off with action=status (exit 2)
//! timeout_secs = 60
//! env = { REQUESTS_CA_BUNDLE = "/etc/gfs2-fencing/bmc-ca.pem" }
//! secret_files = { password = "/etc/gfs2-fencing/bmc.pw" }   # mode 0600 or 0400
//! [backends.ipmi.params]           # key=value lines; {node} = the node name
//! ip = "{node}-bmc"
//! username = "fence"
//! lanplus = true                   # booleans become 1/0
//! cipher = 3
//! [backends.ipmi.nodes.cn7]        # per-node overrides of params
//! ip = "10.0.0.17"
//! ipport = 6231
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gfs2_fence_protocol::{Action, NodeName};
use serde::Deserialize;
use tokio::time::Instant;

mod metadata;

use super::support::common::{self, ParamValue};
use super::support::secret::{read_secret, Secret};
use super::support::template::{Template, Var, Vars};
use super::support::{self, message, process};
use super::{Backend, BackendOutcome, FenceFuture, FenceJob};

/// Configuration of the `fence-agent` backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FenceAgentConfig {
    /// Agent name (looked up in /usr/sbin, /usr/bin) or absolute path.
    pub agent: String,
    #[serde(default)]
    pub target_arg: TargetArg,
    /// Agent parameters; string values may use `{node}`.
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    /// Parameter name -> file holding its value (mode 0600 or 0400, checked at build, read at fence time).
    #[serde(default)]
    pub secret_files: BTreeMap<String, PathBuf>,
    /// Per-node parameter overrides.
    #[serde(default)]
    pub nodes: BTreeMap<String, BTreeMap<String, ParamValue>>,
    /// Confirm an `off` with `action=status` (exit 2 expected).
    #[serde(default)]
    pub verify: bool,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_secs: Option<f64>,
}

/// How the agent is told the target: `port=<node>` (Pacemaker's default), `plug=<node>`, or
/// only `nodename=<node>` (agents without ports, such as fence_dummy, warn about `port=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetArg {
    #[default]
    Port,
    Plug,
    None,
}

/// The built `fence-agent` backend.
#[derive(Debug)]
pub struct FenceAgent {
    agent: PathBuf,
    target_arg: TargetArg,
    params: Vec<(String, Template)>,
    nodes: BTreeMap<String, Vec<(String, Template)>>,
    secret_files: Vec<(String, PathBuf)>,
    verify: bool,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl FenceAgentConfig {
    pub(super) fn build(&self) -> Result<FenceAgent, String> {
        let timeout = common::timeout(self.timeout_secs)?;
        let agent = common::resolve_program("agent", &self.agent)?;
        let reserved = self.reserved();
        let params = param_templates("params", &self.params, &reserved)?;
        let mut nodes = BTreeMap::new();
        for (node, table) in &self.nodes {
            NodeName::parse(node).map_err(|e| format!("nodes.{node}: {e}"))?;
            nodes.insert(
                node.clone(),
                param_templates(&format!("nodes.{node}"), table, &reserved)?,
            );
        }
        let mut secret_files = Vec::new();
        for (key, path) in &self.secret_files {
            check_key("secret_files", key, &reserved)?;
            // A secret must have one source: a plain value elsewhere would reach the agent too.
            if self.params.contains_key(key) || self.nodes.values().any(|t| t.contains_key(key)) {
                return Err(format!(
                    "{key} is in both secret_files and params (or nodes)"
                ));
            }
            read_secret(&format!("secret_files.{key}"), path).map_err(|e| e.to_string())?;
            secret_files.push((key.clone(), path.clone()));
        }
        let env = common::env(&self.env)?;
        let (target_arg, verify) = (self.target_arg, self.verify);
        Ok(FenceAgent {
            agent,
            target_arg,
            params,
            nodes,
            secret_files,
            verify,
            env,
            timeout,
        })
    }

    /// `--check-config`'s look at the agent itself (issue 12): every parameter this table sends
    /// (`params`, `nodes.*`, `secret_files`) must be declared by the agent's metadata, with a
    /// value of its type. An agent that gives no metadata is not checked, with a warning.
    pub async fn check_parameters(&self) -> Result<(), Vec<String>> {
        let agent = common::resolve_program("agent", &self.agent).map_err(|e| vec![e])?;
        let env = common::env(&self.env).map_err(|e| vec![e])?;
        let meta = match metadata::fetch(&agent, &env).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(
                    "the parameters for {} are not checked: {e}",
                    agent.display()
                );
                return Ok(());
            }
        };
        let name = agent.file_name().unwrap_or_default().to_string_lossy();
        let known: Vec<&str> = meta.params.keys().map(String::as_str).collect();
        let undeclared = |at: &str, key: &str| {
            let hint = support::suggest::did_you_mean(key, &known);
            format!("{at}.{key}: {name} has no parameter {key}{hint}")
        };
        let tables = std::iter::once(("params".to_owned(), &self.params))
            .chain(self.nodes.iter().map(|(n, t)| (format!("nodes.{n}"), t)));
        let mut errors = Vec::new();
        for (at, table) in tables {
            for (key, value) in table {
                match meta.get(key) {
                    None => errors.push(undeclared(&at, key)),
                    Some(p) => errors.extend(p.refuses(value).map(|want| {
                        format!(
                            "{at}.{key} = {}: {name}'s {key} must be {want}",
                            toml(value)
                        )
                    })),
                }
            }
        }
        for key in self.secret_files.keys().filter(|k| meta.get(k).is_none()) {
            errors.push(undeclared("secret_files", key));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn reserved(&self) -> Vec<&'static str> {
        match self.target_arg {
            TargetArg::Port => vec!["action", "nodename", "port"],
            TargetArg::Plug => vec!["action", "nodename", "plug"],
            TargetArg::None => vec!["action", "nodename"],
        }
    }
}

/// A value as it was written in the file, for messages.
fn toml(value: &ParamValue) -> String {
    match value {
        ParamValue::Str(s) => format!("{s:?}"),
        ParamValue::Bool(b) => b.to_string(),
        v => v.to_string(),
    }
}

fn check_key(table: &str, key: &str, reserved: &[&str]) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if key.is_empty() || !key.chars().all(ok) {
        return Err(format!(
            "{table}: key {key:?} must be letters, digits, '_' or '-'"
        ));
    }
    if reserved.contains(&key) {
        return Err(format!(
            "{table}: key {key:?} is set by the backend itself (see target_arg)"
        ));
    }
    Ok(())
}

fn param_templates(
    table: &str,
    params: &BTreeMap<String, ParamValue>,
    reserved: &[&str],
) -> Result<Vec<(String, Template)>, String> {
    let mut out = Vec::new();
    for (key, value) in params {
        check_key(table, key, reserved)?;
        let raw = value.to_string();
        common::one_line(&format!("{table}.{key}"), &raw)?;
        let template =
            Template::parse(&raw, &[Var::Node]).map_err(|e| format!("{table}.{key} {e}"))?;
        out.push((key.clone(), template));
    }
    Ok(out)
}

impl FenceAgent {
    /// The stdin of one run; also returns the secrets, for scrubbing messages.
    fn stdin(&self, action: &str, vars: &Vars<'_>) -> Result<(String, Vec<Secret>), String> {
        let mut lines = format!("action={action}\n");
        match self.target_arg {
            TargetArg::Port => lines.push_str(&format!("port={}\n", vars.node)),
            TargetArg::Plug => lines.push_str(&format!("plug={}\n", vars.node)),
            TargetArg::None => {}
        }
        lines.push_str(&format!("nodename={}\n", vars.node));
        let mut merged: BTreeMap<&str, &Template> = BTreeMap::new();
        merged.extend(self.params.iter().map(|(k, t)| (k.as_str(), t)));
        if let Some(over) = self.nodes.get(vars.node) {
            merged.extend(over.iter().map(|(k, t)| (k.as_str(), t)));
        }
        let mut login = None;
        for (key, template) in merged {
            let value = template.render(vars);
            lines.push_str(&format!("{key}={value}\n"));
            if matches!(key, "login" | "username") {
                login = Some(value);
            }
        }
        let mut secrets = Vec::new();
        for (key, path) in &self.secret_files {
            let secret =
                read_secret(&format!("secret_files.{key}"), path).map_err(|e| e.to_string())?;
            lines.push_str(&format!("{key}={}\n", secret.expose()));
            // An agent speaking HTTP sends (and may print) the base64 of login:password.
            if let Some(login) = &login {
                secrets.push(Secret::credentials(login, &secret));
            }
            secrets.push(secret);
        }
        Ok((lines, secrets))
    }

    async fn run(
        &self,
        action: &str,
        vars: &Vars<'_>,
        deadline: Instant,
    ) -> Result<(process::Run, Vec<Secret>), String> {
        let (stdin, secrets) = self.stdin(action, vars)?;
        let spec = process::Spec {
            program: &self.agent,
            args: &[],
            env: &self.env,
            stdin: Some(stdin.as_bytes()),
        };
        Ok((process::run(spec, deadline).await, secrets))
    }

    async fn fence_job(&self, job: &FenceJob) -> BackendOutcome {
        let limit = job.limit(self.timeout);
        let deadline = Instant::now() + limit;
        let vars = common::vars(job);
        let name = self.agent.file_name().unwrap_or_default().to_string_lossy();
        let what = format!("{name} {} of {}", job.action, job.node.as_str());
        let (run, secrets) = match self.run(job.action.as_str(), &vars, deadline).await {
            Ok(r) => r,
            Err(e) => return BackendOutcome::failed(format!("{what} not run: {e}")),
        };
        let outcome = message::exit_outcome(&what, &run, &self.agent, limit, &secrets);
        if !(outcome.success && self.verify && job.action == Action::Off) {
            return outcome;
        }
        self.verify_off(&what, &vars, deadline, outcome).await
    }

    /// Runs `action=status`: exit 2 confirms off; anything else turns the success into a failure.
    async fn verify_off(
        &self,
        what: &str,
        vars: &Vars<'_>,
        deadline: Instant,
        done: BackendOutcome,
    ) -> BackendOutcome {
        let (run, secrets) = match self.run("status", vars, deadline).await {
            Ok(r) => r,
            Err(e) => return BackendOutcome::failed(format!("{what}: status check not run: {e}")),
        };
        if run.code() == Some(2) {
            return BackendOutcome::ok(message::clean(
                &format!("{}; status confirms off", done.message),
                &secrets,
            ));
        }
        let status = run.describe(&self.agent, self.timeout);
        let line = message::last_line(&run.stdout, &run.stderr, false).unwrap_or_default();
        let text = format!(
            "{what} reported success but status check did not confirm off ({status}): {line}"
        );
        BackendOutcome::failed(message::clean(&text, &secrets))
    }
}

impl Backend for FenceAgent {
    fn kind(&self) -> &'static str {
        "fence-agent"
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a> {
        Box::pin(self.fence_job(job))
    }
}
