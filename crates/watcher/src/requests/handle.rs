//! The life of one request, from its name to its response: pick up, claim, validate, decide,
//! answer. Hostile names are moved aside. Nothing here can stall the daemon: each request runs
//! in a task of its own (at most a bounded number at once, see `context.rs`), and every failure
//! ends in a response or a log line.

use std::ffi::OsStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{Outcome, Request, SpoolError, SpoolName};

use super::claim::{self, Examined, PickUp};
use super::clock;
use super::context::Work;
use super::respond::{self, Answer, Unpublished};
use super::Context;
use crate::fencing::Decision;
use crate::observe::metrics::Pending;

/// How a claimed request came to be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Picked up from `REQUEST_DIR` by this daemon.
    New,
    /// Found in `.claimed` at start-up without a response: its outcome is unknown.
    Recovered,
}

/// Handles a `*.json` name seen in `REQUEST_DIR` (by an event or a scan).
pub fn submit(d: &Arc<Context>, name: SpoolName) {
    if d.is_stopping() || !d.begin(&name) {
        return;
    }
    start(d, d.work(name, false));
}

/// Handles a claimed request found at start-up. Its name counts as busy meanwhile, so a new
/// file of the same name in `REQUEST_DIR` is looked at only after it is answered.
pub fn submit_claimed(d: &Arc<Context>, name: SpoolName) {
    if !d.begin(&name) {
        return;
    }
    start(d, d.work(name, true));
}

/// Spawns a task for `work` if a task slot is free (the slot is taken first), else queues it
/// for the next task that finishes; see `context.rs` for the bound.
fn start(d: &Arc<Context>, work: Work) {
    let Some((permit, work)) = d.slot_or_queue(work) else {
        return;
    };
    let d = d.clone();
    tokio::spawn(async move {
        let (mut permit, mut work) = (permit, work);
        loop {
            run_now(&d, work).await;
            match d.next_or_release(permit) {
                Some(next) => (permit, work) = next,
                None => return,
            }
        }
    });
}

/// Handles `work` to its end in the calling task (a request task, or the sweep of due ones).
pub(crate) async fn run_now(d: &Arc<Context>, work: Work) {
    let name = work.name.clone();
    if work.recovered {
        handle_claimed(d, &name, Origin::Recovered, &work.pending).await;
    } else {
        pick_up(d, &name, &work.pending).await;
    }
    if d.end(&name) {
        submit(d, name);
    }
    drop(work);
}

/// Moves a file with an unusable name to `.rejected/`, logging it (rate-limited).
pub fn reject(d: &Context, raw: &OsStr) {
    match claim::reject(&d.spool, raw) {
        Ok(Some(to)) => {
            d.metrics.rejected_file();
            if let Some(suppressed) = d.hostile_log.allow() {
                tracing::warn!(
                    suppressed,
                    "moved {:?} to .rejected/{to}: its name is not a valid request file name \
                     (6 to 247 bytes of [A-Za-z0-9._-], ending in .json), so no response could carry it",
                    raw
                );
            }
        }
        Ok(None) => {}
        Err(e) => {
            if let Some(suppressed) = d.hostile_log.allow() {
                tracing::error!(suppressed, "cannot move {:?} aside: {e}", raw);
            }
        }
    }
}

/// Runs a spool step (a few syscalls, and one fsync when it publishes) on the blocking pool, so
/// the fsyncs of many requests overlap instead of queueing on the event loop.
async fn blocking<T: Send + 'static>(
    d: &Arc<Context>,
    name: &SpoolName,
    f: impl FnOnce(&Context, &SpoolName) -> T + Send + 'static,
) -> T {
    let (d2, n2) = (d.clone(), name.clone());
    match tokio::task::spawn_blocking(move || f(&d2, &n2)).await {
        Ok(t) => t,
        Err(e) => match e.try_into_panic() {
            // With panic = "abort" in release this cannot happen; in tests, fail loudly.
            Ok(panic) => std::panic::resume_unwind(panic),
            // Cancelled: the runtime is shutting down and this task goes with it.
            Err(_) => std::future::pending().await,
        },
    }
}

async fn pick_up(d: &Arc<Context>, name: &SpoolName, pending: &Pending) {
    // A fence started now could not be answered: the request stays unclaimed in REQUEST_DIR,
    // cancelled and expired ones too (their answers could not be published either), and the
    // scan made when publishing works again picks it up.
    if !d.can_publish() {
        return;
    }
    match blocking(d, name, |d, n| claim::pick_up(&d.spool, n)).await {
        Ok(PickUp::Claimed) => handle_claimed(d, name, Origin::New, pending).await,
        Ok(PickUp::AlreadyAnswered) => {
            d.metrics.already_answered();
            tracing::info!(request = %name, "a response already exists: request removed, not executed");
        }
        Ok(PickUp::Gone) => {}
        Err(SpoolError::AlreadyExists { path }) => tracing::error!(
            request = %name,
            "cannot claim: {} exists (a request of the same name is in progress); leaving it for the next scan",
            path.display()
        ),
        Err(e) => {
            if let Some(suppressed) = d.hostile_log.allow() {
                tracing::error!(request = %name, suppressed, "cannot pick up: {e}");
            }
        }
    }
}

async fn handle_claimed(d: &Arc<Context>, name: &SpoolName, origin: Origin, pending: &Pending) {
    let _in_flight = d.metrics.in_flight();
    if origin == Origin::Recovered && publish_kept(d, name).await {
        return;
    }
    match examine(d, name).await {
        Examined::Unreadable(e) => tracing::warn!(
            request = %name,
            "claimed request still unreadable ({e}) when stopping; it stays claimed for the next start"
        ),
        Examined::Vanished => {
            tracing::warn!(request = %name, "claimed request disappeared before it was read")
        }
        Examined::Invalid(inv) => {
            if let Some(suppressed) = d.hostile_log.allow() {
                tracing::warn!(request = %name, suppressed, "invalid request: {}", inv.problem);
            }
            let sent = blocking(d, name, move |d, n| respond::answer_invalid(d, n, &inv)).await;
            if let Err(u) = sent {
                retry(d, name, u).await;
            }
        }
        Examined::Valid(req) => {
            pending.deadline(req.deadline.map(|t| t.to_system_time()));
            let answer = decide(d, name, &req, origin).await;
            let sent = blocking(d, name, move |d, n| respond::answer(d, n, &req, answer)).await;
            if let Err(u) = sent {
                retry(d, name, u).await;
            }
        }
    }
}

/// Publishes the response an earlier run kept for this claim because it could not publish it:
/// the real result, instead of a second run or "outcome unknown". False when none was kept.
async fn publish_kept(d: &Arc<Context>, name: &SpoolName) -> bool {
    let Some(r) = blocking(d, name, respond::kept).await else {
        return false;
    };
    tracing::warn!(
        request = %name,
        success = r.success,
        executed = r.executed.unwrap_or(false),
        "publishing the response kept from before the restart; the request is not run again"
    );
    let sent = blocking(d, name, move |d, n| respond::deliver(d, n, r)).await;
    if let Err(u) = sent {
        retry(d, name, u).await;
    }
    true
}

/// Reads the claimed request, again and again with growing pauses (1 s doubling to 30 s, as
/// publishing) while it fails for a reason that is not the file's (out of file descriptors or
/// memory, an I/O error), so a passing shortage never turns a fence into an `invalid`. Returns
/// `Unreadable` only when the daemon stops meanwhile; the claim then stays for the next start.
async fn examine(d: &Arc<Context>, name: &SpoolName) -> Examined {
    let tick = Duration::from_millis(250);
    let (mut pause, mut waited) = (Duration::from_secs(1), Duration::ZERO);
    loop {
        let examined = blocking(d, name, |d, n| claim::examine(&d.spool, n)).await;
        let Examined::Unreadable(e) = &examined else {
            return examined;
        };
        tracing::warn!(request = %name, "cannot read the claimed request: {e}; retrying in {pause:?}");
        while waited < pause {
            if d.is_stopping() {
                return examined;
            }
            tokio::time::sleep(tick).await;
            waited += tick;
        }
        (pause, waited) = ((pause * 2).min(RETRY_MAX), Duration::ZERO);
    }
}

/// Longest pause between two attempts to publish a response.
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Publishes a response that could not be published, again and again with growing pauses (1 s
/// doubling to 30 s), while the daemon runs and through the grace period of its stop (every
/// second then): a full or read-only response directory is usually repaired by an operator,
/// and then the answer must appear without a restart. The claim stays meanwhile, with the
/// outcome kept beside it where it could be, so a daemon stopped first publishes it at its next
/// start; until then this request counts as unpublished, which the stop reports.
pub(crate) async fn retry(d: &Arc<Context>, name: &SpoolName, mut pending: Unpublished) {
    let tick = Duration::from_millis(250);
    let (mut pause, mut waited) = (Duration::from_secs(1), Duration::ZERO);
    let mut _count = d.unpublished(pending.1);
    while !d.retries_end() {
        tokio::time::sleep(tick).await;
        waited += tick;
        if d.is_stopping() {
            pause = pause.min(Duration::from_secs(1));
        }
        if waited < pause {
            continue;
        }
        (pause, waited) = ((pause * 2).min(RETRY_MAX), Duration::ZERO);
        match blocking(d, name, move |d, n| respond::deliver(d, n, *pending.0)).await {
            Ok(()) => {
                tracing::info!(request = %name, "response published after an earlier failure");
                return;
            }
            Err(u) => {
                if u.1 != pending.1 {
                    _count = d.unpublished(u.1);
                }
                pending = u;
            }
        }
    }
}

async fn decide(d: &Context, name: &SpoolName, req: &Request, origin: Origin) -> Answer {
    let what = format!("{} of {}", req.action, req.target_node);
    if req.cancelled {
        return Answer::unexecuted(
            Outcome::Cancelled,
            format!("{what} was cancelled by the requester; nothing was executed"),
        );
    }
    let now = SystemTime::now();
    let mtime = d.spool.claimed.modified(name.as_str()).ok().flatten();
    if origin == Origin::Recovered {
        if let Some(why) = not_again(req, now, mtime) {
            tracing::warn!(request = %name, "request {name} of unknown outcome is not run again: {why}");
            return Answer::unexecuted(
                Outcome::Expired,
                format!(
                    "{what} was under way when fence_watcher stopped; its outcome is unknown and \
                     {why}, so it was not run again"
                ),
            );
        }
    }
    let skew = clock::future_timestamp(req, now);
    if let Some(note) = &skew {
        tracing::warn!(request = %name, "clock skew: {what}: {note}");
        if clock::late_by_file(req, now, mtime) {
            return Answer::unexecuted(
                Outcome::Expired,
                format!(
                    "{what} was not started: {note}, and its window counted from its file's \
                     time by this host's clock has passed"
                ),
            );
        }
    }
    if origin == Origin::Recovered {
        d.metrics.recovered();
        tracing::warn!(request = %name, "re-running request {name} whose outcome is unknown after a restart");
    }
    let deadline = clock::local_deadline(req, now, mtime);
    match d.scheduler.fence(req, deadline).await {
        Decision::Expired => match &skew {
            Some(note) => Answer::unexecuted(
                Outcome::Expired,
                format!(
                    "{what} was not started: {note}, and its window counted from its file's \
                     time by this host's clock passed while it waited for its turn"
                ),
            ),
            None => {
                let why = clock::deadline_passed(req, SystemTime::now(), mtime);
                Answer::unexecuted(Outcome::Expired, format!("{what} {why}"))
            }
        },
        Decision::NoRoute => Answer::unexecuted(
            Outcome::Failed,
            format!(
                "{what} failed: no [[topology]] entry of the configuration matches node {}",
                req.target_node
            ),
        ),
        Decision::Ran { result, joined } => Answer {
            outcome: if result.success {
                Outcome::Success
            } else {
                Outcome::Failed
            },
            message: with_skew(
                if joined {
                    format!(
                        "{} (shared with a concurrent request for the same node and action)",
                        result.message
                    )
                } else {
                    result.message.clone()
                },
                skew.as_deref(),
            ),
            executed: true,
            levels: result.levels.clone(),
            backend: result.backend.clone(),
            duration_ms: result.duration.as_millis() as u64,
        },
    }
}

/// Why a recovered claim of unknown outcome must not run again: nobody waits for it any more
/// (its deadline passed), or, by this host's clock, its file is older than its window or dated
/// in the future, so its deadline cannot be trusted (`clock.rs`).
fn not_again(req: &Request, now: SystemTime, mtime: Option<SystemTime>) -> Option<String> {
    if req.is_expired() {
        return Some("its deadline has passed".into());
    }
    mtime.and_then(|t| clock::recovered_too_old(req, now, t))
}

/// A result's message with the clock skew noted, so the record names both times.
fn with_skew(message: String, skew: Option<&str>) -> String {
    match skew {
        Some(note) => format!("{message}; note: {note}"),
        None => message,
    }
}
