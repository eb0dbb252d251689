//! Waiting without polling: `poll(2)` on the inotify fd of the response directory and on the
//! self-pipes of SIGTERM and SIGINT, bounded by a deadline.
//!
//! Waking on an unrelated event is fine (the caller just waits again); missing one is not, so the
//! watch is set up before the request is published, and a queue overflow makes the caller look.
//!
//! Degraded mode: Linux allows 128 inotify instances per user by default
//! (`fs.inotify.max_user_instances`), shared with every other process of that user. When they
//! are exhausted, failing the fence would be wrong, so the watch falls back to looking at the
//! directory on a short, growing interval (10 ms up to 250 ms) and says so once on stderr.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use gfs2_fence_protocol::SpoolDir;
use inotify::{EventMask, Inotify};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use signal_hook::consts::{SIGINT, SIGTERM};

/// `errno` values of an exhausted inotify: per-user instances, and the system-wide file table.
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// The self-pipes of the signals that end a wait (Pacemaker's kill is SIGTERM).
#[derive(Debug)]
pub struct Signals {
    pipes: Vec<(i32, UnixStream)>,
}

/// What ended a wait.
#[derive(Debug)]
pub enum Wake {
    Timeout,
    Signal(&'static str),
    Files(DirEvents),
}

/// What happened in the watched directory.
#[derive(Debug, Default)]
pub struct DirEvents {
    /// Entries closed after writing or renamed into place: complete files.
    pub ready: Vec<OsString>,
    /// Entries just created (a file may still be being written; a symlink or FIFO is complete).
    pub created: Vec<OsString>,
    /// Events were lost: look at the directory.
    pub overflow: bool,
    /// The directory was removed or moved away.
    pub gone: bool,
}

impl Signals {
    pub fn install() -> io::Result<Self> {
        let mut pipes = Vec::new();
        for sig in [SIGTERM, SIGINT] {
            let (read, write) = UnixStream::pair()?;
            read.set_nonblocking(true)?;
            signal_hook::low_level::pipe::register(sig, write)?;
            pipes.push((sig, read));
        }
        Ok(Signals { pipes })
    }

    /// The signal that arrived, if any, without waiting.
    pub fn pending(&self) -> Option<&'static str> {
        self.pipes
            .iter()
            .find_map(|(sig, pipe)| drained(pipe).then(|| name(*sig)))
    }
}

fn name(sig: i32) -> &'static str {
    if sig == SIGTERM {
        "SIGTERM"
    } else {
        "SIGINT"
    }
}

/// Whether anything was in the pipe (the pipe is emptied).
fn drained(mut pipe: &UnixStream) -> bool {
    let mut buf = [0u8; 64];
    let mut any = false;
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        any = true;
    }
    any
}

/// A watch on one directory: inotify, or (degraded) a growing re-check interval.
#[derive(Debug)]
pub enum DirWatch {
    Inotify(Inotify),
    Polling(Duration),
}

/// First and longest interval of the degraded mode.
const POLL_FIRST: Duration = Duration::from_millis(10);
const POLL_MAX: Duration = Duration::from_millis(250);

impl DirWatch {
    /// The protocol's inotify watch of `dir` ([`SpoolDir::watch`]), or the degraded mode when
    /// the inotify instances are exhausted.
    pub fn new(dir: &SpoolDir) -> io::Result<Self> {
        DirWatch::from_attempt(dir.watch())
    }

    /// The watch `attempt` gave, or the degraded mode if it failed for want of an instance; any
    /// other failure is returned.
    fn from_attempt(attempt: io::Result<Inotify>) -> io::Result<Self> {
        match attempt {
            Ok(inotify) => Ok(DirWatch::Inotify(inotify)),
            Err(e) if matches!(e.raw_os_error(), Some(EMFILE | ENFILE)) => {
                crate::out::errln!(
                    "fence_gfs2_recorder: warning: no inotify instance left ({e}; see fs.inotify.max_user_instances); \
                     looking for the response every {} ms at most instead",
                    POLL_MAX.as_millis()
                );
                Ok(DirWatch::Polling(POLL_FIRST))
            }
            Err(e) => Err(e),
        }
    }

    /// The inotify fd, if there is one.
    pub fn as_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        match self {
            DirWatch::Inotify(i) => Some(std::os::fd::AsFd::as_fd(i)),
            DirWatch::Polling(_) => None,
        }
    }

    fn drain(inotify: &mut Inotify) -> io::Result<DirEvents> {
        let mut buf = [0u8; 4096];
        let mut out = DirEvents::default();
        loop {
            let events = match inotify.read_events(&mut buf) {
                Ok(ev) => ev,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
                Err(e) => return Err(e),
            };
            for ev in events {
                out.overflow |= ev.mask.contains(EventMask::Q_OVERFLOW);
                out.gone |= ev
                    .mask
                    .intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED);
                match ev.name {
                    Some(n) if ev.mask.contains(EventMask::CREATE) => {
                        out.created.push(n.to_owned())
                    }
                    Some(n) => out.ready.push(n.to_owned()),
                    None => {}
                }
            }
        }
    }
}

/// Waits until a signal, a directory event or the deadline, whichever comes first.
pub fn wait(
    signals: &Signals,
    mut watch: Option<&mut DirWatch>,
    deadline: Instant,
) -> io::Result<Wake> {
    loop {
        if let Some(sig) = signals.pending() {
            return Ok(Wake::Signal(sig));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Wake::Timeout);
        }
        let mut fds: Vec<PollFd<'_>> = signals
            .pipes
            .iter()
            .map(|(_, p)| PollFd::new(p, PollFlags::IN))
            .collect();
        let mut timeout = left;
        match watch.as_deref() {
            Some(DirWatch::Inotify(i)) => fds.push(PollFd::new(i, PollFlags::IN)),
            Some(DirWatch::Polling(every)) => timeout = timeout.min(*every),
            None => {}
        }
        match poll(&mut fds, Some(&timespec(timeout))) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        let dir_ready = matches!(watch.as_deref(), Some(DirWatch::Inotify(_)))
            && fds.last().is_some_and(|f| !f.revents().is_empty());
        drop(fds);
        if let Some(sig) = signals.pending() {
            return Ok(Wake::Signal(sig));
        }
        match watch.as_deref_mut() {
            Some(DirWatch::Inotify(i)) if dir_ready => return DirWatch::drain(i).map(Wake::Files),
            Some(DirWatch::Polling(every)) if timeout == *every => {
                *every = (*every * 3 / 2).min(POLL_MAX);
                let look = DirEvents {
                    overflow: true,
                    ..DirEvents::default()
                };
                return Ok(Wake::Files(look));
            }
            _ => {}
        }
    }
}

fn timespec(d: Duration) -> Timespec {
    // Round up to the next millisecond so a wait never ends just before its deadline.
    let d = d + Duration::from_micros(999);
    Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No handler installed: the test process keeps its default SIGTERM.
    fn no_signals() -> Signals {
        Signals { pipes: Vec::new() }
    }

    fn exhausted(errno: i32) -> io::Result<Inotify> {
        Err(io::Error::from_raw_os_error(errno))
    }

    /// Regression guard of the degraded mode: with no inotify instance left the fence must
    /// still wait, re-checking the directory (at most every 250 ms), not fail.
    #[test]
    fn no_inotify_instance_left_falls_back_to_re_checking() {
        for errno in [EMFILE, ENFILE] {
            let watch = DirWatch::from_attempt(exhausted(errno));
            assert!(
                matches!(watch, Ok(DirWatch::Polling(POLL_FIRST))),
                "{watch:?}"
            );
        }
        let other = DirWatch::from_attempt(exhausted(2));
        assert!(other.is_err(), "ENOENT is a real failure: {other:?}");
    }

    #[test]
    fn the_degraded_mode_looks_before_the_deadline_and_backs_off_to_250_ms() {
        let signals = no_signals();
        let mut watch = DirWatch::Polling(POLL_FIRST);
        let deadline = Instant::now() + Duration::from_secs(60);
        for _ in 0..12 {
            match wait(&signals, Some(&mut watch), deadline) {
                Ok(Wake::Files(ev)) => assert!(ev.overflow, "a re-check must make the caller look"),
                other => panic!("expected a re-check, got {other:?}"),
            }
        }
        assert!(matches!(watch, DirWatch::Polling(POLL_MAX)), "{watch:?}");
    }

    #[test]
    fn a_published_response_wakes_the_protocols_watch() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = SpoolDir::open(tmp.path()).expect("open");
        let mut watch = DirWatch::new(&dir).expect("watch");
        assert!(watch.as_fd().is_some(), "inotify, not the degraded mode");
        let name = gfs2_fence_protocol::SpoolName::from_bytes(b"r.json").expect("name");
        let published = dir.publish(&name, b"{}", gfs2_fence_protocol::Publish::NoReplace);
        assert!(published.is_ok(), "{published:?}");
        let signals = no_signals();
        let deadline = Instant::now() + Duration::from_secs(60);
        match wait(&signals, Some(&mut watch), deadline) {
            Ok(Wake::Files(ev)) => assert!(ev.ready.iter().any(|n| n == "r.json"), "{ev:?}"),
            other => panic!("expected the rename, got {other:?}"),
        }
    }
}
