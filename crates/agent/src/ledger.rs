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
//!
//! Which nodes are fenced is [`fenced`]: nnf-sos's rule, the one every view applies. A record
//! whose unfencing was interrupted after its link into the archive (two links of one file) is
//! read as what it still is for nnf-sos: a record here ([`Record::interrupted`]).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{
    Interrupted, NodeName, ReadError, Response, SpoolDir, SpoolError, MAX_SPOOL_FILE, UNFENCED_DIR,
};

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
    /// An unfencing of it was interrupted between its link into the archive and its unlink
    /// here (a crash): its other link's name in the archive. It is still a record here (nnf-sos
    /// reads it), and the next unfencing finishes the move (`unfence.rs`).
    pub interrupted: Option<String>,
}

/// What a response directory holds.
#[derive(Debug, Default)]
pub struct Records {
    /// The readable responses, oldest first (by [`Record::observed`], then name).
    pub records: Vec<Record>,
    /// Files with a response's name that could not be read or parsed: name and the escaped
    /// reason.
    pub unreadable: Vec<(String, String)>,
    /// `*.json` entries whose names the protocol cannot use (`Scan::unusable`), raw.
    pub unusable: Vec<std::ffi::OsString>,
}

/// Reads every response in `dir`, ranked as the module says.
pub fn load(dir: &SpoolDir) -> Result<Records, SpoolError> {
    let scan = dir.scan()?;
    let mut out = Records {
        unusable: scan.unusable,
        ..Records::default()
    };
    let horizon = SystemTime::now() + FUTURE_TOLERANCE;
    // Opened once, only when a hard-linked record asks for it (it exists after an unfencing).
    let mut archive = None;
    for name in &scan.files {
        let (read, interrupted) = match dir.read(name.as_str(), MAX_SPOOL_FILE) {
            Ok(bytes) => (Ok(bytes), None),
            Err(e @ ReadError::HardLinked { .. }) => match twin(dir, &mut archive, name.as_str()) {
                Some(i) => (Ok(i.bytes), Some(i.kept_as)),
                None => (Err(e.to_string()), None),
            },
            Err(e) => (Err(e.to_string()), None),
        };
        let response = match read.and_then(|b| Response::from_json(&b).map_err(|e| e.to_string())) {
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
            interrupted,
        });
    }
    out.records
        .sort_by(|a, b| (a.observed, &a.name).cmp(&(b.observed, &b.name)));
    Ok(out)
}

/// `name`'s other link in the archive when an unfencing was interrupted between its link and
/// its unlink (`Interrupted`): the record is still here, and nnf-sos reads it.
fn twin(dir: &SpoolDir, archive: &mut Option<Option<SpoolDir>>, name: &str) -> Option<Interrupted> {
    let archive = archive
        .get_or_insert_with(|| dir.subdir(UNFENCED_DIR, None).ok())
        .as_ref()?;
    dir.interrupted_archive(name, archive, MAX_SPOOL_FILE)
        .ok()
        .flatten()
}

/// The fenced nodes, each with its latest fence record (the newest in [`load`]'s order).
///
/// nnf-sos's fenced-node rule (`protocol.md`): a node is fenced while the response directory
/// holds a file that says it succeeded for it ([`Response::is_fence_record`]), whatever the
/// action: it keeps the node from its storage until no such file remains. So a successful
/// `reboot` leaves the node fenced, and so would a successful `on` left in place, which is why
/// the agent archives the node's records once it has read one (unfencing). The agent's
/// `status`/`list-status` and `gfs2-fencing fenced` use this function and nothing else, so they
/// agree with each other and with the storage.
pub fn fenced(records: &Records) -> BTreeMap<&NodeName, &Record> {
    let mut nodes = BTreeMap::new();
    for rec in records
        .records
        .iter()
        .filter(|r| r.response.is_fence_record())
    {
        nodes.insert(&rec.response.target_node, rec);
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, node: &str, success: bool, age_secs: u64) {
        let json = format!(
            r#"{{"request_id":"{name}","success":{success},"action_performed":"off","target_node":"{node}"}}"#
        );
        let path = dir.join(name);
        std::fs::write(&path, json).expect("write");
        let f = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        f.set_modified(SystemTime::now() - Duration::from_secs(age_secs))
            .expect("mtime");
    }

    /// The latest fence record is the one that appeared last here (mtime), whatever the names;
    /// a failure after it is not a fence record and changes nothing.
    #[test]
    fn a_fenced_node_maps_to_its_newest_fence_record() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), "b.json", "cn1", true, 30);
        write(tmp.path(), "a.json", "cn1", true, 10);
        write(tmp.path(), "c.json", "cn1", false, 1);
        write(tmp.path(), "d.json", "cn2", false, 1);
        let dir = SpoolDir::open(tmp.path()).expect("open");
        let all = load(&dir).expect("load");
        let fenced = fenced(&all);
        let names: Vec<(&str, &str)> = fenced
            .iter()
            .map(|(n, r)| (n.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(names, [("cn1", "a.json")]);
    }
}
