//! `gfs2-fencing doctor` reading a CIB through the real `cibadmin`, from a file (`CIB_file`, as
//! every Pacemaker tool honours it), so no cluster is needed: the CIB the single-node test
//! cluster printed after its device's responder died. Needs Pacemaker's `cibadmin`; skips
//! loudly elsewhere, fails in CI.

use system_tests::{peers, Spool};

const FAILED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../ctl/tests/fixtures/cib/doctor-failed-monitor.xml"
);

/// Promise: the device's failed monitor in the CIB's status is a FAIL naming the node and how
/// to clear it, its good settings are OK, and doctor exits 1.
#[test]
fn doctor_reads_a_failed_monitor_from_cibadmin() {
    let test = "doctor_reads_a_failed_monitor_from_cibadmin";
    if !peers::require(test, &[peers::installed("/usr/sbin/cibadmin")]) {
        return;
    }
    let spool = Spool::new();
    let cib = spool.path("cib.xml");
    // cibadmin may rewrite the file it reads (epoch, digests): give it a copy.
    std::fs::copy(FAILED, &cib).expect("copy the fixture");
    let out = spool
        .ctl(&["doctor"])
        .env("CIB_file", &cib)
        .output()
        .expect("run gfs2-fencing doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| {
            l.starts_with("FAIL device gfs2-doctor on node1: last monitor every 5 s failed")
        })
        .unwrap_or_else(|| panic!("no failed monitor line:\n{text}"));
    assert!(lines[at].contains("(rc 1: error, op-status 0)"), "{text}");
    let fix = lines.get(at + 1).copied().unwrap_or_default();
    assert!(
        fix.trim_start().starts_with("fix: ") && fix.ends_with("pcs resource cleanup gfs2-doctor"),
        "{text}"
    );
    for ok in [
        "OK   stonith-enabled: true",
        "OK   stonith-timeout: 2min (120 s)",
        "OK   device gfs2-doctor: fences node1 (static list)",
        "OK   device gfs2-doctor: fence_timeout 30 s is below stonith-timeout 120 s",
    ] {
        assert!(text.contains(ok), "{ok} not in:\n{text}");
    }
    assert!(!text.contains("SKIP pacemaker"), "{text}");
}
