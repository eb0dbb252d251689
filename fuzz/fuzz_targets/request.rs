//! Fuzzes `Request::from_json`, the daemon's (and nnf-sos's) reading of a request file that any
//! process able to write the request directory may have put there.
//!
//! Invariants beyond "no panic": an accepted request keeps the limits the parser promises, and
//! it re-serialises into a request that parses again to the same thing (timestamps are written
//! with millisecond precision, so they may move by less than a millisecond once, then never).

#![no_main]

use std::time::Duration;

use gfs2_fence_protocol::{NodeName, Request, Timestamp};
use libfuzzer_sys::fuzz_target;

/// The limits of `crates/protocol/src/request.rs` (not exported; the protocol doc states them).
const MAX_FILESYSTEMS: usize = 1024;
const MAX_FILESYSTEM_NAME: usize = 256;

fuzz_target!(|data: &[u8]| {
    let Ok(req) = Request::from_json(data) else {
        return;
    };
    assert!(req.gfs2_filesystems.len() <= MAX_FILESYSTEMS);
    for fs in &req.gfs2_filesystems {
        assert!(!fs.is_empty() && fs.len() <= MAX_FILESYSTEM_NAME);
        assert!(
            !fs.chars().any(char::is_control),
            "control character in {fs:?}"
        );
    }
    let node = req.target_node.as_str();
    assert_eq!(NodeName::parse(node).ok().as_ref(), Some(&req.target_node));
    if req.cancelled {
        assert!(
            req.is_expired(),
            "a cancelled request must never be started"
        );
    }

    let again = Request::from_json(&req.to_json())
        .unwrap_or_else(|e| panic!("re-serialised request does not parse: {e}\n{req:?}"));
    assert_eq!(again.request_id, req.request_id);
    assert_eq!(again.action, req.action);
    assert_eq!(again.target_node, req.target_node);
    assert_eq!(again.gfs2_filesystems, req.gfs2_filesystems);
    assert_eq!(again.recorder_node, req.recorder_node);
    assert_eq!(again.gfs2_discovery, req.gfs2_discovery);
    assert_eq!(again.cancelled, req.cancelled);
    assert_eq!(again.schema_version, req.schema_version);
    close(again.timestamp, req.timestamp, "timestamp");
    close(again.deadline, req.deadline, "deadline");

    let third = Request::from_json(&again.to_json()).expect("a written request parses");
    assert_eq!(third, again, "writing is not a fixed point");
});

/// Both absent, or both present and less than a millisecond apart.
fn close(a: Option<Timestamp>, b: Option<Timestamp>, what: &str) {
    match (a, b) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            let (a, b) = (a.to_system_time(), b.to_system_time());
            let d = a
                .duration_since(b)
                .or_else(|_| b.duration_since(a))
                .unwrap_or(Duration::MAX);
            assert!(
                d < Duration::from_millis(1),
                "{what} moved by {d:?}: {a:?} {b:?}"
            );
        }
        _ => panic!("{what} appeared or vanished"),
    }
}
