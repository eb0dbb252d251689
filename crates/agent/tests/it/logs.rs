//! The event logs under concurrency: many agents at once, every line whole and parseable.

use std::time::Duration;

use crate::common::{self, text, Answer, Responder, Sandbox};

#[test]
fn concurrent_agents_never_interleave_lines() {
    let sb = Sandbox::new();
    let responder = Responder::start(&sb, Answer::Success);
    let agents = 24;
    let children: Vec<_> = (0..agents)
        .map(|i| sb.spawn(&format!("port=node-{i}\naction=reboot\nfence_timeout=30\n")))
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    responder.stop();
    let events = sb.events();
    assert_eq!(events.len(), agents * 2, "requested + completed per agent");
    let readable =
        std::fs::read_to_string(sb.log.join("fence-events-readable.log")).unwrap_or_default();
    assert_eq!(readable.lines().count(), agents * 2);
    for line in readable.lines() {
        let fields: Vec<&str> = line.splitn(6, ' ').collect();
        assert_eq!(fields.len(), 6, "{line}");
        assert!(
            fields[1] == "ACTION=reboot" && fields[2].starts_with("TARGET=node-"),
            "{line}"
        );
        assert!(
            fields[5].starts_with("DETAILS=\"") && line.ends_with('"'),
            "{line}"
        );
    }
    let op = std::fs::read_to_string(sb.log.join("fence-events.log")).unwrap_or_default();
    assert!(
        op.lines().all(|l| l.contains(" fence_gfs2_recorder[")),
        "{op}"
    );
    let mode = std::fs::metadata(&sb.log)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.ok(), Some(0o750));
}

#[test]
fn an_unwritable_log_never_changes_the_outcome() {
    let sb = Sandbox::new();
    std::fs::write(&sb.log, b"a file, not a directory").expect("file");
    let _r = Responder::start(&sb, Answer::Success);
    let out = sb.run("port=cn1\naction=reboot\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert_eq!(err.matches("cannot write event log").count(), 1, "{err}");
}

/// The pids of the guardians started for this sandbox (their argv names its request dir).
fn guardians(sb: &Sandbox) -> Vec<u32> {
    let rq = sb.rq.display().to_string();
    let procs = std::fs::read_dir("/proc").map(|d| d.filter_map(Result::ok).collect::<Vec<_>>());
    procs
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let argv: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
            argv.contains(&&b"--internal-guardian"[..]) && argv.contains(&rq.as_bytes())
        })
        .collect()
}

fn kill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

/// Issue 10 #6, "A FIFO in LOG_DIR hangs the agent for ever": opening `fence-events.log` as a
/// FIFO for writing blocked before the request was published, so neither the agent's timeout
/// nor its guardian ever ended. Now the file is refused (named, on stderr) and the fence goes
/// on: no responder, so it ends by its own 1 s timeout. The waits are bounds, not timings: on
/// the old code the agent is still blocked when they run out (and is killed, with its guardian).
#[test]
fn a_fifo_in_log_dir_hangs_the_agent_for_ever() {
    let sb = Sandbox::new();
    std::fs::create_dir(&sb.log).expect("log dir");
    let fifo = sb.log.join("fence-events.log");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let mut child = sb.spawn("port=cn1\naction=off\nfence_timeout=1\n");
    let exited = common::wait_until(Duration::from_secs(30), || {
        child.try_wait().is_ok_and(|s| s.is_some())
    });
    if !exited {
        kill(child.id());
    }
    let out = child.wait_with_output().expect("agent output");
    let guardians_ended = common::wait_until(Duration::from_secs(30), || guardians(&sb).is_empty());
    guardians(&sb).into_iter().for_each(kill);
    assert!(exited, "the agent hung on the FIFO");
    assert!(guardians_ended, "the guardian hung on the FIFO");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no response within 1 s"), "{err}");
    assert!(
        err.contains(&fifo.display().to_string()) && err.contains("FIFO"),
        "the warning names the file and what it is: {err}"
    );
    let readable = std::fs::read_to_string(sb.log.join("fence-events-readable.log"));
    assert!(
        readable.is_ok_and(|r| r.contains("STATUS=timeout")),
        "the other logs are still written"
    );
}

/// The other half of #6: a LOG_DIR that others can write (where anyone could plant that FIFO,
/// or a symlink) is not written at all, with a warning naming it and the fix; the fence itself
/// goes on and succeeds (logging never blocks or fails a fence).
#[test]
fn a_world_writable_log_dir_is_not_written_and_the_fence_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    std::fs::create_dir(&sb.log).expect("log dir");
    std::fs::set_permissions(&sb.log, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let _r = Responder::start(&sb, Answer::Success);
    let out = sb.run("port=cn1\naction=reboot\nfence_timeout=30\n");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("world-writable") && err.contains(&sb.log.display().to_string()),
        "{err}"
    );
    assert!(
        err.contains("chmod o-w"),
        "the fix is in the warning: {err}"
    );
    assert_eq!(err.matches("warning").count(), 1, "said once: {err}");
    assert!(common::visible(&sb.log).is_empty(), "nothing written there");
}

/// Each of the three logs, pre-filled with whole lines up to 60 bytes short of a page, so the
/// next event fills the page and then finds no free one: a short write.
fn almost_full_page_of_lines(dir: &std::path::Path) {
    for (file, json) in [
        ("fence-events.log", false),
        ("fence-events-readable.log", false),
        ("fence-events-detailed.jsonl", true),
    ] {
        let pad = 4096 - 60 - if json { 11 } else { 1 };
        let line = if json {
            format!("{{\"pad\":\"{}\"}}\n", "p".repeat(pad))
        } else {
            format!("{}\n", "p".repeat(pad))
        };
        assert_eq!(line.len(), 4096 - 60, "{file}");
        std::fs::write(dir.join(file), line).expect("pre-fill a log");
    }
}

/// Whether every log in `dir` holds whole lines only: each file ends with a newline, every
/// JSONL line parses, and every other line is a padding line or one event line.
fn assert_untorn(dir: &std::path::Path) -> usize {
    let mut events = 0;
    for file in [
        "fence-events.log",
        "fence-events-readable.log",
        "fence-events-detailed.jsonl",
    ] {
        let body = std::fs::read_to_string(dir.join(file)).expect("read a log");
        assert!(body.ends_with('\n'), "{file} ends in a torn line: {body:?}");
        for line in body.lines() {
            if file.ends_with(".jsonl") {
                let v: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{file}: torn line {line:?}: {e}"));
                events += usize::from(v.get("event").is_some());
            } else if !line.chars().all(|c| c == 'p') {
                let one = |mark: &str| line.matches(mark).count() == 1;
                let whole = if file == "fence-events.log" {
                    one("Z fence_gfs2_recorder[")
                } else {
                    one(" ACTION=") && line.ends_with('"')
                };
                assert!(whole, "{file}: torn or glued line {line:?}");
            }
        }
    }
    events
}

/// Issue 11 #10: a short write on a full LOG_DIR left half a line (cut in the middle of a UUID)
/// with the next event glued on, and an invalid JSONL line. The torn piece is truncated away,
/// the fence goes on with one warning and its exit status follows the response.
#[test]
fn torn_audit_lines_when_log_dir_fills_up() {
    if !system_tests::peers::require(
        "torn_audit_lines_when_log_dir_fills_up",
        &[system_tests::peers::root()],
    ) {
        return;
    }
    let sb = Sandbox::new();
    let mount = system_tests::faults::Mount::tmpfs(&sb.log, "64k");
    almost_full_page_of_lines(&sb.log);
    mount.fill("filler");
    let r = Responder::start(&sb, Answer::Success);
    let out = sb.run("port=cn1\naction=reboot\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("short write"), "{err}");
    assert_eq!(err.matches("cannot write event log").count(), 1, "{err}");
    r.stop();
    let r = Responder::start(&sb, Answer::Failure);
    let out = sb.run("port=cn1\naction=off\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    r.stop();
    assert_eq!(assert_untorn(&sb.log), 0, "no event fitted");

    // With room again, the next events start on a line of their own.
    for e in std::fs::read_dir(&sb.log).expect("log dir").flatten() {
        if e.file_name().to_string_lossy().starts_with("filler") {
            std::fs::remove_file(e.path()).expect("free the space");
        }
    }
    let _r = Responder::start(&sb, Answer::Success);
    let out = sb.run("port=cn1\naction=on\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The `on` archives the node's records too: requested, completed, unfenced.
    assert_eq!(
        assert_untorn(&sb.log),
        3,
        "requested, completed and unfenced"
    );
}
