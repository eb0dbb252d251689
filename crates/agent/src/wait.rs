//! Waiting without polling: `poll(2)` on the inotify fd of the response directory and on the
//! self-pipes of SIGTERM and SIGINT, bounded by a deadline.
//!
//! Waking on an unrelated event is fine (the caller just waits again); missing one is not, so the
//! watch is set up before the request is published, and a queue overflow makes the caller look.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use inotify::{EventMask, Inotify, WatchMask};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use signal_hook::consts::{SIGINT, SIGTERM};

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

/// An inotify watch on one directory.
#[derive(Debug)]
pub struct DirWatch {
    inotify: Inotify,
}

impl DirWatch {
    pub fn new(dir: &Path) -> io::Result<Self> {
        let inotify = Inotify::init()?;
        let mask = WatchMask::MOVED_TO
            | WatchMask::CLOSE_WRITE
            | WatchMask::CREATE
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
            | WatchMask::ONLYDIR;
        inotify.watches().add(dir, mask)?;
        Ok(DirWatch { inotify })
    }

    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.inotify)
    }

    fn drain(&mut self) -> io::Result<DirEvents> {
        let mut buf = [0u8; 4096];
        let mut out = DirEvents::default();
        loop {
            let events = match self.inotify.read_events(&mut buf) {
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
        if let Some(w) = watch.as_deref() {
            fds.push(PollFd::new(&w.inotify, PollFlags::IN));
        }
        match poll(&mut fds, Some(&timespec(left))) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        let dir_ready = watch.is_some() && fds.last().is_some_and(|f| !f.revents().is_empty());
        drop(fds);
        if let Some(sig) = signals.pending() {
            return Ok(Wake::Signal(sig));
        }
        if let (true, Some(w)) = (dir_ready, watch.as_deref_mut()) {
            return w.drain().map(Wake::Files);
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
