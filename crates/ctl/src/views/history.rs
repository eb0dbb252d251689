//! `history [--node N] [--since T] [--outcome O] [--limit K]`: every request id the model
//! knows (a request file, a response live or archived, an event) with its response and events,
//! and every unfence (an `unfenced` event), newest first, as `stonith_admin --history` lists
//! Pacemaker's. `--since` takes RFC 3339 or an age (`30m`, `2h`, `7d`, `90s`).

use std::collections::BTreeSet;
use std::time::Duration;

use gfs2_fence_protocol::Timestamp;
use serde_json::{json, Value};

use crate::inspect::shown;
use crate::model::{Event, Fence, Model, Place, RecordRef};
use crate::out::outln;
use crate::views::{emit, fence_json, when, Table};
use crate::{Error, Exit, Spool};

/// The arguments of `history`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub spool: Spool,
    /// Only this node's entries
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Only entries since this time: RFC 3339 (2026-01-02T03:04:05Z) or an age (30m, 2h, 7d)
    #[arg(long, value_name = "TIME", value_parser = since)]
    pub since: Option<Timestamp>,
    /// Only entries with this outcome (success, failed, expired, cancelled, invalid, timeout,
    /// pending, claimed, requested, unfenced, ...)
    #[arg(long, value_name = "OUTCOME")]
    pub outcome: Option<String>,
    /// At most this many entries (the newest)
    #[arg(long, value_name = "K")]
    pub limit: Option<usize>,
}

/// `--since`: RFC 3339, or an age before now.
fn since(s: &str) -> Result<Timestamp, String> {
    if let Ok(t) = Timestamp::parse(s) {
        return Ok(t);
    }
    let bad = || format!("{s:?} is neither RFC 3339 nor an age like 90s, 30m, 2h, 7d");
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    let ago = Duration::from_secs(n.saturating_mul(secs));
    let t = std::time::SystemTime::now()
        .checked_sub(ago)
        .unwrap_or(std::time::UNIX_EPOCH);
    Ok(Timestamp::from(t))
}

/// One line of the history.
enum Entry<'m> {
    Fence(Fence<'m>),
    Unfence(&'m Event),
}

impl Entry<'_> {
    fn time(&self) -> Option<Timestamp> {
        match self {
            Entry::Fence(f) => f.time(),
            Entry::Unfence(e) => e.time(),
        }
    }
    fn node(&self) -> Option<&str> {
        match self {
            Entry::Fence(f) => f.node(),
            Entry::Unfence(e) => e.target_node.as_deref(),
        }
    }
    fn outcome(&self) -> String {
        match self {
            Entry::Fence(f) => f.outcome(),
            Entry::Unfence(_) => "unfenced".into(),
        }
    }
}

pub fn run(args: Args) -> Result<Exit, Error> {
    let spool = args.spool.clone().resolve()?;
    let model = Model::load(&spool)?;
    let entries = select(&model, &args);
    let fenced: BTreeSet<&str> = model.fenced().values().map(|r| r.name.as_str()).collect();
    let is_fenced = |r: &RecordRef<'_>| r.place() == Place::Live && fenced.contains(r.name());
    if spool.json {
        let all: Vec<Value> = entries.iter().map(|e| entry_json(e, &is_fenced)).collect();
        let filters = json!({
            "node": args.node, "since": args.since, "outcome": args.outcome, "limit": args.limit,
        });
        let log = json!({
            "path": model.log.path, "malformed_lines": model.log.malformed,
            "truncated": model.log.truncated, "error": model.log.error,
        });
        emit(
            "history",
            json!({ "filters": filters, "entries": all, "log": log }),
        );
        return Ok(Exit::Success);
    }
    if entries.is_empty() {
        outln!(
            "no history (nothing in {}, {} or {})",
            model.request_dir.display(),
            model.response_dir.display(),
            model.log.path.display()
        );
    } else {
        table(&entries).print();
    }
    if model.log.malformed > 0 {
        outln!(
            "({} malformed line(s) of {} skipped)",
            model.log.malformed,
            model.log.path.display()
        );
    }
    Ok(Exit::Success)
}

fn select<'m>(model: &'m Model, args: &Args) -> Vec<Entry<'m>> {
    let mut all: Vec<Entry<'m>> = model.fences().into_iter().map(Entry::Fence).collect();
    all.extend(model.unfences().into_iter().map(Entry::Unfence));
    all.retain(|e| {
        args.node.as_deref().is_none_or(|n| e.node() == Some(n))
            && args.outcome.as_deref().is_none_or(|o| e.outcome() == o)
            && args.since.is_none_or(|s| e.time().is_some_and(|t| t >= s))
    });
    // Newest first; entries without a time last.
    all.sort_by_key(|e| std::cmp::Reverse(e.time()));
    all.truncate(args.limit.unwrap_or(usize::MAX));
    all
}

fn entry_json(e: &Entry<'_>, fenced: &dyn Fn(&RecordRef<'_>) -> bool) -> Value {
    match e {
        Entry::Fence(f) => fence_json(f, fenced),
        Entry::Unfence(ev) => unfence_json(ev),
    }
}

/// An `unfenced` event as a history entry.
pub fn unfence_json(e: &Event) -> Value {
    json!({
        "kind": "unfence",
        "time": e.time(),
        "node": e.target_node,
        "request_id": e.request_id,
        "action": e.action,
        "by": e.by,
        "archived": e.archived,
        "details": e.details,
    })
}

fn table(entries: &[Entry<'_>]) -> Table {
    let mut t = Table::new(&[
        "TIME", "KIND", "NODE", "ACTION", "OUTCOME", "REQUEST", "DETAIL",
    ]);
    for e in entries {
        let (kind, action, request, detail) = match e {
            Entry::Fence(f) => (
                "fence",
                f.action().map_or_else(|| "-".into(), |a| shown(&a)),
                shown(&f.request_id),
                fence_detail(f),
            ),
            Entry::Unfence(ev) => (
                "unfence",
                shown(ev.action.as_deref().unwrap_or("-")),
                shown(ev.request_id.as_deref().unwrap_or("-")),
                unfence_detail(ev),
            ),
        };
        t.row(vec![
            when(e.time()),
            kind.into(),
            shown(e.node().unwrap_or("-")),
            action,
            shown(&e.outcome()),
            request,
            detail,
        ]);
    }
    t
}

fn fence_detail(f: &Fence<'_>) -> String {
    let detail = response_detail(f);
    match f.reported() {
        Some(r) if r != "completed" && f.outcome() == "success" => {
            format!("{detail} (the agent reported {})", shown(r))
        }
        _ => detail,
    }
}

fn response_detail(f: &Fence<'_>) -> String {
    match f.records.last() {
        Some(r) => {
            let place = if r.place() == Place::Archived {
                " (archived)"
            } else {
                ""
            };
            format!(
                "{}{place}: {}",
                shown(r.name()),
                shown(&r.response().message)
            )
        }
        None => match f.events.iter().rev().find_map(|e| e.details.as_deref()) {
            Some(d) => shown(d),
            None => "no response".into(),
        },
    }
}

fn unfence_detail(e: &Event) -> String {
    format!(
        "by {}: {} record(s) archived",
        shown(e.by.as_deref().unwrap_or("unknown")),
        e.archived.len()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn since_takes_rfc_3339_or_an_age() {
        let t = super::since("2026-01-02T03:04:05Z").expect("rfc 3339");
        assert_eq!(t.to_string(), "2026-01-02T03:04:05.000Z");
        let h = super::since("2h").expect("age");
        let age = h.age().as_secs();
        assert!((7199..=7300).contains(&age), "{age}");
        for bad in ["", "2", "h", "2w", "-1h", "yesterday"] {
            assert!(super::since(bad).is_err(), "{bad}");
        }
    }
}
