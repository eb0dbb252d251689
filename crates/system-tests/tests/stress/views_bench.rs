//! Benchmark (ignored by default; `cargo build --release -p gfs2-fencing-ctl`, then `cargo test
//! --release -p system-tests --test stress -- --ignored views_bench --nocapture`): how long the
//! operator's views take on a big installation: [`RECORDS`] responses in RESPONSE_DIR over
//! [`NODES`] nodes (half of them successes), as many archived in `.unfenced/`, [`EVENTS`] lines in
//! the detailed event log (a year of a busy cluster) and [`PENDING`] queued requests. Each view
//! runs [`RUNS`] times; the median and the worst are printed. Asserts only that each view
//! succeeded and saw what was written.

use std::path::Path;
use std::time::{Duration, Instant};

use gfs2_fence_protocol::{Action, Timestamp};
use system_tests::Spool;

const NODES: usize = 500;
const RECORDS: usize = 10_000;
const EVENTS: usize = 50_000;
const PENDING: usize = 200;
const RUNS: usize = 5;

fn response(id: usize, node: usize, success: bool) -> String {
    format!(
        r#"{{"request_id":"00000000-0000-4000-8000-{id:012}","success":{success},"action_performed":"off","target_node":"cn{node}","message":"off of cn{node} via level 1 (ipmitool)","timestamp":"{}"}}"#,
        Timestamp::now()
    )
}

fn event(id: usize) -> String {
    let node = id % NODES;
    format!(
        r#"{{"timestamp":"{}","event":"{}","action":"off","target_node":"cn{node}","request_id":"00000000-0000-4000-8000-{:012}","gfs2_filesystems":[],"recorder_node":"rn1","details":"d","duration_ms":12,"pid":1}}"#,
        Timestamp::now(),
        if id.is_multiple_of(2) {
            "requested"
        } else {
            "completed"
        },
        id / 2
    )
}

fn fill(spool: &Spool) {
    let archive = spool.responses.join(".unfenced");
    std::fs::create_dir(&archive).expect("archive");
    for i in 0..RECORDS {
        let node = i % NODES;
        let name = format!("cn{node}-00000000-0000-4000-8000-{i:012}.json");
        let live = response(i, node, i.is_multiple_of(2));
        std::fs::write(spool.responses.join(&name), live).expect("record");
        let old = response(RECORDS + i, node, true);
        std::fs::write(archive.join(&name), old).expect("archived record");
    }
    std::fs::create_dir_all(&spool.logs).expect("log dir");
    let mut log = String::with_capacity(EVENTS * 260);
    for i in 0..EVENTS {
        log.push_str(&event(i));
        log.push('\n');
    }
    std::fs::write(spool.logs.join("fence-events-detailed.jsonl"), log).expect("log");
    for i in 0..PENDING {
        spool.request(
            &format!("cn{}", i % NODES),
            Action::Off,
            Duration::from_secs(600),
        );
    }
}

/// Runs `gfs2-fencing ARGS` [`RUNS`] times; (median, worst) wall time; the last stdout.
fn time(spool: &Spool, config: &Path, args: &[&str]) -> (Duration, Duration, String) {
    let mut took = Vec::new();
    let mut stdout = String::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = spool
            .ctl(args)
            .arg("--config")
            .arg(config)
            .output()
            .expect("run gfs2-fencing");
        took.push(start.elapsed());
        // status exits 3 here (no responder): the view itself worked.
        assert!(
            matches!(out.status.code(), Some(0 | 3 | 4)),
            "{args:?}: {out:?}"
        );
        stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    took.sort();
    (took[RUNS / 2], took[RUNS - 1], stdout)
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn views_bench() {
    let _alone = crate::alone();
    let spool = Spool::new();
    let config = spool.config("");
    let start = Instant::now();
    fill(&spool);
    println!(
        "spool: {RECORDS} live records + {RECORDS} archived over {NODES} nodes, {EVENTS} event lines, {PENDING} pending (written in {:.1} s)",
        start.elapsed().as_secs_f64()
    );
    let views: [&[&str]; 6] = [
        &["status", "--json"],
        &["fenced", "--json"],
        &["requests", "--json"],
        &["records", "cn7", "--json"],
        &["history", "--node", "cn7", "--limit", "20", "--json"],
        &["history", "--limit", "50"],
    ];
    for args in views {
        let (median, worst, out) = time(&spool, &config, args);
        println!(
            "{:<40} median {:>7.1} ms, worst {:>7.1} ms, {} bytes out",
            args.join(" "),
            median.as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0,
            out.len()
        );
        if args == ["fenced", "--json"] {
            let doc: serde_json::Value = serde_json::from_str(&out).expect("fenced json");
            let n = doc["fenced"].as_array().map_or(0, Vec::len);
            // Even-numbered records are the successes: nodes 0, 2, 4, ... (NODES is even).
            assert_eq!(n, NODES / 2, "fenced nodes");
        }
    }
}
