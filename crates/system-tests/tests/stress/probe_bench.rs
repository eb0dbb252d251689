//! Benchmark (ignored by default; `cargo build --release -p fence-gfs2-recorder -p
//! fence-watcher`, then `cargo test --release -p system-tests --test stress -- --ignored
//! probe_bench --nocapture`): a health probe round of [`NODES`] nodes, one `ipmi_sim` per node
//! (ports 6400-6599), through the `ipmitool` backend with `[health] max_concurrent = 8`: the
//! round's wall time (the daemon's own `took_ms`), the daemon's CPU (its own, and its reaped
//! children's: the ipmitool processes) and RSS; then the latency of a fence (agent start to
//! agent exit, through a `command` backend running `/bin/true`) requested while a round runs,
//! against the same on an idle daemon. Prints figures; asserts only that every probe found its
//! BMC up and every fence succeeded.

use std::time::{Duration, Instant};

use gfs2_fence_protocol::{Heartbeat, ProbeStatus};
use rustix::process::Signal;
use system_tests::bmc::{self, IpmiSim, IPMI_USER};
use system_tests::{peers, wait_for, Agent, Daemon, Spool};

const NODES: u16 = 200;
const FIRST_PORT: u16 = 6400;
const IDLE_FENCES: usize = 15;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (utime + stime, cutime + cstime) in seconds, and VmRSS / VmHWM in KiB, of `pid`.
fn usage(pid: u32) -> (f64, f64, u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14-17 of proc(5), counted from 3 after the command name.
    let tick = 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (
        (f[11] + f[12]) / tick,
        (f[13] + f[14]) / tick,
        kib("VmRSS:"),
        kib("VmHWM:"),
    )
}

/// How many rounds the daemon logged as done, and the `took_ms` of the last.
fn rounds(daemon: &Daemon) -> (usize, u64) {
    let log = daemon.log_text();
    let done: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("probe round done"))
        .collect();
    let took = done
        .last()
        .and_then(|l| l.split("took_ms=").nth(1))
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    (done.len(), took)
}

fn fence(spool: &Spool, i: usize) -> Duration {
    let t0 = Instant::now();
    Agent::new(spool, "off", &format!("fx-{i}"), 60)
        .run()
        .assert_code(0, "a fence beside the probes");
    t0.elapsed()
}

fn median(mut v: Vec<Duration>) -> (f64, f64, f64, usize) {
    v.sort();
    let n = v.len();
    (ms(v[n / 2]), ms(v[0]), ms(v[n - 1]), n)
}

/// Three rounds (each started by a SIGHUP), with fences one after another while each runs, and
/// [`IDLE_FENCES`] fences before each on the idle daemon: the host is shared, and its load
/// changes from minute to minute, so idle and busy are sampled side by side.
fn measure(spool: &Spool, daemon: &Daemon, label: &str, first: usize) {
    let pid = daemon.pid();
    let (mut idle, mut busy) = (Vec::new(), Vec::new());
    for r in 0..3 {
        let mut i = first * (r + 1);
        for _ in 0..IDLE_FENCES {
            idle.push(fence(spool, i));
            i += 1;
        }
        let (before, _) = rounds(daemon);
        let (cpu0, child0, _, _) = usage(pid);
        daemon.signal(Signal::HUP);
        while rounds(daemon).0 == before {
            let took = fence(spool, i);
            if rounds(daemon).0 == before {
                busy.push(took);
            }
            i += 1;
        }
        let (cpu1, child1, rss, hwm) = usage(pid);
        let (_, took) = rounds(daemon);
        println!(
            "bench probe round {r} ({label}): {NODES} nodes (1 ipmi_sim each), max_concurrent 8: \
             wall {took} ms, daemon CPU {:.2} s, children (ipmitool) CPU {:.2} s, RSS {rss} KiB \
             (peak {hwm} KiB)",
            cpu1 - cpu0,
            child1 - child0
        );
    }
    let (idle, busy) = (median(idle), median(busy));
    println!(
        "bench fence latency ({label}): idle median {:.1} ms (min {:.1}, max {:.1}, n {}); \
         during a round median {:.1} ms (min {:.1}, max {:.1}, n {}); ratio of medians {:.2}",
        idle.0,
        idle.1,
        idle.2,
        idle.3,
        busy.0,
        busy.1,
        busy.2,
        busy.3,
        busy.0 / idle.0
    );
}

fn config(spool: &Spool, sims: &[IpmiSim]) -> String {
    let pw = sims[0].password_file.display();
    let mut text = format!(
        "[daemon]\nmax_concurrent = 16\n\
         [backends.bmc]\ntype = \"ipmitool\"\nhost = \"127.0.0.1\"\nusername = \"{IPMI_USER}\"\n\
         password_file = \"{pw}\"\ntimeout_secs = 30\n"
    );
    for (i, s) in sims.iter().enumerate() {
        text.push_str(&format!(
            "[backends.bmc.per_node.cn{i:03}]\nport = {}\n",
            s.port
        ));
    }
    let nodes: Vec<String> = (0..sims.len()).map(|i| format!("\"cn{i:03}\"")).collect();
    text.push_str(&format!(
        "[backends.quick]\ntype = \"command\"\nargv = [\"/bin/true\"]\n\
         [[topology]]\nnodes = [\"fx-*\"]\nlevels = [\"quick\"]\n\
         [[topology]]\nnodes = [\"cn*\"]\nlevels = [\"bmc\"]\n\
         [health]\ninterval_secs = 3600\nmax_concurrent = 8\ntimeout_secs = 20\n\
         corosync_conf = \"{}\"\nnodes = [{}]\n",
        spool.path("none.conf").display(),
        nodes.join(", ")
    ));
    spool.config(&text).display().to_string()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn bench_probe_round_of_200_bmcs() {
    let test = "bench_probe_round_of_200_bmcs";
    let _alone = crate::alone();
    if !peers::require(test, &bmc::ipmi_installed()) {
        return;
    }
    let sims: Vec<IpmiSim> = (0..NODES).map(|i| IpmiSim::spawn(FIRST_PORT + i)).collect();
    for sim in &sims {
        let up = wait_for(Duration::from_secs(120), || sim.status());
        assert!(up.is_some(), "ipmi_sim on {} never answered", sim.port);
    }
    let spool = Spool::new();
    let cfg = config(&spool, &sims);
    let daemon = Daemon::builder(&spool)
        .args(["--config", &cfg])
        .env("RUST_LOG", "info,fence_watcher::health=debug")
        .start();
    let first = wait_for(Duration::from_secs(300), || {
        (rounds(&daemon).0 >= 1).then_some(())
    });
    assert!(first.is_some(), "no round ended:\n{}", daemon.log_text());
    let hb = Heartbeat::from_json(&std::fs::read(spool.heartbeat()).expect("heartbeat"));
    let health = hb.and_then(|h| h.health).expect("health in the heartbeat");
    let up = health
        .nodes
        .iter()
        .filter(|n| n.levels.iter().all(|l| l.status == ProbeStatus::Up));
    assert_eq!(up.count(), usize::from(NODES), "{health:?}");

    measure(&spool, &daemon, "BMCs at nice 0", 1000);
    // The emulated BMCs run here, on the daemon's two cores; real ones are elsewhere.
    for (pid, _, _) in system_tests::procs::all()
        .into_iter()
        .filter(|(_, comm, ppid)| comm == "ipmi_sim" && *ppid == std::process::id())
    {
        let pid = rustix::process::Pid::from_raw(pid as i32);
        rustix::process::setpriority_process(pid, 19).expect("renice ipmi_sim");
    }
    measure(&spool, &daemon, "BMCs at nice 19", 10_000);
    assert!(
        sims.iter().all(|s| s.power_sets().is_empty()),
        "a probe set the power"
    );
}
