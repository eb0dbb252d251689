//! Stage two of option handling: raw text into a typed [`Invocation`].
//!
//! Every value is checked here, once, and a bad one is refused with a message that names the
//! option (and the environment variable it came from). Precedence: a stdin/argv parameter, then
//! the environment, then the default of the option table.

use std::path::PathBuf;
use std::time::Duration;

use gfs2_discovery::{DiscoveryConfig, Source};
use gfs2_fence_protocol::{Action, FileNaming, NodeName};

use crate::options::{by_key, OptSpec};
use crate::parse::RawOptions;
use crate::text::quoted;

/// Longest accepted number of seconds (a week): anything bigger is a typo.
const MAX_SECONDS: f64 = 7.0 * 86400.0;

/// What the agent was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAction {
    Fence(Action),
    Status,
    List,
    ListStatus,
    Monitor,
    Metadata,
    Manpage,
    ValidateAll,
    Help,
    Version,
}

impl AgentAction {
    /// Whether the action only prints what the binary knows: no settings, no files.
    pub fn is_informational(self) -> bool {
        matches!(
            self,
            Self::Metadata | Self::Manpage | Self::Help | Self::Version
        )
    }
}

/// A bad option value or a missing required option; the message names the option.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Everything a non-informational action needs, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Option<NodeName>,
    pub request_dir: PathBuf,
    pub response_dir: PathBuf,
    pub log_dir: PathBuf,
    pub fence_timeout: Duration,
    pub delay: Duration,
    pub require_heartbeat: bool,
    pub heartbeat_max_age: Duration,
    pub file_naming: FileNaming,
    /// `None` when discovery is disabled by `gfs2_discovery=false`.
    pub discovery: Option<DiscoveryConfig>,
    pub verbose: bool,
    pub quiet: bool,
    pub debug_file: Option<PathBuf>,
}

/// A checked request to the agent.
#[derive(Debug)]
pub struct Invocation {
    pub action: AgentAction,
    pub settings: Settings,
}

/// The action, from `-h`/`-V` or the `action` option (default `reboot`, as fence-agents).
pub fn action(raw: &RawOptions) -> Result<AgentAction, UsageError> {
    if raw.get("help").is_some_and(truthy) {
        return Ok(AgentAction::Help);
    }
    if raw.get("version").is_some_and(truthy) {
        return Ok(AgentAction::Version);
    }
    let text = raw.get("action").unwrap_or("reboot");
    Ok(match text.trim() {
        "on" => AgentAction::Fence(Action::On),
        "off" => AgentAction::Fence(Action::Off),
        "reboot" => AgentAction::Fence(Action::Reboot),
        "status" => AgentAction::Status,
        "list" => AgentAction::List,
        "list-status" => AgentAction::ListStatus,
        "monitor" => AgentAction::Monitor,
        "metadata" | "meta-data" => AgentAction::Metadata,
        "manpage" => AgentAction::Manpage,
        "validate-all" => AgentAction::ValidateAll,
        _ => return Err(UsageError(format!(
            "action: {} is not one of on, off, reboot, status, list, list-status, monitor, metadata, manpage, validate-all",
            quoted(text, "value")
        ))),
    })
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "yes" | "on" | "true"
    )
}

impl Invocation {
    /// Checks every setting for `action`; `env` looks up environment variables.
    pub fn new(
        action: AgentAction,
        raw: &RawOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, UsageError> {
        let r = Resolver { raw, env };
        let settings = Settings {
            target: r.target()?,
            request_dir: r.path("request_dir")?,
            response_dir: r.path("response_dir")?,
            log_dir: r.path("log_dir")?,
            fence_timeout: r.seconds("fence_timeout")?,
            delay: r.seconds("delay")?,
            require_heartbeat: r.boolean("require_heartbeat")?,
            heartbeat_max_age: r.seconds("heartbeat_max_age")?,
            file_naming: r.parsed("file_naming", |v| v.parse::<FileNaming>())?,
            discovery: r.discovery()?,
            verbose: raw.verbosity > 0,
            quiet: raw.get("quiet").is_some_and(truthy),
            debug_file: r.optional_path("debug_file")?,
        };
        if settings.fence_timeout.is_zero() {
            return Err(UsageError(
                "fence_timeout: must be more than 0 seconds".into(),
            ));
        }
        let needs_target = matches!(action, AgentAction::Fence(_) | AgentAction::Status);
        if needs_target && settings.target.is_none() {
            return Err(UsageError(
                "plug: no node to act on (give plug=, port= or nodename= on stdin, or -n/--plug)"
                    .into(),
            ));
        }
        Ok(Invocation { action, settings })
    }
}

/// Where the event logs go, for recording a fence refused for bad arguments.
pub fn log_dir(raw: &RawOptions, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    Resolver { raw, env }.path("log_dir").ok()
}

/// Looks values up in the raw options, then the environment, then the defaults.
struct Resolver<'a> {
    raw: &'a RawOptions,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Resolver<'_> {
    fn spec(name: &str) -> &'static OptSpec {
        // Every name used below is in the table; a test checks each one resolves.
        by_key(name).unwrap_or(&crate::options::OPTIONS[0])
    }

    /// The text and where it came from (`None`: the option itself).
    fn text(&self, name: &str) -> Option<(String, Option<&'static str>)> {
        let o = Self::spec(name);
        if let Some(v) = self.raw.get(o.name) {
            return Some((v.to_owned(), None));
        }
        for var in o.env {
            if let Some(v) = (self.env)(var).filter(|v| !v.is_empty()) {
                return Some((v, Some(var)));
            }
        }
        o.default.map(|d| (d.to_owned(), None))
    }

    fn parsed<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, UsageError> {
        let (text, from) = self.text(name).unwrap_or_default();
        parse(text.trim()).map_err(|e| {
            let origin = from
                .map(|v| format!(" (from environment {v})"))
                .unwrap_or_default();
            // The parsers escape the values they quote.
            UsageError(format!("{name}{origin}: {e}"))
        })
    }

    fn seconds(&self, name: &str) -> Result<Duration, UsageError> {
        self.parsed(name, parse_seconds)
    }

    fn boolean(&self, name: &str) -> Result<bool, UsageError> {
        self.parsed(name, |v| match v.to_ascii_lowercase().as_str() {
            "1" | "yes" | "on" | "true" => Ok(true),
            "0" | "no" | "off" | "false" => Ok(false),
            _ => Err(format!("{} is not true or false", quoted(v, "value"))),
        })
    }

    fn path(&self, name: &str) -> Result<PathBuf, UsageError> {
        self.parsed(name, |v| {
            if v.is_empty() || v.contains('\0') {
                Err(format!("{} is not a path", quoted(v, "value")))
            } else {
                Ok(PathBuf::from(v))
            }
        })
    }

    fn optional_path(&self, name: &str) -> Result<Option<PathBuf>, UsageError> {
        match self.text(name) {
            None => Ok(None),
            Some(_) => self.path(name).map(Some),
        }
    }

    fn target(&self) -> Result<Option<NodeName>, UsageError> {
        let (key, text) = match (self.raw.get("plug"), self.raw.get("nodename")) {
            (Some(p), _) if !p.is_empty() => ("plug", p),
            (_, Some(n)) if !n.is_empty() => ("nodename", n),
            _ => return Ok(None),
        };
        NodeName::parse(text)
            .map(Some)
            .map_err(|e| UsageError(format!("{key}: {e}")))
    }

    fn discovery(&self) -> Result<Option<DiscoveryConfig>, UsageError> {
        let enabled = self.boolean("gfs2_discovery")?;
        let mut cfg = DiscoveryConfig {
            sources: self.parsed("gfs2_sources", parse_sources)?,
            budget: self.seconds("gfs2_timeout")?,
            kubeconfig: self.optional_path("kubeconfig")?,
            nnf_namespace: self.text("nnf_namespace").map(|(v, _)| v),
            ..DiscoveryConfig::default()
        };
        if let Some(conf) = self.optional_path("corosync_conf")? {
            cfg.corosync_conf = conf;
        }
        Ok(enabled.then_some(cfg))
    }
}

/// A non-negative number of seconds, fractions allowed, an optional `s` suffix.
pub fn parse_seconds(v: &str) -> Result<Duration, String> {
    let bad = || format!("{} is not a number of seconds", quoted(v, "value"));
    let n: f64 = v
        .strip_suffix('s')
        .unwrap_or(v)
        .parse()
        .map_err(|_| bad())?;
    if !n.is_finite() || !(0.0..=MAX_SECONDS).contains(&n) {
        return Err(format!("{} (0 to {MAX_SECONDS})", bad()));
    }
    Ok(Duration::from_secs_f64(n))
}

/// The discovery crate's parser; its message quotes the raw value, so it is escaped here.
fn parse_sources(v: &str) -> Result<Vec<Source>, String> {
    Source::parse_list(v).map_err(|e| crate::text::escape(&e.to_string(), 200))
}

#[cfg(test)]
mod tests;
