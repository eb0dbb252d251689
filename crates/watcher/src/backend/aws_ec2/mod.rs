//! The `aws-ec2` backend: fences a node that is an EC2 instance through the EC2 API, natively
//! (no AWS CLI, no SDK: SigV4 by the official `aws-sigv4` crate over the project's HTTP stack).
//!
//! ```toml
//! [backends.ec2]
//! type = "aws-ec2"
//! region = "eu-west-1"
//! # endpoint_url = "https://vpce-0abc.ec2.eu-west-1.vpce.amazonaws.com"  # default: the region's
//! tag = "Name"                    # the instance whose tag Name is...
//! value = "{node}"                # ...the node name (the one template engine)
//! credentials_file = "/etc/gfs2-fencing/aws-credentials"  # else AWS_* env, else instance role
//! profile = "fence"               # default "default"
//! timeout_secs = 300              # a forced stop of a real instance can take minutes
//! poll_interval_ms = 1000
//! reboot_method = "stop-start"    # the only one that fences; "api-reboot" does not
//! [backends.ec2.nodes.node7]
//! instance_id = "i-0123456789abcdef0"
//! ```
//!
//! Proof: `off` succeeds only once `DescribeInstances`, read by us after `StopInstances`
//! (`Force=true`), shows `stopped`, or when the instance was `stopped` already; `on` only once
//! it shows `running` after `StartInstances`; `reboot` is off confirmed, then on confirmed.
//! `reboot_method = "api-reboot"` sends `RebootInstances`, which asks the guest OS to reboot (a
//! hung node ignores it) and is confirmed by nothing: it is not a fence, and is documented so.

mod api;
pub mod config;
mod credentials;
mod error;
mod run;
mod xml;

use std::time::Duration;

use gfs2_fence_protocol::{Action, NodeName, ProbeStatus};
use tokio::time::Instant;

pub use api::Api;
pub use config::AwsEc2Config;
pub use error::Ec2Error;

use super::support::message::clean;
use super::support::secret::Secret;
use super::{Backend, BackendOutcome, FenceFuture, FenceJob, ProbeFuture, ProbeJob, ProbeOutcome};
use config::{RebootMethod, Settings};
use credentials::{Keys, Sources};
use run::Run;

/// Reads the daemon's environment (the `env` of [`Sources`]).
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A built `aws-ec2` backend.
#[derive(Debug)]
pub struct AwsEc2 {
    settings: Settings,
    api: Api,
}

impl AwsEc2 {
    /// Checks `cfg` (and the credentials file, when one is set) and builds the client; the
    /// credentials are looked up again at every fence.
    pub fn new(name: &str, cfg: &AwsEc2Config) -> Result<AwsEc2, String> {
        let settings = cfg.settings()?;
        if settings.endpoint.scheme() == "http" {
            tracing::warn!(
                backend = name,
                "aws-ec2 backend {name}: endpoint_url is plain http: requests and any session \
                 token cross the network in clear"
            );
        }
        // Read once now so that --check-config and the start refuse a missing, unsafe or
        // profile-less file; it is read again at every fence (rotated keys need no restart).
        if let Some(path) = &settings.credentials_file {
            credentials::from_file(path, &settings.profile).map_err(|e| e.to_string())?;
        }
        let api = Api::new(
            settings.endpoint.clone(),
            &settings.region,
            settings.timeout,
        )?;
        Ok(AwsEc2 { settings, api })
    }

    async fn keys(&self, deadline: Instant) -> Result<Keys, Ec2Error> {
        let file = self
            .settings
            .credentials_file
            .as_deref()
            .map(|p| (p, self.settings.profile.as_str()));
        let sources = Sources {
            file,
            env: &process_env,
            imds: &self.settings.imds,
        };
        credentials::find(&sources, &self.api.http, deadline).await
    }

    /// Fences `node` within `budget`: the confirmation message, or why not, and the secrets
    /// that the message must not show.
    pub async fn fence_within(
        &self,
        node: &NodeName,
        action: Action,
        budget: Duration,
    ) -> (Result<String, Ec2Error>, Vec<Secret>) {
        let started = Instant::now();
        let deadline = started + budget;
        let keys = match self.keys(deadline).await {
            Ok(keys) => keys,
            Err(e) => return (Err(e), Vec::new()),
        };
        let run = Run {
            api: &self.api,
            settings: &self.settings,
            keys: &keys,
            deadline,
            budget,
        };
        let result = self.act(&run, node, action, started).await;
        (result, keys.secrets())
    }

    async fn act(
        &self,
        run: &Run<'_>,
        node: &NodeName,
        action: Action,
        started: Instant,
    ) -> Result<String, Ec2Error> {
        let instance = run.instance(node).await?;
        let id = instance.id.clone();
        let took = || format!("{:.1} s", started.elapsed().as_secs_f64());
        match (action, self.settings.reboot_method) {
            (Action::Off, _) => Ok(if run.off(&instance).await? {
                format!("aws-ec2: {node} ({id}) stopped (forced), confirmed by DescribeInstances after {}", took())
            } else {
                format!("aws-ec2: {node} ({id}) was already stopped")
            }),
            (Action::On, _) => {
                run.on(&instance).await?;
                Ok(format!(
                    "aws-ec2: {node} ({id}) running, confirmed by DescribeInstances after {}",
                    took()
                ))
            }
            (Action::Reboot, RebootMethod::StopStart) => {
                run.off(&instance).await?;
                let stopped = instance_stopped(&instance);
                run.on(&stopped).await?;
                Ok(format!(
                    "aws-ec2: {node} ({id}) rebooted: stopped, then running, both confirmed by DescribeInstances, in {}",
                    took()
                ))
            }
            (Action::Reboot, RebootMethod::ApiReboot) => {
                run.api_reboot(&instance).await?;
                Ok(format!(
                    "aws-ec2: {node} ({id}) RebootInstances accepted (reboot_method api-reboot: a request to the guest, not a confirmed fence)"
                ))
            }
        }
    }

    /// Reads the state of `node`'s instance; never changes it.
    pub async fn probe_within(&self, node: &NodeName, budget: Duration) -> ProbeOutcome {
        let deadline = Instant::now() + budget;
        let (result, secrets) = match self.keys(deadline).await {
            Err(e) => (Err(e), Vec::new()),
            Ok(keys) => {
                let run = Run {
                    api: &self.api,
                    settings: &self.settings,
                    keys: &keys,
                    deadline,
                    budget,
                };
                (run.instance(node).await, keys.secrets())
            }
        };
        match result {
            Ok(i) => ProbeOutcome {
                status: ProbeStatus::Up,
                message: clean(&format!("aws-ec2: {} is {}", i.id, i.state), &secrets),
            },
            Err(e) => ProbeOutcome {
                status: ProbeStatus::Down,
                message: clean(&format!("aws-ec2: {e}"), &secrets),
            },
        }
    }
}

/// The instance as it is after a confirmed stop (what `on` of a reboot starts from).
fn instance_stopped(instance: &xml::Instance) -> xml::Instance {
    xml::Instance {
        id: instance.id.clone(),
        state: "stopped".to_owned(),
    }
}

impl Backend for AwsEc2 {
    fn kind(&self) -> &'static str {
        "aws-ec2"
    }

    fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a> {
        Box::pin(async move {
            let budget = job.limit(self.settings.timeout);
            let (result, secrets) = self.fence_within(&job.node, job.action, budget).await;
            match result {
                Ok(message) => BackendOutcome::ok(clean(&message, &secrets)),
                Err(e) => BackendOutcome::failed(clean(&format!("aws-ec2: {e}"), &secrets)),
            }
        })
    }

    fn probe<'a>(&'a self, job: &'a ProbeJob) -> ProbeFuture<'a> {
        Box::pin(async move {
            let left = job
                .deadline
                .duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO);
            self.probe_within(&job.node, left.min(self.settings.timeout))
                .await
        })
    }
}
