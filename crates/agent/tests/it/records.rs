//! `status`, `list`, `list-status` from recorded responses and `monitor` with the heartbeat:
//! none of them may write a request or wait.

use std::time::{Duration, SystemTime};

use crate::common::{text, Sandbox};

fn record(sb: &Sandbox, file: &str, node: &str, success: bool, action: &str, ts: &str) {
    let id = file
        .trim_end_matches(".json")
        .rsplit('-')
        .next()
        .unwrap_or("x");
    sb.write_response(
        file,
        &format!(r#"{{"request_id":"{id}","success":{success},"action_performed":"{action}","target_node":"{node}","message":"m","timestamp":"{ts}"}}"#),
    );
}

/// nnf-sos's fenced-node rule (`protocol.md`), which `status` and `list-status` apply: a node is
/// OFF while any response says it succeeded for it (`success: true` or nnf-sos's `status:
/// "success"`), whatever the action and whatever came after; a failure clears nothing. (In the
/// field an `on` that succeeds archives the node's records, so cn3's pair does not stay.)
#[test]
fn status_is_off_while_a_fence_record_stands() {
    let sb = Sandbox::new();
    record(&sb, "a1.json", "cn1", true, "off", "2025-10-20T14:30:00Z");
    record(
        &sb,
        "a2.json",
        "cn2",
        true,
        "reboot",
        "2025-10-20T14:30:00Z",
    );
    record(&sb, "a3.json", "cn3", true, "off", "2025-10-20T14:30:00Z");
    record(&sb, "a4.json", "cn3", true, "on", "2025-10-21T09:00:00Z");
    record(&sb, "a5.json", "cn2", false, "off", "2025-10-22T09:00:00Z");
    record(&sb, "a6.json", "cn4", false, "off", "2025-10-22T09:00:00Z");
    sb.write_response(
        "cn5-a7.json",
        r#"{"request_id":"a7","success":false,"status":"success","action_performed":"off","target_node":"cn5"}"#,
    );
    std::fs::write(sb.rs.join("junk.json"), b"{ not json").expect("junk");
    std::fs::write(sb.rs.join(".fence_watcher.heartbeat"), b"{}").expect("hb");
    for (node, code, word) in [
        ("cn1", 2, "OFF"),
        ("cn2", 2, "OFF"),
        ("cn3", 2, "OFF"),
        ("cn4", 0, "ON"),
        ("cn5", 2, "OFF"),
        ("cn9", 0, "ON"),
    ] {
        let out = sb.run(&format!("action=status\nport={node}\n"));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{node}: {}",
            text(&out.stderr)
        );
        assert_eq!(
            text(&out.stdout).trim(),
            format!("Status: {word}"),
            "{node}"
        );
    }
    let out = sb.run("action=list\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "cn1,\ncn2,\ncn3,\ncn4,\ncn5,\n");
    let out = sb.run("action=list-status\n");
    assert_eq!(
        text(&out.stdout),
        "cn1,,OFF\ncn2,,OFF\ncn3,,OFF\ncn4,,ON\ncn5,,OFF\n"
    );
    assert!(
        sb.requests().is_empty() && !sb.log.exists(),
        "read-only actions write nothing"
    );
}

#[test]
fn status_without_response_dir_is_an_error_not_off() {
    let sb = Sandbox::new();
    std::fs::remove_dir(&sb.rs).expect("rm");
    let out = sb.run("action=status\nport=cn1\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&sb.rs.display().to_string()));
}

/// Makes `path` look `age` old (its mtime).
fn set_age(path: &std::path::Path, age: Duration) {
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open for mtime");
    f.set_modified(SystemTime::now() - age).expect("mtime");
}

fn heartbeat(sb: &Sandbox, age: Duration) {
    let path = sb.rs.join(".fence_watcher.heartbeat");
    std::fs::write(
        &path,
        br#"{"pid":1,"host":"h","started":"2025-10-20T14:30:00Z","interval_secs":10}"#,
    )
    .expect("hb");
    set_age(&path, age);
}

#[test]
fn monitor_checks_dirs_and_heartbeat() {
    let sb = Sandbox::new();
    let out = sb.run("action=monitor\n");
    assert_eq!(out.status.code(), Some(1), "missing heartbeat");
    assert!(
        text(&out.stderr).contains("no responder heartbeat"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("require_heartbeat=false"));

    heartbeat(&sb, Duration::from_secs(1));
    let out = sb.run("action=monitor\n");
    assert_eq!(out.status.code(), Some(0), "fresh: {}", text(&out.stderr));

    heartbeat(&sb, Duration::from_secs(120));
    let out = sb.run("action=monitor\n");
    assert_eq!(out.status.code(), Some(1), "stale");
    assert!(text(&out.stderr).contains("s old"), "{}", text(&out.stderr));
    let out = sb.run("action=monitor\nheartbeat_max_age=300\n");
    assert_eq!(out.status.code(), Some(0), "a longer max age accepts it");

    std::fs::remove_file(sb.rs.join(".fence_watcher.heartbeat")).expect("rm hb");
    let out = sb.run("action=monitor\nrequire_heartbeat=false\n");
    assert_eq!(out.status.code(), Some(0), "third-party responder");

    std::fs::remove_dir(&sb.rq).expect("rm rq");
    let out = sb.run("action=monitor\nrequire_heartbeat=false\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&sb.rq.display().to_string()));
    assert!(!sb.log.exists(), "monitor opens no log");
}

/// Writes a heartbeat naming `pid` on this host (as fence_watcher does).
fn local_heartbeat(sb: &Sandbox, pid: u32) -> std::path::PathBuf {
    let path = sb.rs.join(".fence_watcher.heartbeat");
    let host = gfs2_fence_protocol::hostname();
    std::fs::write(
        &path,
        format!(
            r#"{{"pid":{pid},"host":"{host}","started":"2025-10-20T14:30:00Z","interval_secs":10}}"#
        ),
    )
    .expect("hb");
    path
}

/// Issue 11 #6: `touch -d '+1 hour'` on a dead daemon's heartbeat kept `monitor` green. A
/// heartbeat more than 5 s in the future is stale, and one written on this host needs its pid
/// alive, whatever its mtime.
#[test]
fn a_heartbeat_dated_in_the_future_is_not_fresh_for_ever() {
    let sb = Sandbox::new();
    let mut gone = std::process::Command::new("true").spawn().expect("true");
    let dead = gone.id();
    gone.wait().expect("reaped");
    let path = local_heartbeat(&sb, dead);
    let touch = std::process::Command::new("touch")
        .args(["-d", "+1 hour"])
        .arg(&path)
        .status()
        .expect("touch");
    assert!(touch.success());
    let out = sb.run("action=monitor\n");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a future heartbeat of a dead pid"
    );
    assert!(
        text(&out.stderr).contains("in the future"),
        "{}",
        text(&out.stderr)
    );

    // Dated now but by a dead pid of this host: not a responder.
    set_age(&path, Duration::ZERO);
    let out = sb.run("action=monitor\n");
    assert_eq!(out.status.code(), Some(1), "dead local pid");
    assert!(
        text(&out.stderr).contains(&format!("pid {dead} on this host")),
        "{}",
        text(&out.stderr)
    );

    // A live pid of this host (this test) with a fresh beat is fine; 1 h ahead it is not.
    local_heartbeat(&sb, std::process::id());
    let out = sb.run("action=monitor\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let f = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("hb");
    f.set_modified(SystemTime::now() + Duration::from_secs(3600))
        .expect("mtime");
    let out = sb.run("action=monitor\n");
    assert_eq!(out.status.code(), Some(1), "live pid, 1 h in the future");
    // Within the tolerance (a coarse or slightly slewed clock) it still counts.
    f.set_modified(SystemTime::now() + Duration::from_secs(2))
        .expect("mtime");
    let out = sb.run("action=monitor\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// An RFC 3339 time `secs` from now.
fn rfc3339_from_now(secs: u64) -> String {
    gfs2_fence_protocol::Timestamp::now()
        .plus(Duration::from_secs(secs))
        .to_string()
}

/// Issue 11 #8: a record dated ahead of this host's clock (a skewed responder) is flagged. It no
/// longer decides anything: `status` follows the records that stand, not their order.
#[test]
fn a_record_dated_in_the_future_is_flagged() {
    let sb = Sandbox::new();
    record(&sb, "a1.json", "cn1", true, "off", &rfc3339_from_now(3600));
    let out = sb.run("action=status\nport=cn1\n");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("a1.json is dated") && text(&out.stderr).contains("ahead"),
        "the future timestamp is flagged: {}",
        text(&out.stderr)
    );
}
