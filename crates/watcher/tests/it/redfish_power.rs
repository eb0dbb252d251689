//! The `redfish` backend against a real sushy-emulator: off, on and reboot over TLS with basic
//! auth and `ca_file`, each confirmed by a separate curl GET; the emulator's real 1-11 s delay;
//! discovery by Name over /redfish/v1/Systems; and Debian's fence_redfish reading the same state.

use fence_watcher::backend::redfish;
use system_tests::bmc::sushy;

use std::time::Instant;

use gfs2_fence_protocol::{Action, NodeName};
use redfish::{Redfish, RedfishConfig};
use sushy::{Opts, Sushy, U1, U2};

fn node(name: &str) -> NodeName {
    NodeName::parse(name).expect("node name")
}

fn backend(emu: &Sushy, changes: &[(&str, &str)], tail: &str) -> Redfish {
    let text = emu.backend_toml(changes, tail);
    let cfg: RedfishConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    Redfish::new("bmc", &cfg).unwrap_or_else(|e| panic!("build: {e}"))
}

const U1_ID: (&str, &str) = ("system_id", "\"11111111-1111-4111-8111-111111111111\"");

#[tokio::test]
async fn off_on_reboot_are_confirmed_over_tls_with_ca_file() {
    let Some(emu) = Sushy::start(Opts::fast(system_tests::free_port())) else {
        return;
    };
    let rf = backend(&emu, &[U1_ID], "");
    let n1 = node("node1");

    let msg = rf.fence(&n1, Action::Off).await.expect("off");
    assert_eq!(emu.power_state(U1), "Off", "{msg}");
    assert!(
        msg.contains("ForceOff confirmed PowerState Off")
            && msg.contains(&format!("127.0.0.1:{}", emu.opts.port)),
        "{msg}"
    );
    assert_eq!(emu.power_state(U2), "On", "only node1 is touched");

    let msg = rf.fence(&n1, Action::Off).await.expect("off again");
    assert!(msg.contains("already Off"), "{msg}");

    let msg = rf.fence(&n1, Action::On).await.expect("on");
    assert_eq!(emu.power_state(U1), "On", "{msg}");
    assert!(msg.contains("On confirmed PowerState On"), "{msg}");

    let msg = rf.fence(&n1, Action::Reboot).await.expect("reboot");
    assert_eq!(emu.power_state(U1), "On", "{msg}");
    // Issue 11, #1: the default reboot is ForceOff, confirm Off, On, confirm On (it was one
    // ForceRestart, a success with no Off ever seen).
    assert!(
        msg.contains("ForceOff confirmed PowerState Off, then On confirmed PowerState On"),
        "{msg}"
    );
    // off, on, reboot (ForceOff and On): four resets reached the emulator (the second off was
    // a no-op).
    assert_eq!(emu.reset_posts(), 4, "{}", emu.log());
}

/// Regression (issue 11, #1): "A Redfish reboot succeeds with no proof". Against the real
/// emulator, the default reboot powers off, reads Off, powers on, reads On; `restart`, whose
/// ForceRestart sushy applies with no Off state ever visible, is a failure saying so (it was
/// a success: "ForceRestart accepted, PowerState confirmed On (no Off state was visible)").
#[tokio::test]
async fn a_redfish_reboot_succeeds_with_no_proof_against_sushy() {
    let Some(emu) = Sushy::start(Opts::fast(system_tests::free_port())) else {
        return;
    };
    let n1 = node("node1");
    let rf = backend(&emu, &[U1_ID], "");
    let msg = rf.fence(&n1, Action::Reboot).await.expect("default reboot");
    assert!(
        msg.contains(&format!(
            "reboot of node1 confirmed by redfish bmc 127.0.0.1:{}",
            emu.opts.port
        )) && msg.contains("ForceOff confirmed PowerState Off, then On confirmed PowerState On"),
        "{msg}"
    );
    assert_eq!(emu.power_state(U1), "On", "{msg}");
    assert_eq!(emu.reset_posts(), 2, "ForceOff and On: {}", emu.log());

    let rf = backend(
        &emu,
        &[
            U1_ID,
            ("reboot_method", "\"restart\""),
            ("timeout_secs", "3"),
        ],
        "",
    );
    let text = rf
        .fence(&n1, Action::Reboot)
        .await
        .expect_err("sushy's ForceRestart shows no Off: no proof")
        .to_string();
    assert!(
        text.contains("step \"confirm PowerState Off\"")
            && text.contains("no proof that the node restarted"),
        "{text}"
    );
    assert_eq!(emu.reset_posts(), 3, "one ForceRestart more: {}", emu.log());
}

#[tokio::test]
async fn reboot_onoff_powers_off_then_on_and_a_reboot_of_an_off_node_powers_it_on() {
    let Some(emu) = Sushy::start(Opts::fast(system_tests::free_port())) else {
        return;
    };
    let rf = backend(&emu, &[U1_ID, ("reboot_method", "\"onoff\"")], "");
    let n1 = node("node1");
    let msg = rf.fence(&n1, Action::Reboot).await.expect("reboot");
    assert!(
        msg.contains("ForceOff confirmed PowerState Off, then On confirmed PowerState On"),
        "{msg}"
    );
    assert_eq!(emu.power_state(U1), "On");
    assert_eq!(emu.reset_posts(), 2, "ForceOff and On: {}", emu.log());

    rf.fence(&n1, Action::Off).await.expect("off");
    let msg = rf
        .fence(&n1, Action::Reboot)
        .await
        .expect("reboot of an off node");
    assert_eq!(emu.power_state(U1), "On", "{msg}");
}

#[tokio::test]
async fn with_the_real_delay_success_comes_only_after_the_bmc_shows_the_state() {
    let Some(emu) = Sushy::start(Opts {
        port: system_tests::free_port(),
        // Pinned: the change applies 2-3 s after the POST (see Opts::delay).
        delay: Some(3),
        tls: true,
    }) else {
        return;
    };
    let rf = backend(
        &emu,
        &[U1_ID, ("timeout_secs", "30"), ("poll_interval_ms", "200")],
        "",
    );
    let started = Instant::now();
    let msg = rf.fence(&node("node1"), Action::Off).await.expect("off");
    // The emulator applies the change at least 2 s after the POST: returning earlier would be a
    // success the BMC had not confirmed.
    assert!(
        started.elapsed().as_secs_f64() >= 2.0,
        "returned before the change could apply: {msg}"
    );
    assert_eq!(emu.power_state(U1), "Off", "{msg}");
}

#[tokio::test]
async fn discovery_matches_the_node_name_and_follows_the_name_redirect() {
    let Some(emu) = Sushy::start(Opts::fast(system_tests::free_port())) else {
        return;
    };
    // Neither system_id nor system_uri: scan /redfish/v1/Systems for Name == node.
    let rf = backend(&emu, &[], "");
    let msg = rf
        .fence(&node("node2"), Action::Off)
        .await
        .expect("off node2 by name");
    assert!(msg.contains(U2), "{msg}");
    assert_eq!(emu.power_state(U2), "Off");
    assert_eq!(emu.power_state(U1), "On");
    let msg = rf
        .fence(&node("NODE1"), Action::Off)
        .await
        .expect("names match case-insensitively");
    assert!(msg.contains(U1), "{msg}");

    let err = rf
        .fence(&node("node3"), Action::Off)
        .await
        .expect_err("no such node");
    let text = err.to_string();
    assert!(
        text.contains("discover system") && text.contains("no member of /redfish/v1/Systems"),
        "{text}"
    );

    // /Systems/<name> answers 307 to /Systems/<uuid>: followed, and the uuid URI is used after.
    let rf = backend(
        &emu,
        &[("system_uri", "\"/redfish/v1/Systems/{node}\"")],
        "",
    );
    let msg = rf
        .fence(&node("node1"), Action::On)
        .await
        .expect("on via redirect");
    assert!(
        msg.contains(&format!("system /redfish/v1/Systems/{U1}")),
        "{msg}"
    );
    assert_eq!(emu.power_state(U1), "On");
}

#[tokio::test]
async fn debian_fence_redfish_reads_the_state_the_backend_set() {
    let agent = system_tests::peers::installed("/usr/sbin/fence_redfish");
    if !system_tests::peers::require("fence_redfish agreement test", &[agent]) {
        return;
    }
    let Some(emu) = Sushy::start(Opts::fast(system_tests::free_port())) else {
        return;
    };
    let rf = backend(&emu, &[U1_ID], "");
    let n1 = node("node1");
    assert_eq!(fence_redfish_status(&emu), (0, "Status: ON".to_owned()));
    rf.fence(&n1, Action::Off).await.expect("off");
    assert_eq!(fence_redfish_status(&emu), (2, "Status: OFF".to_owned()));
    rf.fence(&n1, Action::On).await.expect("on");
    assert_eq!(fence_redfish_status(&emu), (0, "Status: ON".to_owned()));
}

/// `action=status` through stdin, as the fence-agent backend runs it.
fn fence_redfish_status(emu: &Sushy) -> (i32, String) {
    use std::io::Write;
    let stdin = format!(
        "action=status\nip=127.0.0.1\nipport={}\nsystems_uri=/redfish/v1/Systems/{U1}\nusername={}\npassword={}\nssl_insecure=1\n",
        emu.opts.port,
        sushy::USER,
        sushy::PASSWORD
    );
    let mut child = std::process::Command::new("/usr/sbin/fence_redfish")
        .env("PYTHONWARNINGS", "ignore")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn fence_redfish");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("fence_redfish");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn with_one_slot_per_bmc_two_fences_on_one_bmc_run_one_after_the_other() {
    let Some(emu) = Sushy::start(Opts::fast(system_tests::free_port())) else {
        return;
    };
    let tail =
        format!("[nodes.node1]\nsystem_id = \"{U1}\"\n[nodes.node2]\nsystem_id = \"{U2}\"\n");
    let rf = backend(&emu, &[("max_concurrent_per_bmc", "1")], &tail);
    let (n1, n2) = (node("node1"), node("node2"));
    let (a, b) = tokio::join!(rf.fence(&n1, Action::Off), rf.fence(&n2, Action::Off));
    a.expect("node1 off");
    b.expect("node2 off");
    // The emulator's access log: every request of the first fence precedes the second's.
    let log = emu.log();
    let lines: Vec<&str> = log.lines().collect();
    let last_u1 = lines
        .iter()
        .rposition(|l| l.contains(U1))
        .expect("node1 requests");
    let first_u2 = lines
        .iter()
        .position(|l| l.contains(U2))
        .expect("node2 requests");
    assert!(last_u1 < first_u2, "interleaved with one slot:\n{log}");
}
