//! `unfence`: clear a repaired node's fence records, with an audit trail.
//!
//! A successful response is a responder's record that the node is fenced (nnf-sos will not give
//! the node storage access back while one is in RESPONSE_DIR). When the operator has repaired
//! the node, they clear them. The procedure is the agent's (`fence_gfs2_recorder::unfence`, the
//! same the agent runs after a successful `on`): each record is archived in
//! `RESPONSE_DIR/.unfenced/` (a name already taken gets `<name>.<n>`) and unlinked from
//! RESPONSE_DIR, so nnf-sos sees a Remove event and reconciles at once (a rename, as this command
//! did before, raised none). A response file that cannot be read may be this node's record, and
//! nnf-sos may still read it: it is named, left in place, and the command exits 1.
//!
//! Every unfencing is recorded: an `unfenced` event (who, when, which records) in the three
//! event logs of LOG_DIR, and a journal entry (`journalctl -t gfs2-fencing NODE=<node>`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use fence_gfs2_recorder::events::EventLog;
use fence_gfs2_recorder::unfence::{self, Audit, Kept, Outcome, Plan, ARCHIVE};
use gfs2_fence_protocol::text::escape;
use gfs2_fence_protocol::{NodeName, SpoolDir};

use crate::journal;
use crate::out::outln;
use crate::{Error, Spool};

/// The tool's name in the event logs.
const PROGRAM: &str = "gfs2-fencing";

pub fn run(spool: &Spool, node: &str, yes: bool) -> Result<bool, Error> {
    let started = Instant::now();
    let node = NodeName::parse(node)?;
    let dir = SpoolDir::open(spool.responses())?;
    let plan = unfence::plan(&dir, &node)?;
    let done = if plan.records.is_empty() || !yes {
        None
    } else {
        let trail = Trail::new(spool.logs(), started);
        let out = match unfence::archive(&dir, &plan) {
            Ok(out) => out,
            Err(e) => {
                trail.refused(&plan, &e.to_string());
                return Err(e.into());
            }
        };
        trail.record(&plan, &out);
        Some(out)
    };
    if spool.json {
        emit(&dir, &plan, done.as_ref());
    } else {
        print(&dir, &plan, done.as_ref());
    }
    let complete = done.as_ref().is_none_or(Outcome::complete);
    Ok(complete && plan.unreadable.is_empty())
}

/// The text report: what would be or was cleared, then the unreadable files.
fn print(dir: &SpoolDir, plan: &Plan, done: Option<&Outcome>) {
    match done {
        _ if plan.records.is_empty() => {
            outln!("no records for {} in {}", plan.node, dir.path().display())
        }
        None => dry_run(dir, plan),
        Some(out) => report(dir, out),
    }
    for (name, why) in &plan.unreadable {
        outln!(
            "UNREADABLE {}: {why}; it may be a record of {} that nnf-sos still reads: fix or move it by hand",
            shown(&dir.join(name)),
            plan.node
        );
    }
}

/// `{"schema": "gfs2-fencing.unfence", "version": 1, "node", "dry_run", "ok", "records":
/// [{"record", "state": would_clear|cleared|gone|failed, "kept_as", "error"}], "unreadable":
/// [{"file", "error"}]}` (docs/cli.md).
fn emit(dir: &SpoolDir, plan: &Plan, done: Option<&Outcome>) {
    let entry = |record: &str, state: &str, kept_as: Option<String>, error: Option<String>| serde_json::json!({ "record": record, "state": state, "kept_as": kept_as, "error": error });
    let records: Vec<serde_json::Value> = match done {
        None => plan
            .records
            .iter()
            .map(|r| entry(r, "would_clear", None, None))
            .collect(),
        Some(out) => {
            let archive = |k: &Kept| dir.join(ARCHIVE).join(&k.kept_as).display().to_string();
            let kept = out
                .kept
                .iter()
                .map(|k| entry(&k.record, "cleared", Some(archive(k)), None));
            let gone = out.gone.iter().map(|g| entry(g, "gone", None, None));
            let failed = out.failed.iter().map(|(name, e)| {
                let why = escape(&e.to_string(), 500);
                entry(name, "failed", None, Some(why))
            });
            kept.chain(gone).chain(failed).collect()
        }
    };
    let unreadable: Vec<serde_json::Value> = plan
        .unreadable
        .iter()
        .map(|(file, error)| serde_json::json!({ "file": file, "error": error }))
        .collect();
    let complete = done.is_none_or(Outcome::complete);
    crate::views::emit(
        "unfence",
        serde_json::json!({
            "node": plan.node.as_str(),
            "response_dir": dir.path(),
            "dry_run": done.is_none(),
            "ok": complete && plan.unreadable.is_empty(),
            "records": records,
            "unreadable": unreadable,
        }),
    );
}

fn dry_run(dir: &SpoolDir, plan: &Plan) {
    for name in &plan.records {
        outln!("would clear {}", shown(&dir.join(name)));
    }
    outln!(
        "run again with --yes to move these {} record(s) to {ARCHIVE}/",
        plan.records.len()
    );
}

fn report(dir: &SpoolDir, out: &Outcome) {
    for k in &out.kept {
        let kept = dir.join(ARCHIVE).join(&k.kept_as);
        outln!("cleared {} (kept as {})", k.record, shown(&kept));
    }
    for name in &out.gone {
        outln!("{name} was already gone (moved by someone else)");
    }
    for (name, e) in &out.failed {
        outln!(
            "FAILED {name}: {}; it is still in RESPONSE_DIR",
            escape(&e.to_string(), 500)
        );
    }
}

/// Where and as whom an unfencing is recorded: LOG_DIR's three logs and the journal.
struct Trail {
    log_dir: PathBuf,
    by: String,
    recorder: String,
    started: Instant,
    /// The journal's absence was reported (once a run, like the event logs' warnings).
    warned: std::cell::Cell<bool>,
}

impl Trail {
    fn new(log_dir: PathBuf, started: Instant) -> Trail {
        Trail {
            log_dir,
            by: who(),
            recorder: gfs2_fence_protocol::hostname(),
            started,
            warned: std::cell::Cell::new(false),
        }
    }

    fn audit(&self) -> Audit<'_> {
        Audit {
            action: "unfence",
            request_id: None,
            by: &self.by,
            recorder: &self.recorder,
            duration: self.started.elapsed(),
        }
    }

    fn events(&self) -> EventLog {
        EventLog::for_program(self.log_dir.clone(), PROGRAM)
    }

    /// The `unfenced` event (and a `failed` one for records left behind), in both places.
    fn record(&self, plan: &Plan, out: &Outcome) {
        let audit = self.audit();
        unfence::log(&mut self.events(), &audit, plan, out);
        let kept = |f: fn(&Kept) -> String| out.kept.iter().map(f).collect::<Vec<_>>().join(" ");
        let records = kept(|k| k.record.clone());
        let kept_as = kept(|k| format!("{ARCHIVE}/{}", k.kept_as));
        if !out.kept.is_empty() {
            let message = unfence::summary(&audit, plan, out);
            self.journal(
                journal::NOTICE,
                &message,
                plan,
                "unfenced",
                &records,
                &kept_as,
            );
        }
        if !out.complete() {
            let message = unfence::left_behind(plan, out);
            self.journal(journal::ERR, &message, plan, "failed", &records, &kept_as);
        }
    }

    /// An unfencing refused before any record moved (the archive cannot be made).
    fn refused(&self, plan: &Plan, why: &str) {
        let message = unfence::still_fenced(&plan.node, &format!("cannot archive: {why}"));
        unfence::log_failure(&mut self.events(), &self.audit(), &plan.node, &[], &message);
        self.journal(journal::ERR, &message, plan, "failed", "", "");
    }

    fn journal(
        &self,
        prio: u8,
        message: &str,
        plan: &Plan,
        outcome: &str,
        records: &str,
        kept: &str,
    ) {
        let fields = [
            ("NODE", plan.node.as_str()),
            ("ACTION", "unfence"),
            ("OUTCOME", outcome),
            ("RECORDS", records),
            ("KEPT_AS", kept),
            ("UNFENCED_BY", self.by.as_str()),
        ];
        if let Err(e) = journal::send(prio, message, &fields) {
            if self.warned.replace(true) {
                return;
            }
            // writeln!, not eprintln!: a failing stderr must not panic the tool (main.rs).
            let _ = writeln!(
                std::io::stderr(),
                "{PROGRAM}: warning: cannot write to the journal ({}): {e}; the event logs hold the record",
                journal::SOCKET
            );
        }
    }
}

/// `"<user> (uid N) via gfs2-fencing unfence"`: the user sudo names, else the uid's login name.
fn who() -> String {
    let uid = rustix::process::getuid().as_raw();
    let user = std::env::var("SUDO_USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| login_name(uid))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{} (uid {uid}) via gfs2-fencing unfence", escape(&user, 64))
}

/// The login name of `uid` in `/etc/passwd` (users only NSS knows are not found: "unknown").
fn login_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let (name, _, id) = (f.next()?, f.next()?, f.next()?);
        (id.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

fn shown(path: &Path) -> String {
    crate::inspect::shown(&path.display().to_string())
}
