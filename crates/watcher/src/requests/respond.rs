//! Step 5 of the claim protocol: publish the response (content fsynced) without replacing any
//! existing one, then remove the claim; a response that cannot be published is kept beside its
//! claim, for the retry and for the next start. Also the one audit line per fence decision.

use gfs2_fence_protocol::{
    LevelResult, NodeName, Outcome, Publish, Request, RequestId, Response, SpoolError, SpoolName,
    Timestamp, MAX_SPOOL_FILE, SCHEMA_VERSION,
};

use super::claim::Invalid;
use super::Context;

/// What the daemon decided for one request.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outcome: Outcome,
    pub message: String,
    pub executed: bool,
    pub levels: Vec<LevelResult>,
    /// The backend that decided; empty when none ran.
    pub backend: String,
    pub duration_ms: u64,
}

impl Answer {
    /// An answer given without running any backend.
    pub fn unexecuted(outcome: Outcome, message: String) -> Self {
        Answer {
            outcome,
            message,
            executed: false,
            levels: Vec::new(),
            backend: String::new(),
            duration_ms: 0,
        }
    }
}

/// A response that could not be published (full or read-only file system, I/O error). The
/// claim stays; the caller tries [`deliver`] again. The flag says whether the response is kept
/// in `.outcomes`, where the next start publishes it.
#[derive(Debug)]
pub struct Unpublished(pub Box<Response>, pub bool);

/// Answers a valid request.
pub fn answer(d: &Context, name: &SpoolName, req: &Request, a: Answer) -> Result<(), Unpublished> {
    let mut r = Response::to_request(req, a.outcome, a.message.clone(), d.responder.clone());
    r.executed = Some(a.executed);
    r.levels = a.levels.clone();
    finish(d, name, r, &a)
}

/// Answers a request that could not be used, under the identity recovered from it.
pub fn answer_invalid(d: &Context, name: &SpoolName, inv: &Invalid) -> Result<(), Unpublished> {
    let a = Answer::unexecuted(Outcome::Invalid, inv.problem.clone());
    let r = Response {
        schema_version: Some(SCHEMA_VERSION),
        request_id: inv.request_id.clone(),
        success: false,
        action_performed: None,
        target_node: inv.node.clone(),
        message: inv.problem.clone(),
        timestamp: Some(Timestamp::now().to_string()),
        outcome: Some(Outcome::Invalid),
        executed: Some(false),
        levels: Vec::new(),
        responder: Some(d.responder.clone()),
        nnf_status: None,
    };
    finish(d, name, r, &a)
}

fn finish(d: &Context, name: &SpoolName, r: Response, a: &Answer) -> Result<(), Unpublished> {
    // Invalid files are logged (rate-limited) where they are found: a flood of them must not
    // flood the audit trail.
    if a.outcome != Outcome::Invalid {
        audit(name, &r.request_id, &r.target_node, r.action_performed, a);
    }
    d.metrics
        .answered(a.outcome, r.action_performed, &a.backend);
    deliver(d, name, r)
}

/// Keeps `r` as `.outcomes/<name>`, its content fsynced before it is named (the same publish
/// as a response's), once its publication failed: a restart then publishes it instead of
/// running the fence again or calling its outcome unknown. Not done before the first attempt,
/// so an exchange costs no sync beyond the response's own (DESIGN.md, Durability, D6): only a
/// crash in those few milliseconds leaves an unknown outcome, run again as before. False, with
/// a warning, when it cannot be kept.
pub fn keep(d: &Context, name: &SpoolName, r: &Response) -> bool {
    match d
        .spool
        .outcomes
        .publish(name, &r.to_json(), Publish::Replace)
    {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(
                request = %name,
                "cannot keep the outcome with the claim: {e}; if fence_watcher stops before the \
                 response is published, the request is handled again at the next start"
            );
            false
        }
    }
}

/// The outcome kept for `name` by an earlier run, if there is one that parses.
pub fn kept(d: &Context, name: &SpoolName) -> Option<Response> {
    let bytes = d.spool.outcomes.read(name.as_str(), MAX_SPOOL_FILE).ok()?;
    Response::from_json(&bytes).ok()
}

/// Publishes `r` and removes the claim. On failure the claim stays and `r` is handed back
/// (kept in `.outcomes` where possible): the fence it reports has happened, so it must reach
/// the requester's records, now or after a restart.
pub fn deliver(d: &Context, name: &SpoolName, r: Response) -> Result<(), Unpublished> {
    match d
        .spool
        .responses
        .publish(name, &r.to_json(), Publish::NoReplace)
    {
        Ok(()) => {}
        Err(SpoolError::AlreadyExists { path }) if is_ours(d, name, &r) => tracing::info!(
            request = %name,
            "response {} is ours, published by an earlier attempt; removing the claim",
            path.display()
        ),
        Err(SpoolError::AlreadyExists { path }) => tracing::warn!(
            request = %name,
            "response {} already exists (another responder answered first); ours was dropped",
            path.display()
        ),
        Err(e) => {
            tracing::error!(request = %name, "cannot complete the response: {e}; the claim stays and publishing is retried");
            d.set_publishable(false, &e);
            let kept = matches!(d.spool.outcomes.exists(name.as_str()), Ok(true));
            let kept = kept || keep(d, name, &r);
            return Err(Unpublished(Box::new(r), kept));
        }
    }
    release(d, name).map_err(|e| {
        tracing::error!(
            request = %name,
            "cannot complete the response: it is published, but the claim cannot be removed \
             ({e}); retrying"
        );
        Unpublished(Box::new(r), false)
    })
}

/// Removes the kept outcome, then the claim, once the response is published: a crash in
/// between leaves a claim whose response exists, which start-up removes (DESIGN.md,
/// Durability, D4-5). Not synced, as the claim's removal.
fn release(d: &Context, name: &SpoolName) -> Result<(), SpoolError> {
    d.spool.outcomes.remove(name.as_str())?;
    d.spool.claimed.remove(name.as_str())?;
    Ok(())
}

/// Whether the existing response of `name` is this responder's answer to the same request
/// (an earlier attempt published it and then failed to remove the claim).
fn is_ours(d: &Context, name: &SpoolName, r: &Response) -> bool {
    let Ok(bytes) = d.spool.responses.read(name.as_str(), MAX_SPOOL_FILE) else {
        return false;
    };
    Response::from_json(&bytes).is_ok_and(|theirs| {
        theirs.request_id == r.request_id && theirs.responder.as_deref() == Some(&d.responder)
    })
}

/// The one audit line of a fence decision, at the level its outcome deserves (issue 12: a
/// failed fence was INFO, so `journalctl -p err` never showed it): a failed fence is an ERROR,
/// a request that could not run (expired, invalid) a WARN, a success or a withdrawal INFO.
fn audit(
    name: &SpoolName,
    id: &RequestId,
    node: &NodeName,
    action: Option<gfs2_fence_protocol::Action>,
    a: &Answer,
) {
    macro_rules! decision {
        ($level:expr) => {
            tracing::event!(
                $level,
                request = %name,
                request_id = %id,
                node = %node,
                action = action.map_or("none", |x| x.as_str()),
                outcome = a.outcome.as_str(),
                backend = if a.backend.is_empty() { "none" } else { a.backend.as_str() },
                executed = a.executed,
                duration_ms = a.duration_ms,
                "fence decision: {}",
                a.message
            )
        };
    }
    match a.outcome {
        Outcome::Failed => decision!(tracing::Level::ERROR),
        Outcome::Expired | Outcome::Invalid => decision!(tracing::Level::WARN),
        Outcome::Success | Outcome::Cancelled => decision!(tracing::Level::INFO),
    }
}
