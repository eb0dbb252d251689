//! The `ipmitool` backend: IPMI power control with the state confirmed, not assumed.
//!
//! `ipmitool chassis power off` exits 0 when the BMC accepted the command, not when the node is
//! off, so every action is followed by polling `chassis power status` until the BMC reports the
//! wanted state (`Chassis Power is off`/`on`); only that is success. The password goes to the
//! child as `IPMI_PASSWORD` with `-E`, never in argv. Cipher suite 3 is the default because suite
//! 0 accepts any password, and because without `-C` ipmitool first asks for the cipher suites,
//! which some BMCs (and ipmi_sim) do not answer, costing 10-14 s per call.
//!
//! ```toml
//! [backends.bmc]
//! type = "ipmitool"
//! host = "{node}-ipmi"             # default; {node} = the node name
//! port = 623                       # default
//! username = "admin"               # required
//! password_file = "/etc/gfs2-fencing/ipmi.pw"   # -> IPMI_PASSWORD + -E; mode 0600 or 0400
//! interface = "lanplus"            # or "lan"
//! cipher = 3                       # 0 refused unless allow_cipher_zero = true
//! privilege = "administrator"      # optional -L: callback, user, operator, administrator
//! ipmitool = "/usr/bin/ipmitool"
//! reboot_method = "cycle"          # or "onoff"
//! power_wait_secs = 2              # after cycle before polling; between off and on (onoff)
//! status_poll_interval_ms = 500
//! timeout_secs = 60
//! [backends.bmc.per_node.cn7]
//! host = "10.0.0.17"
//! port = 6231
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gfs2_fence_protocol::NodeName;
use serde::Deserialize;

mod fence;

use super::support::common;
use super::support::secret::read_secret;
use super::support::template::{Template, Var};

/// Configuration of the `ipmitool` backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpmitoolConfig {
    /// BMC address template; default `{node}-ipmi`.
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub username: String,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub interface: IpmiInterface,
    #[serde(default = "default_cipher")]
    pub cipher: u8,
    #[serde(default)]
    pub allow_cipher_zero: bool,
    /// `-L`: callback, user, operator or administrator.
    #[serde(default)]
    pub privilege: Option<String>,
    #[serde(default = "default_ipmitool")]
    pub ipmitool: String,
    #[serde(default)]
    pub per_node: BTreeMap<String, NodeOverride>,
    /// Pause after `power cycle` before polling, and between off and on for `onoff`.
    #[serde(default = "default_power_wait")]
    pub power_wait_secs: f64,
    #[serde(default = "default_poll_ms")]
    pub status_poll_interval_ms: u64,
    #[serde(default)]
    pub reboot_method: RebootMethod,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_secs: Option<f64>,
}

/// Per-node BMC address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeOverride {
    pub host: Option<String>,
    pub port: Option<u16>,
}

/// `-I`: `lanplus` (IPMI 2.0, default) or `lan` (IPMI 1.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IpmiInterface {
    #[default]
    Lanplus,
    Lan,
}

/// How `reboot` is done: `power cycle` (default) or off, confirm, on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RebootMethod {
    #[default]
    Cycle,
    Onoff,
}

fn default_host() -> String {
    "{node}-ipmi".to_owned()
}
fn default_port() -> u16 {
    623
}
fn default_cipher() -> u8 {
    3
}
fn default_ipmitool() -> String {
    "/usr/bin/ipmitool".to_owned()
}
fn default_power_wait() -> f64 {
    2.0
}
fn default_poll_ms() -> u64 {
    500
}

/// The built `ipmitool` backend.
#[derive(Debug)]
pub struct Ipmitool {
    program: PathBuf,
    host: Template,
    port: u16,
    per_node: BTreeMap<String, (Option<Template>, Option<u16>)>,
    fixed_args: Vec<String>,
    password_file: Option<PathBuf>,
    power_wait: Duration,
    poll: Duration,
    reboot_method: RebootMethod,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl IpmitoolConfig {
    pub(super) fn build(&self) -> Result<Ipmitool, String> {
        let timeout = common::timeout(self.timeout_secs)?;
        let program = common::resolve_program("ipmitool", &self.ipmitool)?;
        let host = host_template("host", &self.host)?;
        let mut per_node = BTreeMap::new();
        for (node, o) in &self.per_node {
            NodeName::parse(node).map_err(|e| format!("per_node.{node}: {e}"))?;
            let h = o
                .host
                .as_deref()
                .map(|h| host_template(&format!("per_node.{node}.host"), h));
            per_node.insert(node.clone(), (h.transpose()?, o.port));
        }
        if let Some(path) = &self.password_file {
            read_secret("password_file", path).map_err(|e| e.to_string())?;
        }
        if !(0.0..=600.0).contains(&self.power_wait_secs) {
            return Err(format!(
                "power_wait_secs {} must be between 0 and 600",
                self.power_wait_secs
            ));
        }
        if !(10..=60_000).contains(&self.status_poll_interval_ms) {
            return Err(format!(
                "status_poll_interval_ms {} must be 10..=60000",
                self.status_poll_interval_ms
            ));
        }
        Ok(Ipmitool {
            program,
            host,
            port: self.port,
            per_node,
            fixed_args: self.fixed_args()?,
            password_file: self.password_file.clone(),
            power_wait: Duration::from_secs_f64(self.power_wait_secs),
            poll: Duration::from_millis(self.status_poll_interval_ms),
            reboot_method: self.reboot_method,
            env: common::env(&self.env)?,
            timeout,
        })
    }

    /// `-I`, `-U`, `-C`, `-L` and `-E`: the arguments that do not depend on the node.
    fn fixed_args(&self) -> Result<Vec<String>, String> {
        let mut args = vec!["-I".to_owned()];
        match self.interface {
            IpmiInterface::Lanplus => args.push("lanplus".into()),
            IpmiInterface::Lan => args.push("lan".into()),
        }
        if self.username.is_empty()
            || self.username.starts_with('-')
            || self.username.contains('\0')
        {
            return Err(format!(
                "username {:?} must be non-empty and not start with '-'",
                self.username
            ));
        }
        args.extend(["-U".to_owned(), self.username.clone()]);
        if self.cipher == 0 && !self.allow_cipher_zero {
            return Err(
                "cipher 0 accepts any password; refusing it (set allow_cipher_zero = true \
                        only for a BMC that supports nothing else)"
                    .to_owned(),
            );
        }
        if self.interface == IpmiInterface::Lanplus {
            args.extend(["-C".to_owned(), self.cipher.to_string()]);
        }
        if let Some(p) = &self.privilege {
            let p = p.to_ascii_uppercase();
            if !["CALLBACK", "USER", "OPERATOR", "ADMINISTRATOR"].contains(&p.as_str()) {
                return Err(format!(
                    "privilege {p:?} must be callback, user, operator or administrator"
                ));
            }
            args.extend(["-L".to_owned(), p]);
        }
        if self.password_file.is_some() {
            args.push("-E".into());
        }
        Ok(args)
    }
}

fn host_template(key: &str, raw: &str) -> Result<Template, String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '{' | '}');
    if raw.is_empty() || raw.starts_with('-') || !raw.chars().all(ok) {
        return Err(format!(
            "{key} {raw:?} must be a host name or address (with {{node}})"
        ));
    }
    Template::parse(raw, &[Var::Node]).map_err(|e| format!("{key} {e}"))
}
