//! Durable archiving of a spool file into another directory, so that a watcher of the source
//! directory sees it *removed*.
//!
//! nnf-sos reconciles its fenced nodes at once on inotify Write and Remove events in the
//! response directory, and a rename out of the directory raises neither (protocol.md, "The real
//! consumer in the field"). So a record leaves RESPONSE_DIR by an unlink: it is first linked
//! (or, where the file system refuses a link, copied) into the archive under its own name or the
//! first free `<name>.<n>`, the archive fsynced, then the name unlinked from the source and the
//! source fsynced. A crash at any step leaves the record in RESPONSE_DIR (still fenced, the safe
//! side) or in the archive, never in neither. Two archivers of the same file end with one copy:
//! the one whose unlink finds the file gone removes its own archive entry again.

use std::ffi::OsStr;

use rustix::fs::{AtFlags, RenameFlags};
use rustix::io::Errno;

use super::{io_err, SpoolDir, SpoolError};

/// The archive of unfenced records, a subdirectory of RESPONSE_DIR. A response there answered
/// its request as surely as one in RESPONSE_DIR: responders must not run the request again.
pub const UNFENCED_DIR: &str = ".unfenced";

/// What became of a file [`SpoolDir::archive`] was asked to archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Archived {
    /// Moved; its name in the archive.
    Kept(String),
    /// It was no longer in the source directory (another archiver, or an operator, was first).
    AlreadyGone,
}

/// How a file got its archive name.
#[derive(Debug)]
pub(super) enum Placed {
    At(String),
    Gone,
}

impl SpoolDir {
    /// Archives `name` into `archive` durably, as the module says: link (or a bounded copy of
    /// at most `cap` bytes when linking is refused), fsync `archive`, unlink here, fsync here.
    /// At most `fresh_names` names `<name>.<n>` are tried when `name` is taken.
    pub fn archive(
        &self,
        name: &str,
        archive: &SpoolDir,
        cap: u64,
        fresh_names: u32,
    ) -> Result<Archived, SpoolError> {
        let to = match self.place(name, archive, cap, fresh_names)? {
            Placed::At(to) => to,
            Placed::Gone => return Ok(Archived::AlreadyGone),
        };
        archive.sync()?;
        if !self.unlink_or_undo(name, archive, &to)? {
            return Ok(Archived::AlreadyGone);
        }
        self.sync()?;
        Ok(Archived::Kept(to))
    }

    /// Links `name` into `archive` under the first free name, copying when the link is refused.
    fn place(
        &self,
        name: &str,
        archive: &SpoolDir,
        cap: u64,
        fresh_names: u32,
    ) -> Result<Placed, SpoolError> {
        for to in candidates(name, fresh_names) {
            match rustix::fs::linkat(&self.fd, name, &archive.fd, to.as_str(), AtFlags::empty()) {
                Ok(()) => return Ok(Placed::At(to)),
                Err(Errno::EXIST) => continue,
                Err(Errno::NOENT) => return Ok(Placed::Gone),
                // Another file system, or links refused (protected_hardlinks, some FUSE and
                // network file systems, a link count at its limit): copy instead.
                Err(Errno::XDEV | Errno::PERM | Errno::OPNOTSUPP | Errno::MLINK) => {
                    return self.copy_into(name, archive, cap, fresh_names)
                }
                Err(e) => {
                    return Err(SpoolError::Link {
                        from: self.join(name),
                        to: archive.join(&to),
                        source: io_err(e),
                    })
                }
            }
        }
        Err(no_free_name(archive, name, fresh_names))
    }

    /// The copy fallback: the file read safely (at most `cap` bytes), written to a temporary
    /// file in `archive` and fsynced, then renamed without replacing to the first free name.
    pub(super) fn copy_into(
        &self,
        name: &str,
        archive: &SpoolDir,
        cap: u64,
        fresh_names: u32,
    ) -> Result<Placed, SpoolError> {
        let bytes = match self.read(name, cap) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(Placed::Gone),
            Err(e) => return Err(SpoolError::Read(e)),
        };
        let tmp = format!(".{name}.tmp");
        archive.write_new(&tmp, &bytes)?;
        for to in candidates(name, fresh_names) {
            let renamed = rustix::fs::renameat_with(
                &archive.fd,
                tmp.as_str(),
                &archive.fd,
                to.as_str(),
                RenameFlags::NOREPLACE,
            );
            match renamed {
                Ok(()) => return Ok(Placed::At(to)),
                Err(Errno::EXIST) => continue,
                Err(e) => {
                    let _ = archive.remove(&tmp);
                    return Err(SpoolError::Rename {
                        from: archive.join(&tmp),
                        to: archive.join(&to),
                        source: io_err(e),
                    });
                }
            }
        }
        let _ = archive.remove(&tmp);
        Err(no_free_name(archive, name, fresh_names))
    }

    /// Unlinks `name` here, now that `archive` holds it as `to`. `Ok(false)`: it was already gone
    /// (another archiver won), so our archive entry is a duplicate and is removed again. When
    /// the unlink is refused, our archive entry is removed too: the record stays where it was,
    /// with one link (readers refuse hard-linked spool files), and a retry starts afresh.
    pub(super) fn unlink_or_undo(
        &self,
        name: &str,
        archive: &SpoolDir,
        to: &str,
    ) -> Result<bool, SpoolError> {
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => {
                archive.remove(to)?;
                archive.sync()?;
                Ok(false)
            }
            Err(e) => {
                let _ = archive.remove(to).and_then(|_| archive.sync());
                Err(SpoolError::Remove {
                    path: self.join(name),
                    source: io_err(e),
                })
            }
        }
    }
}

/// `name`, then `name.1` … `name.<fresh_names>`.
fn candidates(name: &str, fresh_names: u32) -> impl Iterator<Item = String> + '_ {
    std::iter::once(name.to_owned()).chain((1..=fresh_names).map(move |n| format!("{name}.{n}")))
}

fn no_free_name(archive: &SpoolDir, name: &str, fresh_names: u32) -> SpoolError {
    SpoolError::AlreadyExists {
        path: archive.join(OsStr::new(&format!("{name}.{fresh_names}"))),
    }
}
