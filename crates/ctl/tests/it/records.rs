//! `records` and `requests`: what the operator reads about the spool.

use std::time::Duration;

use crate::common::{from_now, text, Sandbox};

fn response(id: &str, node: &str, action: &str, ts: &str) -> String {
    format!(
        r#"{{"request_id":"{id}","success":true,"action_performed":"{action}","target_node":"{node}","message":"m","timestamp":"{ts}"}}"#
    )
}

/// Issue 11 #8: records were ranked by the `timestamp` another host wrote, so an `off` dated
/// 1 h ahead stayed the latest record after a later `on` and the node was listed FENCED. They
/// rank by when this host saw them (mtime), and the future timestamp is flagged.
#[test]
fn records_do_not_list_fenced_a_node_that_is_on() {
    let sb = Sandbox::new();
    let ahead = from_now(3600);
    let off = response("a1", "cn1", "off", &ahead);
    sb.write(&sb.rs, "a1.json", &off, Duration::from_secs(60));
    let on = response("a2", "cn1", "on", &from_now(0));
    sb.write(&sb.rs, "a2.json", &on, Duration::ZERO);
    let out = sb.run(&["records"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("(a1.json)") && lines[0].contains("IN THE FUTURE"),
        "the skewed off first, flagged: {lines:?}"
    );
    assert!(
        lines[1].contains("(a2.json)") && !lines[1].contains("FENCED"),
        "the on is the newest record: {lines:?}"
    );
}
