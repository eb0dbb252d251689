//! Stage two of option handling: raw text into a typed [`Invocation`].
//!
//! Every value is checked here, once, and a bad one is refused with a message that names the
//! option (and the environment variable it came from). Precedence: a stdin/argv parameter, then
//! the environment, then the default of the option table.

use std::path::PathBuf;
use std::time::Duration;

use gfs2_discovery::{DiscoveryConfig, Source};
use gfs2_fence_protocol::{FileNaming, NodeName};

pub use crate::actions::AgentAction;
use crate::actions::{self, ActionSpec};
pub use crate::heartbeat::BackendHealth;
use crate::options::{key, parse_bool, OptSpec};
use crate::parse::RawOptions;
use crate::text::quoted;

/// Longest accepted number of seconds (a week): anything bigger is a typo.
const MAX_SECONDS: f64 = 7.0 * 86400.0;

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
    /// Whether a simulated success counts as a fence (demos and tests only).
    pub allow_simulate: bool,
    /// Set explicitly; `None`: 3 × the interval the heartbeat states (`monitor.rs`).
    pub heartbeat_max_age: Option<Duration>,
    /// What `monitor` does with the backend health of the heartbeat.
    pub backend_health: BackendHealth,
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
    pub action: &'static ActionSpec,
    pub settings: Settings,
}

/// The action, from `-h`/`-V` or the `action` option (default `reboot`, as fence-agents).
pub fn action(raw: &RawOptions) -> Result<&'static ActionSpec, UsageError> {
    if raw.flag(key::HELP) {
        return Ok(&actions::HELP);
    }
    if raw.flag(key::VERSION) {
        return Ok(&actions::VERSION);
    }
    let text = raw
        .get(key::ACTION)
        .or(key::ACTION.default)
        .unwrap_or_default();
    actions::by_name(text.trim()).ok_or_else(|| {
        UsageError(format!(
            "action: {} is not one of {}",
            quoted(text, "value"),
            actions::names()
        ))
    })
}

impl Invocation {
    /// Checks every setting for `action`; `env` looks up environment variables.
    pub fn new(
        action: &'static ActionSpec,
        raw: &RawOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, UsageError> {
        let r = Resolver { raw, env };
        let settings = Settings {
            target: r.target()?,
            request_dir: r.path(key::REQUEST_DIR)?,
            response_dir: r.path(key::RESPONSE_DIR)?,
            log_dir: r.path(key::LOG_DIR)?,
            fence_timeout: r.seconds(key::FENCE_TIMEOUT)?,
            delay: r.seconds(key::DELAY)?,
            require_heartbeat: r.boolean(key::REQUIRE_HEARTBEAT)?,
            allow_simulate: r.boolean(key::ALLOW_SIMULATE)?,
            heartbeat_max_age: r.optional_seconds(key::HEARTBEAT_MAX_AGE)?,
            backend_health: r.parsed(key::BACKEND_HEALTH, str::parse::<BackendHealth>)?,
            file_naming: r.parsed(key::FILE_NAMING, |v| v.parse::<FileNaming>())?,
            discovery: r.discovery()?,
            verbose: raw.verbosity > 0,
            quiet: raw.flag(key::QUIET),
            debug_file: r.optional_path(key::DEBUG_FILE)?,
        };
        if settings.fence_timeout.is_zero() {
            return Err(UsageError(
                "fence_timeout: must be more than 0 seconds".into(),
            ));
        }
        if action.needs_target && settings.target.is_none() {
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
    Resolver { raw, env }.path(key::LOG_DIR).ok()
}

/// Looks values up in the raw options, then the environment, then the defaults.
struct Resolver<'a> {
    raw: &'a RawOptions,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Resolver<'_> {
    /// The text and where it came from (`None`: the option itself).
    fn text(&self, o: &'static OptSpec) -> Option<(String, Option<&'static str>)> {
        if let Some(v) = self.raw.get(o) {
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
        o: &'static OptSpec,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, UsageError> {
        let (text, from) = self.text(o).unwrap_or_default();
        parse(text.trim()).map_err(|e| {
            let origin = from
                .map(|v| format!(" (from environment {v})"))
                .unwrap_or_default();
            // The parsers escape the values they quote.
            UsageError(format!("{}{origin}: {e}", o.name))
        })
    }

    fn seconds(&self, o: &'static OptSpec) -> Result<Duration, UsageError> {
        self.parsed(o, parse_seconds)
    }

    fn optional_seconds(&self, o: &'static OptSpec) -> Result<Option<Duration>, UsageError> {
        match self.text(o) {
            None => Ok(None),
            Some(_) => self.seconds(o).map(Some),
        }
    }

    fn boolean(&self, o: &'static OptSpec) -> Result<bool, UsageError> {
        self.parsed(o, |v| {
            parse_bool(v).ok_or_else(|| format!("{} is not true or false", quoted(v, "value")))
        })
    }

    fn path(&self, o: &'static OptSpec) -> Result<PathBuf, UsageError> {
        self.parsed(o, |v| {
            if v.is_empty() || v.contains('\0') {
                Err(format!("{} is not a path", quoted(v, "value")))
            } else {
                Ok(PathBuf::from(v))
            }
        })
    }

    fn optional_path(&self, o: &'static OptSpec) -> Result<Option<PathBuf>, UsageError> {
        match self.text(o) {
            None => Ok(None),
            Some(_) => self.path(o).map(Some),
        }
    }

    fn target(&self) -> Result<Option<NodeName>, UsageError> {
        let (o, text) = match (self.raw.get(key::PLUG), self.raw.get(key::NODENAME)) {
            (Some(p), _) if !p.is_empty() => (key::PLUG, p),
            (_, Some(n)) if !n.is_empty() => (key::NODENAME, n),
            _ => return Ok(None),
        };
        NodeName::parse(text)
            .map(Some)
            .map_err(|e| UsageError(format!("{}: {e}", o.name)))
    }

    fn discovery(&self) -> Result<Option<DiscoveryConfig>, UsageError> {
        let enabled = self.boolean(key::GFS2_DISCOVERY)?;
        let mut cfg = DiscoveryConfig {
            sources: self.parsed(key::GFS2_SOURCES, parse_sources)?,
            budget: self.seconds(key::GFS2_TIMEOUT)?,
            kubeconfig: self.optional_path(key::KUBECONFIG)?,
            nnf_namespace: self.text(key::NNF_NAMESPACE).map(|(v, _)| v),
            ..DiscoveryConfig::default()
        };
        if let Some(conf) = self.optional_path(key::COROSYNC_CONF)? {
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
