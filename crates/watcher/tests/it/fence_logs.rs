//! What the log says about a fence (issue 12): a failed fence is an ERROR, and every level that
//! failed is a WARN with its error, even when a later level saved the fence, so a dead BMC
//! cannot hide behind a working PDU. The real daemon with real `command` backends (sh).

use std::time::Duration;

use gfs2_fence_protocol::Action;

use crate::common;

/// The log lines of `text` that contain every one of `needles`.
fn lines_with<'a>(text: &'a str, needles: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .collect()
}

/// Regression (issue 12): level 1 failed, level 2 fenced, and the log said nothing of level
/// 1's error; a fence that failed at every level was logged at INFO.
#[test]
fn a_failed_level_is_a_warning_and_a_failed_fence_an_error() {
    let spool = common::spool();
    let cfg = spool.config(
        r#"
        [backends.bmc]
        type = "command"
        argv = ["/bin/sh", "-c", "echo BMC does not answer >&2; exit 1"]
        [backends.pdu]
        type = "command"
        argv = ["/bin/true"]
        [[topology]]
        nodes = ["cn-*"]
        levels = ["bmc", "pdu"]
        [[topology]]
        nodes = ["dn-*"]
        levels = ["bmc"]
        "#,
    );
    let mut d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let (saved, _) = spool.request("cn-1", Action::Off, Duration::from_secs(30));
    assert!(spool.wait_response(saved.as_str()).success);
    let (lost, _) = spool.request("dn-1", Action::Reboot, Duration::from_secs(30));
    assert!(!spool.wait_response(lost.as_str()).success);
    d.wait_log("outcome=\"failed\"");
    let log = d.log_text();
    let warned = lines_with(
        &log,
        &["WARN", "level 1 (bmc)", "cn-1", "BMC does not answer"],
    );
    assert_eq!(warned.len(), 1, "level 1's failure not warned:\n{log}");
    let fenced = lines_with(&log, &["fence decision", "cn-1"]);
    assert!(
        fenced.len() == 1 && fenced[0].contains(" INFO "),
        "a success is INFO:\n{log}"
    );
    let failed = lines_with(&log, &["fence decision", "dn-1"]);
    assert!(
        failed.len() == 1
            && failed[0].contains("ERROR")
            && failed[0].contains("BMC does not answer"),
        "a failed fence is an ERROR with the error:\n{log}"
    );
}

/// The value of `field` in a journal entry, as text.
fn field<'a>(entry: &'a serde_json::Value, name: &str) -> &'a str {
    entry.get(name).and_then(|v| v.as_str()).unwrap_or("")
}

/// Regression (issue 12): under journald the daemon's text lines all had the same priority, so
/// `journalctl -p err` found no failed fence. When `JOURNAL_STREAM` names its stderr (as
/// systemd sets it for `StandardError=journal`), the daemon logs through journald's native
/// protocol: a failed fence at priority 3 (err), a failed level at 4 (warning), with NODE,
/// ACTION, REQUEST_ID and OUTCOME as fields. Real systemd-journald, read with journalctl.
#[test]
fn under_journald_a_failed_fence_is_found_by_priority_and_fields() {
    let test = "under_journald_a_failed_fence_is_found_by_priority_and_fields";
    if !system_tests::peers::require(test, &system_tests::journal::available()) {
        return;
    }
    let journal = system_tests::journal::Journal::start();
    let spool = common::spool();
    let cfg = spool.config(
        "[backends.bmc]\ntype = \"command\"\n\
         argv = [\"/bin/sh\", \"-c\", \"echo BMC does not answer >&2; exit 1\"]\n\
         [[topology]]\nnodes = [\"*\"]\nlevels = [\"bmc\"]\n",
    );
    // stderr is the daemon's log file: JOURNAL_STREAM names it, as systemd names its stream.
    let inner = common::daemon(&spool)
        .args(["--config", cfg.to_str().expect("utf-8")])
        .command();
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/2) exec \"$@\"")
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let d = common::daemon(&spool).start_command(cmd);
    let (name, req) = spool.request("cn-7", Action::Reboot, Duration::from_secs(30));
    assert!(!spool.wait_response(name.as_str()).success);
    let id = format!("REQUEST_ID={}", req.request_id);
    let errors = journal.wait_entries(Some("err"), std::slice::from_ref(&id), 1);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(field(e, "PRIORITY"), "3", "{e}");
    assert_eq!(field(e, "NODE"), "cn-7", "{e}");
    assert_eq!(field(e, "ACTION"), "reboot", "{e}");
    assert_eq!(field(e, "OUTCOME"), "failed", "{e}");
    assert_eq!(field(e, "SYSLOG_IDENTIFIER"), "fence_watcher", "{e}");
    assert!(field(e, "MESSAGE").contains("fence decision"), "{e}");
    assert_eq!(field(e, "_PID"), d.pid().to_string(), "{e}");
    let warnings = journal.wait_entries(Some("warning"), &[id, "BACKEND=bmc".into()], 2);
    let level = warnings
        .iter()
        .find(|w| field(w, "PRIORITY") == "4")
        .unwrap_or_else(|| panic!("no warning of the failed level: {warnings:?}"));
    assert!(
        field(level, "MESSAGE").contains("BMC does not answer"),
        "{level}"
    );
    // Nothing of it went to stderr as text: the journal has it, with its priority.
    assert!(!d.log_text().contains("fence decision"), "{}", d.log_text());
}
