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
