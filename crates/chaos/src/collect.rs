//! Reads back what the campaign left: the run log and the spool.

use std::path::Path;

use gfs2_fence_protocol::Response;

use crate::history::{runs_from_log, History, ResponseRecord};
use crate::world::World;

/// Fills the runs, responses and leftovers of `h` from the world's files.
pub fn collect(w: &World, h: &mut History) {
    let p = &w.paths;
    h.instances = w.instances.clone();
    h.runs = runs_from_log(&std::fs::read_to_string(&p.run_log).unwrap_or_default());
    h.hook_runs =
        crate::hook::runs_from_log(&std::fs::read_to_string(&p.hook_log).unwrap_or_default());
    h.lies = crate::liar::lies_from_log(&std::fs::read_to_string(&p.liar_log).unwrap_or_default());
    if let Some(bmc) = &w.bmc {
        h.bmc_truth =
            crate::bmc::truth_from_log(&std::fs::read_to_string(&p.bmc_truth).unwrap_or_default());
        h.bmc_told = bmc.told();
        // Every response file (moved-away ones too), event log, daemon log and agent output.
        h.secret_leaks = crate::bmc::leaks(&[&p.root.join("spool"), &p.out]);
    }
    h.responses = json_names(&p.responses)
        .into_iter()
        .map(|name| read_response(&p.responses, name))
        .collect();
    h.responses.extend(archived(&p.responses));
    h.requests_left = json_names(&p.requests);
    h.claimed_left = json_names(&p.requests.join(".claimed"));
    h.cancel_files = names(&p.requests)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.ends_with(".json.cancel"))
        .collect();
}

fn read_response(dir: &Path, name: String) -> ResponseRecord {
    let parsed = std::fs::read(dir.join(&name))
        .ok()
        .and_then(|b| Response::from_json(&b).ok());
    ResponseRecord {
        success: parsed.as_ref().is_some_and(|r| r.success),
        outcome: parsed
            .as_ref()
            .and_then(|r| r.outcome)
            .and_then(|o| serde_json::to_value(o).ok())
            .and_then(|v| v.as_str().map(str::to_owned)),
        executed: parsed.and_then(|r| r.executed),
        name,
    }
}

fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    v.sort();
    v
}

/// The responses an accepted `on` (or `gfs2-fencing unfence`) archived into
/// `RESPONSE_DIR/.unfenced/`: each answered its request as one left in RESPONSE_DIR does. An
/// archive name `<name>.<n>` (its own was taken) is read under `<name>`.
fn archived(responses: &Path) -> Vec<ResponseRecord> {
    let dir = responses.join(gfs2_fence_protocol::UNFENCED_DIR);
    names(&dir)
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .filter_map(|kept| {
            let name = archived_as(&kept)?.to_owned();
            let mut r = read_response(&dir, kept);
            r.name = name;
            Some(r)
        })
        .collect()
}

/// The RESPONSE_DIR name of an archive entry: `X.json` for `X.json` or `X.json.<n>`.
pub fn archived_as(kept: &str) -> Option<&str> {
    if kept.ends_with(".json") {
        return Some(kept);
    }
    let (name, n) = kept.rsplit_once('.')?;
    (name.ends_with(".json") && n.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

/// Protocol-visible names (`*.json`, no leading dot) in `dir`; none when it is missing.
pub fn json_names(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| !n.starts_with('.') && n.ends_with(".json"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::archived_as;

    /// An `on`'s answer archived under a fresh name still answers its request.
    #[test]
    fn an_archive_name_maps_back_to_the_response_name() {
        assert_eq!(archived_as("a.json"), Some("a.json"));
        assert_eq!(archived_as("a.json.12"), Some("a.json"));
        assert_eq!(archived_as("a.json.x"), None);
        assert_eq!(archived_as("a.txt.1"), None);
    }
}
