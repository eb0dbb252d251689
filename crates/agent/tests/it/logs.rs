//! The event logs under concurrency: many agents at once, every line whole and parseable.

use crate::common::{text, Answer, Responder, Sandbox};

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
