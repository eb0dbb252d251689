//! A Redfish success needs proof (issue 11, #1 and the Redfish part of #12), against the
//! hostile BMC of `system_tests::hostile_redfish` (a mock by necessity: sushy-emulator cannot be made to lie):
//! a `ForceRestart` accepted with PowerState On throughout fails, a reset POST answered with a
//! redirect fails and is never repeated as a GET, a 503 with `Retry-After` during discovery and
//! during the reset is waited out within the timeout. The confirmed off/on of the default
//! method against the real sushy-emulator is in `redfish_power.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fence_watcher::backend::redfish::{Redfish, RedfishConfig};
use gfs2_fence_protocol::{Action, NodeName};
use system_tests::bmc::sushy::{write_secret, PASSWORD};

use system_tests::hostile_redfish::{reset_path, system, HostileBmc, Resp};

fn node1() -> NodeName {
    NodeName::parse("node1").expect("node name")
}

fn backend(bmc: &HostileBmc, dir: &tempfile::TempDir, extra: &str) -> Redfish {
    let pw = dir.path().join("pw");
    write_secret(&pw, PASSWORD);
    let text = bmc.backend_toml(&pw, &format!("system_id = \"1\"\n{extra}"));
    let cfg: RedfishConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    Redfish::new("hostile", &cfg).unwrap_or_else(|e| panic!("build: {e}"))
}

/// Regression (issue 11, #1): "A Redfish reboot succeeds with no proof". The BMC answers 204
/// to ForceRestart and PowerState stays On throughout: before the fix, `success` with "no Off
/// state was visible"; now a failure saying that no Off was seen, so nothing proves a restart.
#[tokio::test]
async fn a_redfish_reboot_succeeds_with_no_proof() {
    let bmc = HostileBmc::start(|req| match req.method.as_str() {
        "POST" => Resp::new(204, ""),
        _ => Resp::new(200, system("1", "On")),
    })
    .expect("hostile bmc");
    let dir = tempfile::tempdir().expect("tempdir");
    let rf = backend(
        &bmc,
        &dir,
        "reboot_method = \"restart\"\ntimeout_secs = 2\n",
    );
    let started = Instant::now();
    let text = rf
        .fence(&node1(), Action::Reboot)
        .await
        .expect_err("a restart with On throughout proves nothing")
        .to_string();
    assert!(
        text.contains("ForceRestart was accepted, but PowerState still read On and never Off")
            && text.contains("no proof that the node restarted"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(2 + 10), "{text}");
    let posts: Vec<_> = bmc
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "{:?}", bmc.lines());
    assert!(posts[0].body.contains("ForceRestart"), "{}", posts[0].body);
}

/// Regression (issue 11, #1): the same BMC when it does show the restart (PoweringOff, then
/// On): `restart` is a success, naming the state it read after the reset.
#[tokio::test]
async fn a_restart_with_powering_off_seen_after_the_reset_is_a_success() {
    let reads = Arc::new(AtomicUsize::new(0));
    let posted = Arc::new(Mutex::new(false));
    let (r2, p2) = (reads.clone(), posted.clone());
    let bmc = HostileBmc::start(move |req| {
        if req.method == "POST" {
            *p2.lock().expect("lock") = true;
            return Resp::new(204, "");
        }
        // On before the reset; after it On once (not yet begun), PoweringOff, then On.
        let state = match *p2.lock().expect("lock") {
            false => "On",
            true => match r2.fetch_add(1, Ordering::SeqCst) {
                0 => "On",
                1 => "PoweringOff",
                _ => "On",
            },
        };
        Resp::new(200, system("1", state))
    })
    .expect("hostile bmc");
    let dir = tempfile::tempdir().expect("tempdir");
    let rf = backend(
        &bmc,
        &dir,
        "reboot_method = \"restart\"\ntimeout_secs = 10\n",
    );
    let msg = rf
        .fence(&node1(), Action::Reboot)
        .await
        .expect("proven restart");
    assert!(
        msg.contains(
            "ForceRestart: PowerState read PoweringOff after the reset, then confirmed On"
        ),
        "{msg}"
    );
    assert!(reads.load(Ordering::SeqCst) >= 3, "{:?}", bmc.lines());
}

/// Regression (issue 11, #1): "a reset POST answered with a 302 is repeated as a GET and
/// counted as an accepted reset". Now the redirect is the answer: the reset failed, and the
/// Location is never requested.
#[tokio::test]
async fn a_reset_post_answered_302_is_repeated_as_a_get() {
    let bmc = HostileBmc::start(|req| match (req.method.as_str(), req.path.as_str()) {
        ("POST", _) => Resp::new(302, "").header("Location", "/redfish/v1/elsewhere"),
        (_, "/redfish/v1/elsewhere") => Resp::new(200, "{}"),
        _ => Resp::new(200, system("1", "On")),
    })
    .expect("hostile bmc");
    let dir = tempfile::tempdir().expect("tempdir");
    let rf = backend(&bmc, &dir, "timeout_secs = 3\n");
    let text = rf
        .fence(&node1(), Action::Off)
        .await
        .expect_err("a redirected reset is not a reset")
        .to_string();
    let lines = bmc.lines();
    assert!(
        !lines.iter().any(|l| l.contains("/redfish/v1/elsewhere")),
        "the redirect of a POST was followed: {lines:?}"
    );
    assert!(
        text.contains("step \"reset ForceOff\"")
            && text.contains(
                "http 302 redirect on /redfish/v1/Systems/1/Actions/ComputerSystem.Reset"
            )
            && text.contains("to /redfish/v1/elsewhere"),
        "{text}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("POST")).count(),
        1,
        "{lines:?}"
    );
}

/// Regression (issue 11, #12): "Redfish 503 with Retry-After during discovery or reset is not
/// retried". Two 503s on the system, then one on the reset, each with `Retry-After: 1`: all
/// waited out within the 15 s timeout, and the off is confirmed.
#[tokio::test]
async fn redfish_503_with_retry_after_during_discovery_or_reset_is_not_retried() {
    let busy_gets = Arc::new(AtomicUsize::new(0));
    let posts = Arc::new(AtomicUsize::new(0));
    let (g2, p2) = (busy_gets.clone(), posts.clone());
    let bmc = HostileBmc::start(move |req| {
        let busy =
            || Resp::new(503, r#"{"error": {"message": "busy"}}"#).header("Retry-After", "1");
        if req.method == "POST" {
            return match p2.fetch_add(1, Ordering::SeqCst) {
                0 => busy(),
                _ => Resp::new(204, ""),
            };
        }
        if p2.load(Ordering::SeqCst) >= 2 {
            return Resp::new(200, system("1", "Off"));
        }
        match g2.fetch_add(1, Ordering::SeqCst) {
            0 | 1 => busy(),
            _ => Resp::new(200, system("1", "On")),
        }
    })
    .expect("hostile bmc");
    let dir = tempfile::tempdir().expect("tempdir");
    let rf = backend(&bmc, &dir, "timeout_secs = 15\n");
    let started = Instant::now();
    let msg = rf
        .fence(&node1(), Action::Off)
        .await
        .unwrap_or_else(|e| panic!("503s are waited out: {e}\n{:?}", bmc.lines()));
    assert!(msg.contains("ForceOff confirmed PowerState Off"), "{msg}");
    assert_eq!(posts.load(Ordering::SeqCst), 2, "{:?}", bmc.lines());
    assert!(busy_gets.load(Ordering::SeqCst) >= 3, "{:?}", bmc.lines());
    // Three waits of the asked second each.
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        reset_path("1"),
        "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset"
    );
}
