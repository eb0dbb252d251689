//! Option handling through the real binary: stdin like Pacemaker, argv like a person, unknown
//! options, bad values, missing and hostile targets (never a request file).

use crate::common::{self, text, Sandbox};

#[test]
fn unknown_options_warn_and_go_on() {
    let sb = Sandbox::new();
    let out = sb.run("action=monitor\nrequire_heartbeat=false\nbogus_option=1\nnodeid=3\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("ignoring unknown option") && err.contains("bogus_option"),
        "{err}"
    );
    assert!(
        !err.contains("nodeid"),
        "Pacemaker's nodeid is known: {err}"
    );
    let rq = sb.rq.display().to_string();
    let rs = sb.rs.display().to_string();
    let out = sb.run_argv(&[
        "-o",
        "monitor",
        "--bogus",
        "--request-dir",
        &rq,
        "--response-dir",
        &rs,
        "--require-heartbeat=false",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--bogus"));
}

#[test]
fn dash_and_underscore_spellings_on_stdin() {
    let sb = Sandbox::new();
    let out = sb.run("action=monitor\nrequire-heartbeat=false\nheartbeat-max-age=5\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("unknown"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_values_name_the_option_and_write_nothing() {
    let sb = Sandbox::new();
    for (line, name) in [
        ("fence_timeout=abc", "fence_timeout"),
        ("fence_timeout=0", "fence_timeout"),
        ("delay=-3", "delay"),
        ("gfs2_discovery=maybe", "gfs2_discovery"),
        ("gfs2_sources=pacemaker,cib", "gfs2_sources"),
        ("file_naming=fancy", "file_naming"),
        ("action=explode", "action"),
    ] {
        let out = sb.run(&format!("port=cn1\n{line}\n"));
        assert_eq!(out.status.code(), Some(1), "{line}");
        let err = text(&out.stderr);
        assert!(err.contains(&format!("error: {name}")), "{line}: {err}");
    }
    assert!(sb.requests().is_empty());
}

#[test]
fn bad_environment_values_name_the_variable() {
    let sb = Sandbox::new();
    let mut c = sb.command();
    c.env("FENCE_TIMEOUT", "soon");
    let out = common::run_with_stdin(c, sb.stdin("port=cn1\n").as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("fence_timeout (from environment FENCE_TIMEOUT)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn environment_is_used_and_parameters_win() {
    let sb = Sandbox::new();
    let mut c = sb.command();
    c.env("REQUEST_DIR", "/nonexistent/rq")
        .env("RESPONSE_DIR", &sb.rs)
        .env("REQUIRE_HEARTBEAT", "false");
    let out = common::run_with_stdin(c, b"action=monitor\n");
    assert_eq!(
        out.status.code(),
        Some(1),
        "REQUEST_DIR from the environment is used"
    );
    assert!(text(&out.stderr).contains("/nonexistent/rq"));
    let mut c = sb.command();
    c.env("REQUEST_DIR", "/nonexistent/rq")
        .env("REQUIRE_HEARTBEAT", "false");
    let out = common::run_with_stdin(c, sb.stdin("action=monitor\n").as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "request_dir= beats REQUEST_DIR: {}",
        text(&out.stderr)
    );
}

#[test]
fn missing_target_fails_without_a_request() {
    let sb = Sandbox::new();
    for action in ["reboot", "off", "on", "status"] {
        let out = sb.run(&format!("action={action}\nfence_timeout=5\n"));
        assert_eq!(out.status.code(), Some(1), "{action}");
        assert!(text(&out.stderr).contains("plug"), "{}", text(&out.stderr));
    }
    let log = sb.log.display().to_string();
    let out = sb.run_argv(&["-o", "reboot", "--log-dir", &log]);
    assert_eq!(out.status.code(), Some(1));
    assert!(sb.requests().is_empty());
}

#[test]
fn hostile_targets_are_refused_and_logged_escaped() {
    let sb = Sandbox::new();
    let long = "a".repeat(10 * 1024);
    let cases: Vec<Vec<u8>> = vec![
        b"port=../x".to_vec(),
        b"port=../../etc/passwd".to_vec(),
        b"port=cn1\x00evil".to_vec(),
        b"port=cn1/x".to_vec(),
        b"port=cn1 STATUS=completed".to_vec(),
        b"port=$(reboot)".to_vec(),
        b"port=-o".to_vec(),
        b"port=\xff\xfe".to_vec(),
        format!("port={long}").into_bytes(),
    ];
    for case in &cases {
        let mut input = sb.stdin("action=reboot\nfence_timeout=5\n").into_bytes();
        input.extend_from_slice(case);
        input.push(b'\n');
        let out = sb.run_raw_stdin(&input);
        assert_eq!(out.status.code(), Some(1), "{}", text(case));
        assert!(
            text(&out.stderr).contains("plug: node name"),
            "{}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).lines().count() <= 3,
            "no forged lines: {}",
            text(&out.stderr)
        );
    }
    let log = sb.log.display().to_string();
    let argv_cases = ["../x", "a\nSTATUS=completed", &long];
    for bad in argv_cases {
        let out = sb.run_argv(&["-o", "off", "-n", bad, "--log-dir", &log]);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
    }
    assert!(sb.requests().is_empty());
    assert!(
        std::fs::read_dir(&sb.rq).map(|d| d.count()).unwrap_or(1) == 0,
        "not even a temporary file"
    );
    let readable =
        std::fs::read_to_string(sb.log.join("fence-events-readable.log")).unwrap_or_default();
    assert_eq!(
        readable.lines().count(),
        cases.len() + argv_cases.len(),
        "{readable}"
    );
    for line in readable.lines() {
        assert!(
            line.contains("TARGET=- GFS2=none STATUS=invalid DETAILS=\"plug: node name"),
            "{line}"
        );
    }
    assert_eq!(
        sb.events().len(),
        cases.len() + argv_cases.len(),
        "every jsonl line parses"
    );
}

#[test]
fn help_and_version_touch_nothing() {
    let sb = Sandbox::new();
    let out = sb.run_argv(&["-h"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for opt in [
        "--action",
        "--plug",
        "--fence-timeout",
        "--request-dir",
        "--gfs2-sources",
        "--debug-file",
    ] {
        assert!(help.contains(opt), "{opt}");
    }
    let out = sb.run_argv(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("fence_gfs2_recorder "));
    assert!(!sb.log.exists());
}

#[test]
fn verbose_and_debug_file() {
    let sb = Sandbox::new();
    let dbg = sb.tmp.path().join("debug.log");
    let out = sb.run(&format!(
        "action=monitor\nrequire_heartbeat=false\nverbose=1\ndebug_file={}\n",
        dbg.display()
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sb2 = Sandbox::new();
    let _ = std::fs::write(sb2.rs.join("bad.json"), b"{");
    let out = sb2.run_argv(&[
        "-o",
        "list",
        "-v",
        "--response-dir",
        &sb2.rs.display().to_string(),
        "-D",
        &dbg.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("debug: skipping bad.json"),
        "{}",
        text(&out.stderr)
    );
    let written = std::fs::read_to_string(&dbg).unwrap_or_default();
    assert!(written.contains("skipping bad.json"), "{written}");
}

#[test]
fn unknown_option_values_are_never_echoed() {
    let sb = Sandbox::new();
    let out = sb.run("action=monitor\nrequire_heartbeat=false\npasswd=hunter2\n");
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("passwd") && !err.contains("hunter2"), "{err}");
    let out = sb.run_argv(&[
        "-o",
        "monitor",
        "--require-heartbeat=false",
        "--passwd=hunter2",
    ]);
    let err = text(&out.stderr);
    assert!(
        err.contains("--passwd") && !err.contains("hunter2"),
        "{err}"
    );
}

/// Regression: four parsers read "is this true?", so `quiet=TRUE` silenced the typed stage's
/// warnings but not the parser's. Every spelling fencing.py accepts now means the same to both.
#[test]
fn quiet_in_any_spelling_silences_every_stage() {
    let sb = Sandbox::new();
    // One warning from each stage: an unknown option (parser), an unwise timeout (validate-all).
    let input = |q: &str| format!("action=validate-all\nfence_timeout=60\nbogus=1\nquiet={q}\n");
    for q in ["1", "true", "TRUE", "True", "yes", "YES", "on", "On"] {
        let out = sb.run(&input(q));
        assert_eq!(out.status.code(), Some(0), "quiet={q}");
        assert_eq!(text(&out.stderr), "", "quiet={q}");
    }
    for q in ["0", "false", "FALSE", "no", "Off", "maybe"] {
        let out = sb.run(&input(q));
        let err = text(&out.stderr);
        assert!(
            err.contains("ignoring unknown option") && err.contains("no room under Pacemaker"),
            "quiet={q}: {err}"
        );
    }
    let out = sb.run_argv(&[
        "-o",
        "validate-all",
        "--fence-timeout=60",
        "--bogus",
        "--quiet=TRUE",
    ]);
    assert_eq!(text(&out.stderr), "", "--quiet=TRUE");
}

/// The same reading for the other flags: `help`, `verbose`, and the boolean settings.
#[test]
fn flags_and_booleans_in_any_case() {
    let sb = Sandbox::new();
    let out = sb.run("help=YES\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("Usage:"),
        "{}",
        text(&out.stdout)
    );
    let _ = std::fs::write(sb.rs.join("bad.json"), b"{");
    let out = sb.run("action=list\nverbose=TRUE\n");
    assert!(
        text(&out.stderr).contains("debug: skipping bad.json"),
        "{}",
        text(&out.stderr)
    );
    let out = sb.run("action=monitor\nrequire_heartbeat=FALSE\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Like the event logs (issue 10 #6), a FIFO given as the debug file must not hang the agent:
/// opened without a reader it is refused with a warning, and the action goes on. The wait is a
/// bound: on the old code the agent is still blocked in open(2) when it runs out (and killed).
#[test]
fn a_fifo_as_debug_file_does_not_hang_the_agent() {
    let sb = Sandbox::new();
    let fifo = sb.tmp.path().join("debug.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let mut child = sb.spawn(&format!(
        "action=monitor\nrequire_heartbeat=false\ndebug_file={}\n",
        fifo.display()
    ));
    let exited = common::wait_until(std::time::Duration::from_secs(30), || {
        child.try_wait().is_ok_and(|s| s.is_some())
    });
    if !exited {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
    }
    let out = child.wait_with_output().expect("agent output");
    assert!(exited, "the agent hung on the FIFO");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("cannot open debug file") && err.contains(&fifo.display().to_string()),
        "{err}"
    );
}
