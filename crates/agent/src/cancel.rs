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
//! reads (DESIGN.md, "Durability: which syncs and why", withdrawal row).

use gfs2_fence_protocol::{Publish, Request, SpoolDir, SpoolError, SpoolName, Timestamp};

/// Withdraws `request` (published as `name`). `Ok(false)`: a responder had already taken it.
pub fn withdraw(
    requests: &SpoolDir,
    name: &SpoolName,
    request: &Request,
) -> Result<bool, SpoolError> {
    let hold = name.cancelling();
    if !requests.move_to(name.as_str(), requests, &hold)? {
        return Ok(false);
    }
    let mut cancelled = request.clone();
    cancelled.cancelled = true;
    cancelled.deadline = Some(Timestamp::now());
    requests.publish(name, &cancelled.to_json(), Publish::NoReplace)?;
    requests.remove(&hold)?;
    Ok(true)
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
