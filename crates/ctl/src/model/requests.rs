//! The request directory as the model sees it: every request file, queued or claimed, and what
//! state it is in. A file that cannot be read or parsed, and a `*.json` name the protocol cannot
//! use, are kept (with why), never skipped: the operator must see them.

use std::time::SystemTime;

use gfs2_fence_protocol::{Request, SpoolDir, SpoolError, Timestamp, MAX_SPOOL_FILE};
use serde::Serialize;

/// Where a request file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// `REQUEST_DIR`: waiting for a responder.
    Queue,
    /// `REQUEST_DIR/.claimed/`: a responder took it and is fencing.
    Claimed,
}

/// What a request file means now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Queued, before its deadline.
    Pending,
    /// Claimed by a responder.
    Claimed,
    /// Withdrawn by its agent (`"cancelled": true`): no responder may run it.
    Cancelled,
    /// Queued past its deadline: no responder may start it any more.
    Expired,
    /// The file cannot be read or is not a valid request.
    Invalid,
    /// A `*.json` name the protocol cannot use (characters, length, encoding).
    Unusable,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Claimed => "claimed",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
            State::Invalid => "invalid",
            State::Unusable => "unusable",
        }
    }
}

/// One request file.
#[derive(Debug, Clone)]
pub struct RequestFile {
    /// Its name (raw, lossy for a name that is not UTF-8): escape it to print it.
    pub name: String,
    pub location: Location,
    pub state: State,
    /// The parsed request, when it is one.
    pub request: Option<Request>,
    /// Why it is invalid or unusable.
    pub error: Option<String>,
    /// Its deadline has passed (a claimed request past it may be stuck).
    pub past_deadline: bool,
    /// Its mtime on this host.
    pub modified: Option<Timestamp>,
}

/// Every request file of `dir` and of its `.claimed/`, queued first, each sorted by name.
pub fn load(dir: &SpoolDir) -> Result<Vec<RequestFile>, SpoolError> {
    let mut all = read(dir, Location::Queue)?;
    match dir.subdir(".claimed", None) {
        Ok(claimed) => all.extend(read(&claimed, Location::Claimed)?),
        // No responder ever claimed here: nothing claimed.
        Err(SpoolError::OpenDir { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(all)
}

fn read(dir: &SpoolDir, location: Location) -> Result<Vec<RequestFile>, SpoolError> {
    let scan = dir.scan()?;
    let mut out: Vec<RequestFile> = scan
        .files
        .iter()
        .map(|name| one(dir, name.as_str(), location))
        .collect();
    out.extend(scan.unusable.iter().map(|raw| RequestFile {
        name: raw.to_string_lossy().into_owned(),
        location,
        state: State::Unusable,
        request: None,
        error: Some("the name is not [A-Za-z0-9._-]+.json of at most 247 bytes".into()),
        past_deadline: false,
        modified: None,
    }));
    Ok(out)
}

fn one(dir: &SpoolDir, name: &str, location: Location) -> RequestFile {
    let parsed = dir
        .read(name, MAX_SPOOL_FILE)
        .map_err(|e| e.to_string())
        .and_then(|b| Request::from_json(&b).map_err(|e| e.to_string()));
    let modified = dir.modified(name).ok().flatten().map(Timestamp::from);
    let (request, error) = match parsed {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    let past_deadline = request
        .as_ref()
        .and_then(|r| r.deadline)
        .is_some_and(|d| d.to_system_time() <= SystemTime::now());
    RequestFile {
        name: name.to_owned(),
        location,
        state: state(request.as_ref(), location, past_deadline),
        request,
        error,
        past_deadline,
        modified,
    }
}

/// Cancelled wins (no responder may run it, claimed or not); a queued one past its deadline is
/// expired; a claimed one stays claimed (the fence may be running) and is flagged instead.
fn state(request: Option<&Request>, location: Location, past_deadline: bool) -> State {
    match (request, location) {
        (None, _) => State::Invalid,
        (Some(r), _) if r.cancelled => State::Cancelled,
        (Some(_), Location::Claimed) => State::Claimed,
        (Some(_), Location::Queue) if past_deadline => State::Expired,
        (Some(_), Location::Queue) => State::Pending,
    }
}
