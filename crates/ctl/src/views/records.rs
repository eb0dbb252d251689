//! `records [NODE]`: the fence records, live (RESPONSE_DIR, oldest first in the order this
//! host saw them appear, `ledger.rs`) then archived (`.unfenced/`), and every record file that
//! is not a usable response, as INVALID (it may be a node's record that nnf-sos still reads).
//! `FENCED` marks the record that keeps its node fenced: its latest fence record by
//! `ledger::fenced`, the one rule.

use std::collections::BTreeSet;

use serde_json::json;

use crate::inspect::shown;
use crate::model::{Invalid, Model, Place, RecordRef};
use crate::out::outln;
use crate::views::{emit, record_json, Table};
use crate::{Error, Exit, Spool};

pub fn run(spool: &Spool, node: Option<&str>) -> Result<Exit, Error> {
    let model = Model::load(spool)?;
    let fenced: BTreeSet<&str> = model.fenced().values().map(|r| r.name.as_str()).collect();
    let is_fenced = |r: &RecordRef<'_>| r.place() == Place::Live && fenced.contains(r.name());
    let mine: Vec<RecordRef<'_>> = model
        .all_records()
        .into_iter()
        .filter(|r| node.is_none_or(|n| r.response().target_node.as_str() == n))
        .collect();
    if spool.json {
        let records: Vec<_> = mine.iter().map(|r| record_json(*r, is_fenced(r))).collect();
        let invalid: Vec<_> = model.records.invalid.iter().map(invalid_json).collect();
        emit(
            "records",
            json!({
                "response_dir": model.response_dir, "node": node,
                "records": records, "invalid": invalid,
            }),
        );
        return Ok(Exit::Success);
    }
    let mut t = Table::new(&[
        "TIMESTAMP",
        "NODE",
        "ACTION",
        "OUTCOME",
        "STATE",
        "FILE",
        "MESSAGE",
    ]);
    for r in &mine {
        t.row(row(*r, is_fenced(r)));
    }
    for bad in &model.records.invalid {
        t.row(invalid_row(bad));
    }
    if !t.is_empty() {
        t.print();
    }
    if mine.is_empty() {
        outln!("{}", nothing(&model, node));
    }
    Ok(Exit::Success)
}

/// Issue 15: `records nosuch` said "no records in DIR" although DIR held some.
fn nothing(model: &Model, node: Option<&str>) -> String {
    let dir = model.response_dir.display();
    let others = model.records.live.records.len();
    match node {
        Some(n) if others > 0 => format!(
            "no records for {} ({others} record{} of other nodes in {dir})",
            shown(n),
            if others == 1 { "" } else { "s" }
        ),
        Some(n) => format!("no records for {} in {dir}", shown(n)),
        None => format!("no records in {dir}"),
    }
}

fn row(r: RecordRef<'_>, fenced: bool) -> Vec<String> {
    let resp = r.response();
    let mut ts = shown(resp.timestamp.as_deref().unwrap_or("-"));
    if matches!(r, RecordRef::Live(rec) if rec.future_timestamp) {
        ts.push_str(" (IN THE FUTURE)");
    }
    let state = match (r.place(), fenced) {
        (Place::Archived, _) => "archived",
        (Place::Live, true) => "FENCED",
        (Place::Live, false) => "-",
    };
    vec![
        ts,
        shown(resp.target_node.as_str()),
        resp.action_performed.map_or("-", |a| a.as_str()).to_owned(),
        crate::model::outcome_of(resp).to_owned(),
        state.to_owned(),
        file(r.place(), r.name()),
        shown(&resp.message),
    ]
}

fn invalid_row(bad: &Invalid) -> Vec<String> {
    let dash = || "-".to_owned();
    vec![
        dash(),
        dash(),
        dash(),
        dash(),
        "INVALID".into(),
        file(bad.place, &bad.name),
        shown(&bad.error),
    ]
}

fn file(place: Place, name: &str) -> String {
    match place {
        Place::Live => shown(name),
        Place::Archived => format!(".unfenced/{}", shown(name)),
    }
}

fn invalid_json(bad: &Invalid) -> serde_json::Value {
    json!({ "file": bad.name, "place": bad.place, "error": bad.error })
}
