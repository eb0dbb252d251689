//! Spool directories: atomic publication (content fsynced first) and safe, bounded reads.
//!
//! Every spool file is hostile: another process wrote it, maybe an attacker. So a [`SpoolDir`]
//! holds an open directory fd and reaches every file relative to it with `O_NOFOLLOW`, checks the
//! *opened* file (regular, one link, size cap) before reading it, and reads at most the cap.
//! Publication is `.<name>.tmp` created exclusively, written, fsynced, renamed into place: a
//! crash at any step leaves either no file or the whole file under its final name, never an empty
//! one. Directory operations (the publishing rename, [`SpoolDir::move_to`], [`SpoolDir::remove`])
//! are not synced: DESIGN.md, "Durability: which syncs and why", shows that a power loss undoing
//! them is recovered like a crash, except where a success is reported or an operator told, and
//! there the caller calls [`SpoolDir::sync`] (the agent's A8). [`SpoolDir::archive`] (unfencing)
//! is the one operation that syncs both directories itself: an unfence the operator was told is
//! done must not come back (`spool/archive.rs`).

use std::ffi::{CStr, OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::naming::SpoolName;
use crate::trust::{TrustError, Trusted, Untrusted};

/// Largest request or response file accepted (64 KiB). Real ones are under 2 KiB.
pub const MAX_SPOOL_FILE: u64 = 64 * 1024;

/// Whether publication may replace an existing file of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    Replace,
    /// Fail with [`SpoolError::AlreadyExists`] instead: responses are never overwritten.
    NoReplace,
}

/// A failure of a spool operation, naming the path.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("cannot open directory {path}: {source}")]
    OpenDir { path: PathBuf, source: io::Error },
    #[error("{path} is not a directory (or is a symbolic link)")]
    NotADirectory { path: PathBuf },
    #[error("cannot create directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot rename {from} to {to}: {source}")]
    Rename {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
    #[error("{path} already exists")]
    AlreadyExists { path: PathBuf },
    #[error("cannot remove {path}: {source}")]
    Remove { path: PathBuf, source: io::Error },
    #[error("cannot list directory {path}: {source}")]
    List { path: PathBuf, source: io::Error },
    #[error("cannot sync directory {path}: {source}")]
    Sync { path: PathBuf, source: io::Error },
    #[error("refusing spool directory: {0}")]
    Untrusted(Untrusted),
    #[error("cannot link {from} as {to}: {source}")]
    Link {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
    #[error(transparent)]
    Read(ReadError),
}

/// An open spool directory. Every file operation is relative to its fd, never to a path that
/// could be swapped underneath.
#[derive(Debug)]
pub struct SpoolDir {
    path: PathBuf,
    fd: OwnedFd,
}

/// What a scan of a spool directory found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Valid spool names, sorted.
    pub files: Vec<SpoolName>,
    /// Entries that look like spool files (`*.json`, no leading dot) but have unusable names.
    pub unusable: Vec<OsString>,
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

impl SpoolDir {
    /// Opens an existing directory. The last component must not be a symbolic link.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, SpoolError> {
        let path = path.into();
        match rustix::fs::open(&path, dir_flags(), Mode::empty()) {
            Ok(fd) => Ok(SpoolDir { path, fd }),
            Err(Errno::NOTDIR) | Err(Errno::LOOP) => Err(SpoolError::NotADirectory { path }),
            Err(e) => Err(SpoolError::OpenDir {
                path,
                source: io_err(e),
            }),
        }
    }

    /// Opens the directory, creating it (and missing parents, mode 0755) with `mode` if needed.
    pub fn create(path: impl Into<PathBuf>, mode: u32) -> Result<Self, SpoolError> {
        let path = path.into();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| SpoolError::CreateDir {
                path: parent.to_owned(),
                source,
            })?;
        }
        match rustix::fs::mkdir(&path, Mode::from_raw_mode(mode)) {
            Ok(()) => {
                // mkdir honours the umask; the mode we were asked for is the mode we want.
                rustix::fs::chmod(&path, Mode::from_raw_mode(mode)).map_err(|e| {
                    SpoolError::CreateDir {
                        path: path.clone(),
                        source: io_err(e),
                    }
                })?;
            }
            Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(SpoolError::CreateDir {
                    path,
                    source: io_err(e),
                })
            }
        }
        SpoolDir::open(path)
    }

    /// Opens (creating if asked) a subdirectory such as `.claimed`, relative to this one. A
    /// directory it creates is made durable at once (the parent is fsynced): it happens once per
    /// spool (`.claimed`, `.rejected`, `.unfenced`), so it costs nothing (DESIGN, Durability,
    /// last row).
    pub fn subdir(&self, name: &str, create_mode: Option<u32>) -> Result<SpoolDir, SpoolError> {
        let path = self.path.join(name);
        if let Some(mode) = create_mode {
            match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode)) {
                Ok(()) => self.sync()?,
                Err(Errno::EXIST) => {}
                Err(e) => {
                    return Err(SpoolError::CreateDir {
                        path,
                        source: io_err(e),
                    })
                }
            }
        }
        match rustix::fs::openat(&self.fd, name, dir_flags(), Mode::empty()) {
            Ok(fd) => Ok(SpoolDir { path, fd }),
            Err(Errno::NOTDIR) | Err(Errno::LOOP) => Err(SpoolError::NotADirectory { path }),
            Err(e) => Err(SpoolError::OpenDir {
                path,
                source: io_err(e),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The path of an entry, for messages.
    pub fn join(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.path.join(name.as_ref())
    }

    /// Refuses the directory unless [`Trusted::SpoolDir`] trusts its owner and mode: root or
    /// this effective user, not writable by others. Checked on the open fd.
    pub fn check_trusted(&self) -> Result<(), SpoolError> {
        Trusted::SpoolDir
            .check_fd(&self.fd, &self.path)
            .map_err(|e| match e {
                TrustError::Stat { path, source } => SpoolError::OpenDir { path, source },
                TrustError::Untrusted(u) => SpoolError::Untrusted(u),
            })
    }

    /// Whether this process may create files here (checked with `faccessat`, without writing).
    pub fn check_writable(&self) -> Result<(), SpoolError> {
        rustix::fs::accessat(
            &self.fd,
            ".",
            rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
            AtFlags::EACCESS,
        )
        .map_err(|e| SpoolError::Write {
            path: self.path.clone(),
            source: io_err(e),
        })
    }

    /// Publishes `bytes` as `name`, atomically. The content is on disk before the name exists
    /// (DESIGN, Durability, rows A1 and D3: a name without its content comes back empty after a
    /// power loss, and an empty request or response is a wrong record); the name itself becomes
    /// durable once the caller syncs the directory, or the kernel writes it back. Not syncing it
    /// here is rows A2 and D4.
    pub fn publish(&self, name: &SpoolName, bytes: &[u8], mode: Publish) -> Result<(), SpoolError> {
        let tmp = name.temporary();
        self.write_new(&tmp, bytes)?;
        let renamed = match mode {
            Publish::Replace => {
                rustix::fs::renameat(&self.fd, tmp.as_str(), &self.fd, name.as_str())
            }
            Publish::NoReplace => rustix::fs::renameat_with(
                &self.fd,
                tmp.as_str(),
                &self.fd,
                name.as_str(),
                RenameFlags::NOREPLACE,
            ),
        };
        if let Err(e) = renamed {
            let _ = rustix::fs::unlinkat(&self.fd, tmp.as_str(), AtFlags::empty());
            return Err(match e {
                Errno::EXIST => SpoolError::AlreadyExists {
                    path: self.join(name.as_str()),
                },
                e => SpoolError::Rename {
                    from: self.join(&tmp),
                    to: self.join(name.as_str()),
                    source: io_err(e),
                },
            });
        }
        // No directory fsync: a lost name is a lost request or an unreported response, which
        // Pacemaker repeats (DESIGN, Durability, A2 and D4); a reported success is synced by
        // its reader (A8).
        Ok(())
    }

    /// Creates `tmp` exclusively, writes and fsyncs it. A stale temporary file from a crashed
    /// writer is removed first: temporary names belong to the writer of the final name.
    fn write_new(&self, tmp: &str, bytes: &[u8]) -> Result<(), SpoolError> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(0o640);
        let fd = match rustix::fs::openat(&self.fd, tmp, flags, mode) {
            Err(Errno::EXIST) => {
                let _ = rustix::fs::unlinkat(&self.fd, tmp, AtFlags::empty());
                rustix::fs::openat(&self.fd, tmp, flags, mode)
            }
            other => other,
        }
        .map_err(|e| SpoolError::Write {
            path: self.join(tmp),
            source: io_err(e),
        })?;
        let mut file = File::from(fd);
        let written = file.write_all(bytes).and_then(|()| file.sync_all());
        if let Err(source) = written {
            drop(file);
            let _ = rustix::fs::unlinkat(&self.fd, tmp, AtFlags::empty());
            return Err(SpoolError::Write {
                path: self.join(tmp),
                source,
            });
        }
        Ok(())
    }

    /// fsyncs the directory, making the renames and unlinks done in it so far durable. The
    /// spool's own operations never call it (see the module doc): callers do, where a crash
    /// model row says a name must survive.
    pub fn sync(&self) -> Result<(), SpoolError> {
        rustix::fs::fsync(&self.fd).map_err(|e| SpoolError::Sync {
            path: self.path.clone(),
            source: io_err(e),
        })
    }

    /// Whether an entry of that name exists (of any type; symlinks are not followed).
    pub fn exists(&self, name: impl AsRef<OsStr>) -> Result<bool, SpoolError> {
        match rustix::fs::statat(&self.fd, name.as_ref(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(SpoolError::OpenDir {
                path: self.join(name),
                source: io_err(e),
            }),
        }
    }

    /// The modification time of an entry (symlinks not followed), `None` if it does not exist.
    pub fn modified(&self, name: impl AsRef<OsStr>) -> Result<Option<SystemTime>, SpoolError> {
        match rustix::fs::statat(&self.fd, name.as_ref(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                let secs =
                    std::time::Duration::new(st.st_mtime.max(0) as u64, st.st_mtime_nsec as u32);
                Ok(Some(SystemTime::UNIX_EPOCH + secs))
            }
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(SpoolError::OpenDir {
                path: self.join(name),
                source: io_err(e),
            }),
        }
    }

    /// Sets an entry's times to now, without following symlinks.
    pub fn touch(&self, name: impl AsRef<OsStr>) -> Result<(), SpoolError> {
        let now = rustix::fs::Timestamps {
            last_access: rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_NOW,
            },
            last_modification: rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_NOW,
            },
        };
        rustix::fs::utimensat(&self.fd, name.as_ref(), &now, AtFlags::SYMLINK_NOFOLLOW).map_err(
            |e| SpoolError::Write {
                path: self.join(name),
                source: io_err(e),
            },
        )
    }

    /// Renames `from` here to `to` in `dest` (same file system), without replacing. Does not
    /// sync: call [`SpoolDir::sync`] on both directories where the rename must survive a power
    /// loss. `Ok(false)` when `from` no longer exists (someone else took it).
    pub fn move_to(
        &self,
        from: impl AsRef<OsStr>,
        dest: &SpoolDir,
        to: impl AsRef<OsStr>,
    ) -> Result<bool, SpoolError> {
        let (from, to) = (from.as_ref(), to.as_ref());
        match rustix::fs::renameat_with(&self.fd, from, &dest.fd, to, RenameFlags::NOREPLACE) {
            Ok(()) => {}
            Err(Errno::NOENT) => return Ok(false),
            Err(Errno::EXIST) => {
                return Err(SpoolError::AlreadyExists {
                    path: dest.join(to),
                })
            }
            Err(e) => {
                return Err(SpoolError::Rename {
                    from: self.join(from),
                    to: dest.join(to),
                    source: io_err(e),
                })
            }
        }
        // Not synced: a claim, rejection or withdrawal hold undone by a power loss is the file
        // back under its old name, which the start-up scan handles as recovery would (DESIGN,
        // Durability, D1-2 and the rare rows).
        Ok(true)
    }

    /// Removes a file. Not synced: a removal undone by a power loss brings the file back, to be
    /// removed again (DESIGN, Durability, D5 and the rare rows). `Ok(false)` if it was gone.
    pub fn remove(&self, name: impl AsRef<OsStr>) -> Result<bool, SpoolError> {
        match rustix::fs::unlinkat(&self.fd, name.as_ref(), AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(SpoolError::Remove {
                path: self.join(name),
                source: io_err(e),
            }),
        }
    }

    /// Every entry name except `.` and `..`.
    pub fn entries(&self) -> Result<Vec<OsString>, SpoolError> {
        let list_err = |e: Errno| SpoolError::List {
            path: self.path.clone(),
            source: io_err(e),
        };
        let dup = rustix::io::dup(&self.fd).map_err(list_err)?;
        let mut dir = rustix::fs::Dir::new(dup).map_err(list_err)?;
        dir.rewind();
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(list_err)?;
            let name: &CStr = entry.file_name();
            let bytes = name.to_bytes();
            if bytes != b"." && bytes != b".." {
                names.push(OsStr::from_bytes(bytes).to_owned());
            }
        }
        Ok(names)
    }

    /// The spool files in this directory: valid names sorted, and hostile `*.json` names apart.
    /// Temporary dot-files and non-`.json` names are skipped, as the protocol says.
    pub fn scan(&self) -> Result<Scan, SpoolError> {
        let mut scan = Scan::default();
        for raw in self.entries()? {
            match SpoolName::from_bytes(raw.as_bytes()) {
                Ok(name) => scan.files.push(name),
                Err(e) if e.is_ignorable() => {}
                Err(_) => scan.unusable.push(raw),
            }
        }
        scan.files.sort();
        Ok(scan)
    }
}

mod archive;
mod interrupted;
mod read;
mod watch;

pub use archive::{Archived, UNFENCED_DIR};
pub use interrupted::Interrupted;
pub use read::ReadError;
pub use watch::watch_mask;

#[cfg(test)]
mod tests;
