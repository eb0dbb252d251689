//! `requests` and `records`: read-only views of the spool directories.

use gfs2_fence_protocol::{Request, Response, SpoolDir, MAX_SPOOL_FILE};

use crate::{Error, Spool};

/// Prints pending requests (waiting for a responder) and claimed ones (being fenced).
pub fn requests(spool: &Spool) -> Result<bool, Error> {
    let dir = SpoolDir::open(spool.requests())?;
    let mut shown = 0;
    shown += print_requests(&dir, "pending")?;
    if let Ok(claimed) = dir.subdir(".claimed", None) {
        shown += print_requests(&claimed, "claimed")?;
    }
    if shown == 0 {
        println!("no pending or claimed requests in {}", dir.path().display());
    }
    Ok(true)
}

fn print_requests(dir: &SpoolDir, state: &str) -> Result<usize, Error> {
    let scan = dir.scan()?;
    for name in &scan.files {
        match dir
            .read(name.as_str(), MAX_SPOOL_FILE)
            .map_err(|e| e.to_string())
            .and_then(|b| Request::from_json(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => println!(
                "{state:8} {:6} {:24} deadline={} {}",
                r.action,
                r.target_node,
                r.deadline
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                name
            ),
            Err(e) => println!("{state:8} INVALID {name}: {e}"),
        }
    }
    for raw in &scan.unusable {
        println!("{state:8} UNUSABLE NAME {:?}", raw);
    }
    Ok(scan.files.len() + scan.unusable.len())
}

/// Loads every readable response, oldest first.
pub fn load_records(dir: &SpoolDir) -> Result<Vec<(String, Response)>, Error> {
    let scan = dir.scan()?;
    let mut out = Vec::new();
    for name in scan.files {
        let Ok(bytes) = dir.read(name.as_str(), MAX_SPOOL_FILE) else {
            continue;
        };
        if let Ok(r) = Response::from_json(&bytes) {
            out.push((name.to_string(), r));
        }
    }
    out.sort_by_key(|(_, r)| r.time());
    Ok(out)
}

/// Prints fence records, newest last.
pub fn records(spool: &Spool, node: Option<&str>) -> Result<bool, Error> {
    let dir = SpoolDir::open(spool.responses())?;
    let all = load_records(&dir)?;
    let mut any = false;
    for (name, r) in all
        .iter()
        .filter(|(_, r)| node.is_none_or(|n| r.target_node.as_str() == n))
    {
        any = true;
        println!(
            "{} {:24} {:6} {:9} {}{} ({})",
            r.timestamp.as_deref().unwrap_or("-"),
            r.target_node,
            r.action_performed.map(|a| a.as_str()).unwrap_or("-"),
            r.outcome
                .map(|o| o.as_str())
                .unwrap_or(if r.success { "success" } else { "failed" }),
            if r.fenced_off() { "FENCED " } else { "" },
            r.message,
            name
        );
    }
    if !any {
        println!("no records in {}", dir.path().display());
    }
    Ok(true)
}
