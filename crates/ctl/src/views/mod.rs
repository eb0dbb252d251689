//! The views of the model (`crate::model`): each subcommand prints a table with a header, or
//! with `--json` one document `{"schema": "gfs2-fencing.<view>", "version": 1, ...}` whose
//! shapes docs/cli.md documents. The JSON pieces that several views share (a request file, a
//! record, an event, a fenced node) are built here once, so a record looks the same in every
//! document. Everything printed in a table from a spool file or the log goes through
//! [`crate::inspect::shown`]; JSON strings are escaped by serde_json.

pub mod fenced;
pub mod history;
pub mod records;
pub mod requests;
pub mod show;
pub mod status;
mod table;

use std::time::Duration;

use fence_gfs2_recorder::ledger::Record;
use gfs2_fence_protocol::{Response, Timestamp};
use serde_json::{json, Map, Value};

use crate::model::{Event, Fence, RecordRef, RequestFile};
use crate::out::outln;
pub use table::Table;

/// The version of every document's shape; raised when a field changes meaning or goes away
/// (adding a field does not raise it).
pub const VERSION: u32 = 1;

/// Prints `{"schema": "gfs2-fencing.<view>", "version": 1, <body's fields>}`.
pub fn emit(view: &str, body: Value) {
    let mut doc = Map::new();
    doc.insert("schema".into(), json!(format!("gfs2-fencing.{view}")));
    doc.insert("version".into(), json!(VERSION));
    if let Value::Object(fields) = body {
        doc.extend(fields);
    }
    let text = serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default();
    outln!("{text}");
}

/// `12s`, `5m`, `3h`, `2d`: the largest whole unit.
pub fn ago(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// A time for a table: RFC 3339, or `-`.
pub fn when(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

/// A request file, as every document shows it.
pub fn request_json(f: &RequestFile) -> Value {
    let r = f.request.as_ref();
    let asked = r.and_then(|r| r.timestamp).or(f.modified);
    json!({
        "file": f.name,
        "location": f.location,
        "state": f.state,
        "request_id": r.map(|r| r.request_id.as_str()),
        "action": r.map(|r| r.action.to_string()),
        "target_node": r.map(|r| r.target_node.as_str()),
        "timestamp": r.and_then(|r| r.timestamp),
        "deadline": r.and_then(|r| r.deadline),
        "age_secs": asked.map(|t| t.age().as_secs()),
        "past_deadline": f.past_deadline,
        "cancelled": r.is_some_and(|r| r.cancelled),
        "recorder_node": r.and_then(|r| r.recorder_node.as_deref()),
        "error": f.error,
    })
}

/// A record, live or archived; `fenced`: it is its node's latest fence record
/// (`ledger::fenced`).
pub fn record_json(r: RecordRef<'_>, fenced: bool) -> Value {
    let mut v = response_json(r.response());
    if let Value::Object(m) = &mut v {
        m.insert("file".into(), json!(r.name()));
        m.insert("place".into(), json!(r.place()));
        m.insert("observed".into(), json!(r.observed()));
        m.insert("fenced".into(), json!(fenced));
        let future = matches!(r, RecordRef::Live(rec) if rec.future_timestamp);
        m.insert("future_timestamp".into(), json!(future));
    }
    v
}

fn response_json(r: &Response) -> Value {
    let levels: Vec<Value> = r
        .levels
        .iter()
        .map(|l| {
            json!({
                "level": l.level, "backend": l.backend, "success": l.success,
                "message": l.message, "duration_ms": l.duration_ms, "simulated": l.simulated,
            })
        })
        .collect();
    json!({
        "request_id": r.request_id.as_str(),
        "target_node": r.target_node.as_str(),
        "action_performed": r.action_performed.map(|a| a.to_string()),
        "success": r.success,
        "outcome": crate::model::outcome_of(r),
        "fence_record": r.is_fence_record(),
        "message": r.message,
        "timestamp": r.timestamp,
        "responder": r.responder,
        "executed": r.executed,
        "levels": levels,
    })
}

/// A fenced node and its latest fence record.
pub fn fenced_json(node: &str, rec: &Record) -> Value {
    json!({ "node": node, "record": record_json(RecordRef::Live(rec), true) })
}

/// An event line, as read (every field may be null).
pub fn event_json(e: &Event) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

/// A request id with everything joined to it (`history`'s `fence` entries, `show`).
pub fn fence_json(f: &Fence<'_>, fenced: &dyn Fn(&RecordRef<'_>) -> bool) -> Value {
    let records: Vec<Value> = f
        .records
        .iter()
        .map(|r| record_json(*r, fenced(r)))
        .collect();
    json!({
        "kind": "fence",
        "time": f.time(),
        "request_id": f.request_id,
        "node": f.node(),
        "action": f.action(),
        "outcome": f.outcome(),
        "reported": f.reported(),
        "request": f.request.map(request_json),
        "records": records,
        "events": f.events.iter().map(|e| event_json(e)).collect::<Vec<_>>(),
    })
}
