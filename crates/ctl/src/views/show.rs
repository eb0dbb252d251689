//! `show ID|FILE`: one request id with everything joined to it: its request file, its
//! responses (live and archived) with their levels, its events. FILE is a request or record
//! file's name or path (an archived `<name>.<n>` too); a file that is not a usable request or
//! response is shown with why.

use std::path::Path;

use serde_json::json;

use crate::inspect::shown;
use crate::model::{Fence, Model, Place, RecordRef};
use crate::out::outln;
use crate::views::{emit, fence_json, when, Table};
use crate::{Error, Exit, Spool};

pub fn run(spool: &Spool, what: &str) -> Result<Exit, Error> {
    let model = Model::load(spool)?;
    let fences = model.fences();
    let name = Path::new(what)
        .file_name()
        .map_or(what.to_owned(), |n| n.to_string_lossy().into_owned());
    let found = fences.iter().find(|f| f.request_id == what).or_else(|| {
        fences.iter().find(|f| {
            f.request.is_some_and(|r| r.name == name) || f.records.iter().any(|r| r.name() == name)
        })
    });
    let Some(fence) = found else {
        return invalid(&model, &name, spool.json).ok_or_else(|| Error::NotFound(shown(what)));
    };
    let fenced = model.fenced();
    let is_fenced =
        |r: &RecordRef<'_>| r.place() == Place::Live && fenced.values().any(|f| f.name == r.name());
    if spool.json {
        emit("show", fence_json(fence, &is_fenced));
    } else {
        text(fence, &is_fenced);
    }
    Ok(Exit::Success)
}

/// A request or record file by that name that is not usable: shown with why.
fn invalid(model: &Model, name: &str, as_json: bool) -> Option<Exit> {
    let request = model
        .requests
        .iter()
        .find(|f| f.name == name && f.request.is_none());
    let record = model.records.invalid.iter().find(|r| r.name == name);
    let error = request
        .and_then(|f| f.error.clone())
        .or_else(|| record.map(|r| r.error.clone()))?;
    if as_json {
        let doc = json!({ "kind": "invalid", "file": name, "error": error });
        emit("show", doc);
    } else {
        outln!("file     {}", shown(name));
        outln!("state    INVALID: {}", shown(&error));
    }
    Some(Exit::Success)
}

fn text(f: &Fence<'_>, fenced: &dyn Fn(&RecordRef<'_>) -> bool) {
    outln!("request  {}", shown(&f.request_id));
    outln!("node     {}", shown(f.node().unwrap_or("-")));
    outln!(
        "action   {}",
        shown(&f.action().unwrap_or_else(|| "-".into()))
    );
    outln!("outcome  {}", shown(&f.outcome()));
    outln!("agent    {}", shown(f.reported().unwrap_or("-")));
    outln!("time     {}", when(f.time()));
    match f.request {
        Some(file) => {
            let r = file.request.as_ref();
            outln!(
                "file     {} ({}{}), deadline {}{}",
                shown(&file.name),
                file.state.as_str(),
                if file.past_deadline {
                    ", PAST its deadline"
                } else {
                    ""
                },
                when(r.and_then(|r| r.deadline)),
                r.and_then(|r| r.recorder_node.as_deref())
                    .map_or(String::new(), |n| format!(", recorded by {}", shown(n)))
            );
        }
        None => outln!("file     none left in the request directory"),
    }
    for r in &f.records {
        record(*r, fenced(r));
    }
    outln!("");
    outln!("events: {}", f.events.len());
    if !f.events.is_empty() {
        let mut t = Table::new(&["TIME", "EVENT", "ACTION", "NODE", "DETAILS"]);
        for e in &f.events {
            let cell = |v: &Option<String>| shown(v.as_deref().unwrap_or("-"));
            t.row(vec![
                cell(&e.timestamp),
                cell(&e.event),
                cell(&e.action),
                cell(&e.target_node),
                cell(&e.details),
            ]);
        }
        t.print();
    }
}

fn record(r: RecordRef<'_>, fenced: bool) {
    let resp = r.response();
    outln!("");
    outln!(
        "response {}{} ({}){}",
        if r.place() == Place::Archived {
            ".unfenced/"
        } else {
            ""
        },
        shown(r.name()),
        crate::model::outcome_of(resp),
        if fenced {
            ": FENCED, the node's latest fence record"
        } else {
            ""
        }
    );
    outln!("  message   {}", shown(&resp.message));
    outln!(
        "  responder {}, at {}",
        shown(resp.responder.as_deref().unwrap_or("-")),
        shown(resp.timestamp.as_deref().unwrap_or("-"))
    );
    if resp.levels.is_empty() {
        return;
    }
    let mut t = Table::new(&["  LEVEL", "BACKEND", "RESULT", "DURATION", "MESSAGE"]);
    for l in &resp.levels {
        let result = match (l.success, l.simulated) {
            (true, true) => "simulated",
            (true, false) => "success",
            (false, _) => "FAILED",
        };
        t.row(vec![
            format!("  {}", l.level),
            shown(&l.backend),
            result.into(),
            format!("{} ms", l.duration_ms),
            shown(&l.message),
        ]);
    }
    t.print();
}
