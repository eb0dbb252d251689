//! Unit tests of scheduling: the concurrency limit, coalescing, expiry while waiting for a
//! slot, requests without a route, and one node's line (issue 10, #8). The backend is the test
//! double of `crate::testing`.

use std::sync::Arc;
use std::time::Duration;

use gfs2_fence_protocol::{Action, Request};

use super::{Decision, Scheduler};
use crate::observe::Metrics;
use crate::testing::{request, routing, TestBackend};

const MINUTE: Duration = Duration::from_secs(60);

fn scheduler(backend: &Arc<TestBackend>, max: usize) -> (Arc<Scheduler>, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::default());
    let s = Scheduler::new(max, routing(backend), metrics.clone());
    (Arc::new(s), metrics)
}

/// Decides `req` by its own deadline (the daemon passes the earlier of it and the local bound).
async fn fence(s: &Scheduler, req: &Request) -> Decision {
    s.fence(req, req.deadline.map(|d| d.to_system_time())).await
}

/// Lets every spawned task of this (current-thread) runtime run to its next await point.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn never_more_backend_runs_than_max_concurrent() {
    let backend = TestBackend::gated();
    let (s, _) = scheduler(&backend, 2);
    let tasks: Vec<_> = (1..=5)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                fence(&s, &request(&format!("cn-{i}"), Action::Off, MINUTE)).await
            })
        })
        .collect();
    backend.started(2).await;
    settle().await;
    assert_eq!(backend.running(), 2, "a third run started past the limit");
    backend.release(5);
    for t in tasks {
        let decision = t.await.expect("task");
        assert!(
            matches!(decision, Decision::Ran { joined: false, .. }),
            "{decision:?}"
        );
    }
    assert_eq!((backend.runs(), backend.peak()), (5, 2));
}

/// Identical requests share a run only while it has not started: one that arrives while the
/// run is under way waits for the next run (a run begun before a request is no proof for it,
/// issue 10's oracle), and the requests that arrive together meanwhile share that next run.
#[tokio::test]
async fn overlapping_identical_requests_share_one_run_and_all_are_answered() {
    let backend = TestBackend::gated();
    let (s, metrics) = scheduler(&backend, 4);
    let spawn = || {
        let s = s.clone();
        tokio::spawn(async move { fence(&s, &request("cn-7", Action::Reboot, MINUTE)).await })
    };
    let first = spawn();
    backend.started(1).await;
    let during: Vec<_> = (0..2).map(|_| spawn()).collect();
    settle().await;
    assert_eq!(
        backend.runs(),
        1,
        "requests made during a run must not start one beside it"
    );
    backend.release(1);
    match first.await.expect("task") {
        Decision::Ran { result, joined } => assert!(result.success && !joined),
        other => panic!("not answered by its run: {other:?}"),
    }
    backend.started(2).await;
    settle().await;
    backend.release(1);
    let mut joined = 0;
    for t in during {
        match t.await.expect("task") {
            Decision::Ran { result, joined: j } => {
                assert!(result.success, "{}", result.message);
                joined += usize::from(j);
            }
            other => panic!("not answered by the run: {other:?}"),
        }
    }
    assert_eq!((backend.runs(), joined), (2, 1));
    assert!(metrics
        .render()
        .contains("fence_watcher_coalesced_requests_total 1"));
    // The runs are over: the next identical request starts a run of its own.
    backend.release(1);
    let again = fence(&s, &request("cn-7", Action::Reboot, MINUTE)).await;
    assert!(matches!(again, Decision::Ran { joined: false, .. }));
    assert_eq!(backend.runs(), 3);
}

#[tokio::test]
async fn a_request_whose_deadline_passes_while_waiting_for_a_slot_expires_unstarted() {
    let backend = TestBackend::gated();
    let (s, _) = scheduler(&backend, 1);
    let s2 = s.clone();
    let first =
        tokio::spawn(async move { fence(&s2, &request("cn-1", Action::Off, MINUTE)).await });
    backend.started(1).await;
    let late = fence(
        &s,
        &request("cn-2", Action::Off, Duration::from_millis(200)),
    )
    .await;
    assert!(matches!(late, Decision::Expired), "{late:?}");
    assert_eq!(backend.runs(), 1, "the expired request was started");
    backend.release(1);
    assert!(matches!(first.await.expect("task"), Decision::Ran { .. }));
}

#[tokio::test]
async fn a_request_already_past_its_deadline_never_runs() {
    let backend = TestBackend::open(true);
    let (s, _) = scheduler(&backend, 1);
    let d = fence(&s, &request("cn-1", Action::Off, Duration::ZERO)).await;
    assert!(matches!(d, Decision::Expired), "{d:?}");
    assert_eq!(backend.runs(), 0);
}

#[tokio::test]
async fn a_node_without_a_route_is_not_fenced() {
    let backend = TestBackend::open(true);
    let (s, _) = scheduler(&backend, 1);
    let d = fence(&s, &request("other-1", Action::Off, MINUTE)).await;
    assert!(matches!(d, Decision::NoRoute), "{d:?}");
    assert_eq!(backend.runs(), 0);
}

#[tokio::test]
async fn joiners_of_a_run_whose_leader_found_no_slot_in_time_decide_for_themselves() {
    // max 1: cn-1 holds the only slot; a cn-2 leader with a short deadline expires waiting, and
    // its joiner (a long deadline) must then lead a run of its own instead of waiting forever.
    let backend = TestBackend::gated();
    let (s, _) = scheduler(&backend, 1);
    let s1 = s.clone();
    let hold = tokio::spawn(async move { fence(&s1, &request("cn-1", Action::Off, MINUTE)).await });
    backend.started(1).await;
    let s2 = s.clone();
    let leader = tokio::spawn(async move {
        fence(
            &s2,
            &request("cn-2", Action::Off, Duration::from_millis(200)),
        )
        .await
    });
    settle().await;
    let s3 = s.clone();
    let joiner =
        tokio::spawn(async move { fence(&s3, &request("cn-2", Action::Off, MINUTE)).await });
    assert!(matches!(leader.await.expect("task"), Decision::Expired));
    backend.release(2);
    assert!(matches!(hold.await.expect("task"), Decision::Ran { .. }));
    let j = joiner.await.expect("task");
    assert!(matches!(j, Decision::Ran { joined: false, .. }), "{j:?}");
    assert_eq!(backend.runs(), 2);
}

// Issue 10, #8 "Different actions on one node run at once": one node's requests run one at a
// time, in arrival order; identical overlapping ones still share a run.

/// Starts `fence` of `node`/`action` due in `timeout` in a task of its own.
fn spawn(
    s: &Arc<Scheduler>,
    node: &str,
    action: Action,
    timeout: Duration,
) -> tokio::task::JoinHandle<Decision> {
    let (s, req) = (s.clone(), request(node, action, timeout));
    tokio::spawn(async move { fence(&s, &req).await })
}

fn ran(d: Decision) -> bool {
    matches!(d, Decision::Ran { ref result, .. } if result.success)
}

#[tokio::test]
async fn different_actions_on_one_node_run_at_once_off_then_reboot_serialised_in_order() {
    let backend = TestBackend::gated();
    let (s, _) = scheduler(&backend, 4);
    let off = spawn(&s, "cn-1", Action::Off, MINUTE);
    backend.started(1).await;
    let reboot = spawn(&s, "cn-1", Action::Reboot, MINUTE);
    settle().await;
    assert_eq!(
        (backend.runs(), backend.running()),
        (1, 1),
        "the reboot started while the off of the same node ran"
    );
    backend.release(1);
    assert!(ran(off.await.expect("task")));
    backend.started(2).await;
    backend.release(1);
    assert!(ran(reboot.await.expect("task")));
    assert_eq!(backend.order(), ["cn-1 off", "cn-1 reboot"]);
    assert_eq!(backend.peak(), 1);
}

#[tokio::test]
async fn different_actions_on_one_node_run_at_once_a_later_off_never_overtakes_a_reboot() {
    // off (running), reboot (waiting), off again: the second off must not join the first one
    // (it would end before the reboot, leaving the node on); it runs after the reboot.
    let backend = TestBackend::gated();
    let (s, _) = scheduler(&backend, 4);
    let first = spawn(&s, "cn-1", Action::Off, MINUTE);
    backend.started(1).await;
    let reboot = spawn(&s, "cn-1", Action::Reboot, MINUTE);
    settle().await;
    let second = spawn(&s, "cn-1", Action::Off, MINUTE);
    settle().await;
    backend.release(3);
    for t in [first, reboot, second] {
        let d = t.await.expect("task");
        assert!(matches!(d, Decision::Ran { joined: false, .. }), "{d:?}");
    }
    assert_eq!(backend.order(), ["cn-1 off", "cn-1 reboot", "cn-1 off"]);
    assert_eq!(backend.peak(), 1);
}

#[tokio::test]
async fn two_identical_waiting_offs_share_one_run_after_the_run_before_them() {
    let backend = TestBackend::gated();
    let (s, metrics) = scheduler(&backend, 4);
    let reboot = spawn(&s, "cn-1", Action::Reboot, MINUTE);
    backend.started(1).await;
    let offs = [
        spawn(&s, "cn-1", Action::Off, MINUTE),
        spawn(&s, "cn-1", Action::Off, MINUTE),
    ];
    settle().await;
    assert_eq!(backend.runs(), 1, "an off started beside the reboot");
    backend.release(2);
    assert!(ran(reboot.await.expect("task")));
    let mut joined = 0;
    for t in offs {
        match t.await.expect("task") {
            Decision::Ran { result, joined: j } if result.success => joined += usize::from(j),
            other => panic!("not answered by the run: {other:?}"),
        }
    }
    assert_eq!(backend.order(), ["cn-1 reboot", "cn-1 off"]);
    assert_eq!(joined, 1);
    assert!(metrics
        .render()
        .contains("fence_watcher_coalesced_requests_total 1"));
}

#[tokio::test]
async fn different_nodes_still_run_concurrently() {
    let backend = TestBackend::gated();
    let (s, _) = scheduler(&backend, 4);
    let a = spawn(&s, "cn-1", Action::Off, MINUTE);
    let b = spawn(&s, "cn-2", Action::Reboot, MINUTE);
    backend.started(2).await;
    assert_eq!(backend.running(), 2);
    backend.release(2);
    assert!(ran(a.await.expect("task")) && ran(b.await.expect("task")));
}

#[tokio::test]
async fn a_waiting_request_whose_deadline_passes_is_answered_expired_without_running() {
    let backend = TestBackend::gated();
    let (s, _) = scheduler(&backend, 4);
    let off = spawn(&s, "cn-1", Action::Off, MINUTE);
    backend.started(1).await;
    let late = fence(
        &s,
        &request("cn-1", Action::Reboot, Duration::from_millis(200)),
    )
    .await;
    assert!(matches!(late, Decision::Expired), "{late:?}");
    // A request after the expired one still waits for the run under way.
    let after = spawn(&s, "cn-1", Action::On, MINUTE);
    settle().await;
    assert_eq!(
        backend.running(),
        1,
        "the next one overtook the run under way"
    );
    backend.release(2);
    assert!(ran(off.await.expect("task")));
    assert!(ran(after.await.expect("task")));
    assert_eq!(
        backend.order(),
        ["cn-1 off", "cn-1 on"],
        "the expired reboot ran"
    );
}
