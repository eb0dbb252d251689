//! The `fence-agent` backend against the real `/usr/sbin/fence_dummy` (fence-agents), and against
//! small script agents written by the tests to observe the stdin contract (argv, stdin, secrets).

use crate::backend_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backend_support::{alive, all_cmdlines, build, eventually, file, job, script};
use gfs2_fence_protocol::Action;

const FENCE_DUMMY: &str = "/usr/sbin/fence_dummy";

/// Whether fence_dummy is installed; skips loudly (fails under CI=true) when not.
fn have_fence_dummy() -> bool {
    system_tests::peers::require(
        "fence_dummy tests",
        &[system_tests::peers::installed(FENCE_DUMMY)],
    )
}

/// A `fence_dummy` backend whose power state lives in `status` (initially "on").
fn dummy(status: &Path, extra: &str, extra_params: &str) -> String {
    std::fs::write(status, "on").expect("status file");
    format!(
        "type = \"fence-agent\"\nagent = \"fence_dummy\"\ntarget_arg = \"none\"\n{extra}\n\
         [params]\ntype = \"file\"\nstatus_file = \"{}\"\n{extra_params}\n",
        status.display()
    )
}

#[tokio::test]
async fn fence_dummy_off_on_reboot_change_the_status_file() {
    if !have_fence_dummy() {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let status = d.path().join("cn1.status");
    let b = build(&dummy(&status, "", "")).expect("build");
    let state = || std::fs::read_to_string(&status).expect("read status");

    let out = b.fence(&job("cn1", Action::Off)).await;
    assert!(out.success, "{}", out.message);
    assert_eq!(
        out.message,
        "fence_dummy off of cn1 succeeded: Success: Powered OFF"
    );
    assert_eq!(state(), "off");

    let out = b.fence(&job("cn1", Action::On)).await;
    assert_eq!(
        out.message,
        "fence_dummy on of cn1 succeeded: Success: Powered ON"
    );
    assert_eq!(state(), "on");

    let out = b.fence(&job("cn1", Action::Reboot)).await;
    assert_eq!(
        out.message,
        "fence_dummy reboot of cn1 succeeded: Success: Rebooted"
    );
    assert_eq!(state(), "on");
}

#[tokio::test]
async fn fence_dummy_off_is_verified_with_a_status_run() {
    if !have_fence_dummy() {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let status = d.path().join("cn1.status");
    let b = build(&dummy(&status, "verify = true", "")).expect("build");
    let out = b.fence(&job("cn1", Action::Off)).await;
    assert!(out.success, "{}", out.message);
    assert!(
        out.message
            .ends_with("Success: Powered OFF; status confirms off"),
        "{}",
        out.message
    );
}

#[tokio::test]
async fn fence_dummy_failure_reports_its_error_line() {
    if !have_fence_dummy() {
        return;
    }
    // type=fail never reaches the wanted state; power_timeout=1 makes it give up after 1 s.
    let table = "type = \"fence-agent\"\nagent = \"fence_dummy\"\ntarget_arg = \"none\"\n\
                 params = { type = \"fail\", plug = \"cn1\", power_timeout = 1 }";
    let out = build(table)
        .expect("build")
        .fence(&job("cn1", Action::Off))
        .await;
    assert!(!out.success);
    assert_eq!(
        out.message,
        "fence_dummy off of cn1 failed (exit 1): ERROR: Failed: Timed out waiting to power OFF"
    );
}

#[tokio::test]
async fn hanging_fence_dummy_times_out_and_is_killed() {
    if !have_fence_dummy() {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let status = d.path().join("cn1.status");
    // `delay` makes fence_dummy sleep before fencing: a hanging agent.
    let b = build(&dummy(&status, "timeout_secs = 1", "delay = 600")).expect("build");
    let start = Instant::now();
    let out = b.fence(&job("cn1", Action::Off)).await;
    assert!(!out.success);
    assert_eq!(
        out.message,
        "fence_dummy off of cn1 failed (timed out after 1 s)"
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(
        std::fs::read_to_string(&status).expect("status"),
        "on",
        "the fence did not happen"
    );
}

/// A script agent: records its argc and stdin, signals `ready`, waits for `go`, then prints
/// `out` to stderr and exits with `code`. Its child `sleep` is recorded in `child.pid`.
fn recording_agent(dir: &Path, code: i32, out: &str) -> PathBuf {
    let agent = dir.join("fence_recorder");
    let d = dir.display();
    script(
        &agent,
        &format!(
            "#!/bin/sh\necho \"argc=$#\" > {d}/argv\ncat > {d}/stdin\nsleep 1000 &\necho $! > {d}/child.pid\n\
             touch {d}/ready\ni=0\nwhile [ ! -e {d}/go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n\
             kill $!\necho '{out}' >&2\nexit {code}\n"
        ),
    );
    agent
}

fn recorder_table(agent: &Path, pw: &Path, extra: &str) -> String {
    format!(
        "type = \"fence-agent\"\nagent = \"{}\"\n{extra}\nsecret_files = {{ password = \"{}\" }}\n\
         [params]\nip = \"{{node}}-bmc\"\nipport = 623\nlanplus = true\n\
         [nodes.cn1]\nipport = 6231\n",
        agent.display(),
        pw.display()
    )
}

#[tokio::test]
async fn parameters_and_secrets_go_on_stdin_never_in_argv() {
    let d = tempfile::tempdir().expect("tempdir");
    let pw = d.path().join("bmc.pw");
    file(&pw, "Sup3r-Secret-PW\n", 0o600);
    let agent = recording_agent(d.path(), 0, "Success: Powered OFF");
    let b = build(&recorder_table(&agent, &pw, "")).expect("build");
    let task = tokio::spawn(async move { b.fence(&job("cn1", Action::Off)).await });
    let ready = d.path().join("ready");
    let seen = tokio::task::spawn_blocking(move || {
        assert!(eventually(30, || ready.exists()), "agent never started");
        all_cmdlines()
    })
    .await
    .expect("scan");
    assert!(
        seen.iter().any(|c| c.contains("fence_recorder")),
        "agent not seen in /proc"
    );
    assert!(
        !seen.iter().any(|c| c.contains("Sup3r-Secret-PW")),
        "secret in a command line"
    );
    std::fs::write(d.path().join("go"), "").expect("go");
    let out = task.await.expect("fence");
    assert!(out.success, "{}", out.message);
    assert_eq!(
        std::fs::read_to_string(d.path().join("argv")).expect("argv"),
        "argc=0\n"
    );
    let stdin = std::fs::read_to_string(d.path().join("stdin")).expect("stdin");
    assert_eq!(
        stdin,
        "action=off\nport=cn1\nnodename=cn1\nip=cn1-bmc\nipport=6231\nlanplus=1\npassword=Sup3r-Secret-PW\n"
    );
}

#[tokio::test]
async fn plug_target_default_params_and_secret_scrubbed_from_failure() {
    let d = tempfile::tempdir().expect("tempdir");
    let pw = d.path().join("bmc.pw");
    file(&pw, "Sup3r-Secret-PW", 0o600);
    let agent = recording_agent(
        d.path(),
        1,
        "ERROR: login failed with password Sup3r-Secret-PW",
    );
    std::fs::write(d.path().join("go"), "").expect("go");
    let b = build(&recorder_table(&agent, &pw, "target_arg = \"plug\"")).expect("build");
    let out = b.fence(&job("cn2", Action::Reboot)).await;
    assert!(!out.success);
    assert_eq!(
        out.message,
        "fence_recorder reboot of cn2 failed (exit 1): ERROR: login failed with password ***"
    );
    let stdin = std::fs::read_to_string(d.path().join("stdin")).expect("stdin");
    assert!(
        stdin.starts_with("action=reboot\nplug=cn2\nnodename=cn2\nip=cn2-bmc\nipport=623\n"),
        "{stdin}"
    );
}

#[tokio::test]
async fn a_secret_file_made_world_readable_after_start_is_refused_at_fence_time() {
    let d = tempfile::tempdir().expect("tempdir");
    let pw = d.path().join("bmc.pw");
    file(&pw, "Sup3r-Secret-PW\n", 0o600);
    let agent = recording_agent(d.path(), 0, "Success");
    let b = build(&recorder_table(&agent, &pw, "")).expect("build");
    file(&pw, "Sup3r-Secret-PW\n", 0o604);
    let out = b.fence(&job("cn1", Action::Off)).await;
    assert!(!out.success);
    assert!(
        out.message
            .contains("world-readable or world-writable (mode 0604)"),
        "{}",
        out.message
    );
    assert!(
        !d.path().join("stdin").exists(),
        "the agent must not have run"
    );
}

#[tokio::test]
async fn hanging_agent_times_out_and_its_whole_group_is_killed() {
    let d = tempfile::tempdir().expect("tempdir");
    let pw = d.path().join("bmc.pw");
    file(&pw, "pw", 0o600);
    let agent = recording_agent(d.path(), 0, "Success");
    let b = build(&recorder_table(&agent, &pw, "timeout_secs = 1")).expect("build");
    let out = b.fence(&job("cn1", Action::Off)).await;
    assert!(!out.success);
    assert_eq!(
        out.message,
        "fence_recorder off of cn1 failed (timed out after 1 s)"
    );
    let pid: u32 = std::fs::read_to_string(d.path().join("child.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    assert!(
        eventually(10, || !alive(pid)),
        "the agent's child {pid} survived the timeout"
    );
}

#[tokio::test]
async fn verify_turns_an_unconfirmed_off_into_a_failure() {
    // An agent that claims success for off but still reports the node on.
    let d = tempfile::tempdir().expect("tempdir");
    let agent = d.path().join("fence_liar");
    script(
        &agent,
        "#!/bin/sh\nif grep -q '^action=status$'; then echo 'Status: ON'; exit 0; fi\n\
         echo 'Success: Powered OFF'\n",
    );
    let table = format!(
        "type = \"fence-agent\"\nagent = \"{}\"\nverify = true",
        agent.display()
    );
    let out = build(&table)
        .expect("build")
        .fence(&job("cn1", Action::Off))
        .await;
    assert!(!out.success);
    assert_eq!(
        out.message,
        "fence_liar off of cn1 reported success but status check did not confirm off (exit 0): Status: ON"
    );
}
