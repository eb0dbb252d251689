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
