//! inotify on `REQUEST_DIR`: the event-driven half of "no request is ever missed" (the other
//! half is the scans at start-up and after a queue overflow).
//!
//! `IN_MOVED_TO` catches the atomic renames of conforming writers, `IN_CLOSE_WRITE` catches
//! writers that write the final name in place, and `IN_CREATE` catches what is never written
//! (symbolic links, FIFOs, hard links), which must be answered too. The fd is driven by tokio's `AsyncFd`; the
//! inotify fd is non-blocking, so a read never stalls the loop.

use std::ffi::OsString;
use std::io;
use std::path::Path;

use inotify::{EventMask, Inotify, WatchMask};
use tokio::io::unix::AsyncFd;

/// Something that happened in the watched directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// A file appeared under this name (renamed in, or closed after writing).
    Name(OsString),
    /// An entry was created: only of interest when it is not a regular file being written
    /// (symbolic links, FIFOs and hard links never send a close-after-write).
    Created(OsString),
    /// The kernel dropped events: rescan.
    Overflow,
    /// The directory was removed or renamed: nothing more will arrive.
    DirGone,
}

/// The inotify watch on one directory.
#[derive(Debug)]
pub struct Watcher {
    fd: AsyncFd<Inotify>,
    buf: Vec<u8>,
}

impl Watcher {
    pub fn new(dir: &Path) -> io::Result<Self> {
        let inotify = Inotify::init()?;
        let mask = WatchMask::MOVED_TO
            | WatchMask::CLOSE_WRITE
            | WatchMask::CREATE
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
            | WatchMask::ONLYDIR
            | WatchMask::DONT_FOLLOW;
        inotify.watches().add(dir, mask)?;
        // Deprecated because a `T` that merely borrows an fd could close it while registered;
        // `Inotify` owns its fd and the `AsyncFd` owns the `Inotify`, so that cannot happen here
        // (and the safe replacement, `AsyncFd::register`, is an `unsafe fn`).
        #[allow(deprecated)]
        let fd = AsyncFd::new(inotify)?;
        Ok(Watcher {
            fd,
            buf: vec![0; 64 * 1024],
        })
    }

    /// Waits for the next batch of events.
    pub async fn next(&mut self) -> io::Result<Vec<WatchEvent>> {
        loop {
            let mut guard = self.fd.readable_mut().await?;
            let (inotify, buf) = (guard.get_inner_mut(), &mut self.buf);
            match inotify.read_events(buf) {
                Ok(events) => return Ok(events.filter_map(translate).collect()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) => return Err(e),
            }
        }
    }
}

fn translate(e: inotify::Event<&std::ffi::OsStr>) -> Option<WatchEvent> {
    if e.mask.contains(EventMask::Q_OVERFLOW) {
        Some(WatchEvent::Overflow)
    } else if e
        .mask
        .intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED)
    {
        Some(WatchEvent::DirGone)
    } else if e.mask.contains(EventMask::CREATE) {
        e.name.map(|n| WatchEvent::Created(n.to_owned()))
    } else {
        e.name.map(|n| WatchEvent::Name(n.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn sees_renames_and_closed_writes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut w = Watcher::new(dir.path()).expect("watch");
        std::fs::write(dir.path().join(".a.json.tmp"), b"x").expect("write");
        std::fs::rename(dir.path().join(".a.json.tmp"), dir.path().join("a.json")).expect("mv");
        let mut seen = Vec::new();
        while !seen.contains(&WatchEvent::Name("a.json".into())) {
            seen.extend(w.next().await.expect("events"));
        }
        assert!(seen.contains(&WatchEvent::Name(".a.json.tmp".into())));
    }
}
