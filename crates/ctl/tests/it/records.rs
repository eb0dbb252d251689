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
    assert_eq!(printed.lines().count(), 1, "no forged line: {printed:?}");
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
    assert_eq!(printed.lines().count(), 1, "no forged line: {printed:?}");
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
