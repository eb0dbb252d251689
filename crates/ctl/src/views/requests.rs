//! `requests`: every request file, queued or claimed, with its state: pending, claimed,
//! cancelled (`"cancelled": true`: withdrawn, no responder may run it), expired (queued past
//! its deadline), INVALID (unreadable or not a request) or UNUSABLE (a name the protocol cannot
//! use).

use serde_json::json;

use crate::inspect::shown;
use crate::model::{Location, Model, RequestFile, State};
use crate::out::outln;
use crate::views::{ago, emit, request_json, when, Table};
use crate::{Error, Exit, Spool};

pub fn run(spool: &Spool) -> Result<Exit, Error> {
    let model = Model::load(spool)?;
    if spool.json {
        let all: Vec<_> = model.requests.iter().map(request_json).collect();
        emit(
            "requests",
            json!({ "request_dir": model.request_dir, "requests": all }),
        );
        return Ok(Exit::Success);
    }
    if model.requests.is_empty() {
        outln!(
            "no request files in {} (nor in its .claimed/)",
            model.request_dir.display()
        );
        return Ok(Exit::Success);
    }
    table(&model.requests).print();
    Ok(Exit::Success)
}

/// The table of request files (`status` prints it too).
pub fn table<'a>(files: impl IntoIterator<Item = &'a RequestFile>) -> Table {
    let mut t = Table::new(&[
        "STATE", "WHERE", "ACTION", "NODE", "AGE", "DEADLINE", "FILE",
    ]);
    for f in files {
        t.row(row(f));
    }
    t
}

fn row(f: &RequestFile) -> Vec<String> {
    let state = match f.state {
        State::Invalid | State::Unusable => f.state.as_str().to_uppercase(),
        s => s.as_str().to_owned(),
    };
    let place = match f.location {
        Location::Queue => "queue",
        Location::Claimed => ".claimed",
    };
    let file = match &f.error {
        Some(e) => format!("{}: {}", shown(&f.name), shown(e)),
        None => shown(&f.name),
    };
    let Some(r) = &f.request else {
        return vec![
            state,
            place.into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            file,
        ];
    };
    let asked = r.timestamp.or(f.modified);
    let deadline = match (r.deadline, f.past_deadline) {
        (Some(d), true) => format!("{d} (PAST)"),
        (d, _) => when(d),
    };
    vec![
        state,
        place.into(),
        r.action.to_string(),
        shown(r.target_node.as_str()),
        asked.map_or_else(|| "-".into(), |t| ago(t.age())),
        deadline,
        file,
    ]
}
