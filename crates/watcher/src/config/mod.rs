//! The daemon's configuration: the TOML schema, where each setting comes from, and validation.
//!
//! Precedence, lowest first: built-in defaults, the TOML file, the environment (the protocol's
//! one table, [`gfs2_fence_protocol::env`]: `REQUEST_DIR` / `RESPONSE_DIR`, then nnf-sos's
//! `NNF_FENCE_REQUEST_DIR` / `NNF_FENCE_RESPONSE_DIR`; an empty variable counts as unset), then
//! the command line. Validation happens here, once, so the rest of the daemon only sees a
//! configuration that can run; every message names the offending key.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gfs2_fence_protocol::corosync::DEFAULT_COROSYNC_CONF;
use gfs2_fence_protocol::env as dirs;
use serde::Deserialize;

use crate::backend::support::template::{Template, Var};
use crate::backend::{BackendConfig, SimulateConfig};
pub use cli::{Cli, LogFormat};

pub mod cli;
pub mod fds;
pub mod health;
pub mod lint;
mod locate;
mod validate;

pub use health::HealthConfig;

/// Where the configuration lives unless `--config` says otherwise.
pub const DEFAULT_CONFIG: &str = "/etc/gfs2-fencing/fence-watcher.toml";
/// Name of the backend that the `--simulate*` flags create.
pub const SIMULATE_BACKEND: &str = "simulate";

/// The whole configuration, resolved and validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub request_dir: PathBuf,
    pub response_dir: PathBuf,
    pub daemon: DaemonSection,
    pub after_fence: Option<AfterFenceConfig>,
    pub backends: BTreeMap<String, BackendConfig>,
    pub topology: Vec<TopologyEntry>,
    pub health: HealthConfig,
    /// The file read, if any (for messages).
    pub file: Option<PathBuf>,
}

/// The file as written. Unknown keys are errors: a typo must not silently disable fencing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    spool: SpoolSection,
    #[serde(default)]
    daemon: DaemonSection,
    after_fence: Option<AfterFenceConfig>,
    #[serde(default)]
    backends: BTreeMap<String, BackendConfig>,
    #[serde(default)]
    topology: Vec<TopologyEntry>,
    #[serde(default)]
    health: HealthConfig,
}

/// `[spool]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpoolSection {
    request_dir: Option<PathBuf>,
    response_dir: Option<PathBuf>,
}

/// `[daemon]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonSection {
    /// Most backend runs at once.
    pub max_concurrent: usize,
    /// How long SIGTERM waits for in-flight fences.
    pub grace_period_secs: u64,
    /// Seconds between heartbeat touches.
    pub heartbeat_interval_secs: u64,
    /// Prune responses older than this many days; never when absent.
    pub response_retention_days: Option<u64>,
    /// Loopback address of the Prometheus endpoint; none when absent.
    pub metrics_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
}

impl Default for DaemonSection {
    fn default() -> Self {
        DaemonSection {
            max_concurrent: 16,
            grace_period_secs: 30,
            heartbeat_interval_secs: 10,
            response_retention_days: None,
            metrics_listen: None,
            log_format: LogFormat::Text,
        }
    }
}

/// `[after_fence]`: a command run after each successful fence.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfterFenceConfig {
    /// argv, run without a shell; `{node}`, `{nodeid}`, `{action}` are replaced (see
    /// `templates`).
    pub command: Vec<String>,
    #[serde(default = "default_after_fence_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "default_corosync_conf")]
    pub corosync_conf: PathBuf,
}

impl AfterFenceConfig {
    /// The placeholders the command may use.
    pub const VARS: &'static [Var] = &[Var::Node, Var::NodeId, Var::Action];

    /// The command's arguments parsed by the one template engine; the error names the first
    /// argument with an unknown placeholder or a stray brace.
    pub fn templates(&self) -> Result<Vec<Template>, ConfigError> {
        self.command
            .iter()
            .enumerate()
            .map(|(i, a)| {
                Template::parse(a, Self::VARS)
                    .map_err(|e| ConfigError::Invalid(format!("after_fence.command[{i}] {e}")))
            })
            .collect()
    }
}

fn default_after_fence_timeout() -> u64 {
    30
}

fn default_corosync_conf() -> PathBuf {
    PathBuf::from(DEFAULT_COROSYNC_CONF)
}

/// One `[[topology]]` entry: nodes matching any pattern are fenced by `levels`, in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyEntry {
    pub nodes: Vec<String>,
    pub levels: Vec<String>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `FILE:LINE:COL: message`, at the offending key (`locate.rs`).
    #[error("{}{}: {message}", path.display(), at.map_or(String::new(), |(l, c)| format!(":{l}:{c}")))]
    Parse {
        path: PathBuf,
        /// Line and column, 1-based.
        at: Option<(usize, usize)>,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Reads and validates the configuration for this command line and environment.
pub fn load(cli: &Cli, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Config, ConfigError> {
    let (file, parsed) = match read_text(cli.config.as_deref())? {
        Some((path, text)) => {
            let parsed: FileConfig = parse(&path, &text)?;
            (Some(path), parsed)
        }
        None => (None, FileConfig::default()),
    };
    let flags = DirFlags {
        request_dir: cli.request_dir.as_deref(),
        response_dir: cli.response_dir.as_deref(),
    };
    let dirs = resolve_spool(parsed.spool, &flags, env);
    let mut cfg = Config {
        request_dir: dirs.request_dir,
        response_dir: dirs.response_dir,
        daemon: parsed.daemon,
        after_fence: parsed.after_fence,
        backends: parsed.backends,
        topology: parsed.topology,
        health: parsed.health,
        file,
    };
    apply_cli(&mut cfg, cli)?;
    validate::validate(&cfg)?;
    Ok(cfg)
}

/// The spool directories given on a command line (`--request-dir`, `--response-dir`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DirFlags<'a> {
    pub request_dir: Option<&'a Path>,
    pub response_dir: Option<&'a Path>,
}

/// The spool directories, resolved as the daemon resolves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolDirs {
    pub request_dir: PathBuf,
    pub response_dir: PathBuf,
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
}

/// Only the spool directories of this configuration, by the daemon's precedence (the flag, the
/// environment, the file's `[spool]`, the default): for the operator tool, which must show the
/// state of the spool the daemon serves even when a backend's secret is unreadable or the
/// configuration would not validate. Only `[spool]` is read; the rest of the file need only be
/// TOML. [`load`] resolves its directories with the same code.
pub fn spool_dirs(
    config: Option<&Path>,
    flags: &DirFlags<'_>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<SpoolDirs, ConfigError> {
    /// The file as this function reads it: `[spool]`, every other table ignored.
    #[derive(Default, Deserialize)]
    struct SpoolOnly {
        #[serde(default)]
        spool: SpoolSection,
    }
    let (file, section) = match read_text(config)? {
        Some((path, text)) => {
            let parsed: SpoolOnly = parse(&path, &text)?;
            (Some(path), parsed.spool)
        }
        None => (None, SpoolSection::default()),
    };
    Ok(SpoolDirs {
        file,
        ..resolve_spool(section, flags, env)
    })
}

/// The one precedence of the spool directories, lowest first: the default, the file's
/// `[spool]`, the environment, the flag.
fn resolve_spool(
    file: SpoolSection,
    flags: &DirFlags<'_>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> SpoolDirs {
    let pick = |flag: Option<&Path>, var: dirs::DirVar, file: Option<PathBuf>| {
        flag.map(Path::to_path_buf)
            .or_else(|| var.from_env(env))
            .or(file)
            .unwrap_or_else(|| PathBuf::from(var.default))
    };
    SpoolDirs {
        request_dir: pick(flags.request_dir, dirs::REQUEST_DIR, file.request_dir),
        response_dir: pick(flags.response_dir, dirs::RESPONSE_DIR, file.response_dir),
        file: None,
    }
}

/// The text of the file named by `--config`, or of the default one; `None` when the default
/// file does not exist (an empty configuration: validation then says what is missing).
fn read_text(config: Option<&Path>) -> Result<Option<(PathBuf, String)>, ConfigError> {
    let (path, required) = match config {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path, text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

/// Parses a configuration file's text without resolving or validating it. For the tool that
/// checks `fence-watcher.toml(5)` against the schema (crates/xtask): it walks the schema through
/// this parse's errors, and compares the `Debug` form of what was read to check defaults. The
/// error is serde's own message ("unknown field `x`, expected one of ..."), which lists the
/// schema's keys; users get [`locate`]'s one line at the key with a did-you-mean instead.
pub fn parse_text(text: &str) -> Result<impl std::fmt::Debug, String> {
    toml::from_str::<FileConfig>(text).map_err(|e| e.message().to_owned())
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| locate::parse_error(path, text, &e))
}

/// The TOML error quotes the offending line of the file: the message goes to the journal as one
/// line, so newlines become spaces and other control characters are escaped.
fn one_line(msg: &str) -> String {
    msg.trim_end()
        .chars()
        .map(|c| match c {
            '\n' => " ".to_owned(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn apply_cli(cfg: &mut Config, cli: &Cli) -> Result<(), ConfigError> {
    if let Some(n) = cli.max_concurrent {
        cfg.daemon.max_concurrent = n;
    }
    if let Some(s) = cli.heartbeat_interval {
        cfg.daemon.heartbeat_interval_secs = s;
    }
    if let Some(a) = cli.metrics_listen {
        cfg.daemon.metrics_listen = Some(a);
    }
    if let Some(f) = cli.log_format {
        cfg.daemon.log_format = f;
    }
    if let Some(flag) = cli.simulate_flag() {
        refuse_simulating_over_real_backends(cfg, flag)?;
        let backend = simulate_backend(cli)?;
        cfg.backends.insert(SIMULATE_BACKEND.to_owned(), backend);
        // First matching entry wins: the simulation takes every node.
        let all = TopologyEntry {
            nodes: vec!["*".into()],
            levels: vec![SIMULATE_BACKEND.into()],
        };
        cfg.topology.insert(0, all);
    }
    Ok(())
}

/// `--simulate*` routes every node through a backend that fences nothing. Over a configuration
/// with real backends it would answer a real cluster's requests `success: true` and fence
/// nothing (issue 12), so the daemon refuses to start; `--simulate` alone (demos, tests) or over
/// simulated backends only stays allowed.
fn refuse_simulating_over_real_backends(cfg: &Config, flag: &str) -> Result<(), ConfigError> {
    let real: Vec<&str> = cfg
        .backends
        .iter()
        .filter(|(_, b)| !matches!(b, BackendConfig::Simulate(_)))
        .map(|(name, _)| name.as_str())
        .collect();
    if real.is_empty() {
        return Ok(());
    }
    let file = cfg.file.as_deref().map_or_else(
        || "the configuration".to_owned(),
        |f| f.display().to_string(),
    );
    Err(ConfigError::Invalid(format!(
        "{flag} would answer every request through the simulate backend, which fences nothing, \
         but {file} defines real backends ({}): refusing to start; drop {flag} to fence through \
         them, or run the simulation without that configuration",
        real.join(", ")
    )))
}

/// The `simulate` backend of the command line: the same [`SimulateConfig`] a
/// `[backends.simulate]` table gives, so both paths build the same backend.
fn simulate_backend(cli: &Cli) -> Result<BackendConfig, ConfigError> {
    let delay = cli.simulate_delay.unwrap_or(0.0);
    if !(0.0..=3600.0).contains(&delay) {
        return Err(ConfigError::Invalid(format!(
            "--simulate-delay {delay} is not between 0 and 3600 seconds"
        )));
    }
    Ok(BackendConfig::Simulate(SimulateConfig {
        delay_secs: delay,
        outcome: cli.simulate_outcome.unwrap_or_default(),
        // --simulate-delay means a slow fence, not a hung one: the timeout leaves it room.
        timeout_secs: (delay > 0.0).then_some(delay + 60.0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::parse_from(std::iter::once("fence_watcher").chain(args.iter().copied()))
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(f.path(), text).expect("write config");
        f
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    const GOOD: &str = r#"
        [spool]
        request_dir = "/r"
        response_dir = "/s"
        [daemon]
        max_concurrent = 4
        [backends.ipmi]
        type = "simulate"
        [[topology]]
        nodes = ["cn-*"]
        levels = ["ipmi"]
    "#;

    #[test]
    fn refuses_to_run_without_a_backend() {
        let f = write("[daemon]\nmax_concurrent = 2\n");
        let p = f.path().to_str().expect("utf-8");
        let err = load(&cli(&["--config", p]), &no_env).expect_err("no backend");
        let msg = err.to_string();
        assert!(
            msg.contains("[backends.NAME]") && msg.contains("--simulate"),
            "{msg}"
        );
        let ok = load(&cli(&["--config", p, "--simulate"]), &no_env).expect("simulate");
        assert_eq!(ok.topology[0].levels, ["simulate"]);
    }

    #[test]
    fn a_parse_error_is_one_line_without_control_characters() {
        let f = write("[daemon]\nmax_concurrent = 2\n\u{0}\u{1b}[2J\r = 1\n");
        let p = f.path().to_str().expect("utf-8");
        let msg = load(&cli(&["--config", p]), &no_env)
            .expect_err("bad toml")
            .to_string();
        assert!(!msg.chars().any(char::is_control), "{msg:?}");
        assert!(msg.contains("\\u{1b}"), "{msg}");
    }

    #[test]
    fn precedence_is_file_then_env_then_cli() {
        let f = write(GOOD);
        let p = f.path().to_str().expect("utf-8");
        let c = load(&cli(&["--config", p]), &no_env).expect("valid");
        assert_eq!(c.request_dir, PathBuf::from("/r"));
        assert_eq!(c.daemon.max_concurrent, 4);
        assert_eq!(c.daemon.grace_period_secs, 30);
        let env = |k: &str| match k {
            "NNF_FENCE_REQUEST_DIR" => Some(OsString::from("/nnf")),
            "RESPONSE_DIR" => Some(OsString::from("/env-s")),
            "NNF_FENCE_RESPONSE_DIR" => Some(OsString::from("/ignored")),
            _ => None,
        };
        let c = load(&cli(&["--config", p]), &env).expect("valid");
        assert_eq!(c.request_dir, PathBuf::from("/nnf"));
        assert_eq!(c.response_dir, PathBuf::from("/env-s"));
        let c = load(&cli(&["--config", p, "--request-dir", "/flag"]), &env).expect("valid");
        assert_eq!(c.request_dir, PathBuf::from("/flag"));
    }

    #[test]
    fn an_empty_variable_counts_as_unset_as_for_the_agent() {
        let f = write(GOOD);
        let p = f.path().to_str().expect("utf-8");
        let env = |k: &str| match k {
            "REQUEST_DIR" | "RESPONSE_DIR" => Some(OsString::new()),
            "NNF_FENCE_REQUEST_DIR" => Some(OsString::from("/nnf")),
            _ => None,
        };
        let c = load(&cli(&["--config", p]), &env).expect("valid");
        assert_eq!(
            c.request_dir,
            PathBuf::from("/nnf"),
            "the next name is looked at"
        );
        assert_eq!(
            c.response_dir,
            PathBuf::from("/s"),
            "the file's value stays"
        );
    }

    #[test]
    fn messages_name_the_key() {
        let cases = [
            (
                GOOD.replace("levels = [\"ipmi\"]", "levels = [\"nope\"]"),
                "topology[0].levels",
            ),
            (
                GOOD.replace("max_concurrent = 4", "max_concurrent = 0"),
                "daemon.max_concurrent",
            ),
            (
                GOOD.replace("max_concurrent = 4", "max_concurent = 4"),
                "max_concurent",
            ),
            (
                GOOD.replace("max_concurrent = 4", "metrics_listen = \"0.0.0.0:9464\""),
                "daemon.metrics_listen",
            ),
            (GOOD.replace("\"cn-*\"", "\"[\""), "topology[0].nodes"),
        ];
        for (text, key) in cases {
            let f = write(&text);
            let p = f.path().to_str().expect("utf-8");
            let msg = load(&cli(&["--config", p]), &no_env)
                .expect_err(key)
                .to_string();
            assert!(msg.contains(key), "{key}: {msg}");
        }
    }

    #[test]
    fn a_misspelled_after_fence_placeholder_is_refused() {
        let text = format!(
            "{GOOD}\n[after_fence]\ncommand = [\"dlm_tool\", \"fence_ack\", \"{{nodid}}\"]\n"
        );
        let f = write(&text);
        let p = f.path().to_str().expect("utf-8");
        let msg = load(&cli(&["--config", p]), &no_env)
            .expect_err("{nodid} is not a placeholder")
            .to_string();
        assert!(
            msg.contains("after_fence.command[2]") && msg.contains("unknown placeholder {nodid}"),
            "{msg}"
        );
        let ok = text.replace("{nodid}", "{nodeid}");
        let f = write(&ok);
        let p = f.path().to_str().expect("utf-8");
        load(&cli(&["--config", p]), &no_env).expect("{nodeid} is one");
    }

    /// Issue 12: `--config real.toml --simulate` answered every request `success: true`
    /// through the `simulate` backend and fenced nothing. Every `--simulate*` flag over a file
    /// with a real backend is refused, naming the file and the flag; over simulated backends
    /// only, or alone, it still works.
    #[test]
    fn simulating_over_real_backends_is_refused() {
        let real = GOOD.replace(
            "type = \"simulate\"",
            "type = \"command\"\nargv = [\"/bin/true\"]",
        );
        let f = write(&real);
        let p = f.path().to_str().expect("utf-8");
        load(&cli(&["--config", p]), &no_env).expect("a real configuration is valid");
        for flag in [
            &["--simulate"][..],
            &["--simulate-delay", "1"],
            &["--simulate-outcome", "fail"],
        ] {
            let mut args = vec!["--config", p];
            args.extend(flag);
            let msg = load(&cli(&args), &no_env)
                .expect_err("simulation over real backends")
                .to_string();
            assert!(
                msg.contains(flag[0]) && msg.contains(p) && msg.contains("real backends (ipmi)"),
                "{msg}"
            );
        }
        let f = write(GOOD);
        let p = f.path().to_str().expect("utf-8");
        let c = load(&cli(&["--config", p, "--simulate"]), &no_env).expect("simulated only");
        assert_eq!(c.topology[0].levels, ["simulate"]);
    }

    /// The operator tool reads the spool of a configuration that would not start the daemon
    /// (here a backend without its `argv`): only `[spool]` is read, by the same precedence.
    #[test]
    fn spool_dirs_reads_only_the_spool_section_by_the_same_precedence() {
        let broken = GOOD.replace("type = \"simulate\"", "type = \"command\"");
        let f = write(&broken);
        load(
            &cli(&["--config", &f.path().display().to_string()]),
            &no_env,
        )
        .expect_err("no argv: the daemon refuses it");
        let none = DirFlags::default();
        let d = spool_dirs(Some(f.path()), &none, &no_env).expect("spool only");
        assert_eq!((d.request_dir, d.response_dir), ("/r".into(), "/s".into()));
        assert_eq!(d.file.as_deref(), Some(f.path()));
        let env = |k: &str| (k == "RESPONSE_DIR").then(|| OsString::from("/env-s"));
        let flag = DirFlags {
            request_dir: Some(Path::new("/flag")),
            response_dir: None,
        };
        let d = spool_dirs(Some(f.path()), &flag, &env).expect("spool only");
        assert_eq!(
            (d.request_dir, d.response_dir),
            ("/flag".into(), "/env-s".into())
        );
        let typo = write("[spool]\nrequest_dri = \"/r\"\n");
        let msg = spool_dirs(Some(typo.path()), &none, &no_env)
            .expect_err("a typo in [spool] is still refused")
            .to_string();
        assert!(msg.contains("request_dri"), "{msg}");
    }

    #[test]
    fn a_named_config_file_must_exist() {
        let err = load(
            &cli(&["--config", "/nonexistent/x.toml", "--simulate"]),
            &no_env,
        );
        assert!(matches!(err, Err(ConfigError::Read { .. })));
    }
}
