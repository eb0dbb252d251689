//! The fence records of a response directory, in the order this host saw them appear: the one
//! implementation behind the agent's `status`/`list`/`list-status` and `gfs2-fencing records`,
//! `unfence`.
//!
//! Records are ranked by the response file's mtime on this host (a responder publishes by
//! rename, so the mtime is when the file was written here or on the shared file system, by this
//! host's or the file server's clock), ties broken by file name in byte order. The response's own
//! `timestamp` is written by another host's clock and never ranks anything: an `on` answered by
//! a responder whose clock is behind must not lose to an earlier `off`. A `timestamp` more than
//! [`FUTURE_TOLERANCE`] ahead of this host's clock is flagged, so that the operator sees the skew.

use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{Response, SpoolDir, SpoolError, MAX_SPOOL_FILE};

use crate::text::escape;

/// How far ahead of this host's clock a response's `timestamp` may be before it is flagged.
pub const FUTURE_TOLERANCE: Duration = Duration::from_secs(5);

/// One readable response.
#[derive(Debug)]
pub struct Record {
    /// Its file name in the response directory.
    pub name: String,
    pub response: Response,
    /// Its mtime on this host (the epoch when it cannot be read).
    pub observed: SystemTime,
    /// Its `timestamp` is more than [`FUTURE_TOLERANCE`] ahead of this host's clock.
    pub future_timestamp: bool,
}

/// What a response directory holds.
#[derive(Debug, Default)]
pub struct Records {
    /// The readable responses, oldest first (by [`Record::observed`], then name).
    pub records: Vec<Record>,
    /// Files with a response's name that could not be read or parsed: name and the escaped
    /// reason.
    pub unreadable: Vec<(String, String)>,
}

/// Reads every response in `dir`, ranked as the module says.
pub fn load(dir: &SpoolDir) -> Result<Records, SpoolError> {
    let scan = dir.scan()?;
    let mut out = Records::default();
    let horizon = SystemTime::now() + FUTURE_TOLERANCE;
    for name in &scan.files {
        let read = dir
            .read(name.as_str(), MAX_SPOOL_FILE)
            .map_err(|e| e.to_string())
            .and_then(|b| Response::from_json(&b).map_err(|e| e.to_string()));
        let response = match read {
            Ok(r) => r,
            Err(e) => {
                out.unreadable.push((name.to_string(), escape(&e, 300)));
                continue;
            }
        };
        let observed = dir
            .modified(name.as_str())
            .ok()
            .flatten()
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let future_timestamp = response
            .time()
            .is_some_and(|t| t.to_system_time() > horizon);
        out.records.push(Record {
            name: name.to_string(),
            response,
            observed,
            future_timestamp,
        });
    }
    out.records
        .sort_by(|a, b| (a.observed, &a.name).cmp(&(b.observed, &b.name)));
    Ok(out)
}
