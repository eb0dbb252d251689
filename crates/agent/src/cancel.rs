//! DESIGN.md's cancel protocol: withdraw a published request so that no responder starts it.
//!
//! The request `X.json` is renamed to `.X.json.cancel` (atomic; ENOENT when a responder claimed
//! it first). If that worked we own it exclusively, so it is published again as `X.json` with
//! `cancelled: true` and `deadline` = now, and the hidden copy is removed: every responder then
//! answers it as cancelled without executing it, and the record is not lost.
//!
//! Not durable against a power loss, on purpose: only the re-published file's content is fsynced
//! (so it never comes back empty), no directory is. An undone withdrawal is `X.json` back
//! uncancelled, answered `expired` or run once more, an extra fence explained by the crash of a
//! node Pacemaker was fencing again anyway; a left-over `.X.json.cancel` is a dot-file no reader
//! reads (DESIGN.md, "Durability: which syncs and why", withdrawal row). A full `REQUEST_DIR`
//! (the new file refused) falls back to rewriting the held copy in place (see [`withdraw`]).

use std::os::unix::fs::FileExt;

use gfs2_fence_protocol::{Publish, Request, SpoolDir, SpoolError, SpoolName, Timestamp};
use rustix::fs::{Mode, OFlags};

/// Why a withdrawal did not leave the request cancelled.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The cancelled copy could be neither published nor written over the held one; the
    /// original went back under its name, so it is answered (expired once its deadline passed).
    #[error("could not republish it cancelled ({publish}) nor rewrite the held copy ({rewrite}); the original request was put back, so a responder answers it (expired once its deadline passes)")]
    Restored { publish: String, rewrite: String },
    #[error("could not republish it cancelled ({publish}), rewrite the held copy ({rewrite}) nor put the original back ({restore}): it is left as {hold}")]
    Stuck {
        publish: String,
        rewrite: String,
        restore: String,
        hold: String,
    },
}

/// Withdraws `request` (published as `name`). `Ok(false)`: a responder had already taken it.
///
/// A full `REQUEST_DIR` refuses the new cancelled file (ENOSPC) but not a rewrite of the held
/// one, whose blocks are already allocated: that is the fallback, so that `.X.json.cancel`
/// never stays behind, invisible to every reader and never answered. If even that fails, the
/// original goes back under its name.
pub fn withdraw(
    requests: &SpoolDir,
    name: &SpoolName,
    request: &Request,
) -> Result<bool, WithdrawError> {
    let hold = name.cancelling();
    if !requests.move_to(name.as_str(), requests, &hold)? {
        return Ok(false);
    }
    let mut cancelled = request.clone();
    cancelled.cancelled = true;
    cancelled.deadline = Some(Timestamp::now());
    let bytes = cancelled.to_json();
    let publish = match requests.publish(name, &bytes, Publish::NoReplace) {
        Ok(()) => {
            requests.remove(&hold)?;
            return Ok(true);
        }
        Err(e) => e.to_string(),
    };
    let rewrite = match rewrite_held(requests, &hold, &bytes) {
        Ok(()) => match requests.move_to(&hold, requests, name.as_str()) {
            Ok(_) => return Ok(true),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    };
    match requests.move_to(&hold, requests, name.as_str()) {
        Ok(_) => Err(WithdrawError::Restored { publish, rewrite }),
        Err(restore) => Err(WithdrawError::Stuck {
            publish,
            rewrite,
            restore: restore.to_string(),
            hold,
        }),
    }
}

/// Writes `bytes` over the held copy `hold` (ours alone since the rename), content synced.
fn rewrite_held(requests: &SpoolDir, hold: &str, bytes: &[u8]) -> Result<(), SpoolError> {
    let write = |source: std::io::Error| SpoolError::Write {
        path: requests.join(hold),
        source,
    };
    let flags = OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(requests.fd(), hold, flags, Mode::empty())
        .map_err(|e| write(e.into()))?;
    let file = std::fs::File::from(fd);
    file.write_all_at(bytes, 0).map_err(write)?;
    file.set_len(bytes.len() as u64).map_err(write)?;
    file.sync_data().map_err(write)
}
/// Runs the protocol and says what came of it, for the event log.
pub fn withdraw_text(requests: &SpoolDir, name: &SpoolName, request: &Request) -> String {
    match withdraw(requests, name, request) {
        Ok(true) => format!("request {name} withdrawn (republished with cancelled=true)"),
        Ok(false) => {
            format!("request {name} was already taken by a responder and may still be carried out")
        }
        Err(e) => format!("could not withdraw request {name}: {e}"),
    }
}
