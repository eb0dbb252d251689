//! The `ipmitool` backend and the `fence-agent` backend with the real `fence_ipmilan`, both
//! against real BMCs: OpenIPMI's `ipmi_sim` on loopback (UDP ports 6270-6279 belong to these
//! tests). Skipped loudly when ipmi_sim or ipmitool is not installed.

use crate::backend_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend_support::{all_cmdlines, build, file, job};
use gfs2_fence_protocol::Action;
use system_tests::bmc::{IpmiSim, IPMI_PASSWORD, IPMI_USER};
use system_tests::peers;

fn ipmitool_table(sim: &IpmiSim, extra: &str) -> String {
    format!(
        "type = \"ipmitool\"\nhost = \"127.0.0.1\"\nport = {}\nusername = \"{IPMI_USER}\"\n\
         password_file = \"{}\"\nstatus_poll_interval_ms = 100\npower_wait_secs = 0.5\n\
         timeout_secs = 60\n{extra}\n",
        sim.port,
        sim.password_file.display()
    )
}

/// Scans every process's command line until stopped; returns (ipmitool lines for `port` seen,
/// leaks). Only `port`'s processes count: fence_ipmilan (another test, another port) does put
/// the password in its ipmitool's argv for a moment, which is exactly what this backend avoids.
fn scan_cmdlines(
    stop: Arc<AtomicBool>,
    port: u16,
) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    let mark = format!(" -p {port} ");
    std::thread::spawn(move || {
        let (mut seen, mut leaks) = (0, Vec::new());
        while !stop.load(Ordering::Relaxed) {
            for c in all_cmdlines().into_iter().filter(|c| c.contains(&mark)) {
                seen += usize::from(c.contains("ipmitool") && c.contains("chassis"));
                if c.contains(IPMI_PASSWORD) {
                    leaks.push(c);
                }
            }
        }
        (seen, leaks)
    })
}

#[tokio::test]
async fn ipmitool_off_on_reboot_confirmed_and_password_never_in_argv() {
    let Some(sim) = IpmiSim::start(
        "ipmitool_off_on_reboot_confirmed_and_password_never_in_argv",
        6270,
    ) else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let scanner = scan_cmdlines(Arc::clone(&stop), sim.port);
    let b = build(&ipmitool_table(&sim, "")).expect("build");

    let out = b.fence(&job("cn1", Action::Off)).await;
    assert!(out.success, "{}", out.message);
    assert_eq!(
        out.message,
        "ipmitool off of cn1 (BMC 127.0.0.1:6270) confirmed: Chassis Power is off"
    );
    assert_eq!(sim.power(), "0");

    let out = b.fence(&job("cn1", Action::On)).await;
    assert!(out.success, "{}", out.message);
    assert_eq!(sim.power(), "1");

    // power cycle: ipmi_sim sets power 0, then 1 again about 1 s later; success only once on.
    let out = b.fence(&job("cn1", Action::Reboot)).await;
    assert!(out.success, "{}", out.message);
    assert!(
        out.message.ends_with("confirmed: Chassis Power is on"),
        "{}",
        out.message
    );
    assert_eq!(sim.power(), "1");

    // Reboot of a node that is off: IPMI ignores a cycle then, so the backend powers it on.
    sim.set_power(false);
    let out = b.fence(&job("cn1", Action::Reboot)).await;
    assert!(
        out.message.contains("was off; Chassis Power is on"),
        "{}",
        out.message
    );
    assert_eq!(sim.power(), "1");

    stop.store(true, Ordering::Relaxed);
    let (seen, leaks) = scanner.join().expect("scanner");
    assert!(leaks.is_empty(), "password in argv: {leaks:?}");
    eprintln!("observed {seen} ipmitool command lines while fencing");
    assert!(
        seen > 0,
        "the scan never caught an ipmitool process, so it proved nothing"
    );
}

#[tokio::test]
async fn ipmitool_reboot_onoff_and_per_node_bmcs() {
    let Some(sim1) = IpmiSim::start("ipmitool_reboot_onoff_and_per_node_bmcs", 6271) else {
        return;
    };
    let Some(sim2) = IpmiSim::start("ipmitool_reboot_onoff_and_per_node_bmcs", 6272) else {
        return;
    };
    let extra = "reboot_method = \"onoff\"\n[per_node.cn2]\nport = 6272\n";
    let b = build(&ipmitool_table(&sim1, extra)).expect("build");
    let out = b.fence(&job("cn2", Action::Off)).await;
    assert!(out.success, "{}", out.message);
    assert!(
        out.message.contains("(BMC 127.0.0.1:6272)"),
        "{}",
        out.message
    );
    assert_eq!((sim1.power().as_str(), sim2.power().as_str()), ("1", "0"));

    let out = b.fence(&job("cn1", Action::Reboot)).await;
    assert!(out.success, "{}", out.message);
    assert_eq!(
        out.message,
        "ipmitool reboot of cn1 (BMC 127.0.0.1:6271) confirmed: Chassis Power is on"
    );
    assert_eq!((sim1.power().as_str(), sim2.power().as_str()), ("1", "0"));
}

#[tokio::test]
async fn ipmitool_wrong_password_fails_and_is_not_shown() {
    let Some(sim) = IpmiSim::start("ipmitool_wrong_password_fails_and_is_not_shown", 6273) else {
        return;
    };
    let d = tempfile::tempdir().expect("tempdir");
    let wrong = d.path().join("wrong.pw");
    file(&wrong, "not-the-Password\n", 0o600);
    let table = ipmitool_table(&sim, "").replace(
        &sim.password_file.display().to_string(),
        &wrong.display().to_string(),
    );
    let out = build(&table)
        .expect("build")
        .fence(&job("cn1", Action::Off))
        .await;
    assert!(!out.success, "{}", out.message);
    assert!(
        out.message
            .contains("power off: exit 1: Error: Unable to establish IPMI v2 / RMCP+ session"),
        "{}",
        out.message
    );
    assert!(!out.message.contains("not-the-Password"));
    assert_eq!(
        sim.power(),
        "1",
        "a wrong password must not power anything off"
    );
}

#[tokio::test]
async fn ipmitool_bmc_down_fails_within_the_backend_timeout() {
    // Nothing listens on 6279: ipmitool alone would retry for about 20 s.
    let Some(sim) = IpmiSim::start("ipmitool_bmc_down_fails_within_the_backend_timeout", 6274)
    else {
        return;
    };
    let table = ipmitool_table(&sim, "")
        .replace("port = 6274", "port = 6279")
        .replace("timeout_secs = 60", "timeout_secs = 3");
    let start = Instant::now();
    let out = build(&table)
        .expect("build")
        .fence(&job("cn1", Action::Off))
        .await;
    assert!(!out.success);
    assert!(
        out.message.contains("timed out after 3 s"),
        "{}",
        out.message
    );
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "took {:?}",
        start.elapsed()
    );
}

fn ipmilan_table(sim: &IpmiSim) -> String {
    format!(
        "type = \"fence-agent\"\nagent = \"fence_ipmilan\"\ntarget_arg = \"none\"\nverify = true\n\
         secret_files = {{ password = \"{}\" }}\n\
         [params]\nip = \"127.0.0.1\"\nipport = {}\nusername = \"{IPMI_USER}\"\nlanplus = true\ncipher = 3\n",
        sim.password_file.display(),
        sim.port
    )
}

#[tokio::test]
async fn fence_ipmilan_off_on_reboot_against_ipmi_sim() {
    if !peers::require(
        "fence_ipmilan_off_on_reboot_against_ipmi_sim",
        &[peers::installed("/usr/sbin/fence_ipmilan")],
    ) {
        return;
    }
    let Some(sim) = IpmiSim::start("fence_ipmilan_off_on_reboot_against_ipmi_sim", 6275) else {
        return;
    };
    let b = build(&ipmilan_table(&sim)).expect("build");
    let out = b.fence(&job("cn1", Action::Off)).await;
    assert!(out.success, "{}", out.message);
    assert_eq!(
        out.message,
        "fence_ipmilan off of cn1 succeeded: Success: Powered OFF; status confirms off"
    );
    assert_eq!(sim.power(), "0");
    let out = b.fence(&job("cn1", Action::On)).await;
    assert_eq!(
        out.message,
        "fence_ipmilan on of cn1 succeeded: Success: Powered ON"
    );
    assert_eq!(sim.power(), "1");
    let out = b.fence(&job("cn1", Action::Reboot)).await;
    assert_eq!(
        out.message,
        "fence_ipmilan reboot of cn1 succeeded: Success: Rebooted"
    );
    assert_eq!(sim.status().as_deref(), Some("Chassis Power is on"));
}

#[tokio::test]
async fn fence_ipmilan_wrong_password_fails_with_its_error() {
    if !peers::require(
        "fence_ipmilan_wrong_password_fails_with_its_error",
        &[peers::installed("/usr/sbin/fence_ipmilan")],
    ) {
        return;
    }
    let Some(sim) = IpmiSim::start("fence_ipmilan_wrong_password_fails_with_its_error", 6276)
    else {
        return;
    };
    file(&sim.password_file, "not-the-Password\n", 0o600);
    let out = build(&ipmilan_table(&sim))
        .expect("build")
        .fence(&job("cn1", Action::Off))
        .await;
    assert!(!out.success);
    assert_eq!(
        out.message,
        "fence_ipmilan off of cn1 failed (exit 1): ERROR: Failed: Unable to obtain correct plug status or plug is not available"
    );
    assert_eq!(sim.power(), "1");
}

#[tokio::test]
async fn ipmitool_success_needs_the_confirmed_state_not_an_accepted_command() {
    // The BMC answers "Chassis Power Control: Down/Off" but the power stays on.
    let Some(sim) = IpmiSim::start_stuck(
        "ipmitool_success_needs_the_confirmed_state_not_an_accepted_command",
        6277,
    ) else {
        return;
    };
    let table = ipmitool_table(&sim, "").replace("timeout_secs = 60", "timeout_secs = 3");
    let out = build(&table)
        .expect("build")
        .fence(&job("cn1", Action::Off))
        .await;
    assert!(!out.success, "{}", out.message);
    let want = "failed: timed out after 3 s waiting for \"Chassis Power is off\"";
    assert!(out.message.contains(want), "{}", out.message);
    assert_eq!(sim.power(), "1");
}
