//! Every request gets an answer that says what happened: success and failure of the backend,
//! expired and cancelled requests (never executed), and every kind of broken or hostile file
//! (answered `invalid`, or moved aside when no response could carry its name), while the daemon
//! keeps working.

use crate::common;

use std::os::unix::fs::symlink;
use std::time::Duration;

use common::Spool;
use gfs2_fence_protocol::{Action, Outcome, SpoolName, Timestamp};

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn simulate_success_and_failure() {
    let spool = common::spool();
    let d = common::start(&spool, &["--simulate"]);
    let (name, req) = spool.request("cn-1", Action::Reboot, MINUTE);
    let r = spool.wait_response(name.as_str());
    assert!(r.success && r.outcome == Some(Outcome::Success) && r.executed == Some(true));
    assert_eq!(r.request_id, req.request_id);
    assert_eq!(r.levels.len(), 1);
    assert!(r
        .responder
        .as_deref()
        .is_some_and(|s| s.starts_with("fence_watcher@")));
    assert!(!spool.requests.join(name.as_str()).exists());
    assert!(
        spool.claimed_drained(common::DRAIN),
        ".claimed never emptied"
    );
    assert!(d.log_text().contains("fence decision"));
    drop(d);

    let spool = common::spool();
    let _d = common::start(&spool, &["--simulate-outcome", "fail"]);
    let (name, _) = spool.request("cn-1", Action::Off, MINUTE);
    let r = spool.wait_response(name.as_str());
    assert!(!r.success && r.outcome == Some(Outcome::Failed) && r.executed == Some(true));
}

#[test]
fn expired_and_cancelled_requests_are_answered_without_running() {
    let spool = common::spool();
    let _d = common::start(&spool, &["--simulate"]);
    let (name, _) = spool.request("cn-1", Action::Off, Duration::ZERO);
    let r = spool.wait_response(name.as_str());
    assert_eq!(
        (r.outcome, r.executed, r.success),
        (Some(Outcome::Expired), Some(false), false)
    );

    // The agent's cancellation republishes its request cancelled, with the deadline now.
    let mut req = gfs2_fence_protocol::Request::new(
        Action::Off,
        gfs2_fence_protocol::NodeName::parse("cn-2").expect("valid"),
        gfs2_fence_protocol::Gfs2Discovery::disabled("test"),
        "test-recorder".into(),
        MINUTE,
    );
    req.cancelled = true;
    req.deadline = Some(Timestamp::now());
    let name = spool.publish(&req);
    let r = spool.wait_response(name.as_str());
    assert_eq!(
        (r.outcome, r.executed),
        (Some(Outcome::Cancelled), Some(false))
    );
}

fn invalid(spool: &Spool, name: &str) -> String {
    let r = spool.wait_response(name);
    assert_eq!(
        (r.outcome, r.executed, r.success),
        (Some(Outcome::Invalid), Some(false), false),
        "{name}"
    );
    assert!(!spool.requests.join(name).exists());
    r.message
}

#[test]
fn broken_and_hostile_files_are_answered_invalid_and_the_daemon_keeps_working() {
    let spool = common::spool();
    let d = common::start(&spool, &["--simulate"]);
    let name = |s: &str| SpoolName::parse(s).expect("valid");
    spool.publish_as(&name("bad-json.json"), b"{\"request_id\": ");
    spool.publish_as(
        &name("bad-action.json"),
        br#"{"request_id":"bad-action","action":"status","target_node":"cn-1"}"#,
    );
    spool.publish_as(
        &name("bad-target.json"),
        br#"{"request_id":"bad-target","action":"off","target_node":"cn-1/../../etc; rm -rf /"}"#,
    );
    spool.publish_as(&name("oversize.json"), &vec![b' '; 70 * 1024]);
    std::fs::write(spool.path("elsewhere"), b"{}").expect("write");
    symlink(spool.path("elsewhere"), spool.requests.join("link.json")).expect("symlink");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        spool.requests.join("fifo.json"),
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .expect("mkfifo");

    std::fs::write(spool.path("linked"), b"{}").expect("write");
    std::fs::hard_link(spool.path("linked"), spool.requests.join("hardlink.json")).expect("link");

    let m = invalid(&spool, "bad-json.json");
    assert!(m.contains("not valid JSON"), "{m}");
    let m = invalid(&spool, "bad-action.json");
    assert!(m.contains("status"), "{m}");
    assert_eq!(
        spool.wait_response("bad-action.json").request_id.as_str(),
        "bad-action"
    );
    let m = invalid(&spool, "bad-target.json");
    assert!(m.contains("target_node") || m.contains("node name"), "{m}");
    assert!(invalid(&spool, "oversize.json").contains("limit"));
    assert!(invalid(&spool, "link.json").contains("symbolic link"));
    assert!(invalid(&spool, "fifo.json").contains("FIFO"));
    assert!(invalid(&spool, "hardlink.json").contains("hard links"));

    // A name no response could carry is moved aside, and logged.
    std::fs::write(spool.requests.join("evil name;.json"), b"{}").expect("write");
    let (ok, _) = spool.request("cn-9", Action::Reboot, MINUTE);
    assert!(
        spool.wait_response(ok.as_str()).success,
        "the daemon keeps working"
    );
    let start = std::time::Instant::now();
    while Spool::list(&spool.requests.join(".rejected")).is_empty() {
        assert!(start.elapsed() < common::PATIENCE, "not rejected");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!spool.requests.join("evil name;.json").exists());
    assert!(d.log_text().contains(".rejected/rejected-"));
    assert!(
        std::fs::read_to_string(spool.path("elsewhere")).is_ok(),
        "the symlink target is untouched"
    );
}

#[test]
fn a_request_already_answered_is_removed_and_not_executed() {
    let spool = common::spool();
    let port = common::free_port();
    // The response exists before the daemon starts: its start-up scan must see it.
    let (name, req) = spool.request("cn-1", Action::Off, MINUTE);
    std::fs::create_dir_all(&spool.responses).expect("mkdir");
    let earlier = gfs2_fence_protocol::Response::to_request(
        &req,
        Outcome::Success,
        "earlier".into(),
        "x".into(),
    );
    std::fs::write(spool.responses.join(name.as_str()), earlier.to_json()).expect("write");
    let _d = common::start(
        &spool,
        &[
            "--simulate",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
        ],
    );
    let (probe, _) = spool.request("cn-2", Action::Off, MINUTE);
    spool.wait_response(probe.as_str());
    assert!(!spool.requests.join(name.as_str()).exists());
    assert_eq!(
        spool.wait_response(name.as_str()).message,
        "earlier",
        "never overwritten"
    );
    let m = common::scrape(port);
    assert_eq!(
        common::metric(&m, "fence_watcher_already_answered_total"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        common::metric(
            &m,
            "fence_watcher_backend_runs_total{backend=\"simulate\",result=\"success\"}"
        ),
        Some(1.0),
        "only the probe ran:\n{m}"
    );
}
