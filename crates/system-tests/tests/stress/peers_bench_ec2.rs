//! Benchmark (ignored by default; build the release binaries first, as for `peers_bench`,
//! then `cargo test --release -p system-tests --test stress -- --ignored peers_bench_ec2
//! --nocapture --test-threads 1`): EC2 fences through agent and daemon against a real moto
//! server (instant transitions: what is measured is our path and moto's answers, not EC2's
//! minutes), from agent start to agent exit: `off`, `on` and `reboot`, 10 of each, through the
//! native `aws-ec2` backend and through a `command` backend running boto3 the seed's way (forced
//! stop, waiters); then 50 instances rebooted at once through each. Prints numbers; asserts only
//! that every fence succeeded and that moto saw every instance stopped and running again.

use std::time::{Duration, Instant};

use system_tests::moto::{Moto, Opts, REGION};
use system_tests::{Agent, AgentProc, Daemon, Spool};

const RUNS: usize = 10;
const BURST: usize = 50;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(times: &mut [Duration]) -> (f64, f64, f64) {
    times.sort();
    let n = times.len();
    (ms(times[(n - 1) / 2]), ms(times[0]), ms(times[n - 1]))
}

fn native(moto: &Moto) -> String {
    format!(
        "type = \"aws-ec2\"\nregion = \"{REGION}\"\nendpoint_url = \"{}\"\npoll_interval_ms = 100\n\
         timeout_secs = 280\n",
        moto.endpoint()
    )
}

fn boto3(moto: &Moto) -> String {
    let mut argv = moto.ctl_argv();
    argv.extend(["fence", "{action}", "{node}"].map(str::to_owned));
    let argv: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
    format!(
        "type = \"command\"\nargv = [{}]\ntimeout_secs = 280\n",
        argv.join(", ")
    )
}

fn daemon(spool: &Spool, moto: &Moto, backend: &str) -> Daemon {
    let text = format!("[backends.b]\n{backend}[[topology]]\nnodes = [\"*\"]\nlevels = [\"b\"]\n");
    let cfg = spool.write("fence-watcher.toml", &text, 0o640);
    Daemon::builder(spool)
        .args([
            "--config",
            &cfg.display().to_string(),
            "--max-concurrent",
            "64",
        ])
        .env("AWS_ACCESS_KEY_ID", &moto.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &moto.secret)
        .start()
}

fn timed(spool: &Spool, action: &str, node: &str) -> Duration {
    let start = Instant::now();
    Agent::new(spool, action, node, 300)
        .run()
        .assert_code(0, action);
    start.elapsed()
}

/// 10 off/on pairs, then 10 reboots, of `node`; prints the medians.
fn latency(label: &str, moto: &Moto, backend: &str, node: &str) {
    let spool = Spool::new();
    let _daemon = daemon(&spool, moto, backend);
    let (mut off, mut on, mut reboot) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        off.push(timed(&spool, "off", node));
        on.push(timed(&spool, "on", node));
    }
    for _ in 0..RUNS {
        reboot.push(timed(&spool, "reboot", node));
    }
    for (action, times) in [("off", &mut off), ("on", &mut on), ("reboot", &mut reboot)] {
        let (p50, min, max) = median(times);
        println!(
            "bench ec2 {label:<32} {action:<6} x{RUNS}: median {p50:>7.1} ms  min {min:>7.1}  max {max:>7.1}"
        );
    }
}

/// All `BURST` instances rebooted at once; prints total and per-agent median and p99.
fn burst(label: &str, moto: &Moto, backend: &str, names: &[String]) {
    let spool = Spool::new();
    let _daemon = daemon(&spool, moto, backend);
    let start = Instant::now();
    let mut procs: Vec<(AgentProc, Option<Duration>)> = names
        .iter()
        .map(|n| (Agent::new(&spool, "reboot", n, 300).spawn(), None))
        .collect();
    while procs.iter().any(|(_, t)| t.is_none()) {
        for (p, t) in procs.iter_mut().filter(|(_, t)| t.is_none()) {
            if p.finished() {
                *t = Some(start.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let total = start.elapsed();
    let mut times = Vec::new();
    for (p, t) in procs {
        p.wait().assert_code(0, "burst reboot");
        times.extend(t);
    }
    times.sort();
    let p99 = times[(times.len() * 99).div_ceil(100) - 1];
    println!(
        "bench ec2 burst {label:<26} {BURST} reboots at once: total {:>7.1} ms  p50 {:>7.1} ms  p99 {:>7.1} ms",
        ms(total),
        ms(times[(times.len() - 1) / 2]),
        ms(p99)
    );
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn bench_ec2_fences_against_moto() {
    let test = "bench_ec2_fences_against_moto";
    let _alone = crate::alone();
    let Some(moto) = Moto::start(test, Opts::default()) else {
        return;
    };
    let ids = moto.create(&["node1", "node2"]);
    latency("aws-ec2 (native)", &moto, &native(&moto), "node1");
    latency("command (boto3, seed's way)", &moto, &boto3(&moto), "node2");
    let stops = |id: &str| {
        moto.states_of(id)
            .iter()
            .filter(|s| *s == "stopped")
            .count()
    };
    assert_eq!(stops(&ids[0]), 2 * RUNS);
    assert_eq!(stops(&ids[1]), 2 * RUNS);

    let names: Vec<String> = (0..BURST).map(|i| format!("b{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let burst_ids = moto.create(&refs);
    burst("aws-ec2 (native)", &moto, &native(&moto), &names);
    burst("command (boto3)", &moto, &boto3(&moto), &names);
    for id in &burst_ids {
        assert_eq!(
            moto.states_of(id),
            ["stopped", "running", "stopped", "running"],
            "{id}"
        );
    }
}
