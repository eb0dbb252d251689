//! Standard output that never panics. `println!` panics when a write fails (`gfs2-fencing
//! records | head -1` is EPIPE, since Rust ignores SIGPIPE; `>/dev/full` is ENOSPC), so every
//! line goes through [`line`]. The first failure is kept, later lines are dropped, and [`crate::run`]
//! reports it once: a closed pipe (the reader chose to stop) changes nothing, any other failure
//! makes the command fail (exit 1), since the output the operator asked for was lost.

use std::io::Write;
use std::sync::Mutex;

static FAILED: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Prints one line, as `println!` would, keeping the first write error.
pub fn line(args: std::fmt::Arguments<'_>) {
    let Ok(mut failed) = FAILED.lock() else {
        return;
    };
    if failed.is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}").and_then(|()| out.flush()) {
        *failed = Some(e);
    }
}

/// The first write error, taken (so each run reports it once).
pub fn take_error() -> Option<std::io::Error> {
    FAILED.lock().ok().and_then(|mut f| f.take())
}

/// `println!` without the panic: see [`line`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;
