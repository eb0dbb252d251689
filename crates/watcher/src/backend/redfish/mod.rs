//! The `redfish` backend: fences a node through its BMC's Redfish API over HTTPS, natively
//! (no fence agent process). It finds the node's `ComputerSystem`, POSTs
//! `ComputerSystem.Reset` to the target the BMC advertises, then polls `PowerState` and
//! reports success only once the BMC shows the wanted state.
//!
//! ```toml
//! [backends.bmc]
//! type = "redfish"
//! host = "{node}-bmc"                      # or "127.0.0.1"; {node} = the node name
//! port = 443                               # default 443 (80 with scheme = "http")
//! system_uri = "/redfish/v1/Systems/{node}" # or system_id = "..."; neither: match Name/HostName
//! username = "fence"
//! password_file = "/etc/gfs2-fencing/bmc.pw" # first line; must not be world-accessible
//! ca_file = "/etc/gfs2-fencing/bmc-ca.pem"   # else the system trust store
//! # pinned_cert_sha256 = "ab:cd:..."         # or pin the BMC certificate (per node below)
//! # insecure = true                         # no verification at all, warned at every start
//! timeout_secs = 60
//! poll_interval_ms = 500
//! reboot_method = "onoff"                   # ForceOff, confirm Off, On, confirm On; or "restart"
//! max_concurrent_per_bmc = 2
//! [backends.bmc.nodes.node7]
//! host = "10.0.0.17"
//! system_id = "System.Embedded.1"
//! pinned_cert_sha256 = "..."
//! ```
//!
//! Proof: a success is reported only when PowerState, read by us after our reset, shows the
//! wanted state. A `restart` counts only when Off or PoweringOff was read after `ForceRestart`
//! was accepted, then On; a BMC that never shows Off fails it (use `onoff`, the default). A
//! reset POST answered by anything but 2xx fails, a redirect included (never followed, never
//! repeated as a GET); a 503 or 429 with `Retry-After` is retried within the timeout.

pub mod config;
mod error;
mod http;
mod limit;
mod power;
mod tls;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use gfs2_fence_protocol::{Action, NodeName};

pub use config::RedfishConfig;
pub use error::{BuildError, Cause, FenceError, Step};

use super::support::message::clean;
use super::{Backend, BackendOutcome, FenceFuture, FenceJob, ProbeFuture, ProbeJob, ProbeOutcome};
use config::Scheme;
use http::Http;
use limit::BmcLimiter;

/// A built `redfish` backend: one HTTP client (keep-alive pool) and one slot table per backend.
#[derive(Debug)]
pub struct Redfish {
    name: String,
    cfg: RedfishConfig,
    http: Http,
    limiter: BmcLimiter,
    /// System URIs found by name, so the next fence of the node skips the scan.
    found: Mutex<HashMap<NodeName, String>>,
}

impl Redfish {
    /// Checks `cfg`, reads the password file and the trust settings, builds the client.
    /// Warns (every start) when TLS verification is off or HTTP is used.
    pub fn new(name: &str, cfg: &RedfishConfig) -> Result<Redfish, BuildError> {
        cfg.validate()?;
        let password = super::support::secret::read_secret("password_file", &cfg.password_file)?;
        let tls = tls::client_config(cfg)?;
        let http = Http::new(cfg, tls, password)?;
        warn_if_unsafe(name, cfg);
        Ok(Redfish {
            name: name.to_owned(),
            cfg: cfg.clone(),
            http,
            limiter: BmcLimiter::new(cfg.max_concurrent_per_bmc),
            found: Mutex::new(HashMap::new()),
        })
    }

    /// The backend timeout (`timeout_secs`), which `fence` enforces itself.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_secs)
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.cfg.poll_interval_ms)
    }

    /// Fences `node`; `Ok` carries the confirmation message, only after the BMC showed the state.
    pub async fn fence(&self, node: &NodeName, action: Action) -> Result<String, FenceError> {
        self.fence_within(node, action, self.timeout()).await
    }

    /// [`Redfish::fence`] within `budget` (the backend timeout cut to the request's time left).
    pub async fn fence_within(
        &self,
        node: &NodeName,
        action: Action,
        budget: Duration,
    ) -> Result<String, FenceError> {
        let target = self.target(node)?;
        let result = power::Run::new(self, node, &target, budget)
            .execute(action)
            .await;
        self.forget_on_error(node, result)
    }

    /// Reads `node`'s PowerState within `budget` (see `power::Run::read_state`): never a reset.
    pub async fn probe_within(
        &self,
        node: &NodeName,
        budget: Duration,
    ) -> Result<String, FenceError> {
        let target = self.target(node)?;
        let result = power::Run::new(self, node, &target, budget)
            .read_state()
            .await;
        self.forget_on_error(node, result)
    }

    /// The node's BMC and system, from the configuration.
    fn target(&self, node: &NodeName) -> Result<config::Target, FenceError> {
        self.cfg.target(node).map_err(|e| FenceError {
            bmc: "(unresolved)".to_owned(),
            step: Step::Discover,
            cause: Cause::BadAnswer {
                path: "configuration".to_owned(),
                reason: e.to_string(),
            },
        })
    }

    /// Passes `result` on; on a failure, forgets the system URI found by name for `node`: a
    /// stale URI must not outlive a failure.
    fn forget_on_error<T>(
        &self,
        node: &NodeName,
        result: Result<T, FenceError>,
    ) -> Result<T, FenceError> {
        if result.is_err() {
            self.found_uris().remove(node);
        }
        result
    }

    fn found_uris(&self) -> std::sync::MutexGuard<'_, HashMap<NodeName, String>> {
        self.found.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn warn_if_unsafe(name: &str, cfg: &RedfishConfig) {
    if cfg.insecure {
        tracing::warn!(
            backend = name,
            "redfish backend {name}: insecure = true, so BMC certificates are NOT verified: \
             anyone on the network path can impersonate a BMC and read its password"
        );
    }
    if cfg.scheme == Scheme::Http {
        tracing::warn!(
            backend = name,
            "redfish backend {name}: scheme = \"http\", so the BMC password crosses the network in clear"
        );
    }
}

/// The scheduler sees the native backend like every other one; its messages are its own.
impl Backend for Redfish {
    fn kind(&self) -> &'static str {
        "redfish"
    }

    fn timeout(&self) -> Duration {
        Redfish::timeout(self)
    }

    fn fence<'a>(&'a self, job: &'a FenceJob) -> FenceFuture<'a> {
        Box::pin(async move {
            let budget = job.limit(Redfish::timeout(self));
            match self.fence_within(&job.node, job.action, budget).await {
                // Every message through the one cleaner: no form of the password, one line.
                Ok(message) => BackendOutcome::ok(clean(&message, self.http.secrets())),
                Err(e) => BackendOutcome::failed(clean(&e.to_string(), self.http.secrets())),
            }
        })
    }

    fn probe<'a>(&'a self, job: &'a ProbeJob) -> ProbeFuture<'a> {
        Box::pin(async move {
            let budget = job.limit(Redfish::timeout(self));
            match self.probe_within(&job.node, budget).await {
                Ok(message) => ProbeOutcome::up(clean(&message, self.http.secrets())),
                Err(e) => ProbeOutcome::down(clean(&e.to_string(), self.http.secrets())),
            }
        })
    }
}
