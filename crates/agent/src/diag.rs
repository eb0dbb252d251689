//! Diagnostics of one run: warnings and errors on stderr, debug lines on stderr (`-v`) and in
//! the debug file (`-D`). Every message is one line; untrusted parts are escaped by the callers.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::metadata::AGENT;

#[derive(Debug, Default)]
pub struct Diag {
    verbose: bool,
    quiet: bool,
    debug_file: Option<File>,
}

impl Diag {
    pub fn new(verbose: bool, quiet: bool, debug_file: Option<&Path>) -> Self {
        let file = debug_file.and_then(|p| {
            let opened = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o640)
                // O_NONBLOCK: a FIFO without a reader is refused (ENXIO) instead of blocking
                // the agent in open(2) for ever; writes to a full one are dropped, never waited on.
                .custom_flags(
                    (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
                )
                .open(p);
            opened
                .map_err(|e| {
                    crate::out::errln!(
                        "{AGENT}: warning: cannot open debug file {}: {e}",
                        p.display()
                    )
                })
                .ok()
        });
        Diag {
            verbose,
            quiet,
            debug_file: file,
        }
    }

    pub fn debug(&self, msg: &str) {
        if self.verbose {
            crate::out::errln!("{AGENT}: debug: {msg}");
        }
        if let Some(mut f) = self.debug_file.as_ref() {
            let line = format!(
                "{} {AGENT}[{}]: debug: {msg}\n",
                gfs2_fence_protocol::Timestamp::now(),
                std::process::id()
            );
            let _ = f.write_all(line.as_bytes());
        }
    }

    pub fn warn(&self, msg: &str) {
        if !self.quiet {
            crate::out::errln!("{AGENT}: warning: {msg}");
        }
        self.debug(&format!("warning: {msg}"));
    }

    /// Errors are always shown: Pacemaker logs the agent's stderr.
    pub fn error(&self, msg: &str) {
        crate::out::errln!("{AGENT}: error: {msg}");
        self.debug(&format!("error: {msg}"));
    }
}
