//! The after-fence command against real processes: placeholders, the cleared environment, the
//! process group killed on timeout, and a command that exits 0 never counted as failed.

use std::path::Path;
use std::time::Instant;

use super::*;

fn hook(command: &[&str], conf: &Path, timeout_secs: u64) -> AfterFence {
    AfterFence::new(&AfterFenceConfig {
        command: command.iter().map(|s| s.to_string()).collect(),
        timeout_secs,
        corosync_conf: conf.to_owned(),
    })
    .expect("valid command")
}

fn node(name: &str) -> NodeName {
    NodeName::parse(name).expect("valid")
}

fn failures(m: &Metrics) -> String {
    m.render()
        .lines()
        .find(|l| l.starts_with("fence_watcher_after_fence_failures_total "))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "current_thread")]
async fn substitutes_placeholders_and_runs_without_a_shell() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let conf = tmp.path().join("corosync.conf");
    std::fs::write(
        &conf,
        "nodelist {\n node {\n name: cn-7\n nodeid: 7\n }\n}\n",
    )
    .expect("write");
    let out = tmp.path().join("out");
    let script = format!("echo \"$0 $1 $2\" > {}", out.display());
    let h = hook(
        &["/bin/sh", "-c", &script, "{node}", "{nodeid}", "{action}"],
        &conf,
        5,
    );
    let m = Metrics::default();
    h.run(&node("cn-7"), Action::Off, &m).await;
    assert_eq!(
        std::fs::read_to_string(&out).expect("ran").trim(),
        "cn-7 7 off"
    );
    let unknown = node("cn-8");
    assert!(h.argv(&unknown, Action::Off).is_err());
    h.run(&unknown, Action::Off, &m).await;
    assert!(m
        .render()
        .contains("fence_watcher_after_fence_failures_total 1"));
}

#[test]
fn an_unknown_placeholder_is_refused() {
    let err = AfterFence::new(&AfterFenceConfig {
        command: vec!["dlm_tool".into(), "fence_ack".into(), "{nodid}".into()],
        timeout_secs: 5,
        corosync_conf: "/nonexistent".into(),
    })
    .expect_err("misspelled placeholder");
    let msg = err.to_string();
    assert!(
        msg.contains("after_fence.command[2]") && msg.contains("{nodid}"),
        "{msg}"
    );
    assert!(msg.contains("{nodeid}"), "names the allowed ones: {msg}");
}

#[tokio::test(flavor = "current_thread")]
async fn runs_with_the_minimal_environment_only() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("env");
    let script = format!("env > {}", out.display());
    let m = Metrics::default();
    hook(&["/bin/sh", "-c", &script], tmp.path(), 5)
        .run(&node("cn-1"), Action::Off, &m)
        .await;
    let env = std::fs::read_to_string(&out).expect("ran");
    for line in env.lines() {
        let key = line.split('=').next().unwrap_or("");
        // The shell itself adds PWD (and SHLVL, _ in some shells).
        assert!(
            process::BASE_ENV.iter().any(|(k, _)| *k == key)
                || ["PWD", "OLDPWD", "SHLVL", "_"].contains(&key),
            "leaked into the hook's environment: {line}"
        );
    }
    assert!(env.contains("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), "{env}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_timeout_kills_the_whole_group_and_counts_a_failure() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let pid = tmp.path().join("pid");
    let script = format!("sleep 60 & echo $! > {}; wait", pid.display());
    let m = Metrics::default();
    let started = Instant::now();
    hook(&["/bin/sh", "-c", &script], tmp.path(), 1)
        .run(&node("cn-1"), Action::Off, &m)
        .await;
    assert!(
        started.elapsed().as_secs() < 30,
        "the timeout was not enforced"
    );
    assert_eq!(failures(&m), "fence_watcher_after_fence_failures_total 1");
    let pid = std::fs::read_to_string(&pid)
        .expect("pid")
        .trim()
        .to_owned();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .map(|(_, r)| r.trim_start().chars().next());
    assert!(
        matches!(state, None | Some(Some('Z'))),
        "the grandchild {pid} survived: {stat}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_command_that_exits_0_is_a_success_even_if_a_child_lingers() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let m = Metrics::default();
    // Exits at once; the background sleep keeps the output pipes open past the exit.
    hook(&["/bin/sh", "-c", "sleep 30 & exit 0"], tmp.path(), 5)
        .run(&node("cn-1"), Action::Off, &m)
        .await;
    assert_eq!(failures(&m), "fence_watcher_after_fence_failures_total 0");
}
