//! Steps 2 to 4 of the claim protocol (DESIGN.md): skip what is already answered, claim by
//! renaming into `.claimed`, then read and validate the claimed copy.
//!
//! Every request file is hostile. Reading goes through `SpoolDir::read` (no symlink followed,
//! regular file with one link, size cap); a file that fails any check is still answered, as
//! `invalid`, under the identity we can recover from it, so a writer never waits in vain.
//! Only the typed failures (symlink, not a regular file, hard-linked, too large, unparseable)
//! say something about the file; any other I/O error (EMFILE, ENFILE, ENOMEM, EIO, ...) says
//! something about the daemon's moment, so the claim is kept and the read retried.

use std::ffi::OsStr;

use gfs2_fence_protocol::{
    NodeName, ReadError, Request, RequestId, SpoolError, SpoolName, MAX_SPOOL_FILE,
};

use super::Spool;

/// What picking up a request did.
#[derive(Debug, PartialEq, Eq)]
pub enum PickUp {
    /// A response of that name exists: the request was removed and must not be executed.
    AlreadyAnswered,
    /// The file was gone (another responder claimed it, or the agent withdrew it).
    Gone,
    /// It is now ours, in `.claimed`.
    Claimed,
}

/// Claims `name`: the rename is atomic, so exactly one claimer wins. Not synced: a claim undone
/// by a power loss is `X.json` back in REQUEST_DIR, which the start-up scan handles as recovery
/// would (DESIGN.md, Durability, D1-2).
pub fn pick_up(spool: &Spool, name: &SpoolName) -> Result<PickUp, SpoolError> {
    if spool.answered(name.as_str())? {
        spool.requests.remove(name.as_str())?;
        return Ok(PickUp::AlreadyAnswered);
    }
    if spool
        .requests
        .move_to(name.as_str(), &spool.claimed, name.as_str())?
    {
        Ok(PickUp::Claimed)
    } else {
        Ok(PickUp::Gone)
    }
}

/// A claimed request that cannot be executed, with the identity its response will carry.
#[derive(Debug, Clone)]
pub struct Invalid {
    pub request_id: RequestId,
    pub node: NodeName,
    pub problem: String,
}

/// What the claimed copy turned out to be.
#[derive(Debug, Clone)]
pub enum Examined {
    Valid(Box<Request>),
    Invalid(Invalid),
    /// The claimed file disappeared (someone removed it by hand).
    Vanished,
    /// Reading failed for a reason that is not the file's fault (out of file descriptors or
    /// memory, an I/O error): keep the claim and read it again later. Carries the error.
    Unreadable(String),
}

/// Reads and validates `.claimed/<name>`.
pub fn examine(spool: &Spool, name: &SpoolName) -> Examined {
    let bytes = match spool.claimed.read(name.as_str(), MAX_SPOOL_FILE) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Examined::Vanished,
        Err(ReadError::Io { source, .. }) => return Examined::Unreadable(source.to_string()),
        Err(e) => return Examined::Invalid(identity(name, None, read_problem(&e, name))),
    };
    match Request::from_json(&bytes) {
        Ok(req) => Examined::Valid(Box::new(req)),
        Err(e) => Examined::Invalid(identity(name, Some(&bytes), e.to_string())),
    }
}

/// Describes a read failure by the request's name, not the daemon's internal `.claimed` path.
fn read_problem(e: &ReadError, name: &SpoolName) -> String {
    let what = match e {
        ReadError::Symlink { .. } => "is a symbolic link; requests must be regular files".into(),
        ReadError::NotRegular { kind, .. } => {
            format!("is a {kind}; requests must be regular files")
        }
        ReadError::HardLinked { links, .. } => {
            format!("has {links} hard links; requests must have exactly one")
        }
        ReadError::TooLarge { cap, .. } => format!("is larger than the {cap}-byte limit"),
        // Not answered as invalid (see `examine`); kept for completeness of the wording.
        ReadError::Io { source, .. } => format!("cannot be read: {source}"),
        ReadError::NotFound { .. } => "does not exist".into(),
    };
    format!("request file {name} {what}")
}

/// The request id and node a response to an unusable request carries: the file's own, where
/// they are valid, else the basename's stem and `unknown`.
fn identity(name: &SpoolName, bytes: Option<&[u8]>, problem: String) -> Invalid {
    let value: Option<serde_json::Value> = bytes.and_then(|b| serde_json::from_slice(b).ok());
    let field = |k: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let stem = name.as_str().trim_end_matches(".json");
    let request_id = field("request_id")
        .and_then(|s| RequestId::parse(&s).ok())
        .or_else(|| RequestId::parse(&stem[..stem.len().min(128)]).ok())
        .unwrap_or_default();
    let node = field("target_node")
        .and_then(|s| NodeName::parse(&s).ok())
        .unwrap_or_else(unknown_node);
    Invalid {
        request_id,
        node,
        problem,
    }
}

fn unknown_node() -> NodeName {
    // A constant, valid by the rules of NodeName.
    NodeName::parse("unknown").expect("\"unknown\" is a valid node name")
}

/// Moves a file whose name no response could carry to `.rejected/` under a generated name.
/// Returns that name, or `None` when the file was already gone.
pub fn reject(spool: &Spool, raw: &OsStr) -> Result<Option<String>, SpoolError> {
    let to = format!("rejected-{}", RequestId::new());
    let moved = spool.requests.move_to(raw, &spool.rejected, &to)?;
    Ok(moved.then_some(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> SpoolName {
        SpoolName::parse(s).expect("valid name")
    }

    #[test]
    fn identity_prefers_the_file_then_the_basename() {
        let body = br#"{"request_id":"abc","target_node":"cn-1","action":"status"}"#;
        let i = identity(&name("x-y.json"), Some(body), "p".into());
        assert_eq!((i.request_id.as_str(), i.node.as_str()), ("abc", "cn-1"));
        let body = br#"{"request_id":"../x","target_node":"../../etc"}"#;
        let i = identity(&name("x-y.json"), Some(body), "p".into());
        assert_eq!((i.request_id.as_str(), i.node.as_str()), ("x-y", "unknown"));
        let long = format!("{}.json", "a".repeat(200));
        assert_eq!(
            identity(&name(&long), None, "p".into())
                .request_id
                .as_str()
                .len(),
            128
        );
    }
}
