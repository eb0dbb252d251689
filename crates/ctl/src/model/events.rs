//! The agent's detailed event log, `LOG_DIR/fence-events-detailed.jsonl` (written by
//! `crates/agent/src/events.rs`, and by `gfs2-fencing unfence` for `unfenced` events).
//!
//! Another process wrote it, so it is read as hostile: the file opened without following a
//! link and without blocking (a FIFO in its place), refused unless it is a regular file, only
//! its last [`MAX_LOG_BYTES`] read (a log rotated weekly stays far below; a bigger one loses its
//! oldest lines, and the model says so), every line parsed into typed optional fields and a
//! line that does not parse skipped and counted. Nothing in a line is trusted: it is printed
//! escaped and joined to requests only by equal ids.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use fence_gfs2_recorder::DETAILED_LOG;
use gfs2_fence_protocol::{SpoolDir, SpoolError, Timestamp};
use rustix::fs::{FileType, Mode, OFlags};
use serde::{Deserialize, Serialize};

/// Most bytes of the log read: its end.
pub const MAX_LOG_BYTES: u64 = 8 << 20;

/// One record the unfence moved (`unfenced` events).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ArchivedRecord {
    pub record: String,
    pub kept_as: String,
}

/// One event line; every field optional (older agents, other writers).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Event {
    pub timestamp: Option<String>,
    pub event: Option<String>,
    pub action: Option<String>,
    pub target_node: Option<String>,
    pub request_id: Option<String>,
    pub recorder_node: Option<String>,
    pub details: Option<String>,
    pub duration_ms: Option<u64>,
    pub pid: Option<u64>,
    /// `unfenced`: who.
    pub by: Option<String>,
    /// `unfenced`: which records went where.
    #[serde(default)]
    pub archived: Vec<ArchivedRecord>,
}

impl Event {
    pub fn time(&self) -> Option<Timestamp> {
        self.timestamp
            .as_deref()
            .and_then(|t| Timestamp::parse(t).ok())
    }

    pub fn is(&self, kind: &str) -> bool {
        self.event.as_deref() == Some(kind)
    }
}

/// What the log holds.
#[derive(Debug, Default)]
pub struct EventLog {
    pub path: PathBuf,
    /// In the file's order (oldest first).
    pub events: Vec<Event>,
    /// Lines that are not an event object.
    pub malformed: usize,
    /// Only the end of a longer file was read.
    pub truncated: bool,
    /// The log could not be read (a missing log is not an error: no agent logged yet).
    pub error: Option<String>,
}

/// Reads the detailed log in `log_dir`.
pub fn load(log_dir: &Path) -> EventLog {
    let path = log_dir.join(DETAILED_LOG);
    let mut log = EventLog {
        path: path.clone(),
        ..EventLog::default()
    };
    match read_tail(log_dir) {
        Ok(None) => {}
        Ok(Some((bytes, truncated))) => {
            log.truncated = truncated;
            parse(&bytes, truncated, &mut log);
        }
        Err(e) => log.error = Some(e),
    }
    log
}

fn parse(bytes: &[u8], truncated: bool, log: &mut EventLog) {
    let mut lines = bytes.split(|&b| b == b'\n');
    if truncated {
        // The read began inside a line.
        lines.next();
    }
    for line in lines.filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
        match serde_json::from_slice::<Event>(line) {
            Ok(ev) => log.events.push(ev),
            Err(_) => log.malformed += 1,
        }
    }
}

/// The last [`MAX_LOG_BYTES`] of the log and whether there was more; `None` when it (or
/// `LOG_DIR`) does not exist.
fn read_tail(log_dir: &Path) -> Result<Option<(Vec<u8>, bool)>, String> {
    let dir = match SpoolDir::open(log_dir) {
        Ok(d) => d,
        Err(SpoolError::OpenDir { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e.to_string()),
    };
    let path = dir.join(DETAILED_LOG);
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat(dir.fd(), DETAILED_LOG, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let start = size.saturating_sub(MAX_LOG_BYTES);
    let mut file = File::from(fd);
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.take(MAX_LOG_BYTES).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(Some((bytes, start > 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lines_are_counted_and_a_cut_first_line_dropped() {
        let text = b"tail of a line\"}\n{\"event\":\"requested\",\"request_id\":\"a\"}\nnot json\n\
            {\"event\":7}\n[1]\n\n{\"event\":\"completed\",\"request_id\":\"a\",\"x\":1}\n";
        let mut log = EventLog::default();
        parse(text, true, &mut log);
        let kinds: Vec<_> = log.events.iter().map(|e| e.event.clone()).collect();
        assert_eq!(
            kinds,
            [Some("requested".to_owned()), Some("completed".to_owned())]
        );
        assert_eq!(log.malformed, 3, "not json, a number for a text, an array");
    }
}
