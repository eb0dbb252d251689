//! `unfence`: clear a repaired node's fence records.
//!
//! A successful response is a responder's record that the node is fenced (nnf-sos will not give
//! the node storage access back while it exists). When the operator has repaired the node, they
//! clear it. Records are moved to `RESPONSE_DIR/.unfenced/`, never deleted: the audit trail stays.
//! A name already taken in the archive (the node was unfenced before, with a record of the same
//! name) gets a fresh one, `<name>.<n>`. A response file that cannot be read may be this node's
//! record, and nnf-sos may still read it: it is named, left in place, and the command exits 1.

use fence_gfs2_recorder::ledger;
use gfs2_fence_protocol::{NodeName, SpoolDir, SpoolError};

use crate::out::outln;
use crate::{Error, Spool};

/// How many `<name>.<n>` are tried in the archive before giving up.
const FRESH_NAMES: u32 = 1000;

pub fn run(spool: &Spool, node: &str, yes: bool) -> Result<bool, Error> {
    let node = NodeName::parse(node)?;
    let dir = SpoolDir::open(spool.responses())?;
    let found = ledger::load(&dir)?;
    let mine: Vec<String> = found
        .records
        .into_iter()
        .filter(|rec| rec.response.target_node == node)
        .map(|rec| rec.name)
        .collect();
    let cleared = clear(&dir, &node, &mine, yes)?;
    for (name, why) in &found.unreadable {
        outln!(
            "UNREADABLE {}: {why}; it may be a record of {node} that nnf-sos still reads: fix or move it by hand",
            dir.join(name).display()
        );
    }
    Ok(cleared && found.unreadable.is_empty())
}

fn clear(dir: &SpoolDir, node: &NodeName, mine: &[String], yes: bool) -> Result<bool, Error> {
    if mine.is_empty() {
        outln!("no records for {node} in {}", dir.path().display());
        return Ok(true);
    }
    if !yes {
        for name in mine {
            outln!("would clear {}", dir.join(name).display());
        }
        outln!(
            "run again with --yes to move these {} record(s) to .unfenced/",
            mine.len()
        );
        return Ok(true);
    }
    let archive = dir.subdir(".unfenced", Some(0o750))?;
    for name in mine {
        let Some(kept) = archive_one(dir, &archive, name)? else {
            outln!("{name} was already gone (moved by someone else)");
            continue;
        };
        // `move_to` does not sync, and an unfence the operator was told is done must not come
        // back after a power loss (DESIGN.md, Durability, last row): the archived name first,
        // then the removal from RESPONSE_DIR.
        archive.sync()?;
        dir.sync()?;
        outln!(
            "cleared {} (kept as {})",
            name,
            archive.join(&kept).display()
        );
    }
    Ok(true)
}

/// Moves `name` into the archive under its own name or, when that is taken, the first free
/// `<name>.<n>`; the name it got (`None`: it was gone).
fn archive_one(dir: &SpoolDir, archive: &SpoolDir, name: &str) -> Result<Option<String>, Error> {
    let mut to = name.to_owned();
    for n in 1..=FRESH_NAMES {
        match dir.move_to(name, archive, &to) {
            Ok(moved) => return Ok(moved.then_some(to)),
            Err(SpoolError::AlreadyExists { .. }) => to = format!("{name}.{n}"),
            Err(e) => return Err(e.into()),
        }
    }
    Err(SpoolError::AlreadyExists {
        path: archive.join(&to),
    }
    .into())
}
