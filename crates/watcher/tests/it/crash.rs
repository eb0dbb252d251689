//! Crash safety: `kill -9` during a fence; the restarted daemon answers the claimed request
//! exactly once (it re-runs it, since its outcome is unknown) and leaves nothing behind.

use crate::common;

use std::time::{Duration, Instant};

use common::{Spool, PATIENCE};
use gfs2_fence_protocol::{Action, Outcome};

#[test]
fn kill_9_during_a_fence_then_restart_answers_exactly_once() {
    let spool = common::spool();
    let mut d = common::start(&spool, &["--simulate-delay", "3"]);
    let (name, req) = spool.request("cn-1", Action::Off, Duration::from_secs(120));
    let claimed = spool.requests.join(".claimed").join(name.as_str());
    let start = Instant::now();
    while !claimed.exists() {
        assert!(start.elapsed() < PATIENCE, "never claimed");
        std::thread::sleep(Duration::from_millis(10));
    }
    d.kill9();
    assert!(
        !spool.responses.join(name.as_str()).exists(),
        "killed before the fence completed"
    );

    let mut d = common::start(&spool, &["--simulate"]);
    let r = spool.wait_response(name.as_str());
    assert_eq!(r.request_id, req.request_id);
    assert!(r.success && r.outcome == Some(Outcome::Success) && r.executed == Some(true));
    d.wait_log("re-running request");
    // Exactly once: one response file, no claim, no request left.
    std::thread::sleep(Duration::from_millis(300));
    let responses: Vec<_> = Spool::list(&spool.responses)
        .into_iter()
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(responses, [name.as_str()]);
    assert!(
        spool.claimed_drained(common::DRAIN),
        ".claimed never emptied"
    );
    assert!(Spool::list(&spool.requests)
        .iter()
        .all(|n| n.starts_with('.')));
    drop(d);

    // A third start finds nothing to do and executes nothing again.
    let d = common::start(&spool, &["--simulate"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!d.log_text().contains("fence decision"), "{}", d.log_text());
}

#[test]
fn a_claim_whose_response_exists_is_not_run_again() {
    let spool = common::spool();
    // The state a crash between "publish the response" and "remove the claim" leaves.
    let (name, req) = spool.request("cn-1", Action::Off, Duration::from_secs(120));
    std::fs::create_dir_all(spool.requests.join(".claimed")).expect("mkdir");
    std::fs::rename(
        spool.requests.join(name.as_str()),
        spool.requests.join(".claimed").join(name.as_str()),
    )
    .expect("mv");
    std::fs::create_dir_all(&spool.responses).expect("mkdir");
    let done = gfs2_fence_protocol::Response::to_request(
        &req,
        Outcome::Success,
        "before the crash".into(),
        "x".into(),
    );
    std::fs::write(spool.responses.join(name.as_str()), done.to_json()).expect("write");
    let d = common::start(&spool, &["--simulate"]);
    assert!(
        spool.claimed_drained(common::DRAIN),
        ".claimed never emptied"
    );
    assert_eq!(
        spool.wait_response(name.as_str()).message,
        "before the crash"
    );
    assert!(!d.log_text().contains("fence decision"));
}

/// Issue 15: an accepted `on` archives its answer into `RESPONSE_DIR/.unfenced/`. A claim
/// that comes back after that (a crash before the claim's removal, or a power loss undoing it,
/// DESIGN.md D5) has no response in RESPONSE_DIR, and was run again: a fresh `on` success that
/// nnf-sos reads as "fenced" and no agent archives. The archived answer counts as the answer.
#[test]
fn a_claim_whose_answer_was_archived_by_unfencing_is_not_run_again() {
    let spool = common::spool();
    let (name, req) = spool.request("cn-1", Action::On, Duration::from_secs(120));
    std::fs::create_dir_all(spool.requests.join(".claimed")).expect("mkdir");
    std::fs::rename(
        spool.requests.join(name.as_str()),
        spool.requests.join(".claimed").join(name.as_str()),
    )
    .expect("mv");
    let archive = spool.responses.join(".unfenced");
    std::fs::create_dir_all(&archive).expect("mkdir");
    let done = gfs2_fence_protocol::Response::to_request(
        &req,
        Outcome::Success,
        "before the crash".into(),
        "x".into(),
    );
    std::fs::write(archive.join(name.as_str()), done.to_json()).expect("write");
    let d = common::start(&spool, &["--simulate"]);
    assert!(
        spool.claimed_drained(common::DRAIN),
        ".claimed never emptied"
    );
    assert!(
        !spool.responses.join(name.as_str()).exists(),
        "run again: a new success in RESPONSE_DIR"
    );
    assert!(!d.log_text().contains("fence decision"), "{}", d.log_text());
}

#[test]
fn a_claim_of_unknown_outcome_past_its_deadline_is_answered_expired() {
    let spool = common::spool();
    let (name, _) = spool.request("cn-1", Action::Reboot, Duration::ZERO);
    std::fs::create_dir_all(spool.requests.join(".claimed")).expect("mkdir");
    std::fs::rename(
        spool.requests.join(name.as_str()),
        spool.requests.join(".claimed").join(name.as_str()),
    )
    .expect("mv");
    let d = common::start(&spool, &["--simulate"]);
    let r = spool.wait_response(name.as_str());
    assert_eq!(
        (r.outcome, r.executed),
        (Some(Outcome::Expired), Some(false))
    );
    assert!(r.message.contains("outcome is unknown"), "{}", r.message);
    assert!(!d.log_text().contains("re-running"));
}

#[test]
fn sigterm_past_the_grace_period_leaves_the_claim_for_the_next_start() {
    let spool = common::spool();
    let cfg = spool.config(
        "[daemon]\ngrace_period_secs = 1\n[backends.slow]\ntype = \"simulate\"\ndelay_secs = 30\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"slow\"]\n",
    );
    let mut d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let (name, _) = spool.request("cn-1", Action::Off, Duration::from_secs(120));
    let claimed = spool.requests.join(".claimed").join(name.as_str());
    let start = Instant::now();
    while !claimed.exists() {
        assert!(start.elapsed() < PATIENCE, "never claimed");
        std::thread::sleep(Duration::from_millis(10));
    }
    d.signal(rustix::process::Signal::TERM);
    let st = d.wait_exit();
    assert_eq!(st.code(), Some(1), "{}", d.log_text());
    assert!(claimed.exists() && !spool.responses.join(name.as_str()).exists());
    drop(d);
    let _d = common::start(&spool, &["--simulate"]);
    assert!(spool.wait_response(name.as_str()).success);
}
