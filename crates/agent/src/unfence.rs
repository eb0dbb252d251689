//! Unfencing: archiving a node's records out of the response directory, the one procedure
//! behind `gfs2-fencing unfence NODE` and the agent's archiving after a successful `on`.
//!
//! A response that says success is a responder's record that the node is fenced: nnf-sos keeps
//! the node from its storage while such a file is in RESPONSE_DIR (`ledger::fenced`). Unfencing
//! removes every record of the node from there, never deleting one: each is archived in
//! `RESPONSE_DIR/.unfenced/` (0750) by [`SpoolDir::archive`] (link or copy, fsync, unlink,
//! fsync), so nnf-sos sees a Remove event and reconciles at once, and the audit trail stays. A
//! response file that cannot be read may be the node's record that nnf-sos still reads: it is
//! reported, never skipped silently, and left in place. A record whose earlier unfencing was
//! interrupted after its link into the archive (a crash) is finished by its unlink alone. [`log`]
//! writes the `unfenced` event.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gfs2_fence_protocol::{Archived, NodeName, RequestId, SpoolDir, SpoolError, MAX_SPOOL_FILE};

use crate::diag::Diag;
use crate::events::{Event, EventLog, Status};
use crate::ledger;

/// The archive, a subdirectory of the response directory.
pub const ARCHIVE: &str = gfs2_fence_protocol::UNFENCED_DIR;
const ARCHIVE_MODE: u32 = 0o750;
/// How many `<name>.<n>` are tried in the archive before giving up on a name.
const FRESH_NAMES: u32 = 1000;

/// One archived record: its name in RESPONSE_DIR and the name it has in the archive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Kept {
    pub record: String,
    pub kept_as: String,
}

/// What would be archived for a node, before anything is touched.
#[derive(Debug)]
pub struct Plan {
    pub node: NodeName,
    /// The node's records (every readable response for it), oldest first.
    pub records: Vec<String>,
    /// Response files that could not be read or parsed (name, escaped reason): any may be the
    /// node's record.
    pub unreadable: Vec<(String, String)>,
    /// Records of `records` that an interrupted unfencing already linked into the archive
    /// (`ledger::Record::interrupted`): name here, name in the archive. Archiving them is only
    /// the unlink it did not do.
    pub interrupted: BTreeMap<String, String>,
}

/// What archiving did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub kept: Vec<Kept>,
    /// Records that were gone when their turn came (another archiver was first).
    pub gone: Vec<String>,
    /// Records that could not be archived: they are still in RESPONSE_DIR.
    pub failed: Vec<(String, SpoolError)>,
}

impl Outcome {
    /// Every record of the plan left RESPONSE_DIR.
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// The records of `node` in `dir`, and the files that could not be read.
pub fn plan(dir: &SpoolDir, node: &NodeName) -> Result<Plan, SpoolError> {
    let found = ledger::load(dir)?;
    let mine = found
        .records
        .into_iter()
        .filter(|rec| &rec.response.target_node == node)
        .collect();
    Ok(Plan::of(node, mine, found.unreadable))
}

/// The plan after an accepted `on` whose answer is `answer`: the node's records that appeared
/// here before it (`ledger` order, by mtime), and the answer itself. A record that appeared
/// later is a newer fence (the daemon runs a node's actions one after the other, so an `off`
/// asked after this `on` may already be answered) and must stay: archiving it would give the
/// storage back to a node just fenced. A record of the same mtime stays too: the safe side
/// (the node stays fenced until `gfs2-fencing unfence`). No answer found (another unfencing
/// archived it first): nothing to do.
pub fn plan_through(dir: &SpoolDir, node: &NodeName, answer: &str) -> Result<Plan, SpoolError> {
    let found = ledger::load(dir)?;
    let cutoff = found
        .records
        .iter()
        .find(|r| r.name == answer)
        .map(|r| r.observed);
    let mine = match cutoff {
        None => Vec::new(),
        Some(cutoff) => found
            .records
            .into_iter()
            .filter(|r| &r.response.target_node == node)
            .filter(|r| r.name == answer || r.observed < cutoff)
            .collect(),
    };
    Ok(Plan::of(node, mine, found.unreadable))
}

impl Plan {
    fn of(node: &NodeName, mine: Vec<ledger::Record>, unreadable: Vec<(String, String)>) -> Plan {
        let interrupted = mine
            .iter()
            .filter_map(|r| Some((r.name.clone(), r.interrupted.clone()?)))
            .collect();
        Plan {
            node: node.clone(),
            records: mine.into_iter().map(|r| r.name).collect(),
            unreadable,
            interrupted,
        }
    }
}

/// Archives every record of the plan, going on past one that fails. `Err` only when the
/// archive directory cannot be created or opened (then nothing was touched).
pub fn archive(dir: &SpoolDir, plan: &Plan) -> Result<Outcome, SpoolError> {
    let mut out = Outcome::default();
    if plan.records.is_empty() {
        return Ok(out);
    }
    let archive = dir.subdir(ARCHIVE, Some(ARCHIVE_MODE))?;
    for name in &plan.records {
        let done = match plan.interrupted.get(name) {
            Some(kept_as) => dir.finish_archive(name).map(|unlinked| match unlinked {
                true => Archived::Kept(kept_as.clone()),
                false => Archived::AlreadyGone,
            }),
            None => dir.archive(name, &archive, MAX_SPOOL_FILE, FRESH_NAMES),
        };
        match done {
            Ok(Archived::Kept(kept_as)) => out.kept.push(Kept {
                record: name.clone(),
                kept_as,
            }),
            Ok(Archived::AlreadyGone) => out.gone.push(name.clone()),
            Err(e) => out.failed.push((name.clone(), e)),
        }
    }
    Ok(out)
}

/// After an accepted `on` whose answer is `answer` (`exchange.rs`): archives the node's records
/// up to it ([`plan_through`]) and logs the `unfenced` event. The `on` stays a success whatever
/// happens here (the node is on; Pacemaker would only repeat it), but a failure is loud: an
/// error on stderr (Pacemaker logs it) and a `failed` event, since nnf-sos would still see the
/// node fenced. `audit.duration` is replaced by the archiving's own.
pub(crate) fn after_on(
    dir: &SpoolDir,
    answer: &str,
    node: &NodeName,
    audit: &Audit<'_>,
    log: &mut EventLog,
    diag: &Diag,
) {
    let started = Instant::now();
    let planned = plan_through(dir, node, answer);
    let done = planned.and_then(|p| archive(dir, &p).map(|o| (p, o)));
    let audit = Audit {
        duration: started.elapsed(),
        ..*audit
    };
    let (plan, out) = match done {
        Ok(done) => done,
        Err(e) => {
            let why = still_fenced(node, &format!("cannot archive: {e}"));
            diag.error(&format!("on of {node} succeeded, but {why}"));
            log_failure(log, &audit, node, &[], &why);
            return;
        }
    };
    self::log(log, &audit, &plan, &out);
    if !out.complete() {
        let why = left_behind(&plan, &out);
        diag.error(&format!("on of {node} succeeded, but {why}"));
    }
    for (name, why) in &plan.unreadable {
        diag.warn(&format!(
            "unreadable response {name} left in place: {why}; it may be a record of {node} that nnf-sos still reads"
        ));
    }
}

/// Who unfenced, and in answer to what: the fields of the `unfenced` event besides the records.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    /// `unfence` for the tool, `on` for the agent.
    pub action: &'a str,
    /// The `on` request that was answered, for the agent.
    pub request_id: Option<&'a RequestId>,
    /// `"<user> (uid N) via gfs2-fencing unfence"` or `"fence_gfs2_recorder -o on"`.
    pub by: &'a str,
    pub recorder: &'a str,
    pub duration: Duration,
}

/// Writes the `unfenced` event (when something was archived) and, when records are left in
/// RESPONSE_DIR, a `failed` event with action `unfence` (not the `on` that succeeded, so no
/// view reads it as a failed fence) saying that nnf-sos still sees the node fenced.
pub fn log(log: &mut EventLog, audit: &Audit<'_>, plan: &Plan, out: &Outcome) {
    if !out.kept.is_empty() {
        let details = summary(audit, plan, out);
        record(
            log,
            audit,
            &plan.node,
            &out.kept,
            Status::Unfenced,
            &details,
        );
    }
    if !out.complete() {
        log_failure(log, audit, &plan.node, &out.kept, &left_behind(plan, out));
    }
}

/// The `failed` event of an unfencing that left records in RESPONSE_DIR.
pub fn log_failure(
    log: &mut EventLog,
    audit: &Audit<'_>,
    node: &NodeName,
    kept: &[Kept],
    details: &str,
) {
    let failed = Audit {
        action: "unfence",
        ..*audit
    };
    record(log, &failed, node, kept, Status::Failed, details);
}

fn record(
    log: &mut EventLog,
    audit: &Audit<'_>,
    node: &NodeName,
    kept: &[Kept],
    status: Status,
    details: &str,
) {
    log.record(&Event {
        status,
        action: audit.action,
        target: Some(node),
        request_id: audit.request_id,
        discovery: None,
        recorder: audit.recorder,
        details,
        duration: audit.duration,
        by: Some(audit.by),
        archived: Some(kept),
    });
}

/// The `unfenced` event's details: what was archived, by whom, what was in the way.
pub fn summary(audit: &Audit<'_>, plan: &Plan, out: &Outcome) -> String {
    let kept: Vec<String> = out
        .kept
        .iter()
        .map(|k| format!("{} (kept as {ARCHIVE}/{})", k.record, k.kept_as))
        .collect();
    let mut text = format!(
        "archived {} record(s) of {} by {}: {}",
        out.kept.len(),
        plan.node,
        audit.by,
        kept.join(", ")
    );
    if !out.gone.is_empty() {
        text.push_str(&format!("; already gone: {}", out.gone.join(", ")));
    }
    if !plan.unreadable.is_empty() {
        let names: Vec<&str> = plan.unreadable.iter().map(|(n, _)| n.as_str()).collect();
        text.push_str(&format!(
            "; unreadable response files left in place (any may be a record of {}): {}",
            plan.node,
            names.join(", ")
        ));
    }
    text
}

/// Why records of the node are still in RESPONSE_DIR, and what to do.
pub fn left_behind(plan: &Plan, out: &Outcome) -> String {
    let failed: Vec<String> = out
        .failed
        .iter()
        .map(|(name, e)| format!("{name}: {e}"))
        .collect();
    let why = format!(
        "cannot archive {} record(s): {}",
        out.failed.len(),
        failed.join("; ")
    );
    still_fenced(&plan.node, &why)
}

/// `why`, and what it means for nnf-sos and what to do.
pub fn still_fenced(node: &NodeName, why: &str) -> String {
    format!(
        "{why}; nnf-sos still sees {node} fenced: fix the cause and run gfs2-fencing unfence {node} --yes"
    )
}

#[cfg(test)]
mod tests;
