//! A burst of fences: 300 agents at once for 300 distinct nodes against one daemon, answered
//! at once, and all waiting together.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use system_tests::{agent, Agent, Daemon, Spool};

/// Agents started at once (`GFS2_SYSTESTS_BURST` overrides it, for measurements).
fn agents() -> usize {
    std::env::var("GFS2_SYSTESTS_BURST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// Promise: under a burst, every request is answered, every agent exits 0, and each agent's
/// response is the one for its own request (same request id, same node, its own file).
#[test]
fn three_hundred_agents_at_once() {
    burst(&["--simulate"], "answered at once");
}

/// Promise: 300 agents waiting at the same time all get their answers. Each waiting agent
/// holds an inotify instance, and Linux allows 128 per user by default
/// (`fs.inotify.max_user_instances`, shared with every other root process): the agent must
/// still wait correctly when it cannot get one.
#[test]
fn three_hundred_agents_waiting_together() {
    let max = agents().to_string();
    burst(
        &["--simulate-delay", "3", "--max-concurrent", &max],
        "all waiting 3 s",
    );
}

fn burst(daemon_args: &[&str], what: &str) {
    // The two bursts one after the other (and beside no other test): each one alone decides
    // its result.
    let _alone = crate::alone();
    let count = agents();
    let spool = Spool::new();
    let _daemon = Daemon::start(&spool, daemon_args);
    let start = Instant::now();
    let procs: Vec<_> = (0..count)
        .map(|i| Agent::new(&spool, "reboot", &format!("burst-{i}"), 300).spawn())
        .collect();
    let runs = agent::wait_all(procs);
    let took = start.elapsed();
    println!(
        "burst ({what}): {count} agents answered in {:.2} s",
        took.as_secs_f64()
    );
    for (i, run) in runs.iter().enumerate() {
        run.assert_code(0, &format!("agent for burst-{i}"));
    }
    let responses = spool.responses();
    assert_eq!(responses.len(), count);
    // node -> request id of its agent's `completed` event
    let completed: HashMap<String, String> = spool
        .events()
        .into_iter()
        .filter(|e| e["event"] == "completed")
        .map(|e| {
            (
                e["target_node"].as_str().map(str::to_owned),
                e["request_id"].as_str().map(str::to_owned),
            )
        })
        .map(|(n, id)| (n.unwrap_or_default(), id.unwrap_or_default()))
        .collect();
    assert_eq!(completed.len(), count, "one completed event per node");
    for (name, r) in &responses {
        let node = r.target_node.as_str();
        assert!(r.success, "{node}: {r:?}");
        assert_eq!(
            completed.get(node).map(String::as_str),
            Some(r.request_id.as_str()),
            "{node}"
        );
        assert_eq!(
            name,
            &format!("{}.json", r.request_id.as_str()),
            "{node}: own file"
        );
    }
    let left = spool.drained(Duration::from_secs(30));
    assert!(left.is_empty(), "left behind: {left:?}");
}
