//! Standard output and error that never panic.
//!
//! `print!` and `eprint!` panic when a write fails, and Rust ignores SIGPIPE, so `-o list | true`
//! (EPIPE) or `-o status >/dev/full` (ENOSPC) aborted the agent (exit 134 in release). What each
//! action does when its output cannot be written (fencing.py says nothing: its `print` raises):
//!
//! - `status`: the exit status is the answer (0 on, 2 off) and Pacemaker reads only that, so it
//!   stays as it is, with a warning on stderr.
//! - `list`, `list-status`, `metadata`, `manpage`, `--help`, `--version`: the output is the
//!   answer. A closed pipe (EPIPE) means the reader stopped reading by its own choice: exit 0.
//!   Any other failure (a full or failing device) lost the answer, and an exit 0 would let
//!   Pacemaker cache an empty host list or metadata: exit 1 with an error on stderr.
//! - stderr itself: a failed diagnostic is dropped; there is nowhere left to report it.

use std::io::Write;

/// Writes `text` to stdout and flushes it.
pub fn stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Whether a failure to write an answer on stdout leaves the action successful (module doc).
pub fn answered_anyway(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// One line on stderr, dropped if stderr fails.
pub fn stderr(args: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// `eprintln!` without the panic: see [`stderr`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::out::stderr(format_args!($($arg)*))
    };
}
pub(crate) use errln;
