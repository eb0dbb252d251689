//! `records` and `requests`: what the operator reads about the spool, and the defects of
//! issue 15 in them, each pinned by the test named after it.

use std::time::Duration;

use crate::common::{from_now, text, Sandbox};

fn response(id: &str, node: &str, action: &str, ts: &str) -> String {
    format!(
        r#"{{"request_id":"{id}","success":true,"action_performed":"{action}","target_node":"{node}","message":"m","timestamp":"{ts}"}}"#
    )
}

/// Issue 11 #8: records were ranked by the `timestamp` another host wrote, so an `off` dated
/// 1 h ahead stayed the latest record after a later `on`. They rank by when this host saw them
/// (mtime), and the future timestamp is flagged: the `on` is the newest record, and so the
/// node's latest fence record (a success, whatever the action: `ledger::fenced`).
#[test]
fn records_rank_by_when_this_host_saw_them_not_by_their_timestamp() {
    let sb = Sandbox::new();
    let ahead = from_now(3600);
    let off = response("a1", "cn1", "off", &ahead);
    sb.write(&sb.rs, "a1.json", &off, Duration::from_secs(60));
    let on = response("a2", "cn1", "on", &from_now(0));
    sb.write(&sb.rs, "a2.json", &on, Duration::ZERO);
    let out = sb.run(&["records"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("TIMESTAMP "), "a header: {lines:?}");
    assert!(
        lines[1].contains(" a1.json ") && lines[1].contains("IN THE FUTURE"),
        "the skewed off first, flagged: {lines:?}"
    );
    assert!(!lines[1].contains("FENCED"), "{lines:?}");
    assert!(
        lines[2].contains(" a2.json ") && lines[2].contains(" FENCED "),
        "the on is the newest record: {lines:?}"
    );
}

/// The STATE cell of `file`'s row in `records` output.
fn state_of(stdout: &str, file: &str) -> String {
    let header = stdout.lines().next().unwrap_or_default();
    let col = header.find("STATE").expect("a STATE column");
    let row = stdout
        .lines()
        .find(|l| l.contains(&format!(" {file} ")) || l.ends_with(&format!(" {file}")))
        .unwrap_or_else(|| panic!("no row for {file} in:\n{stdout}"));
    row[col..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Issue 15: `records` printed FENCED by `fenced_off()` (a successful `off` only), while the
/// agent's `status` and nnf-sos count any success (`ledger::fenced`): a successful `reboot`,
/// or nnf-sos's `"status": "success"`, keeps the node fenced. FENCED now marks each fenced
/// node's latest fence record, by `ledger::fenced`.
#[test]
fn records_say_fenced_by_the_one_rule() {
    let sb = Sandbox::new();
    let reboot = response("r1", "cn1", "reboot", &from_now(0));
    sb.write(&sb.rs, "r1.json", &reboot, Duration::from_secs(30));
    let nnf = r#"{"request_id":"n1","success":false,"status":"success","target_node":"cn2"}"#;
    sb.write(&sb.rs, "n1.json", nnf, Duration::from_secs(20));
    let failed = response("f1", "cn3", "off", &from_now(0)).replace("true", "false");
    sb.write(&sb.rs, "f1.json", &failed, Duration::from_secs(10));
    let out = sb.run(&["records"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(state_of(&stdout, "r1.json"), "FENCED", "{stdout}");
    assert_eq!(state_of(&stdout, "n1.json"), "FENCED", "{stdout}");
    assert_eq!(state_of(&stdout, "f1.json"), "-", "{stdout}");
    let fenced = text(&sb.run(&["fenced"]).stdout);
    let nodes: Vec<&str> = fenced
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(nodes, ["cn1", "cn2"], "{fenced}");
}

/// Issue 15: `records nosuch` said "no records in DIR" although DIR held some.
#[test]
fn records_of_an_unknown_node_say_how_many_other_records_there_are() {
    let sb = Sandbox::new();
    for id in ["a1", "a2"] {
        let r = response(id, "cn1", "off", &from_now(0));
        sb.write(&sb.rs, &format!("{id}.json"), &r, Duration::ZERO);
    }
    let out = sb.run(&["records", "nosuch"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!(
            "no records for nosuch (2 records of other nodes in {})",
            sb.rs.display()
        )
    );
    let empty = Sandbox::new();
    let out = empty.run(&["records", "nosuch"]);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("no records for nosuch in {}", empty.rs.display())
    );
}

/// Issue 15: `records` silently skipped a malformed response that `requests` reported as
/// INVALID; it may be a node's record that nnf-sos still reads. It is listed, with why.
#[test]
fn records_list_a_malformed_response_as_invalid() {
    let sb = Sandbox::new();
    let ok = response("a1", "cn1", "off", &from_now(0));
    sb.write(&sb.rs, "a1.json", &ok, Duration::ZERO);
    sb.write(&sb.rs, "broken.json", "{ not json", Duration::ZERO);
    let out = sb.run(&["records"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(state_of(&stdout, "broken.json"), "INVALID", "{stdout}");
    assert!(stdout.contains("not valid JSON"), "{stdout}");
    let out = sb.run(&["records", "cn1"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        state_of(&stdout, "broken.json"),
        "INVALID",
        "it may be cn1's: {stdout}"
    );
}

/// Issue 15: `requests` showed a request withdrawn by its agent (`"cancelled": true`) as
/// pending; no responder may run it.
#[test]
fn requests_show_a_cancelled_request_as_cancelled() {
    let sb = Sandbox::new();
    let req = |id: &str, extra: &str| {
        format!(
            r#"{{"request_id":"{id}","action":"off","target_node":"cn1","timestamp":"{}","deadline":"{}"{extra}}}"#,
            from_now(0),
            from_now(300)
        )
    };
    sb.write(
        &sb.rq,
        "c1.json",
        &req("c1", r#","cancelled":true"#),
        Duration::ZERO,
    );
    sb.write(&sb.rq, "p1.json", &req("p1", ""), Duration::ZERO);
    let out = sb.run(&["requests"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let state = |file: &str| {
        let row = stdout
            .lines()
            .find(|l| l.ends_with(file))
            .unwrap_or_default();
        row.split_whitespace().next().unwrap_or_default().to_owned()
    };
    assert_eq!(state("c1.json"), "cancelled", "{stdout}");
    assert_eq!(state("p1.json"), "pending", "{stdout}");
}

/// Whether `s` holds a character a terminal could act on (C0 but the newline ending each line,
/// DEL, C1 such as U+009B CSI) or a line separator.
fn has_raw_control(s: &str) -> bool {
    s.chars()
        .any(|c| (c.is_control() && c != '\n') || matches!(c, '\u{2028}' | '\u{2029}'))
}

/// Issue 11 #9: a response's `message` and `timestamp` with OSC (set the title), `ESC [2J`
/// (clear the screen), U+009B and a newline (a forged record line) were printed raw by
/// `records`, and `requests` quoted raw field values in parser errors. Both escape everything
/// they print from a spool file.
#[test]
fn terminal_escapes_and_forged_lines_are_not_printed_raw() {
    let sb = Sandbox::new();
    let evil = "\\u001b]0;owned\\u0007\\u001b[2J\\u009b31m\\n2099-01-01T00:00:00Z cn9 off success FENCED forged (x.json)";
    let json = format!(
        r#"{{"request_id":"a1","success":true,"action_performed":"on","target_node":"cn1","message":"{evil}","timestamp":"{evil}"}}"#
    );
    sb.write(&sb.rs, "a1.json", &json, Duration::ZERO);
    let out = sb.run(&["records"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(!has_raw_control(&printed), "raw control in: {printed:?}");
    assert_eq!(
        printed.lines().count(),
        2,
        "a header, no forged line: {printed:?}"
    );
    assert!(printed.contains("\\u{1b}]0;owned\\u{7}"), "{printed:?}");

    // A request whose fields do not parse: the error quotes the raw value.
    let bad = format!(
        r#"{{"request_id":"r1","action":"{evil}","target_node":"{evil}","timestamp":"{evil}"}}"#
    );
    sb.write(&sb.rq, "r1.json", &bad, Duration::ZERO);
    let out = sb.run(&["requests"]);
    let printed = text(&out.stdout);
    assert!(printed.contains("INVALID"), "{printed:?}");
    assert!(!has_raw_control(&printed), "raw control in: {printed:?}");
    assert_eq!(
        printed.lines().count(),
        2,
        "a header, no forged line: {printed:?}"
    );
}

/// Issue 11 #11 (the operator tool's part): `println!` panicked when stdout failed. A closed
/// pipe (`records | head -1`) keeps the command's status, a full device fails it with one
/// message; neither panics.
#[test]
fn records_and_requests_do_not_panic_when_stdout_fails() {
    let sb = Sandbox::new();
    let on = response("a2", "cn1", "on", &from_now(0));
    sb.write(&sb.rs, "a2.json", &on, Duration::ZERO);
    for sub in ["records", "requests", "check"] {
        let mut reader = std::process::Command::new("true")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("spawn true");
        let w = reader.stdin.take().expect("pipe");
        reader.wait().expect("true exits");
        let out = sb.command(&[sub]).stdout(w).output().expect("run");
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{sub} | closed: {err}");
        // check fails here (no heartbeat), and still says so by its status.
        let code = if sub == "check" { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(code), "{sub} | closed: {err}");

        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let out = sb.command(&[sub]).stdout(full).output().expect("run");
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{sub} >/dev/full: {err}");
        assert_eq!(out.status.code(), Some(1), "{sub} >/dev/full: {err}");
        if sub != "check" {
            assert!(err.contains("cannot write to standard output"), "{err}");
        }
    }
}
