//! The daemon's five spool directories, opened once at start-up and checked for safety.
//!
//! `REQUEST_DIR` and `RESPONSE_DIR` are created `0750` if missing; `REQUEST_DIR/.claimed` holds
//! requests whose action has started (the claim protocol of DESIGN.md) and
//! `REQUEST_DIR/.rejected` holds files whose names no response could carry;
//! `REQUEST_DIR/.outcomes` holds the response of a claimed request that could not be published,
//! until it is (so a restart publishes it instead of running the request again). Each is checked with
//! the protocol's one rule ([`gfs2_fence_protocol::Trusted::SpoolDir`]): a directory that others
//! may write, or that a user other than root or the daemon's owns, is refused, since whoever can
//! write there can forge requests or "fenced" records.

use std::path::Path;

use gfs2_fence_protocol::{SpoolDir, SpoolError, UNFENCED_DIR};

/// Mode of every directory the daemon creates.
pub const DIR_MODE: u32 = 0o750;
pub const CLAIMED: &str = ".claimed";
pub const REJECTED: &str = ".rejected";
pub const OUTCOMES: &str = ".outcomes";

/// The open spool directories.
#[derive(Debug)]
pub struct Spool {
    pub requests: SpoolDir,
    pub claimed: SpoolDir,
    pub rejected: SpoolDir,
    /// Outcomes kept with their claims until published (same file system as `.claimed`).
    pub outcomes: SpoolDir,
    pub responses: SpoolDir,
}

impl Spool {
    /// Opens (creating if needed) and checks all five directories.
    pub fn open(request_dir: &Path, response_dir: &Path) -> Result<Spool, SpoolError> {
        let secure = |d: SpoolDir| d.check_trusted().map(|()| d);
        let requests = secure(SpoolDir::create(request_dir, DIR_MODE)?)?;
        let responses = secure(SpoolDir::create(response_dir, DIR_MODE)?)?;
        let claimed = secure(requests.subdir(CLAIMED, Some(DIR_MODE))?)?;
        let rejected = secure(requests.subdir(REJECTED, Some(DIR_MODE))?)?;
        let outcomes = secure(requests.subdir(OUTCOMES, Some(DIR_MODE))?)?;
        requests.check_writable()?;
        responses.check_writable()?;
        Ok(Spool {
            requests,
            claimed,
            rejected,
            outcomes,
            responses,
        })
    }

    /// Whether the request `name` was answered: its response is in RESPONSE_DIR, or already in
    /// `RESPONSE_DIR/.unfenced/`, where the agent archives an `on`'s answer once it has read it
    /// (issue 15), maybe before the claim's removal reached the disk. Run again, that `on`
    /// would leave a success in RESPONSE_DIR that nnf-sos reads as "fenced" and no agent
    /// archives.
    pub fn answered(&self, name: &str) -> Result<bool, SpoolError> {
        let archived = Path::new(UNFENCED_DIR).join(name);
        Ok(self.responses.exists(name)? || self.responses.exists(archived)?)
    }
}
