//! `gfs2-fencing doctor` against the real single-node cluster, the real agent and the real
//! daemon: a good device passes; each misconfiguration an admin can make with `pcs` is a FAIL
//! naming its fix (fence_timeout not below the timeout Pacemaker gives, stonith disabled, no
//! host list, the device disabled); a device whose monitor fails because the responder died is a
//! FAIL naming the node and the reason the CIB recorded; and with no cluster reachable, one line
//! says Pacemaker was not checked while the installation still is. Needs root and Pacemaker
//! (and `pcs`); skips loudly elsewhere, fails in CI.

use std::time::Duration;

use system_tests::pacemaker::{self, Cluster, NODE};
use system_tests::{bins, peers, wait_for, Daemon, Spool};

const DEVICE: &str = "gfs2-doctor";
const MONITOR_SECS: u32 = 5;

/// A real backend (no simulation, which doctor fails): a command that always works, probed by
/// a status command that always works.
const CONFIG: &str = "[backends.cmd]\ntype = \"command\"\nargv = [\"/bin/true\"]\n\
    status_argv = [\"/bin/true\"]\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"cmd\"]\n";

/// `gfs2-fencing doctor` on the test's spool and configuration: exit code and stdout.
fn doctor(spool: &Spool, cfg: &str) -> (Option<i32>, String) {
    let out = spool
        .ctl(&["doctor", "--config", cfg])
        .env_remove("CIB_file")
        .output()
        .expect("run gfs2-fencing doctor");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("doctor (exit {:?}):\n{text}", out.status.code());
    (out.status.code(), text)
}

/// The finding line `LEVEL check: ...` and its fix line, if the output has one.
fn finding(text: &str, level: &str, check: &str) -> Option<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let i = lines.iter().position(|l| {
        l.strip_prefix(level)
            .is_some_and(|r| r.trim_start().starts_with(&format!("{check}:")))
    })?;
    let fix = lines
        .get(i + 1)
        .and_then(|l| l.trim_start().strip_prefix("fix: "))
        .unwrap_or_default();
    Some((lines[i].to_owned(), fix.to_owned()))
}

fn must(text: &str, level: &str, check: &str) -> (String, String) {
    finding(text, level, check).unwrap_or_else(|| panic!("no {level} {check} line in:\n{text}"))
}

fn pcs(args: &[&str]) {
    let out = pacemaker::run("pcs", args);
    assert!(
        out.status.success(),
        "pcs {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn needs(test: &str) -> bool {
    let mut needs = vec![peers::root(), peers::installed("/usr/sbin/pcs")];
    needs.extend(pacemaker::installed());
    peers::require(test, &needs)
}

/// Promises, in one cluster (forming one takes ~30 s): a good device and installation give exit
/// 0 with no FAIL, in text and in the versioned JSON; `fence_timeout` not below
/// `stonith-timeout` (Pacemaker's duration forms read) or below a `pcmk_reboot_timeout`,
/// `stonith-enabled=false`, a device created with `pcs` without `pcmk_host_list`, and a device
/// disabled with `pcs` are each a FAIL with the command that fixes it; and once the responder
/// is gone and the device's monitor failed, doctor FAILs naming the node, from the heartbeat here
/// and from the monitor result in the CIB.
#[test]
fn doctor_judges_a_real_cluster() {
    if !needs("doctor_judges_a_real_cluster") {
        return;
    }
    let spool = Spool::new();
    let cfg = spool.config(CONFIG).display().to_string();
    let cluster = Cluster::start();
    cluster.set_property("stonith-enabled", "true");
    let mut daemon = Daemon::start(&spool, &["--config", &cfg, "--heartbeat-interval", "1"]);
    cluster.add_spool_device(DEVICE, &spool, &[("pcmk_host_list", NODE)], MONITOR_SECS);
    let started = cluster.wait_role(DEVICE, "Started", Duration::from_secs(60));
    assert!(
        started,
        "{DEVICE} never started:\n{}",
        cluster.crm_mon_xml()
    );

    good_device(&spool, &cfg);
    timeouts(&cluster, &spool, &cfg);
    stonith_disabled(&cluster, &spool, &cfg);
    no_host_list_and_disabled(&spool, &cfg);
    monitor_failed(&cluster, &mut daemon, &spool, &cfg);
}

fn good_device(spool: &Spool, cfg: &str) {
    let (code, text) = doctor(spool, cfg);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("FAIL "), "{text}");
    for check in ["configuration", "responder heartbeat", "stonith-enabled"] {
        must(&text, "OK", check);
    }
    let device = format!("device {DEVICE}");
    let (l, _) = must(&text, "OK", &device);
    assert!(l.contains("enabled"), "{l}");
    assert!(
        text.contains(&format!("fences {NODE} (static list)")),
        "{text}"
    );
    assert!(
        text.contains("fence_timeout 30 s is below stonith-timeout 60 s"),
        "{text}"
    );
    must(
        &text,
        "OK",
        &format!("monitor (device {DEVICE} on {NODE}, here)"),
    );
    let (l, _) = must(&text, "OK", &format!("device {DEVICE} on {NODE}"));
    assert!(l.contains("passed"), "{l}");

    let out = spool
        .ctl(&["doctor", "--json", "--config", cfg])
        .output()
        .expect("doctor --json");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["schema"], "gfs2-fencing.doctor");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["ok"], true);
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == format!("device {DEVICE} on {NODE}") && f["level"] == "ok"),
        "{doc:#}"
    );
}

/// fence_timeout 30 s against stonith-timeout 30s (FAIL), 2min (OK), then a 25 s
/// pcmk_reboot_timeout (FAIL: it replaces stonith-timeout for reboots).
fn timeouts(cluster: &Cluster, spool: &Spool, cfg: &str) {
    cluster.set_property("stonith-timeout", "30s");
    let (code, text) = doctor(spool, cfg);
    assert_eq!(code, Some(1), "{text}");
    let (l, fix) = must(&text, "FAIL", &format!("device {DEVICE}"));
    assert!(
        l.contains("fence_timeout 30 s is not below stonith-timeout 30 s"),
        "{l}"
    );
    assert!(
        fix.starts_with(&format!("pcs stonith update {DEVICE} fence_timeout=20")),
        "{fix}"
    );

    cluster.set_property("stonith-timeout", "2min");
    let (code, text) = doctor(spool, cfg);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("below stonith-timeout 120 s"), "{text}");

    pcs(&["stonith", "update", DEVICE, "pcmk_reboot_timeout=25s"]);
    let (code, text) = doctor(spool, cfg);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("fence_timeout 30 s is not below pcmk_reboot_timeout 25 s"),
        "{text}"
    );
    pcs(&["stonith", "update", DEVICE, "pcmk_reboot_timeout="]);
}

fn stonith_disabled(cluster: &Cluster, spool: &Spool, cfg: &str) {
    cluster.set_property("stonith-enabled", "false");
    let (code, text) = doctor(spool, cfg);
    assert_eq!(code, Some(1), "{text}");
    let (l, fix) = must(&text, "FAIL", "stonith-enabled");
    assert!(l.contains("false: Pacemaker never fences"), "{l}");
    assert_eq!(fix, "pcs property set stonith-enabled=true");
    cluster.set_property("stonith-enabled", "true");
}

/// A second device as an admin would create it with `pcs`, forgetting the host list; then
/// disabled with `pcs stonith disable`.
fn no_host_list_and_disabled(spool: &Spool, cfg: &str) {
    let id = "gfs2-nolist";
    let dirs = [
        format!("request_dir={}", spool.requests.display()),
        format!("response_dir={}", spool.responses.display()),
        format!("log_dir={}", spool.logs.display()),
    ];
    let mut args = vec!["stonith", "create", id, "fence_gfs2_recorder"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend([
        "fence_timeout=30",
        "gfs2_discovery=false",
        "op",
        "monitor",
        "interval=60s",
    ]);
    pcs(&args);
    let (code, text) = doctor(spool, cfg);
    assert_eq!(code, Some(1), "{text}");
    let (l, fix) = must(&text, "FAIL", &format!("device {id}"));
    assert!(l.contains("no pcmk_host_list"), "{l}");
    assert_eq!(
        fix,
        format!("pcs stonith update {id} pcmk_host_list=\"{NODE}\" pcmk_host_check=static-list")
    );
    pcs(&["stonith", "disable", id]);
    let (_, text) = doctor(spool, cfg);
    let (l, fix) = must(&text, "FAIL", &format!("device {id}"));
    assert!(l.contains("disabled (target-role=Stopped)"), "{l}");
    assert_eq!(fix, format!("pcs stonith enable {id}"));
    pcs(&["stonith", "delete", id]);
}

/// The responder stops; once the device's monitor failed in Pacemaker, both the heartbeat here
/// and the CIB's monitor result FAIL, naming the node.
fn monitor_failed(cluster: &Cluster, daemon: &mut Daemon, spool: &Spool, cfg: &str) {
    daemon.stop();
    let op = format!("{MONITOR_SECS}s");
    let failed = wait_for(Duration::from_secs(90), || {
        (cluster.failcount(DEVICE, "monitor", &op) != "0").then_some(())
    });
    assert!(
        failed.is_some(),
        "the monitor never failed:\n{}",
        cluster.crm_mon_xml()
    );
    let (code, text) = doctor(spool, cfg);
    assert_eq!(code, Some(1), "{text}");
    let (l, _) = must(
        &text,
        "FAIL",
        &format!("monitor (device {DEVICE} on {NODE}, here)"),
    );
    assert!(l.contains("heartbeat"), "the agent's reason: {l}");
    let (l, fix) = must(&text, "FAIL", &format!("device {DEVICE} on {NODE}"));
    assert!(l.contains("failed at") && l.contains("(rc 1: error"), "{l}");
    assert!(
        fix.contains(&format!("pcs resource cleanup {DEVICE}")),
        "{fix}"
    );
}

/// Promise: with no cluster reachable, doctor says in one line that Pacemaker was not checked
/// and why, and still checks (and passes) the installation.
#[test]
fn doctor_without_a_cluster_checks_the_installation() {
    if !needs("doctor_without_a_cluster_checks_the_installation") {
        return;
    }
    // Held, no cluster of ours runs; and none of another test binary either.
    let _lock = pacemaker::Lock::acquire();
    pacemaker::install_agent(&bins::agent());
    let spool = Spool::new();
    let cfg = spool.config(CONFIG).display().to_string();
    let _daemon = Daemon::start(&spool, &["--config", &cfg, "--heartbeat-interval", "1"]);
    let (code, text) = doctor(&spool, &cfg);
    let (l, _) = must(&text, "SKIP", "pacemaker");
    assert!(
        l.contains("not checked: no cluster reachable (cibadmin --query"),
        "{l}"
    );
    let skipped = text.lines().filter(|l| l.starts_with("SKIP")).count();
    assert_eq!(skipped, 1, "one line:\n{text}");
    assert!(!text.contains("stonith"), "{text}");
    must(&text, "OK", "responder heartbeat");
    must(&text, "OK", "configuration");
    assert_eq!(code, Some(0), "{text}");
}
