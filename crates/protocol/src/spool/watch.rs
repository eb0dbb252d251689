//! inotify on a spool directory, the same way for the agent (waiting for its response) and the
//! daemon (waiting for requests). No async here: the daemon wraps the returned [`Inotify`] in
//! its runtime's fd type.

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::MetadataExt;

use inotify::{Inotify, WatchMask};
use rustix::fs::AtFlags;

use super::SpoolDir;

/// The events a spool reader needs: a file renamed in (`MOVED_TO`, how the protocol publishes)
/// or closed after writing (`CLOSE_WRITE`, writers that skip the rename), a new entry
/// (`CREATE`, so that a symlink or FIFO, which never gets `CLOSE_WRITE`, is looked at at once;
/// see [`SpoolDir::being_written`]), and the directory itself removed or renamed. `ONLYDIR` and
/// `DONT_FOLLOW`: the watch is never put on a symlink's target or on a non-directory.
pub fn watch_mask() -> WatchMask {
    WatchMask::MOVED_TO
        | WatchMask::CLOSE_WRITE
        | WatchMask::CREATE
        | WatchMask::DELETE_SELF
        | WatchMask::MOVE_SELF
        | WatchMask::ONLYDIR
        | WatchMask::DONT_FOLLOW
}

impl SpoolDir {
    /// A new inotify instance (non-blocking, close-on-exec) watching this directory with
    /// [`watch_mask`]. inotify takes a path, so the watched directory is then compared with the
    /// open one (device and inode): a directory swapped in between is refused rather than
    /// silently watched instead. Errors keep their OS code (`EMFILE` when no instance is left).
    pub fn watch(&self) -> io::Result<Inotify> {
        let inotify = Inotify::init()?;
        inotify.watches().add(self.path(), watch_mask())?;
        let opened = rustix::fs::fstat(self.fd())?;
        let watched = std::fs::symlink_metadata(self.path())?;
        if (watched.dev(), watched.ino()) != (opened.st_dev, opened.st_ino) {
            return Err(io::Error::other(format!(
                "{} was replaced while it was being watched",
                self.path().display()
            )));
        }
        Ok(inotify)
    }

    /// Whether a newly created entry is a regular file with one link, that is, a file a writer
    /// may still be writing under its final name: its `CLOSE_WRITE` will follow, and reading it
    /// now could see it half-written. Files published by the protocol (`.<name>.tmp` renamed)
    /// arrive whole with `MOVED_TO` and never need this. Anything else, or an entry already gone,
    /// is not being written: it is looked at now, and the safe read refuses what must be refused.
    pub fn being_written(&self, name: impl AsRef<OsStr>) -> bool {
        let st = rustix::fs::statat(self.fd(), name.as_ref(), AtFlags::SYMLINK_NOFOLLOW);
        st.is_ok_and(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
                && st.st_nlink == 1
        })
    }
}
