//! `status`, `list` and `list-status`: answers from the recorded responses, read-only.
//!
//! A node is OFF while a fence record of it stands (`ledger::fenced`: nnf-sos's rule, whatever the
//! action: an `off` or a `reboot`), ON otherwise. Nothing here writes a request or waits. `list` only
//! knows nodes that have records, so the device's nodes belong in `pcmk_host_list`
//! (`pcmk_host_check=static-list`), not in a dynamic list.

use std::collections::BTreeMap;

use gfs2_fence_protocol::NodeName;

use crate::diag::Diag;
use crate::exit::Exit;
use crate::settings::Settings;

/// Every node with a valid record, and whether it is fenced (`ledger::fenced`: nnf-sos's rule).
fn scan(s: &Settings, diag: &Diag) -> Result<BTreeMap<NodeName, bool>, String> {
    let dir = crate::exchange::open_trusted(&s.response_dir).map_err(|e| e.to_string())?;
    let found = crate::ledger::load(&dir).map_err(|e| e.to_string())?;
    for (name, why) in &found.unreadable {
        diag.debug(&format!("skipping {name}: {why}"));
    }
    for r in found.records.iter().filter(|r| r.future_timestamp) {
        diag.warn(&format!(
            "record {} is dated {}, ahead of this host's clock (skewed responder clock?); ranked by when it appeared here",
            r.name,
            crate::text::escape(r.response.timestamp.as_deref().unwrap_or(""), 64)
        ));
    }
    let fenced = crate::ledger::fenced(&found);
    Ok(found
        .records
        .iter()
        .map(|r| &r.response.target_node)
        .map(|n| (n.clone(), fenced.contains_key(n)))
        .collect())
}

/// `status`: 2 while the node is fenced (a fence record of it stands), else 0.
pub fn status(s: &Settings, target: &NodeName, diag: &Diag) -> Exit {
    match scan(s, diag) {
        Ok(nodes) if nodes.get(target).copied().unwrap_or(false) => {
            say(diag, "Status: OFF\n");
            Exit::StatusOff
        }
        Ok(_) => {
            say(diag, "Status: ON\n");
            Exit::Success
        }
        Err(e) => {
            diag.error(&format!("status: {e}"));
            Exit::Failure
        }
    }
}

/// `list` (`node,`) and `list-status` (`node,,ON|OFF`), one line per node with records, sorted.
pub fn list(s: &Settings, with_status: bool, diag: &Diag) -> Exit {
    let nodes = match scan(s, diag) {
        Ok(n) => n,
        Err(e) => {
            diag.error(&format!("list: {e}"));
            return Exit::Failure;
        }
    };
    let mut out = String::new();
    for (node, fenced) in &nodes {
        if with_status {
            out.push_str(&format!("{node},,{}\n", if *fenced { "OFF" } else { "ON" }));
        } else {
            out.push_str(&format!("{node},\n"));
        }
    }
    crate::emit(&out)
}

/// `status`'s line: its exit status is the answer, so a failed write only warns (`out.rs`).
fn say(diag: &Diag, line: &str) {
    if let Err(e) = crate::out::stdout(line) {
        diag.warn(&format!(
            "cannot write to standard output: {e}; the exit status still says it"
        ));
    }
}
