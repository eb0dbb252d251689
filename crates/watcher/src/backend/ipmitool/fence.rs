//! Driving one `ipmitool` fence: the power command, then polling `chassis power status` until
//! the BMC reports the wanted state, all within the backend's deadline.

use std::time::Duration;

use gfs2_fence_protocol::Action;
use tokio::time::Instant;

use super::{Ipmitool, RebootMethod};
use crate::backend::support::secret::{read_secret, Secret};
use crate::backend::support::template::Vars;
use crate::backend::support::{message, process};
use crate::backend::ProbeOutcome;
use crate::backend::{Backend, BackendOutcome, FenceFuture, FenceJob, ProbeFuture, ProbeJob};

/// Consecutive failed status queries after which polling gives up before the deadline.
const MAX_STATUS_FAILURES: u32 = 3;

/// One fence in progress: the BMC of the node, the password, the deadline.
struct Session<'a> {
    backend: &'a Ipmitool,
    args: Vec<String>,
    env: Vec<(String, String)>,
    secrets: Vec<Secret>,
    what: String,
    deadline: Instant,
    /// Named when the deadline expires.
    limit: Duration,
}

impl Ipmitool {
    /// The BMC of `node`, its password and the deadline: what every `ipmitool` run of one fence
    /// or probe shares. `action` names the run in messages (`off`, `status`).
    fn session(&self, node: &str, action: &str, limit: Duration) -> Result<Session<'_>, String> {
        let (host, port) = match self.per_node.get(node) {
            Some((h, p)) => (h.as_ref().unwrap_or(&self.host), p.unwrap_or(self.port)),
            None => (&self.host, self.port),
        };
        let vars = Vars {
            node,
            action,
            request_id: "",
            nodeid: "",
        };
        let host = host.render(&vars);
        let what = format!("ipmitool {action} of {node} (BMC {host}:{port})");
        let mut args = vec!["-H".to_owned(), host, "-p".to_owned(), port.to_string()];
        args.extend(self.fixed_args.iter().cloned());
        let mut env = self.env.clone();
        let mut secrets = Vec::new();
        if let Some(path) = &self.password_file {
            match read_secret("password_file", path) {
                Ok(s) => {
                    env.push(("IPMI_PASSWORD".to_owned(), s.expose().to_owned()));
                    secrets.push(s);
                }
                Err(e) => return Err(format!("{what} not run: {e}")),
            }
        }
        Ok(Session {
            backend: self,
            args,
            env,
            secrets,
            what,
            deadline: Instant::now() + limit,
            limit,
        })
    }

    async fn fence_job(&self, job: &FenceJob) -> BackendOutcome {
        let limit = job.limit(self.timeout);
        let mut s = match self.session(job.node.as_str(), job.action.as_str(), limit) {
            Ok(s) => s,
            Err(e) => return BackendOutcome::failed(e),
        };
        // A fence's messages name the backend's timeout, as they always have.
        s.limit = self.timeout;
        let result = match job.action {
            Action::Off => s.power("off", "off").await,
            Action::On => s.power("on", "on").await,
            Action::Reboot => s.reboot().await,
        };
        match result {
            Ok(line) => BackendOutcome::ok(message::clean(
                &format!("{} confirmed: {line}", s.what),
                &s.secrets,
            )),
            Err(e) => BackendOutcome::failed(message::clean(
                &format!("{} failed: {e}", s.what),
                &s.secrets,
            )),
        }
    }
}

impl Session<'_> {
    /// Runs `chassis power <sub>`; on exit 0 returns its last line.
    async fn ipmitool(&self, sub: &str) -> Result<String, String> {
        let mut args = self.args.clone();
        args.extend(["chassis".to_owned(), "power".to_owned(), sub.to_owned()]);
        let b = self.backend;
        let spec = process::Spec {
            program: &b.program,
            args: &args,
            env: &self.env,
            stdin: None,
        };
        let run = process::run(spec, self.deadline).await;
        let ok = run.code() == Some(0);
        let line = message::last_line(&run.stdout, &run.stderr, ok);
        if ok {
            return Ok(line.unwrap_or_default());
        }
        let status = run.describe(&b.program, self.limit);
        Err(match line {
            Some(line) => format!("power {sub}: {status}: {line}"),
            None => format!("power {sub}: {status}"),
        })
    }

    /// Sends `power <sub>`, then polls until the BMC reports `want` (`on`/`off`).
    async fn power(&self, sub: &str, want: &str) -> Result<String, String> {
        self.ipmitool(sub).await?;
        self.confirm(want).await
    }

    /// Polls `chassis power status` until it reads `Chassis Power is <want>`. A deadline that
    /// passes, even in the middle of a query, reads the same: what was wanted, what was last seen.
    async fn confirm(&self, want: &str) -> Result<String, String> {
        let expected = format!("Chassis Power is {want}");
        let (mut failures, mut last) = (0, None);
        loop {
            match self.ipmitool("status").await {
                Ok(line) if line == expected => return Ok(line),
                Ok(line) => (failures, last) = (0, Some(line)),
                Err(e) if Instant::now() >= self.deadline => last = Some(e),
                Err(e) if failures + 1 >= MAX_STATUS_FAILURES => return Err(e),
                Err(_) => failures += 1,
            }
            if Instant::now() + self.backend.poll >= self.deadline {
                let secs = self.backend.timeout.as_secs_f64();
                let last = last.map(|l| format!(" (last: {l})")).unwrap_or_default();
                return Err(format!(
                    "timed out after {secs} s waiting for \"{expected}\"{last}"
                ));
            }
            tokio::time::sleep(self.backend.poll).await;
        }
    }

    async fn reboot(&self) -> Result<String, String> {
        let b = self.backend;
        if b.reboot_method == RebootMethod::Onoff {
            self.power("off", "off").await?;
            self.sleep(b.power_wait).await?;
            return self.power("on", "on").await;
        }
        // IPMI ignores `power cycle` for a node that is off: power it on instead.
        if self.ipmitool("status").await? == "Chassis Power is off" {
            return self
                .power("on", "on")
                .await
                .map(|l| format!("was off; {l}"));
        }
        self.ipmitool("cycle").await?;
        self.sleep(b.power_wait).await?;
        self.confirm("on").await
    }

    async fn sleep(&self, pause: Duration) -> Result<(), String> {
        if Instant::now() + pause >= self.deadline {
            return Err(format!(
                "timed out after {} s",
                self.backend.timeout.as_secs_f64()
            ));
        }
        tokio::time::sleep(pause).await;
        Ok(())
    }
}

impl Backend for Ipmitool {
    fn kind(&self) -> &'static str {
        "ipmitool"
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a> {
        Box::pin(self.fence_job(job))
    }

    fn probe<'a>(&'a self, job: &'a ProbeJob) -> ProbeFuture<'a> {
        Box::pin(self.probe_job(job))
    }
}

impl Ipmitool {
    /// One `chassis power status`: the BMC answered with the password, or it did not. Never a
    /// power command, and no polling: one read.
    async fn probe_job(&self, job: &ProbeJob) -> ProbeOutcome {
        let s = match self.session(job.node.as_str(), "status", job.limit(self.timeout)) {
            Ok(s) => s,
            Err(e) => return ProbeOutcome::down(e),
        };
        match s.ipmitool("status").await {
            Ok(line) => {
                ProbeOutcome::up(message::clean(&format!("{}: {line}", s.what), &s.secrets))
            }
            Err(e) => ProbeOutcome::down(message::clean(
                &format!("{} failed: {e}", s.what),
                &s.secrets,
            )),
        }
    }
}
