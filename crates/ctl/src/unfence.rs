//! `unfence`: clear a repaired node's fence records.
//!
//! A successful response is a responder's record that the node is fenced (nnf-sos will not give
//! the node storage access back while it exists). When the operator has repaired the node, they
//! clear it. Records are moved to `RESPONSE_DIR/.unfenced/`, never deleted: the audit trail stays.

use gfs2_fence_protocol::{NodeName, SpoolDir};

use crate::{Error, Spool};
use fence_gfs2_recorder::ledger;

pub fn run(spool: &Spool, node: &str, yes: bool) -> Result<bool, Error> {
    let node = NodeName::parse(node)?;
    let dir = SpoolDir::open(spool.responses())?;
    let mine: Vec<String> = ledger::load(&dir)?
        .records
        .into_iter()
        .filter(|rec| rec.response.target_node == node)
        .map(|rec| rec.name)
        .collect();
    if mine.is_empty() {
        crate::out::outln!("no records for {node} in {}", dir.path().display());
        return Ok(true);
    }
    if !yes {
        for name in &mine {
            crate::out::outln!("would clear {}", dir.join(name).display());
        }
        crate::out::outln!(
            "run again with --yes to move these {} record(s) to .unfenced/",
            mine.len()
        );
        return Ok(true);
    }
    let archive = dir.subdir(".unfenced", Some(0o750))?;
    for name in &mine {
        dir.move_to(name, &archive, name)?;
        // `move_to` does not sync, and an unfence the operator was told is done must not come
        // back after a power loss (DESIGN.md, Durability, last row): the archived name first,
        // then the removal from RESPONSE_DIR.
        archive.sync()?;
        dir.sync()?;
        crate::out::outln!("cleared {} (kept in {})", name, archive.path().display());
    }
    Ok(true)
}
