//! The `[backends.<name>]` table of an `aws-ec2` backend, its checks, and how a node name turns
//! into the instance to fence: an explicit `instance_id` of the node's override, or the one
//! instance whose tag `tag` has the value `value` (`{node}` through the one template engine).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gfs2_fence_protocol::NodeName;
use serde::Deserialize;

use crate::backend::support::common;
use crate::backend::support::template::{Template, Var, Vars};

/// Where IMDSv2 answers on an EC2 instance (link-local; never contacted unless no other
/// credentials are configured).
pub const DEFAULT_IMDS: &str = "http://169.254.169.254";

/// Configuration of one `aws-ec2` backend. See the module documentation for an example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsEc2Config {
    /// The region of the instances (`eu-west-1`); also the SigV4 signing region.
    pub region: String,
    /// The EC2 API endpoint; default `https://ec2.<region>.amazonaws.com`.
    pub endpoint_url: Option<String>,
    /// The tag that names an instance's node.
    #[serde(default = "default_tag")]
    pub tag: String,
    /// The tag's value for a node; `{node}` is the node name.
    #[serde(default = "default_value")]
    pub value: String,
    /// A shared-credentials file (`~/.aws/credentials` format), checked like every secret file.
    pub credentials_file: Option<PathBuf>,
    /// The profile (section) of `credentials_file`.
    #[serde(default = "default_profile")]
    pub profile: String,
    /// The instance metadata service, for the instance role (tests point it at an emulator).
    #[serde(default = "default_imds")]
    pub imds_url: String,
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Pause between two `DescribeInstances` while waiting for a state.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    #[serde(default)]
    pub reboot_method: RebootMethod,
    /// Per-node overrides: `[backends.<name>.nodes.<node>]`.
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeOverride>,
}

/// What one node may override.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeOverride {
    /// The instance, named outright (no tag lookup).
    pub instance_id: Option<String>,
    /// The tag value for this node (instead of the backend's `value`).
    pub value: Option<String>,
}

/// How `reboot` is done: stop (forced), confirm `stopped`, start, confirm `running` (the only
/// way that fences), or `RebootInstances`, a request to the guest that a hung node ignores and
/// that EC2 confirms in no way: success then means only "the request was accepted".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RebootMethod {
    #[default]
    StopStart,
    ApiReboot,
}

fn default_tag() -> String {
    "Name".to_owned()
}
fn default_value() -> String {
    "{node}".to_owned()
}
fn default_profile() -> String {
    "default".to_owned()
}
fn default_imds() -> String {
    DEFAULT_IMDS.to_owned()
}
fn default_poll_interval_ms() -> u64 {
    1000
}

/// How a node's instance is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Id(String),
    /// `tag:<key>` = value.
    Tag {
        key: String,
        value: String,
    },
}

impl Selector {
    /// The filter as messages name it: `instance-id i-0abc` or `tag:Name=node1`.
    pub fn describe(&self) -> String {
        match self {
            Selector::Id(id) => format!("instance-id {id}"),
            Selector::Tag { key, value } => format!("tag:{key}={value}"),
        }
    }
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: String,
    pub endpoint: reqwest::Url,
    pub imds: reqwest::Url,
    pub tag: String,
    value: Template,
    overrides: BTreeMap<String, (Option<String>, Option<Template>)>,
    pub credentials_file: Option<PathBuf>,
    pub profile: String,
    pub timeout: Duration,
    pub poll: Duration,
    pub reboot_method: RebootMethod,
}

impl AwsEc2Config {
    /// Checks everything that does not need the network or the file system.
    pub fn settings(&self) -> Result<Settings, String> {
        let region_ok = !self.region.is_empty()
            && self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !region_ok {
            return Err(format!("region {:?} is not a region name", self.region));
        }
        let endpoint = match &self.endpoint_url {
            Some(url) => url.clone(),
            None => format!("https://ec2.{}.amazonaws.com/", self.region),
        };
        let endpoint = url("endpoint_url", &endpoint)?;
        let imds = url("imds_url", &self.imds_url)?;
        if self.tag.is_empty() || self.tag.contains(['\n', '\r', '\0']) {
            return Err("tag must be one non-empty line".to_owned());
        }
        let value =
            Template::parse(&self.value, &[Var::Node]).map_err(|e| format!("value: {e}"))?;
        let mut overrides = BTreeMap::new();
        for (name, o) in &self.nodes {
            NodeName::parse(name).map_err(|e| format!("nodes.{name}: {e}"))?;
            if let Some(id) = &o.instance_id {
                check_instance_id(id).map_err(|e| format!("nodes.{name}.instance_id: {e}"))?;
            }
            let value = match &o.value {
                Some(v) => Some(
                    Template::parse(v, &[Var::Node])
                        .map_err(|e| format!("nodes.{name}.value: {e}"))?,
                ),
                None => None,
            };
            overrides.insert(name.clone(), (o.instance_id.clone(), value));
        }
        if self.profile.is_empty() || self.profile.contains([']', '\n']) {
            return Err(format!("profile {:?} is not a profile name", self.profile));
        }
        if self.poll_interval_ms < 10 {
            return Err("poll_interval_ms must be at least 10".to_owned());
        }
        Ok(Settings {
            region: self.region.clone(),
            endpoint,
            imds,
            tag: self.tag.clone(),
            value,
            overrides,
            credentials_file: self.credentials_file.clone(),
            profile: self.profile.clone(),
            timeout: common::timeout(self.timeout_secs)?,
            poll: Duration::from_millis(self.poll_interval_ms),
            reboot_method: self.reboot_method,
        })
    }
}

impl Settings {
    /// How `node`'s instance is found.
    pub fn selector(&self, node: &NodeName) -> Selector {
        let (id, value) = self
            .overrides
            .get(node.as_str())
            .cloned()
            .unwrap_or_default();
        if let Some(id) = id {
            return Selector::Id(id);
        }
        let vars = Vars {
            node: node.as_str(),
            action: "",
            request_id: "",
            nodeid: "",
        };
        Selector::Tag {
            key: self.tag.clone(),
            value: value.as_ref().unwrap_or(&self.value).render(&vars),
        }
    }
}

fn url(key: &str, text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("{key} {text:?}: {e}"))?;
    let plain = url.query().is_none() && url.fragment().is_none() && url.username().is_empty();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !plain {
        return Err(format!(
            "{key} {text:?} must be http(s)://host[:port][/path]"
        ));
    }
    Ok(url)
}

/// `i-` and 8 or 17 hex digits, as EC2 names instances.
fn check_instance_id(id: &str) -> Result<(), String> {
    let hex = id.strip_prefix("i-").unwrap_or("");
    if matches!(hex.len(), 8 | 17) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not an instance id (i-0123456789abcdef0)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, String> {
        let cfg: AwsEc2Config = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.settings()
    }

    fn node(n: &str) -> NodeName {
        NodeName::parse(n).expect("node name")
    }

    #[test]
    fn defaults_select_by_name_tag_and_overrides_win() {
        let s = parse(
            "region = \"eu-west-1\"\n[nodes.n2]\ninstance_id = \"i-0123456789abcdef0\"\n\
             [nodes.n3]\nvalue = \"{node}.cluster\"\n",
        )
        .expect("valid");
        assert_eq!(s.endpoint.as_str(), "https://ec2.eu-west-1.amazonaws.com/");
        assert_eq!(s.reboot_method, RebootMethod::StopStart);
        assert_eq!(s.timeout, Duration::from_secs(60));
        assert_eq!(s.selector(&node("n1")).describe(), "tag:Name=n1");
        assert_eq!(
            s.selector(&node("n2")),
            Selector::Id("i-0123456789abcdef0".into())
        );
        assert_eq!(s.selector(&node("n3")).describe(), "tag:Name=n3.cluster");
    }

    #[test]
    fn bad_tables_are_refused() {
        for (text, want) in [
            ("region = \"EU west\"", "not a region name"),
            (
                "region = \"r1\"\nendpoint_url = \"ftp://x\"",
                "must be http(s)",
            ),
            ("region = \"r1\"\nvalue = \"{nod}\"", "value:"),
            (
                "region = \"r1\"\nreboot_method = \"reset\"",
                "unknown variant",
            ),
            (
                "region = \"r1\"\n[nodes.n1]\ninstance_id = \"node1\"",
                "not an instance id",
            ),
            (
                "region = \"r1\"\n[nodes.\"a b\"]\nvalue = \"x\"",
                "nodes.a b",
            ),
            ("region = \"r1\"\ntimeout_secs = 0", "timeout_secs"),
        ] {
            let e = parse(text).err().unwrap_or_default();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
