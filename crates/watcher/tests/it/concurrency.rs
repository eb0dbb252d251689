//! Concurrency: overlapping requests for the same node and action share a backend run that has
//! not started (one under way when a request arrives is no proof for it, so that request waits
//! for the next run, which all requests arriving meanwhile share) and are all answered; a burst of distinct nodes is answered completely; topology levels fall
//! through in order.

use crate::common;

use std::time::Duration;

use common::{metric, scrape, Spool};
use gfs2_fence_protocol::{Action, Outcome};

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn overlapping_duplicates_share_one_backend_run() {
    let spool = common::spool();
    let port = common::free_port();
    let _d = common::start(
        &spool,
        &[
            "--simulate-delay",
            "1",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
        ],
    );
    let names: Vec<_> = (0..5)
        .map(|_| spool.request("cn-7", Action::Reboot, MINUTE).0)
        .collect();
    let mut ids = std::collections::HashSet::new();
    for n in &names {
        let r = spool.wait_response(n.as_str());
        assert!(
            r.success && r.outcome == Some(Outcome::Success),
            "{}",
            r.message
        );
        ids.insert(r.request_id);
    }
    assert_eq!(ids.len(), 5, "each request is answered under its own id");
    let m = scrape(port);
    let runs = metric(
        &m,
        "fence_watcher_backend_runs_total{backend=\"simulate\",result=\"success\"}",
    )
    .unwrap_or(0.0);
    // The first run may start before the other four are claimed; those then share the next.
    assert!(
        (1.0..=2.0).contains(&runs),
        "at most two backend runs for five overlapping requests:\n{m}"
    );
    assert_eq!(
        metric(&m, "fence_watcher_coalesced_requests_total"),
        Some(5.0 - runs),
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "fence_watcher_requests_total{outcome=\"success\",action=\"reboot\",backend=\"simulate\"}"
        ),
        Some(5.0)
    );
}

/// The same with an independent witness: a `command` backend that appends a line per run.
#[test]
fn overlapping_duplicates_run_the_command_once() {
    let spool = common::spool();
    let witness = spool.path("runs");
    let cfg = spool.config(&format!(
        r#"
        [backends.cmd]
        type = "command"
        argv = ["/bin/sh", "-c", "echo {{node}} {{action}} >> {}; sleep 1"]
        timeout_secs = 30
        [[topology]]
        nodes = ["*"]
        levels = ["cmd"]
        "#,
        witness.display()
    ));
    let _d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let names: Vec<_> = (0..5)
        .map(|_| spool.request("cn-7", Action::Off, MINUTE).0)
        .collect();
    let (other, _) = spool.request("cn-8", Action::Off, MINUTE);
    for n in names.iter().chain([&other]) {
        let r = spool.wait_response(n.as_str());
        assert!(r.success, "{}", r.message);
    }
    let mut runs: Vec<String> = std::fs::read_to_string(&witness)
        .expect("the command ran")
        .lines()
        .map(str::to_owned)
        .collect();
    runs.sort();
    runs.dedup_by(|a, b| a == b && a.starts_with("cn-7"));
    assert_eq!(runs, ["cn-7 off", "cn-8 off"]);
    let cn7 = std::fs::read_to_string(&witness)
        .expect("the command ran")
        .lines()
        .filter(|l| l.starts_with("cn-7"))
        .count();
    assert!(
        (1..=2).contains(&cn7),
        "{cn7} runs for five overlapping requests"
    );
}

#[test]
fn levels_fall_through_and_every_error_is_reported() {
    let spool = common::spool();
    let cfg = spool.config(
        r#"
        [backends.first]
        type = "simulate"
        outcome = "fail"
        [backends.second]
        type = "simulate"
        [backends.third]
        type = "simulate"
        outcome = "fail"
        [[topology]]
        nodes = ["ok-*"]
        levels = ["first", "second"]
        [[topology]]
        nodes = ["bad-*"]
        levels = ["first", "third"]
        "#,
    );
    let _d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let (ok, _) = spool.request("ok-1", Action::Off, MINUTE);
    let (bad, _) = spool.request("bad-1", Action::Off, MINUTE);
    let (lost, _) = spool.request("other-1", Action::Off, MINUTE);

    let r = spool.wait_response(ok.as_str());
    assert!(r.success, "{}", r.message);
    let names: Vec<_> = r
        .levels
        .iter()
        .map(|l| (l.backend.as_str(), l.success))
        .collect();
    assert_eq!(names, [("first", false), ("second", true)]);

    let r = spool.wait_response(bad.as_str());
    assert!(!r.success && r.outcome == Some(Outcome::Failed));
    assert_eq!(r.levels.len(), 2);
    assert!(
        r.message.contains("level 1 (first)") && r.message.contains("level 2 (third)"),
        "{}",
        r.message
    );

    let r = spool.wait_response(lost.as_str());
    assert!(!r.success && r.executed == Some(false));
    assert!(r.message.contains("no [[topology]] entry"), "{}", r.message);
}

#[test]
fn a_burst_of_distinct_nodes_is_answered_completely() {
    let spool = common::spool();
    // Published before the daemon starts and while it runs, so both the scan and inotify work.
    let mut expected: Vec<_> = (0..250)
        .map(|i| spool.request(&format!("cn-{i}"), Action::Reboot, MINUTE))
        .collect();
    let _d = common::start(&spool, &["--simulate", "--max-concurrent", "64"]);
    expected.extend((250..500).map(|i| spool.request(&format!("cn-{i}"), Action::Reboot, MINUTE)));
    for (name, req) in &expected {
        let r = spool.wait_response(name.as_str());
        assert!(r.success, "{}", r.message);
        assert_eq!(
            (&r.request_id, &r.target_node),
            (&req.request_id, &req.target_node)
        );
    }
    assert!(
        Spool::list(&spool.requests)
            .iter()
            .all(|n| n.starts_with('.')),
        "{:?}",
        Spool::list(&spool.requests)
    );
    assert!(
        spool.claimed_drained(common::DRAIN),
        ".claimed never emptied"
    );
}

#[test]
fn a_request_whose_deadline_passes_while_it_waits_is_expired_not_run() {
    let spool = common::spool();
    // A 6 s slot against a 1 s deadline: a wide margin, so a loaded machine cannot let the first
    // fence finish before the second is due.
    let _d = common::start(&spool, &["--simulate-delay", "6", "--max-concurrent", "1"]);
    let (first, _) = spool.request("cn-1", Action::Off, MINUTE);
    let claimed = spool.requests.join(".claimed").join(first.as_str());
    let start = std::time::Instant::now();
    while !claimed.exists() {
        assert!(start.elapsed() < common::PATIENCE, "never claimed");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The only slot is taken for 6 s; this one is due in 1 s.
    let (second, _) = spool.request("cn-2", Action::Off, Duration::from_secs(1));
    let r = spool.wait_response(second.as_str());
    assert_eq!(
        (r.outcome, r.executed),
        (Some(Outcome::Expired), Some(false)),
        "{}",
        r.message
    );
    assert!(spool.wait_response(first.as_str()).success);
}

/// Issue 10, #8: a `command` backend writes `start`/`end` with a nanosecond clock per run; the
/// runs of one node never overlap and follow the order the requests were made in, while
/// another node's run goes on beside them.
#[test]
fn different_actions_on_one_node_run_at_once_no_overlap_with_the_real_daemon() {
    let spool = common::spool();
    let log = spool.path("runs");
    let cfg = spool.config(&format!(
        r#"
        [backends.cmd]
        type = "command"
        argv = ["/bin/sh", "-c", "echo {{node}} {{action}} start $(date +%s%N) >> {log}; sleep 1; echo {{node}} {{action}} end $(date +%s%N) >> {log}"]
        timeout_secs = 30
        [[topology]]
        nodes = ["*"]
        levels = ["cmd"]
        "#,
        log = log.display()
    ));
    let _d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let lines = || std::fs::read_to_string(&log).unwrap_or_default();
    let (off, _) = spool.request("cn-1", Action::Off, MINUTE);
    let first =
        system_tests::wait_for(common::PATIENCE, || lines().contains("start").then_some(()));
    assert!(first.is_some(), "the off never started");
    let (reboot, _) = spool.request("cn-1", Action::Reboot, MINUTE);
    let (other, _) = spool.request("cn-2", Action::Off, MINUTE);
    // Published once the reboot has started, so that it is, without doubt, the later request
    // (requests made within the same millisecond are claimed in parallel: their order is the
    // order they reach the scheduler).
    let started = || lines().contains("cn-1 reboot start").then_some(());
    assert!(
        system_tests::wait_for(common::PATIENCE, started).is_some(),
        "{}",
        lines()
    );
    let (off2, _) = spool.request("cn-1", Action::Off, MINUTE);
    for n in [&off, &reboot, &other, &off2] {
        let r = spool.wait_response(n.as_str());
        assert!(r.success && r.executed == Some(true), "{}", r.message);
    }
    let text = lines();
    // (action, start, end) of every run of cn-1, in start order.
    let mut runs: Vec<(String, u128, u128)> = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let [node, action, what, at] = f[..] else {
            panic!("bad line {l:?}")
        };
        let at: u128 = at.parse().expect("time");
        match (node, what) {
            ("cn-1", "start") => runs.push((action.to_owned(), at, 0)),
            ("cn-1", "end") => {
                let run = runs.iter_mut().rev().find(|r| r.0 == action && r.2 == 0);
                run.expect("an end without a start").2 = at;
            }
            _ => {}
        }
    }
    let actions: Vec<&str> = runs.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions, ["off", "reboot", "off"], "{text}");
    for w in runs.windows(2) {
        assert!(
            w[1].1 >= w[0].2,
            "{} of cn-1 started before the {} before it ended:\n{text}",
            w[1].0,
            w[0].0
        );
    }
}
