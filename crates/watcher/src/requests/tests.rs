//! Unit tests of the claim protocol over a temporary spool: responding (publish, NOREPLACE,
//! claim removal, the retry of a response that could not be published), recovery at start-up,
//! and the bound on request tasks. The backend is the test double of `crate::testing`.

use std::path::Path;
use std::time::{Duration, Instant};

use gfs2_fence_protocol::{Action, Outcome, Request, Response, SpoolName};

use super::respond::{self, Answer};
use super::{handle, recovery, Context, TASK_WINDOW};
use crate::testing::{context, name_of, request, TestBackend};

const MINUTE: Duration = Duration::from_secs(60);

fn claim(tmp: &Path, req: &Request) -> SpoolName {
    let name = name_of(req);
    std::fs::write(tmp.join("req/.claimed").join(name.as_str()), req.to_json()).expect("claim");
    name
}

fn response(tmp: &Path, name: &SpoolName) -> Response {
    let bytes = std::fs::read(tmp.join("resp").join(name.as_str())).expect("response");
    Response::from_json(&bytes).expect("valid response")
}

fn claimed(tmp: &Path, name: &SpoolName) -> bool {
    tmp.join("req/.claimed").join(name.as_str()).exists()
}

fn cancelled() -> Answer {
    Answer::unexecuted(Outcome::Cancelled, "cancelled by the test".into())
}

/// Waits (polling a condition, up to 10 s) until `cond` holds.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(10), "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn idle(d: &Context) {
    tokio::time::timeout(MINUTE, d.idle())
        .await
        .expect("every request finished");
}

#[tokio::test]
async fn an_answer_is_published_then_the_claim_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = context(tmp.path(), &TestBackend::open(true), 1);
    let req = request("cn-1", Action::Off, MINUTE);
    let name = claim(tmp.path(), &req);
    respond::answer(&d, &name, &req, cancelled()).expect("published");
    let r = response(tmp.path(), &name);
    assert_eq!(r.request_id, req.request_id);
    assert_eq!(
        (r.outcome, r.executed),
        (Some(Outcome::Cancelled), Some(false))
    );
    assert!(r.responder.is_some_and(|s| s.starts_with("fence_watcher@")));
    assert!(!claimed(tmp.path(), &name), "claim left after the response");
}

#[tokio::test]
async fn an_existing_response_is_never_replaced_and_the_claim_still_goes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = context(tmp.path(), &TestBackend::open(true), 1);
    let req = request("cn-1", Action::Off, MINUTE);
    let name = claim(tmp.path(), &req);
    let theirs = tmp.path().join("resp").join(name.as_str());
    std::fs::write(&theirs, b"another responder's answer").expect("write");
    respond::answer(&d, &name, &req, cancelled()).expect("answered by someone else counts");
    assert_eq!(
        std::fs::read(&theirs).expect("read"),
        b"another responder's answer"
    );
    assert!(!claimed(tmp.path(), &name));
}

/// A directory where the response's temporary file goes makes publishing fail until an
/// "operator" removes it: the failure is recoverable, like a full file system.
fn block_publishing(tmp: &Path, name: &SpoolName) -> std::path::PathBuf {
    let blocker = tmp.join("resp").join(name.temporary());
    std::fs::create_dir_all(blocker.join("x")).expect("blocker");
    blocker
}

#[tokio::test]
async fn an_unpublished_response_keeps_the_claim_and_is_delivered_later() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = context(tmp.path(), &TestBackend::open(true), 1);
    let req = request("cn-1", Action::Off, MINUTE);
    let name = claim(tmp.path(), &req);
    let blocker = block_publishing(tmp.path(), &name);
    let pending = respond::answer(&d, &name, &req, cancelled()).expect_err("cannot publish");
    assert!(
        claimed(tmp.path(), &name),
        "claim removed without a response"
    );
    assert!(respond::deliver(&d, &name, (*pending.0).clone()).is_err());
    std::fs::remove_dir_all(&blocker).expect("unblock");
    respond::deliver(&d, &name, *pending.0).expect("published");
    assert_eq!(response(tmp.path(), &name).request_id, req.request_id);
    assert!(!claimed(tmp.path(), &name));
}

#[tokio::test]
async fn the_retry_publishes_once_the_response_directory_is_repaired() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = context(tmp.path(), &TestBackend::open(true), 1);
    let req = request("cn-1", Action::Off, MINUTE);
    let name = claim(tmp.path(), &req);
    let blocker = block_publishing(tmp.path(), &name);
    let pending = respond::answer(&d, &name, &req, cancelled()).expect_err("cannot publish");
    let retry = tokio::spawn({
        let (d, name) = (d.clone(), name.clone());
        async move { handle::retry(&d, &name, pending).await }
    });
    std::fs::remove_dir_all(&blocker).expect("unblock");
    let resp = tmp.path().join("resp").join(name.as_str());
    until("the retry publishes", || resp.exists()).await;
    tokio::time::timeout(MINUTE, retry)
        .await
        .expect("retry ends")
        .expect("task");
    assert!(!claimed(tmp.path(), &name));
}

#[tokio::test]
async fn the_retry_stops_with_the_daemon_and_leaves_the_claim() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = context(tmp.path(), &TestBackend::open(true), 1);
    let req = request("cn-1", Action::Off, MINUTE);
    let name = claim(tmp.path(), &req);
    block_publishing(tmp.path(), &name);
    let pending = respond::answer(&d, &name, &req, cancelled()).expect_err("cannot publish");
    d.stop();
    tokio::time::timeout(MINUTE, handle::retry(&d, &name, pending))
        .await
        .expect("retry ends when stopping");
    assert!(
        claimed(tmp.path(), &name),
        "the next start must find the claim"
    );
}

#[tokio::test]
async fn recovery_removes_an_answered_claim_and_runs_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let backend = TestBackend::open(true);
    let d = context(tmp.path(), &backend, 1);
    let req = request("cn-1", Action::Off, MINUTE);
    let name = claim(tmp.path(), &req);
    let answered = tmp.path().join("resp").join(name.as_str());
    std::fs::write(&answered, b"answered before the crash").expect("write");
    recovery::recover(&d);
    idle(&d).await;
    assert!(!claimed(tmp.path(), &name));
    assert_eq!(
        std::fs::read(&answered).expect("read"),
        b"answered before the crash"
    );
    assert_eq!(backend.runs(), 0);
    assert!(d
        .metrics
        .render()
        .contains("fence_watcher_already_answered_total 1"));
}

#[tokio::test]
async fn recovery_runs_an_unanswered_claim_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let backend = TestBackend::open(true);
    let d = context(tmp.path(), &backend, 1);
    let req = request("cn-1", Action::Reboot, MINUTE);
    let name = claim(tmp.path(), &req);
    recovery::recover(&d);
    idle(&d).await;
    let r = response(tmp.path(), &name);
    assert_eq!(
        (r.outcome, r.executed),
        (Some(Outcome::Success), Some(true))
    );
    assert_eq!(backend.runs(), 1);
    assert!(!claimed(tmp.path(), &name));
    assert!(d
        .metrics
        .render()
        .contains("fence_watcher_recovered_requests_total 1"));
}

#[tokio::test]
async fn recovery_answers_an_unanswered_claim_past_its_deadline_expired() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let backend = TestBackend::open(true);
    let d = context(tmp.path(), &backend, 1);
    let req = request("cn-1", Action::Off, Duration::ZERO);
    let name = claim(tmp.path(), &req);
    recovery::recover(&d);
    idle(&d).await;
    let r = response(tmp.path(), &name);
    assert_eq!(
        (r.outcome, r.executed),
        (Some(Outcome::Expired), Some(false))
    );
    assert!(r.message.contains("outcome is unknown"), "{}", r.message);
    assert_eq!(
        backend.runs(),
        0,
        "a late repeat could strike a rejoined node"
    );
    assert!(!claimed(tmp.path(), &name));
}

#[tokio::test]
async fn a_flood_of_requests_makes_a_bounded_number_of_tasks_and_all_are_answered() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let backend = TestBackend::gated();
    let d = context(tmp.path(), &backend, 1);
    let n = 3 * (1 + TASK_WINDOW);
    let names: Vec<SpoolName> = (0..n)
        .map(|i| {
            let req = request(&format!("cn-{i}"), Action::Off, MINUTE);
            let name = name_of(&req);
            std::fs::write(tmp.path().join("req").join(name.as_str()), req.to_json())
                .expect("request");
            name
        })
        .collect();
    let before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    for name in &names {
        handle::submit(&d, name.clone());
    }
    backend.started(1).await;
    let alive = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
        - before;
    assert!(alive <= 1 + TASK_WINDOW, "{alive} tasks for {n} requests");
    assert_eq!((d.running(), d.tasks()), (1 + TASK_WINDOW, n));
    backend.release(n);
    idle(&d).await;
    for name in &names {
        assert_eq!(response(tmp.path(), name).outcome, Some(Outcome::Success));
    }
    assert_eq!((backend.runs(), backend.peak()), (n, 1));
}

/// Issue 10, #9: names past the task window wait unclaimed in `REQUEST_DIR`; one whose
/// deadline passes meanwhile is answered expired by the sweep, without waiting for a slot that
/// slow fences with later deadlines hold.
#[tokio::test]
async fn memory_follows_the_backlog_no_more_a_queued_request_past_its_deadline_is_answered_at_once()
{
    let tmp = tempfile::tempdir().expect("tempdir");
    let backend = TestBackend::gated();
    let d = context(tmp.path(), &backend, 1);
    let publish = |node: String, timeout: Duration| {
        let req = request(&node, Action::Off, timeout);
        let name = name_of(&req);
        std::fs::write(tmp.path().join("req").join(name.as_str()), req.to_json()).expect("request");
        name
    };
    let ahead: Vec<SpoolName> = (0..1 + TASK_WINDOW)
        .map(|i| publish(format!("cn-{i}"), MINUTE))
        .collect();
    let late: Vec<SpoolName> = (0..10)
        .map(|i| publish(format!("cn-late-{i}"), Duration::from_millis(1500)))
        .collect();
    let sweep = tokio::spawn(super::sweep::run(d.clone()));
    for name in ahead.iter().chain(&late) {
        handle::submit(&d, name.clone());
    }
    backend.started(1).await;
    for name in &late {
        assert!(
            tmp.path().join("req").join(name.as_str()).exists(),
            "{name} was claimed past the window"
        );
    }
    let answered = |n: &SpoolName| tmp.path().join("resp").join(n.as_str()).exists();
    until(
        "the queued requests past their deadline are answered",
        || late.iter().all(answered),
    )
    .await;
    for name in &late {
        let r = response(tmp.path(), name);
        assert_eq!(
            (r.outcome, r.executed),
            (Some(Outcome::Expired), Some(false))
        );
    }
    assert_eq!(backend.runs(), 1, "the fences ahead are still held");
    assert!(!ahead.iter().any(answered));
    backend.release(ahead.len());
    idle(&d).await;
    assert!(ahead.iter().all(answered));
    sweep.abort();
}

/// A response that could not be published is kept beside its claim, and the next start
/// publishes it as it was (the backend's real result) without running anything again.
#[tokio::test]
async fn a_kept_response_is_published_at_start_up_and_nothing_runs_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = context(tmp.path(), &TestBackend::open(true), 1);
    let req = request("cn-1", Action::Off, MINUTE);
    let name = claim(tmp.path(), &req);
    let blocker = block_publishing(tmp.path(), &name);
    let mut done = Answer::unexecuted(Outcome::Success, "fenced before the stop".into());
    done.executed = true;
    respond::answer(&d, &name, &req, done).expect_err("cannot publish");
    let kept = tmp.path().join("req/.outcomes").join(name.as_str());
    assert!(kept.exists(), "the response is kept with the claim");
    std::fs::remove_dir_all(&blocker).expect("unblock");
    drop(d);
    let backend = TestBackend::open(true);
    let d = context(tmp.path(), &backend, 1);
    recovery::recover(&d);
    idle(&d).await;
    let r = response(tmp.path(), &name);
    assert_eq!(r.message, "fenced before the stop");
    assert_eq!((r.success, r.executed), (true, Some(true)));
    assert_eq!(backend.runs(), 0, "not run again");
    assert!(!claimed(tmp.path(), &name) && !kept.exists());
}

/// Issue 11, #7 (what was left of it): a request dated an hour in this host's future has a
/// deadline an hour too late by this host's clock. While it waits for a permit behind another
/// run, its window counted from its file's time passes: it must be answered expired then,
/// never started once the permit frees.
#[tokio::test]
async fn a_future_dated_request_waiting_for_a_permit_never_starts_after_its_local_window() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let backend = TestBackend::gated();
    let d = context(tmp.path(), &backend, 1);
    let hold = request("cn-1", Action::Off, MINUTE);
    let hold_name = name_of(&hold);
    std::fs::write(
        tmp.path().join("req").join(hold_name.as_str()),
        hold.to_json(),
    )
    .expect("request");
    handle::submit(&d, hold_name.clone());
    backend.started(1).await;

    let mut ahead = request("cn-2", Action::Off, Duration::from_millis(300));
    let hour = Duration::from_secs(3600);
    ahead.timestamp = ahead.timestamp.map(|t| (t.to_system_time() + hour).into());
    ahead.deadline = ahead.deadline.map(|t| (t.to_system_time() + hour).into());
    let name = name_of(&ahead);
    std::fs::write(tmp.path().join("req").join(name.as_str()), ahead.to_json()).expect("request");
    handle::submit(&d, name.clone());
    let answered = tmp.path().join("resp").join(name.as_str());
    until("the skewed request answered while it waits", || {
        answered.exists()
    })
    .await;
    backend.release(1);
    idle(&d).await;
    let r = response(tmp.path(), &name);
    assert_eq!(
        (r.outcome, r.executed),
        (Some(Outcome::Expired), Some(false))
    );
    assert!(
        r.message.contains("ahead of this host's clock"),
        "{}",
        r.message
    );
    assert_eq!(
        backend.order(),
        vec!["cn-1 off".to_owned()],
        "the late run started"
    );
}
