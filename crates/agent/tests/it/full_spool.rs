//! Issue 11 #12, the agent's part: a full `REQUEST_DIR` (small tmpfs mounts the tests make and
//! remove) while publishing and while withdrawing.

use gfs2_fence_protocol::{Request, MAX_SPOOL_FILE};
use system_tests::faults::Mount;

use crate::common::{text, Sandbox};

fn as_root(test: &str) -> bool {
    system_tests::peers::require(test, &[system_tests::peers::root()])
}

/// The `requested … published` event was logged before the publish, so a publish that then
/// failed (ENOSPC) left a record saying "published". It is logged after the publish; a failed
/// publish logs only the failure.
#[test]
fn the_requested_event_is_not_logged_before_the_publish() {
    if !as_root("the_requested_event_is_not_logged_before_the_publish") {
        return;
    }
    let sb = Sandbox::new();
    let mount = Mount::tmpfs(&sb.rq, "64k");
    mount.fill("filler");
    let out = sb.run("port=cn1\naction=off\nfence_timeout=5\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        sb.statuses(),
        vec!["failed".to_owned()],
        "{:?}",
        sb.events()
    );
    let details = sb.events()[0]["details"].as_str().unwrap_or("").to_owned();
    assert!(details.contains("cannot publish"), "{details}");
}

/// Withdrawing a request while REQUEST_DIR was full left `.X.json.cancel` for ever: the
/// cancelled copy could not be created, so the request had no visible name, no response and no
/// record. The held copy is rewritten in place (its blocks exist) and put back, cancelled.
#[test]
fn a_withdrawal_in_a_full_request_dir_leaves_no_hidden_request() {
    if !as_root("a_withdrawal_in_a_full_request_dir_leaves_no_hidden_request") {
        return;
    }
    let sb = Sandbox::new();
    let mount = Mount::tmpfs(&sb.rq, "64k");
    let agent = sb.spawn("port=cn1\naction=off\nfence_timeout=2\n");
    assert!(sb.wait_for_request(), "the request was published");
    mount.fill("filler");
    let out = agent.wait_with_output().expect("agent");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(sb.statuses(), vec!["requested", "timeout"]);
    let hidden: Vec<String> = std::fs::read_dir(&sb.rq)
        .expect("rq")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "left behind: {hidden:?}");
    let names = sb.requests();
    let name = names
        .iter()
        .find(|n| n.ends_with(".json"))
        .expect("the request is visible again");
    let dir = gfs2_fence_protocol::SpoolDir::open(&sb.rq).expect("rq");
    let bytes = dir.read(name, MAX_SPOOL_FILE).expect("read it");
    let req = Request::from_json(&bytes).expect("it parses");
    assert!(req.cancelled, "put back cancelled: {req:?}");
    let details = sb.events()[1]["details"].as_str().unwrap_or("").to_owned();
    assert!(details.contains("withdrawn"), "{details}");
}
