//! The one rule for what we trust on disk: spool directories and secret files.
//!
//! Whoever can write a spool directory can forge a request, or the "fenced" record that lets the
//! cluster touch shared storage again; whoever can read a secret file knows a BMC password. So:
//!
//! - **owner**: root or the effective user of this process. Root can do anything anyway; any
//!   other owner could chmod the directory or rewrite the secret at will.
//! - **mode**: a spool directory must not be writable by others (`o+w`); group bits are allowed
//!   there, the group is the administrator's choice (`root:haclient 0750`). A secret file must
//!   have no permission for its group or others at all (0600 or 0400, as SECURITY.md says):
//!   a group is a set of users, and any of them could read a BMC password (issue 12).
//!
//! Check the metadata of the *opened* file or directory (`fstat`), never a path, so a swap
//! between check and use changes nothing.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// What is being trusted: the refused mode bits depend on it, the owners do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trusted {
    /// A spool directory (requests, responses, `.claimed`, `.rejected`).
    SpoolDir,
    /// A file holding a password or key.
    SecretFile,
}

/// Why something on disk is not trusted; every variant names the path, its owner and its mode,
/// and the message gives the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error(
        "{path}, owner uid {owner}, is world-writable (mode {mode:04o}); run: chmod o-w {path}"
    )]
    WorldWritable {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error("{path}, owner uid {owner}, is world-readable or world-writable (mode {mode:04o}); run: chmod 0600 {path}")]
    WorldAccessible {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error("{path}, owner uid {owner}, is readable or writable by its group (mode {mode:04o}); run: chmod 0600 {path}")]
    GroupAccessible {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error("{path} is owned by uid {owner}, not by {} (mode {mode:04o}); run: chown {me} {path}", expected(*.me))]
    ForeignOwner {
        path: PathBuf,
        owner: u32,
        mode: u32,
        me: u32,
    },
}

/// Who may own it, for a message.
fn expected(me: u32) -> String {
    match me {
        0 => "root".to_owned(),
        me => format!("root or uid {me}"),
    }
}

/// Why the check itself could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot stat {path}: {source}")]
    Stat {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
}

impl Trusted {
    /// The permission bits that make it untrusted: `0o002` for a directory, `0o077` for a secret.
    pub const fn refused_mode(self) -> u32 {
        match self {
            Trusted::SpoolDir => 0o002,
            Trusted::SecretFile => 0o077,
        }
    }

    /// Applies the rule to an owner and `st_mode` taken from the opened file; `path` is for the
    /// message. The effective user is that of this process.
    pub fn check(self, path: &Path, owner: u32, mode: u32) -> Result<(), Untrusted> {
        self.check_as(rustix::process::geteuid().as_raw(), path, owner, mode)
    }

    /// [`Trusted::check`] on the metadata of an open fd (`fstat`).
    pub fn check_fd(self, fd: impl AsFd, path: &Path) -> Result<(), TrustError> {
        let st = rustix::fs::fstat(fd).map_err(|e| TrustError::Stat {
            path: path.to_owned(),
            source: std::io::Error::from_raw_os_error(e.raw_os_error()),
        })?;
        Ok(self.check(path, st.st_uid, st.st_mode)?)
    }

    /// The rule for effective user `me`. The mode is checked first: its fix is needed whoever
    /// the owner is.
    pub fn check_as(self, me: u32, path: &Path, owner: u32, mode: u32) -> Result<(), Untrusted> {
        let (path, mode) = (path.to_owned(), mode & 0o7777);
        if mode & self.refused_mode() != 0 {
            return Err(match self {
                Trusted::SpoolDir => Untrusted::WorldWritable { path, owner, mode },
                Trusted::SecretFile if mode & 0o007 != 0 => {
                    Untrusted::WorldAccessible { path, owner, mode }
                }
                Trusted::SecretFile => Untrusted::GroupAccessible { path, owner, mode },
            });
        }
        if owner != 0 && owner != me {
            return Err(Untrusted::ForeignOwner {
                path,
                owner,
                mode,
                me,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
