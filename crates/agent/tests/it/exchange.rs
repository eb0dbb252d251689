//! The request/response exchange through the real binary and real files, with a responder
//! thread written here (polling, on purpose simple; the real daemon has its own tests).

use std::time::{Duration, Instant};

use crate::common::{self, text, Answer, Responder, Sandbox};
use gfs2_fence_protocol::{Request, MAX_SPOOL_FILE};

#[test]
fn success_response_exits_0_and_logs_requested_then_completed() {
    let sb = Sandbox::new();
    let responder = Responder::start(&sb, Answer::Success);
    let out = sb.run("nodename=cn1\naction=reboot\nport=cn1\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(responder.stop(), 1);
    assert_eq!(sb.statuses(), ["requested", "completed"]);
    let ev = &sb.events()[1];
    assert_eq!(ev["target_node"], "cn1");
    assert_eq!(ev["gfs2_discovery"]["enabled"], false);
    assert_eq!(
        ev["gfs2_discovery"]["reason"],
        "disabled by gfs2_discovery=false"
    );
    let readable =
        std::fs::read_to_string(sb.log.join("fence-events-readable.log")).unwrap_or_default();
    assert!(
        readable.contains("ACTION=reboot TARGET=cn1 GFS2=none STATUS=completed DETAILS=\""),
        "{readable}"
    );
    assert_eq!(
        sb.requests().len(),
        1,
        "the responder here leaves requests in place"
    );
    assert_eq!(
        common::visible(&sb.rs).len(),
        1,
        "the agent never deletes the response"
    );
}

#[test]
fn argv_fence_with_nnf_file_naming() {
    let sb = Sandbox::new();
    let responder = Responder::start(&sb, Answer::Success);
    let (rq, rs, log) = (
        sb.rq.display().to_string(),
        sb.rs.display().to_string(),
        sb.log.display().to_string(),
    );
    let out = sb.run_argv(&[
        "-o",
        "off",
        "-n",
        "cn2",
        "--request-dir",
        &rq,
        "--response-dir",
        &rs,
        "--log-dir",
        &log,
        "--gfs2-discovery=false",
        "--file-naming=nnf",
        "--fence-timeout=30",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    responder.stop();
    let names = sb.requests();
    assert!(
        names.len() == 1 && names[0].starts_with("cn2-"),
        "{names:?}"
    );
}

#[test]
fn failure_response_exits_1() {
    let sb = Sandbox::new();
    let _r = Responder::start(&sb, Answer::Failure);
    let out = sb.run("port=cn1\naction=off\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("bmc unreachable"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sb.statuses(), ["requested", "failed"]);
}

/// A bad response is a failure at once; the 30 s timeout is far from the 10 s bound.
fn fails_fast(answer: Answer, expect: &str) {
    let sb = Sandbox::new();
    let _r = Responder::start(&sb, answer);
    let t = Instant::now();
    let out = sb.run("port=cn1\naction=reboot\nfence_timeout=30\n");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "waited {:?}",
        t.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(expect), "{err}");
    assert_eq!(sb.statuses(), ["requested", "failed"]);
}

#[test]
fn malformed_response_fails_at_once() {
    fails_fast(Answer::Garbage, "not valid JSON");
}

#[test]
fn response_for_another_request_fails_at_once() {
    fails_fast(Answer::WrongId, "is for request");
}

#[test]
fn symlinked_response_is_refused_at_once() {
    fails_fast(Answer::Symlink, "symbolic link");
}

#[test]
fn fifo_response_is_refused_at_once_without_hanging() {
    fails_fast(Answer::Fifo, "FIFO");
}

#[test]
fn timeout_logs_timeout_and_withdraws_the_request() {
    let sb = Sandbox::new();
    let out = sb.run("port=cn1\naction=reboot\nfence_timeout=1\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(sb.statuses(), ["requested", "timeout"]);
    let names = sb.requests();
    assert_eq!(names.len(), 1, "{names:?}");
    let bytes = std::fs::read(sb.rq.join(&names[0])).unwrap_or_default();
    let req = Request::from_json(&bytes).expect("republished request parses");
    assert!(
        req.cancelled && req.is_expired(),
        "the request is marked so nobody starts it"
    );
    assert!(
        std::fs::read_dir(&sb.rq).map(|d| d.count()).unwrap_or(0) == 1,
        "no .cancel or .tmp left"
    );
}

#[test]
fn sigterm_mid_wait_cancels_promptly() {
    let sb = Sandbox::new();
    let child = sb.spawn("port=cn1\naction=reboot\nfence_timeout=60\n");
    let t = Instant::now();
    assert!(sb.wait_for_request(), "no request published");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    let out = child.wait_with_output().expect("wait");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "exited promptly, not after the 60 s timeout"
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(sb.statuses(), ["requested", "cancelled"]);
    assert!(sb.events()[1]["details"]
        .as_str()
        .unwrap_or("")
        .contains("SIGTERM"));
    let names = sb.requests();
    let bytes = std::fs::read(sb.rq.join(&names[0])).unwrap_or_default();
    assert!(Request::from_json(&bytes).is_ok_and(|r| r.cancelled));
}

#[test]
fn sigterm_after_a_responder_claimed_leaves_the_claim_alone() {
    let sb = Sandbox::new();
    let child = sb.spawn("port=cn1\naction=reboot\nfence_timeout=60\n");
    assert!(sb.wait_for_request(), "no request published");
    // Claim it the way the daemon does: rename into .claimed/.
    let name = sb.requests().remove(0);
    std::fs::create_dir(sb.rq.join(".claimed")).expect("claimed dir");
    std::fs::rename(sb.rq.join(&name), sb.rq.join(".claimed").join(&name)).expect("claim");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        sb.requests().is_empty(),
        "nothing republished: the responder owns it"
    );
    assert!(sb.events()[1]["details"]
        .as_str()
        .unwrap_or("")
        .contains("already taken"));
}

#[test]
fn eight_concurrent_agents_are_all_answered() {
    let sb = Sandbox::new();
    let responder = Responder::start(&sb, Answer::Success);
    let children: Vec<_> = (1..=8)
        .map(|i| sb.spawn(&format!("port=cn{i}\naction=reboot\nfence_timeout=30\n")))
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert_eq!(responder.stop(), 8);
    assert_eq!(
        sb.statuses().iter().filter(|s| *s == "completed").count(),
        8
    );
}

#[test]
fn missing_or_unwritable_directories_fail_fast_with_the_path() {
    let sb = Sandbox::new();
    std::fs::remove_dir(&sb.rs).expect("rm rs");
    let out = sb.run("port=cn1\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&sb.rs.display().to_string()),
        "{}",
        text(&out.stderr)
    );
    assert!(sb.requests().is_empty());
    assert_eq!(sb.statuses(), ["failed"]);

    let sb = Sandbox::new();
    std::fs::remove_dir(&sb.rq).expect("rm rq");
    std::fs::write(&sb.rq, b"not a dir").expect("file");
    let out = sb.run("port=cn1\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not a directory"),
        "{}",
        text(&out.stderr)
    );
}

/// Promise: no false success. Whoever can write the response directory could forge the answer,
/// so a world-writable spool directory is refused before anything is published, and `monitor`
/// reports it long before a fence is needed.
#[test]
fn world_writable_spool_directories_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    for which in ["responses", "requests"] {
        let sb = Sandbox::new();
        let dir = if which == "responses" { &sb.rs } else { &sb.rq };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let out = sb.run("port=cn1\nfence_timeout=30\n");
        assert_eq!(out.status.code(), Some(1), "{which}");
        let err = text(&out.stderr);
        assert!(
            err.contains("world-writable") && err.contains(&dir.display().to_string()),
            "{err}"
        );
        assert!(sb.requests().is_empty(), "{which}: a request was published");
        let out = sb.run("action=monitor\nrequire_heartbeat=false\n");
        assert_eq!(out.status.code(), Some(1), "monitor must fail for {which}");
    }
}

#[test]
fn unwritable_request_dir_fails_fast_as_an_unprivileged_user() {
    let Some(prefix) =
        common::as_nobody("unwritable_request_dir_fails_fast_as_an_unprivileged_user")
    else {
        return;
    };
    let sb = Sandbox::new();
    let _ = std::process::Command::new("chmod")
        .args(["755", &sb.tmp.path().display().to_string()])
        .status();
    let mut c = std::process::Command::new(prefix[0]);
    c.args(&prefix[1..])
        .arg(common::BIN)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = common::run_with_stdin(
        c,
        sb.stdin("port=cn1\nfence_timeout=30\nlog_dir=/nonexistent/x\n")
            .as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot write") && err.contains(&sb.rq.display().to_string()),
        "{err}"
    );
    assert!(sb.requests().is_empty());
    let _ = MAX_SPOOL_FILE;
}

#[test]
fn discovery_sources_are_used_when_enabled() {
    let sb = Sandbox::new();
    let _r = Responder::start(&sb, Answer::Success);
    let out = sb.run(
        "port=cn1\nfence_timeout=30\ngfs2_discovery=true\ngfs2_sources=mounts\ngfs2_timeout=1\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ev = &sb.events()[0];
    assert_eq!(ev["gfs2_discovery"]["enabled"], true, "{ev}");
}

#[test]
fn delay_is_honoured_and_sigterm_during_it_publishes_nothing() {
    let sb = Sandbox::new();
    let child = sb.spawn("port=cn1\naction=reboot\nfence_timeout=30\ndelay=20\n");
    // No event comes before the delay ends, so wait for what makes the kill count: the agent
    // catches SIGTERM (it installs its handlers before opening anything or delaying, and a
    // SIGTERM that arrives before the delay starts ends the delay at once).
    let t = Instant::now();
    assert!(common::wait_until(Duration::from_secs(10), || {
        common::catches_sigterm(child.id())
    }));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("wait");
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "did not sit out the 20 s delay"
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        sb.requests().is_empty(),
        "no request after a kill during the delay"
    );
    assert_eq!(sb.statuses(), ["cancelled"]);
    assert!(
        text(&out.stderr).contains("during the delay"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn delay_waits_before_publishing() {
    let sb = Sandbox::new();
    let _r = Responder::start(&sb, Answer::Success);
    let t = Instant::now();
    let out = sb.run("port=cn1\naction=reboot\nfence_timeout=30\ndelay=1\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(t.elapsed() >= Duration::from_secs(1));
}

/// Pacemaker ends an overrunning agent with SIGKILL to its process group; the guardian process
/// (its own process group) records it and withdraws the request.
#[test]
fn sigkill_of_the_process_group_is_recorded_by_the_guardian() {
    use std::os::unix::process::CommandExt;
    let sb = Sandbox::new();
    let mut cmd = sb.command();
    cmd.process_group(0);
    let mut child = cmd.spawn().expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(
            sb.stdin("port=cn1\naction=off\nfence_timeout=60\n")
                .as_bytes(),
        );
    }
    // The `requested` event is logged just before the request is published, so wait for the
    // request itself (the guardian was started before either).
    assert!(sb.wait_for_request(), "no request published");
    let pgid = format!("-{}", child.id());
    let killed = std::process::Command::new("kill")
        .args(["-KILL", "--", &pgid])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    let _ = child.wait();
    // The guardian records the kill after the agent is gone.
    common::wait_until(Duration::from_secs(20), || sb.statuses().len() >= 2);
    assert_eq!(sb.statuses(), ["requested", "cancelled"]);
    let ev = &sb.events()[1];
    assert!(
        ev["details"].as_str().unwrap_or("").contains("SIGKILL"),
        "{ev}"
    );
    assert_eq!(ev["target_node"], "cn1");
    let names = sb.requests();
    let bytes = std::fs::read(sb.rq.join(&names[0])).unwrap_or_default();
    assert!(
        Request::from_json(&bytes).is_ok_and(|r| r.cancelled),
        "request withdrawn"
    );
}

/// Makes a response from the request the agent published.
type Make = fn(&Request) -> String;

/// A success with these fields besides the required three, as JSON.
fn success_with(req: &Request, fields: &str) -> String {
    format!(
        r#"{{"request_id":"{}","success":true,"target_node":"{}","message":"done"{fields}}}"#,
        req.request_id, req.target_node
    )
}

/// Issue 10 #7, "Contradictory successes are accepted": an `off` answered `success: true` with
/// `action_performed: "on"`, or any success with `executed: false`, must not exit 0: the exit
/// lets the cluster touch the node's storage again. The failure names the contradiction.
#[test]
fn contradictory_successes_are_accepted() {
    let cases: [(&str, Make, &str); 2] = [
        (
            "on for off",
            |r| success_with(r, r#","action_performed":"on","executed":true"#),
            "success: true for action off but action_performed: on",
        ),
        (
            "executed false",
            |r| success_with(r, r#","action_performed":"off","executed":false"#),
            "success: true but executed: false",
        ),
    ];
    for (what, make, words) in cases {
        let sb = Sandbox::new();
        let _r = Responder::start(&sb, Answer::Json(make));
        let out = sb.run("port=cn1\naction=off\nfence_timeout=30\n");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains(words), "{what}: {err}");
        assert!(
            !err.contains("no response within"),
            "{what}: failed at once: {err}"
        );
        assert_eq!(sb.statuses(), ["requested", "failed"], "{what}");
    }
}

/// The other side of #7: what real responders write is still a success. nnf-sos fences
/// storage and reports `off` for a `reboot`; third-party responders write the seed's six fields
/// (no `executed`), or only the three required ones.
#[test]
fn consistent_successes_are_still_accepted() {
    let cases: [(&str, &str, Make); 3] = [
        ("off for reboot", "reboot", |r| {
            success_with(r, r#","action_performed":"off","executed":true"#)
        }),
        ("the seed's six fields", "off", |r| {
            success_with(
                r,
                r#","action_performed":"off","timestamp":"2025-01-01T00:00:00Z""#,
            )
        }),
        ("only the required fields", "reboot", |r| {
            success_with(r, "")
        }),
    ];
    for (what, action, make) in cases {
        let sb = Sandbox::new();
        let _r = Responder::start(&sb, Answer::Json(make));
        let out = sb.run(&format!("port=cn1\naction={action}\nfence_timeout=30\n"));
        assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out.stderr));
        assert_eq!(sb.statuses(), ["requested", "completed"], "{what}");
    }
}
