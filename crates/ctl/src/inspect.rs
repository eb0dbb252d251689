//! `requests` and `records`: read-only views of the spool directories.
//!
//! Every spool file is hostile (a response's `message` or `timestamp` may carry terminal
//! escapes or a newline that forges a record line), so everything printed from one, parser
//! errors that quote raw values included, goes through [`shown`]: the protocol's one escaper.

use fence_gfs2_recorder::ledger;
use gfs2_fence_protocol::text::escape;
use gfs2_fence_protocol::{Request, SpoolDir, MAX_SPOOL_FILE};

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
        crate::out::outln!("no pending or claimed requests in {}", dir.path().display());
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
            Ok(r) => crate::out::outln!(
                "{state:8} {:6} {:24} deadline={} {}",
                r.action,
                shown(r.target_node.as_str()),
                r.deadline
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                shown(name.as_str())
            ),
            Err(e) => {
                crate::out::outln!("{state:8} INVALID {}: {}", shown(name.as_str()), shown(&e))
            }
        }
    }
    for raw in &scan.unusable {
        crate::out::outln!(
            "{state:8} UNUSABLE NAME \"{}\"",
            shown(&raw.to_string_lossy())
        );
    }
    Ok(scan.files.len() + scan.unusable.len())
}

/// Prints fence records, newest last: in the order this host saw them appear (`ledger.rs`),
/// whatever the `timestamp` another host wrote; one dated in the future is flagged.
pub fn records(spool: &Spool, node: Option<&str>) -> Result<bool, Error> {
    let dir = SpoolDir::open(spool.responses())?;
    let all = ledger::load(&dir)?;
    let mut any = false;
    for rec in all
        .records
        .iter()
        .filter(|rec| node.is_none_or(|n| rec.response.target_node.as_str() == n))
    {
        any = true;
        let (name, r) = (&rec.name, &rec.response);
        crate::out::outln!(
            "{}{} {:24} {:6} {:9} {}{} ({})",
            shown(r.timestamp.as_deref().unwrap_or("-")),
            if rec.future_timestamp {
                " (IN THE FUTURE)"
            } else {
                ""
            },
            shown(r.target_node.as_str()),
            r.action_performed.map(|a| a.as_str()).unwrap_or("-"),
            r.outcome
                .map(|o| o.as_str())
                .unwrap_or(if r.success { "success" } else { "failed" }),
            if r.fenced_off() { "FENCED " } else { "" },
            shown(&r.message),
            shown(name)
        );
    }
    if !any {
        crate::out::outln!("no records in {}", dir.path().display());
    }
    Ok(true)
}

/// `text` from a spool file, safe to print: no control, line-separator or bidi character.
pub fn shown(text: &str) -> String {
    escape(text, 2000)
}
