//! Settings and checks shared by several backends: timeouts, program paths, environment
//! variables, parameter values, and the placeholder values of a job.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::template::Vars;
use crate::backend::FenceJob;

/// Default `timeout_secs` of every backend.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// Largest accepted `timeout_secs` (one day): beyond that the number is a mistake.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;
/// Where a bare program name is looked up.
const PROGRAM_DIRS: [&str; 2] = ["/usr/sbin", "/usr/bin"];

/// The `timeout_secs` setting: default 60, must be > 0.
pub fn timeout(secs: Option<f64>) -> Result<Duration, String> {
    let Some(secs) = secs else {
        return Ok(Duration::from_secs(DEFAULT_TIMEOUT_SECS));
    };
    if !(secs > 0.0 && secs <= MAX_TIMEOUT_SECS) {
        return Err(format!(
            "timeout_secs {secs} must be > 0 and <= {MAX_TIMEOUT_SECS}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Resolves the program of setting `key`: an absolute path, or a bare name found in `/usr/sbin`
/// or `/usr/bin`. A relative path with a `/` is refused (it would depend on the daemon's cwd).
pub fn resolve_program(key: &str, name: &str) -> Result<PathBuf, String> {
    let path = Path::new(name);
    if path.is_absolute() {
        return executable(path)
            .then(|| path.to_owned())
            .ok_or_else(|| format!("{key} {name:?} is not an executable file"));
    }
    if name.is_empty() || name.contains('/') {
        return Err(format!(
            "{key} {name:?} must be a bare name or an absolute path"
        ));
    }
    PROGRAM_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| executable(p))
        .ok_or_else(|| format!("{key} {name:?} not found in {}", PROGRAM_DIRS.join(" or ")))
}

fn executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The `env` table: names are `[A-Za-z_][A-Za-z0-9_]*`, values one line without NUL.
pub fn env(table: &BTreeMap<String, String>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (k, v) in table {
        let good_name = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !good_name {
            return Err(format!(
                "env name {k:?} is not a valid environment variable name"
            ));
        }
        if k == "PATH" && v.is_empty() {
            return Err("env PATH must not be empty".to_owned());
        }
        one_line(&format!("env {k}"), v)?;
        out.push((k.clone(), v.clone()));
    }
    Ok(out)
}

/// A value that goes into a `key=value` line or an environment variable must be one line.
pub fn one_line(what: &str, value: &str) -> Result<(), String> {
    if value.contains(['\n', '\r', '\0']) {
        return Err(format!("{what} must not contain a newline or NUL"));
    }
    Ok(())
}

/// A parameter value as written in TOML: a string, an integer, a float or a boolean.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for ParamValue {
    /// Booleans as `1`/`0`, which every fence agent (fencing.py) accepts for flags.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => f.write_str(if *b { "1" } else { "0" }),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Str(s) => f.write_str(s),
        }
    }
}

/// The placeholder values of `job`.
pub fn vars(job: &FenceJob) -> Vars<'_> {
    Vars {
        node: job.node.as_str(),
        action: job.action.as_str(),
        request_id: job.request_id.as_str(),
        nodeid: "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(timeout(None), Ok(Duration::from_secs(60)));
        assert_eq!(timeout(Some(0.5)), Ok(Duration::from_millis(500)));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
            assert!(timeout(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn programs() {
        assert_eq!(
            resolve_program("agent", "sh").ok(),
            Some(PathBuf::from("/usr/bin/sh"))
        );
        assert!(resolve_program("agent", "bin/sh")
            .expect_err("rel")
            .contains("absolute"));
        let e = resolve_program("agent", "fence_nope").expect_err("missing");
        assert_eq!(e, "agent \"fence_nope\" not found in /usr/sbin or /usr/bin");
        assert!(resolve_program("agent", "/etc/passwd").is_err());
    }

    #[test]
    fn env_and_values() {
        let mut t = BTreeMap::new();
        t.insert("A_1".to_owned(), "x".to_owned());
        assert!(env(&t).is_ok());
        t.insert("1A".to_owned(), "x".to_owned());
        assert!(env(&t).is_err());
        assert!(one_line("k", "a\nb").is_err());
        assert_eq!(ParamValue::Bool(true).to_string(), "1");
        assert_eq!(ParamValue::Int(623).to_string(), "623");
    }
}
