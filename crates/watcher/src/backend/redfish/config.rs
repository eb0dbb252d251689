//! The `[backends.<name>]` table of a `redfish` backend, its checks, and how a node name turns
//! into the BMC address and system URI to use (`{node}` templates and per-node overrides).

use std::collections::BTreeMap;
use std::path::PathBuf;

use gfs2_fence_protocol::NodeName;
use serde::Deserialize;

use super::error::BuildError;

/// Configuration of one `redfish` backend. See the module documentation for an example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedfishConfig {
    /// BMC host name or address; `{node}` is replaced by the node name (`"{node}-bmc"`).
    pub host: String,
    /// BMC port; default 443 (80 with `scheme = "http"`).
    pub port: Option<u16>,
    #[serde(default)]
    pub scheme: Scheme,
    /// Plain HTTP sends the password in clear: it must be allowed explicitly.
    #[serde(default)]
    pub allow_http: bool,
    /// URI of the system, `{node}` replaced (`"/redfish/v1/Systems/{node}"`).
    pub system_uri: Option<String>,
    /// Id of the system under `/redfish/v1/Systems/`, `{node}` replaced.
    pub system_id: Option<String>,
    pub username: String,
    /// File holding the password (one line); must not be readable by others.
    pub password_file: PathBuf,
    /// PEM bundle of the CAs that signed the BMC certificates.
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of the DER certificate of the BMC (hex, colons allowed), for every BMC.
    pub pinned_cert_sha256: Option<String>,
    /// Accept any certificate. Warned about at every start.
    #[serde(default)]
    pub insecure: bool,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    #[serde(default)]
    pub reboot_method: RebootMethod,
    #[serde(default = "default_max_concurrent_per_bmc")]
    pub max_concurrent_per_bmc: usize,
    /// Per-node overrides: `[backends.<name>.nodes.<node>]`.
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeOverride>,
}

/// What one node may override.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeOverride {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub system_uri: Option<String>,
    pub system_id: Option<String>,
    pub pinned_cert_sha256: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Https,
    Http,
}

/// How `reboot` is done: `ForceOff`, confirm Off, `On`, confirm On (the default, as
/// fence_redfish does), or one `ForceRestart`, a success only when PowerState read Off or
/// PoweringOff after it was accepted, and then On.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RebootMethod {
    Restart,
    #[default]
    OnOff,
}

fn default_timeout_secs() -> u64 {
    60
}
fn default_poll_interval_ms() -> u64 {
    500
}
fn default_max_concurrent_per_bmc() -> usize {
    2
}

/// Where a node's BMC is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bmc {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
}

impl Bmc {
    /// `host:port`, as messages and the concurrency limit name it.
    pub fn label(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        format!("{scheme}://{}", self.label())
    }
}

/// The BMC of a node and, when configured, the URI of its system (else: discover by name).
#[derive(Debug, Clone)]
pub struct Target {
    pub bmc: Bmc,
    pub system_uri: Option<String>,
}

impl RedfishConfig {
    /// Checks everything that does not need the file system.
    pub fn validate(&self) -> Result<(), BuildError> {
        let bad = |m: String| Err(BuildError::Invalid(m));
        if self.scheme == Scheme::Http && !self.allow_http {
            return bad(
                "scheme = \"http\" sends the password in clear: set allow_http = true to allow it"
                    .into(),
            );
        }
        if self.timeout_secs == 0 || self.poll_interval_ms < 10 || self.max_concurrent_per_bmc == 0
        {
            return bad("timeout_secs and max_concurrent_per_bmc must be at least 1, poll_interval_ms at least 10".into());
        }
        if self.username.is_empty() {
            return bad("username is empty".into());
        }
        let any_pin = self.pinned_cert_sha256.is_some()
            || self.nodes.values().any(|o| o.pinned_cert_sha256.is_some());
        if self.insecure && (self.ca_file.is_some() || any_pin) {
            return bad(
                "insecure = true cannot be combined with ca_file or pinned_cert_sha256".into(),
            );
        }
        if self.pinned_cert_sha256.is_some() && self.ca_file.is_some() {
            return bad(
                "pinned_cert_sha256 for every bmc leaves ca_file unused: set one of them".into(),
            );
        }
        self.validate_system(&self.system_uri, &self.system_id, "")?;
        for (name, o) in &self.nodes {
            if NodeName::parse(name).is_err() {
                return bad(format!("nodes.{name}: not a valid node name"));
            }
            self.validate_system(&o.system_uri, &o.system_id, &format!("nodes.{name}."))?;
        }
        // Resolve every configured node once, so a bad template fails at start, not at fence.
        let probe = NodeName::parse("node0").map_err(|e| BuildError::Invalid(e.to_string()))?;
        self.target(&probe)?;
        for name in self.nodes.keys() {
            let node = NodeName::parse(name).map_err(|e| BuildError::Invalid(e.to_string()))?;
            self.target(&node)?;
        }
        Ok(())
    }

    fn validate_system(
        &self,
        uri: &Option<String>,
        id: &Option<String>,
        at: &str,
    ) -> Result<(), BuildError> {
        if uri.is_some() && id.is_some() {
            return Err(BuildError::Invalid(format!(
                "{at}system_uri and {at}system_id are both set: set one"
            )));
        }
        Ok(())
    }

    /// Where to fence `node`.
    pub fn target(&self, node: &NodeName) -> Result<Target, BuildError> {
        let o = self.nodes.get(node.as_str()).cloned().unwrap_or_default();
        let host = fill(o.host.as_deref().unwrap_or(&self.host), node);
        check_host(&host)?;
        let default_port = match self.scheme {
            Scheme::Https => 443,
            Scheme::Http => 80,
        };
        let port = o.port.or(self.port).unwrap_or(default_port);
        if port == 0 {
            return Err(BuildError::Invalid(format!("port 0 for node {node}")));
        }
        let system_uri = match (&o.system_uri, &o.system_id) {
            (Some(uri), _) => Some(fill(uri, node)),
            (None, Some(id)) => Some(format!("/redfish/v1/Systems/{}", fill(id, node))),
            (None, None) => match (&self.system_uri, &self.system_id) {
                (Some(uri), _) => Some(fill(uri, node)),
                (None, Some(id)) => Some(format!("/redfish/v1/Systems/{}", fill(id, node))),
                (None, None) => None,
            },
        };
        if let Some(uri) = &system_uri {
            check_path(uri)?;
        }
        Ok(Target {
            bmc: Bmc {
                scheme: self.scheme,
                host,
                port,
            },
            system_uri,
        })
    }

    /// Every (host, pin) pair configured: the backend-wide pin is returned with host `None`.
    pub fn pins(&self) -> Result<Vec<(Option<String>, String)>, BuildError> {
        let mut pins = Vec::new();
        if let Some(pin) = &self.pinned_cert_sha256 {
            pins.push((None, pin.clone()));
        }
        for (name, o) in &self.nodes {
            if let Some(pin) = &o.pinned_cert_sha256 {
                let node = NodeName::parse(name).map_err(|e| BuildError::Invalid(e.to_string()))?;
                pins.push((Some(self.target(&node)?.bmc.host), pin.clone()));
            }
        }
        Ok(pins)
    }
}

/// Replaces `{node}`. Node names are `[A-Za-z0-9._-]` only, so the result needs no escaping.
fn fill(template: &str, node: &NodeName) -> String {
    template.replace("{node}", node.as_str())
}

fn check_host(host: &str) -> Result<(), BuildError> {
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
    if ok {
        Ok(())
    } else {
        Err(BuildError::Invalid(format!(
            "host {host:?} is not a host name or an address"
        )))
    }
}

fn check_path(uri: &str) -> Result<(), BuildError> {
    let ok = uri.starts_with('/')
        && !uri.contains("..")
        && !uri.contains("//")
        && uri
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '?' | '#' | '%' | '\\'));
    if ok {
        Ok(())
    } else {
        Err(BuildError::Invalid(format!(
            "system uri {uri:?} is not an absolute path like /redfish/v1/Systems/1"
        )))
    }
}
