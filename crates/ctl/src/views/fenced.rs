//! `fenced`: the nodes fenced now, by the one rule (`fence_gfs2_recorder::ledger::fenced`, the
//! agent's `status` and nnf-sos's: a success record for the node in RESPONSE_DIR, whatever the
//! action), each with its latest fence record.

use serde_json::json;

use crate::inspect::shown;
use crate::model::{Model, RecordRef};
use crate::out::outln;
use crate::views::{emit, fenced_json, when, Table};
use crate::{Error, Exit, Spool};

pub fn run(spool: &Spool) -> Result<Exit, Error> {
    let model = Model::load(spool)?;
    let fenced = model.fenced();
    if spool.json {
        let nodes: Vec<_> = fenced
            .iter()
            .map(|(n, r)| fenced_json(n.as_str(), r))
            .collect();
        emit(
            "fenced",
            json!({ "response_dir": model.response_dir, "fenced": nodes }),
        );
        return Ok(Exit::Success);
    }
    if fenced.is_empty() {
        outln!(
            "no fenced nodes (no success record in {})",
            model.response_dir.display()
        );
        return Ok(Exit::Success);
    }
    table(&model).print();
    Ok(Exit::Success)
}

/// NODE, SINCE (when this host saw the record appear), ACTION, RECORD, MESSAGE.
pub fn table(model: &Model) -> Table {
    let mut t = Table::new(&["NODE", "SINCE", "ACTION", "RECORD", "MESSAGE"]);
    for (node, rec) in model.fenced() {
        let r = &rec.response;
        t.row(vec![
            shown(node.as_str()),
            when(RecordRef::Live(rec).observed()),
            r.action_performed.map_or("-", |a| a.as_str()).to_owned(),
            shown(&rec.name),
            shown(&r.message),
        ]);
    }
    t
}
