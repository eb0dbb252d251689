//! Benchmark (ignored): the metrics flood's effect on fence latency. 200 sequential `off`
//! fences (simulate backend, no delay) without and then with an unprivileged user holding
//! 3000 connections to the metrics port (re-opening each one the daemon drops), then without
//! again; prints p50/p90/max of publish-to-response. Target: no
//! measurable difference.
//!
//! `cargo test -p fence-watcher --test it flood_bench -- --ignored --nocapture`

use std::time::{Duration, Instant};

use gfs2_fence_protocol::Action;

use crate::common::{free_port, spool, start, Spool};
use crate::fd_budget::Flood;

const FENCES: usize = 200;

/// Publish-to-response latencies of `FENCES` fences, one after another.
fn latencies(spool: &Spool, prefix: &str) -> Vec<Duration> {
    let mut out = Vec::with_capacity(FENCES);
    for i in 0..FENCES {
        let start = Instant::now();
        let (name, _) = spool.request(
            &format!("{prefix}-{i}"),
            Action::Off,
            Duration::from_secs(60),
        );
        let path = spool.responses.join(name.as_str());
        while !path.exists() {
            assert!(start.elapsed() < Duration::from_secs(30), "no response");
            std::thread::sleep(Duration::from_micros(200));
        }
        out.push(start.elapsed());
    }
    out.sort();
    out
}

fn show(what: &str, v: &[Duration]) -> f64 {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p50 = ms(v[v.len() / 2]);
    println!(
        "{what}: p50 {p50:.2} ms, p90 {:.2} ms, max {:.2} ms ({} fences)",
        ms(v[v.len() * 9 / 10]),
        ms(v[v.len() - 1]),
        v.len()
    );
    p50
}

#[test]
#[ignore = "benchmark"]
fn flood_bench_fence_latency_with_and_without_3000_metrics_connections() {
    let spool = spool();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let d = start(&spool, &["--simulate", "--metrics-listen", &listen]);
    // Quiet, flooded, quiet again: the first run also warms the caches.
    let quiet = latencies(&spool, "quiet");
    let flood = Flood::start(port, 3000);
    let flooded = latencies(&spool, "flood");
    drop(flood);
    let after = latencies(&spool, "after");
    let fds = std::fs::read_dir(format!("/proc/{}/fd", d.pid())).map_or(0, |r| r.count());
    let a = show("without flood", &quiet);
    let b = show("with 3000 held connections", &flooded);
    let c = show("without flood, again", &after);
    println!(
        "p50 flooded minus quiet: {:+.2} ms (first run), {:+.2} ms (second); daemon fds after: {fds}",
        b - a,
        b - c
    );
}
