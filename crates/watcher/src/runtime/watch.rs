//! inotify on `REQUEST_DIR`: the event-driven half of "no request is ever missed" (the other
//! half is the scans at start-up and after a queue overflow).
//!
//! `IN_MOVED_TO` catches the atomic renames of conforming writers, `IN_CLOSE_WRITE` catches
//! writers that write the final name in place, and `IN_CREATE` catches what is never written
//! (symbolic links, FIFOs, hard links), which must be answered too. The fd is driven by tokio's
//! `AsyncFd`; the inotify fd is non-blocking, so a read never stalls the loop.
//!
//! **Without inotify.** The inotify instances are a per-user limit (`max_user_instances`,
//! default 128) that every waiting agent also draws on, and the watches another
//! (`max_user_watches`). When none is left (EMFILE, ENFILE, ENOSPC, ENOMEM) the daemon still
//! starts and answers: it scans `REQUEST_DIR` every [`POLL`] (250 ms, a small fraction of any
//! fence timeout), checks that the directory is still the one it started on, and tries inotify
//! again every [`RETRY`]; on success it switches back and scans once more, so a request
//! published in between is not missed. Each change of state is logged once, at WARN, and
//! reported as [`WatchEvent::Mode`] (the `fence_watcher_inotify_fallback` gauge).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use inotify::{EventMask, Inotify, WatchMask};
use tokio::io::unix::AsyncFd;
use tokio::time::{interval, Instant, Interval, MissedTickBehavior};

/// Period of the scans while inotify is unavailable.
pub const POLL: Duration = Duration::from_millis(250);
/// Period of the attempts to get inotify back.
pub const RETRY: Duration = Duration::from_secs(5);

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
    /// Time for a periodic scan (inotify is unavailable).
    Rescan,
    /// inotify was lost (`polling: true`) or is back (`false`): rescan in both cases.
    Mode { polling: bool },
    /// The directory was removed or renamed: nothing more will arrive.
    DirGone,
}

/// The watch on one directory: inotify when it can have it, periodic scans when not.
#[derive(Debug)]
pub struct Watcher {
    dir: PathBuf,
    /// Device and inode of the directory at start, to notice a rename while polling.
    identity: (u64, u64),
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    Inotify { fd: AsyncFd<Inotify>, buf: Vec<u8> },
    Polling { scans: Interval, retry_at: Instant },
}

impl Watcher {
    /// Watches `dir`; falls back to polling when no inotify instance or watch is left. Fails
    /// on any other error (the directory is missing, ...).
    pub fn new(dir: &Path) -> io::Result<Self> {
        let identity = identity(dir)?;
        let mode = match inotify_mode(dir) {
            Ok(mode) => mode,
            Err(e) if exhausted(&e) => {
                warn_polling(dir, &e);
                polling()
            }
            Err(e) => return Err(e),
        };
        Ok(Watcher {
            dir: dir.to_owned(),
            identity,
            mode,
        })
    }

    /// Whether the watch is periodic scans rather than inotify.
    pub fn polling(&self) -> bool {
        matches!(self.mode, Mode::Polling { .. })
    }

    /// Waits for the next batch of events.
    pub async fn next(&mut self) -> io::Result<Vec<WatchEvent>> {
        match &mut self.mode {
            Mode::Inotify { fd, buf } => read_events(fd, buf).await,
            Mode::Polling { scans, retry_at } => {
                scans.tick().await;
                if identity(&self.dir).ok() != Some(self.identity) {
                    return Ok(vec![WatchEvent::DirGone]);
                }
                if Instant::now() < *retry_at {
                    return Ok(vec![WatchEvent::Rescan]);
                }
                *retry_at = Instant::now() + RETRY;
                match inotify_mode(&self.dir) {
                    Ok(mode) => {
                        tracing::warn!(
                            "inotify is available again: watching {} with events, rescanning it once",
                            self.dir.display()
                        );
                        self.mode = mode;
                        Ok(vec![WatchEvent::Mode { polling: false }])
                    }
                    Err(e) if exhausted(&e) => Ok(vec![WatchEvent::Rescan]),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// Running out of inotify instances or watches, as opposed to a real fault.
fn exhausted(e: &io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(e),
        Some(
            rustix::io::Errno::MFILE
                | rustix::io::Errno::NFILE
                | rustix::io::Errno::NOSPC
                | rustix::io::Errno::NOMEM
        )
    )
}

fn warn_polling(dir: &Path, e: &io::Error) {
    tracing::warn!(
        "cannot watch {} with inotify ({e}; fs.inotify.max_user_instances and max_user_watches \
         are per user): scanning it every {} ms instead and retrying inotify every {} s",
        dir.display(),
        POLL.as_millis(),
        RETRY.as_secs()
    );
}

fn polling() -> Mode {
    let mut scans = interval(POLL);
    scans.set_missed_tick_behavior(MissedTickBehavior::Delay);
    Mode::Polling {
        scans,
        retry_at: Instant::now() + RETRY,
    }
}

fn identity(dir: &Path) -> io::Result<(u64, u64)> {
    let st = rustix::fs::stat(dir)?;
    Ok((st.st_dev as u64, st.st_ino as u64))
}

fn inotify_mode(dir: &Path) -> io::Result<Mode> {
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
    Ok(Mode::Inotify {
        fd,
        buf: vec![0; 64 * 1024],
    })
}

async fn read_events(fd: &mut AsyncFd<Inotify>, buf: &mut [u8]) -> io::Result<Vec<WatchEvent>> {
    loop {
        let mut guard = fd.readable_mut().await?;
        match guard.get_inner_mut().read_events(buf) {
            Ok(events) => return Ok(events.filter_map(translate).collect()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
            Err(e) => return Err(e),
        }
    }
}

/// Whether `held` (an open directory) is still what `path` names: a directory renamed away
/// and recreated under the same path leaves the daemon writing where nobody reads.
pub fn still_named(held: std::os::fd::BorrowedFd<'_>, path: &Path) -> bool {
    let (Ok(a), now) = (rustix::fs::fstat(held), rustix::fs::stat(path)) else {
        return true;
    };
    match now {
        Ok(b) => (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino),
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => false,
        // Anything else (ENOMEM, EACCES on a parent) says nothing about a move.
        Err(_) => true,
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

    #[test]
    fn a_directory_renamed_and_recreated_is_no_longer_the_one_held() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let p = tmp.path().join("d");
        std::fs::create_dir(&p).expect("mkdir");
        let held = std::fs::File::open(&p).expect("open");
        let fd = std::os::fd::AsFd::as_fd(&held);
        assert!(still_named(fd, &p));
        std::fs::rename(&p, tmp.path().join("old")).expect("mv");
        assert!(!still_named(fd, &p), "gone");
        std::fs::create_dir(&p).expect("mkdir again");
        assert!(!still_named(fd, &p), "recreated");
    }
}
