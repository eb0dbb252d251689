//! The environment variables that name the spool and log directories, and their defaults: one
//! table for the agent, the daemon and the operator tool (`docs/DESIGN.md`, "Directories").
//!
//! nnf-sos reads `NNF_FENCE_REQUEST_DIR` / `NNF_FENCE_RESPONSE_DIR`; we accept them after our own
//! names so a host can share the directories with it.

use std::ffi::OsStr;
use std::path::PathBuf;

use crate::{DEFAULT_LOG_DIR, DEFAULT_REQUEST_DIR, DEFAULT_RESPONSE_DIR};

/// A directory set by environment variables, with its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirVar {
    /// Variables in precedence order.
    pub names: &'static [&'static str],
    pub default: &'static str,
}

/// `REQUEST_DIR`, then nnf-sos's `NNF_FENCE_REQUEST_DIR`.
pub const REQUEST_DIR: DirVar = DirVar {
    names: &["REQUEST_DIR", "NNF_FENCE_REQUEST_DIR"],
    default: DEFAULT_REQUEST_DIR,
};

/// `RESPONSE_DIR`, then nnf-sos's `NNF_FENCE_RESPONSE_DIR`.
pub const RESPONSE_DIR: DirVar = DirVar {
    names: &["RESPONSE_DIR", "NNF_FENCE_RESPONSE_DIR"],
    default: DEFAULT_RESPONSE_DIR,
};

/// `LOG_DIR`: the agent's event logs.
pub const LOG_DIR: DirVar = DirVar {
    names: &["LOG_DIR"],
    default: DEFAULT_LOG_DIR,
};

impl DirVar {
    /// The first of `names` that `env` gives a non-empty value: an empty variable counts as
    /// unset (as a shell's `REQUEST_DIR=` would mean), so the next name is looked at.
    pub fn from_env<V: AsRef<OsStr>>(&self, env: impl Fn(&str) -> Option<V>) -> Option<PathBuf> {
        self.names.iter().find_map(|name| {
            env(name)
                .filter(|v| !v.as_ref().is_empty())
                .map(|v| PathBuf::from(v.as_ref()))
        })
    }

    /// [`DirVar::from_env`], else the default.
    pub fn resolve<V: AsRef<OsStr>>(&self, env: impl Fn(&str) -> Option<V>) -> PathBuf {
        self.from_env(env)
            .unwrap_or_else(|| PathBuf::from(self.default))
    }

    /// The directory from this process's environment, else the default.
    pub fn from_process(&self) -> PathBuf {
        self.resolve(|name| std::env::var_os(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn our_name_wins_over_nnf_sos_and_both_over_the_default() {
        assert_eq!(
            REQUEST_DIR.resolve(env(&[])),
            PathBuf::from(DEFAULT_REQUEST_DIR)
        );
        let both = [("NNF_FENCE_REQUEST_DIR", "/nnf"), ("REQUEST_DIR", "/ours")];
        assert_eq!(REQUEST_DIR.resolve(env(&both)), PathBuf::from("/ours"));
        let nnf = [("NNF_FENCE_RESPONSE_DIR", "/nnf-r")];
        assert_eq!(RESPONSE_DIR.resolve(env(&nnf)), PathBuf::from("/nnf-r"));
        assert_eq!(REQUEST_DIR.from_env(env(&nnf)), None);
        assert_eq!(
            LOG_DIR.resolve(env(&[("LOG_DIR", "/l")])),
            PathBuf::from("/l")
        );
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let vars = [("REQUEST_DIR", ""), ("NNF_FENCE_REQUEST_DIR", "/nnf")];
        assert_eq!(REQUEST_DIR.resolve(env(&vars)), PathBuf::from("/nnf"));
        assert_eq!(
            LOG_DIR.resolve(env(&[("LOG_DIR", "")])),
            PathBuf::from(DEFAULT_LOG_DIR)
        );
    }

    #[test]
    fn the_table_matches_the_design() {
        assert_eq!(LOG_DIR.names, ["LOG_DIR"]);
        assert_eq!(RESPONSE_DIR.default, "/var/run/gfs2-fencing/responses");
        assert_eq!(REQUEST_DIR.default, "/var/run/gfs2-fencing/requests");
        assert_eq!(LOG_DIR.default, "/var/log/gfs2-fencing");
    }
}
