//! `status`, `list` and `list-status`: answers from the recorded responses, read-only.
//!
//! A response with `success: true` is the record of what was last done to a node (nnf-sos keeps
//! the same files as its fenced-node record). Nothing here writes a request or waits. `list` only
//! knows nodes that have records, so the device's nodes belong in `pcmk_host_list`
//! (`pcmk_host_check=static-list`), not in a dynamic list.

use std::collections::BTreeMap;
use std::time::SystemTime;

use gfs2_fence_protocol::{NodeName, Response, Timestamp, MAX_SPOOL_FILE};

use crate::diag::Diag;
use crate::exit::Exit;
use crate::settings::Settings;

/// The latest successful record of one node.
#[derive(Debug)]
struct Latest {
    key: (Option<Timestamp>, SystemTime),
    off: bool,
}

/// Every node with a valid record, and its latest successful record if it has one.
fn scan(s: &Settings, diag: &Diag) -> Result<BTreeMap<NodeName, Option<Latest>>, String> {
    let dir = crate::exchange::open_trusted(&s.response_dir).map_err(|e| e.to_string())?;
    let found = dir.scan().map_err(|e| e.to_string())?;
    let mut nodes: BTreeMap<NodeName, Option<Latest>> = BTreeMap::new();
    for name in &found.files {
        let resp = match dir
            .read(name.as_str(), MAX_SPOOL_FILE)
            .map_err(|e| e.to_string())
            .and_then(|b| Response::from_json(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => r,
            Err(e) => {
                diag.debug(&format!(
                    "skipping {name}: {}",
                    crate::text::escape(&e, 300)
                ));
                continue;
            }
        };
        let slot = nodes.entry(resp.target_node.clone()).or_default();
        if !resp.success {
            continue;
        }
        let mtime = dir
            .modified(name.as_str())
            .ok()
            .flatten()
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let key = (resp.time(), mtime);
        if slot.as_ref().is_none_or(|l| key > l.key) {
            *slot = Some(Latest {
                key,
                off: resp.fenced_off(),
            });
        }
    }
    Ok(nodes)
}

fn is_off(latest: &Option<Latest>) -> bool {
    latest.as_ref().is_some_and(|l| l.off)
}

/// `status`: 2 when the node's latest successful record says it is fenced off, else 0.
pub fn status(s: &Settings, target: &NodeName, diag: &Diag) -> Exit {
    match scan(s, diag) {
        Ok(nodes) if nodes.get(target).is_some_and(is_off) => {
            println!("Status: OFF");
            Exit::StatusOff
        }
        Ok(_) => {
            println!("Status: ON");
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
    for (node, latest) in &nodes {
        if with_status {
            out.push_str(&format!(
                "{node},,{}\n",
                if is_off(latest) { "OFF" } else { "ON" }
            ));
        } else {
            out.push_str(&format!("{node},\n"));
        }
    }
    print!("{out}");
    Exit::Success
}
