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

/// The nodelist the former watcher-only parser was tested with. Changed for corosync's rules:
/// `name: cn-2   # trailing comment` is now a line of its own (`# trailing comment`), since a
/// `#` after a value is part of the value to corosync.
const CONF: &str = "
totem {
    version: 2
    cluster_name: gfs2
    interface {
        linknumber: 0
    }
}
# nodeid: 99 in a comment
nodelist {
    node {
        ring0_addr: 10.0.0.1
        name: rabbit-1.example.com
        nodeid: 1
    }
    node {
        # trailing comment
        name: cn-2
        ring0_addr: 10.0.0.2
        nodeid: 2
    }
    node {
        ring0_addr: cn-3
        nodeid: 3
    }
}
quorum {
    provider: corosync_votequorum
}
";

#[test]
fn finds_node_ids_by_name_address_and_short_name() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let conf = tmp.path().join("corosync.conf");
    std::fs::write(&conf, CONF).expect("write");
    let nodes = gfs2_fence_protocol::corosync::Nodelist::read(&conf).expect("corosync accepts it");
    assert_eq!(nodes.nodes.len(), 3);
    let h = hook(&["{nodeid}"], &conf, 5);
    let id = |name: &str| {
        h.argv(&node(name), Action::Off)
            .ok()
            .map(|argv| argv.concat())
    };
    assert_eq!(id("cn-2").as_deref(), Some("2"));
    assert_eq!(id("cn-3").as_deref(), Some("3"));
    assert_eq!(id("10.0.0.1").as_deref(), Some("1"));
    assert_eq!(id("rabbit-1").as_deref(), Some("1"));
    assert_eq!(id("cn-9"), None);
}

#[test]
fn reads_the_installed_example_if_present() {
    let p = Path::new(gfs2_fence_protocol::corosync::DEFAULT_COROSYNC_CONF);
    let installed =
        system_tests::peers::installed(gfs2_fence_protocol::corosync::DEFAULT_COROSYNC_CONF);
    if !system_tests::peers::require("reads_the_installed_example_if_present", &[installed]) {
        return;
    }
    let nodes = gfs2_fence_protocol::corosync::Nodelist::read(p).expect("corosync accepts it");
    for n in nodes.nodes {
        assert!(n.nodeid.is_some() || n.name.is_some() || n.ring_addr(0).is_some());
    }
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
