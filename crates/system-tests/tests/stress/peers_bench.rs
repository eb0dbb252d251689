//! Benchmark (ignored by default; build the binaries with `cargo build --release -p
//! fence-gfs2-recorder -p fence-watcher`, then `cargo test --release -p system-tests --test
//! stress -- --ignored peers_bench --nocapture --test-threads 1`): fence latency through
//! agent and daemon against real BMC emulators, from agent start to agent exit, per backend:
//! `ipmitool` and `fence-agent`+`fence_ipmilan` against ipmi_sim, `redfish` and
//! `fence-agent`+`fence_redfish` against sushy-emulator FAST; then a burst of 50 nodes, each
//! with its own ipmi_sim (ports 6300-6349), all 50 agents at once, through both ipmi backends.
//! Prints numbers; asserts only that every fence succeeded and every chassis saw it.
//! Ports: ipmi_sim 6284 and 6300-6349, sushy 8463.

use std::time::{Duration, Instant};

use system_tests::bmc::sushy::{self, Opts, Sushy};
use system_tests::bmc::{self, IpmiSim, IPMI_USER};
use system_tests::{peers, Agent, AgentProc, Daemon, Spool};

const RUNS: usize = 10;
const BURST: u16 = 50;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The value at fraction `q` of the sorted times (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Starts a daemon with `backend` (a `[backends.b]` body) for every node, runs `RUNS` reboots
/// of `node` one after another, and prints the median and range.
fn latency(label: &str, backend: &str, node: &str) {
    let spool = Spool::new();
    let text = format!("[backends.b]\n{backend}[[topology]]\nnodes = [\"*\"]\nlevels = [\"b\"]\n");
    let cfg = spool.write("fence-watcher.toml", &text, 0o640);
    let _daemon = Daemon::start(&spool, &["--config", &cfg.display().to_string()]);
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            Agent::new(&spool, "reboot", node, 120)
                .run()
                .assert_code(0, label);
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "bench latency {label:<42} reboot x{RUNS}: median {:>7.1} ms  min {:>7.1}  max {:>7.1}",
        ms(quantile(&times, 0.5)),
        ms(times[0]),
        ms(times[RUNS - 1])
    );
}

fn ipmitool_backend(pw: &str, port_line: &str) -> String {
    format!(
        "type = \"ipmitool\"\nhost = \"127.0.0.1\"\nusername = \"{IPMI_USER}\"\n\
         password_file = \"{pw}\"\npower_wait_secs = 0\nstatus_poll_interval_ms = 100\n\
         timeout_secs = 120\n{port_line}"
    )
}

fn fence_ipmilan_backend(pw: &str, port_line: &str) -> String {
    format!(
        "type = \"fence-agent\"\nagent = \"fence_ipmilan\"\ntarget_arg = \"none\"\n\
         timeout_secs = 120\nsecret_files = {{ password = \"{pw}\" }}\n\
         [backends.b.params]\nip = \"127.0.0.1\"\nusername = \"{IPMI_USER}\"\nlanplus = true\n\
         cipher = 3\npower_wait = 0\n{port_line}"
    )
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn bench_fence_latency_per_backend() {
    let test = "bench_fence_latency_per_backend";
    let _alone = crate::alone();
    let agents = [
        peers::installed("/usr/sbin/fence_ipmilan"),
        peers::installed("/usr/sbin/fence_redfish"),
    ];
    let mut needs = bmc::ipmi_installed();
    needs.extend(agents);
    if !peers::require(test, &needs) {
        return;
    }
    let sim = IpmiSim::start(test, 6284).expect("ipmi_sim, which peers::require found");
    let pw = sim.password_file.display().to_string();
    let port = format!("port = {}\n", sim.port);
    latency("ipmitool -> ipmi_sim", &ipmitool_backend(&pw, &port), "cn1");
    let ipport = format!("ipport = {}\n", sim.port);
    latency(
        "fence-agent fence_ipmilan -> ipmi_sim",
        &fence_ipmilan_backend(&pw, &ipport),
        "cn1",
    );
    assert_eq!(sim.power_sets().len(), 4 * RUNS, "{:?}", sim.power_sets());

    if !peers::require(&format!("{test} (its redfish part)"), &peers::sushy()) {
        return;
    }
    let rf = Sushy::start(Opts::fast(system_tests::free_port()))
        .expect("sushy-emulator, whose venv peers::require found");
    let table = format!("type = \"redfish\"\n{}", rf.backend_toml(&[], ""));
    latency("redfish -> sushy FAST", &table, "node1");
    let fence_redfish = format!(
        "type = \"fence-agent\"\nagent = \"fence_redfish\"\ntarget_arg = \"none\"\n\
         timeout_secs = 120\nsecret_files = {{ password = \"{}\" }}\n[backends.b.params]\n\
         ip = \"127.0.0.1\"\nipport = {}\nusername = \"{}\"\nssl_insecure = true\n\
         systems_uri = \"/redfish/v1/Systems/{}\"\n",
        rf.path("password").display(),
        rf.opts.port,
        sushy::USER,
        sushy::U1
    );
    latency(
        "fence-agent fence_redfish -> sushy FAST",
        &fence_redfish,
        "node1",
    );
    assert_eq!(rf.power_state(sushy::U1), "On");
}

/// Runs all `BURST` reboots at once; returns each agent's time (start to exit, 20 ms polls).
fn burst(spool: &Spool) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let mut procs: Vec<(AgentProc, Option<Duration>)> = (0..BURST)
        .map(|i| {
            (
                Agent::new(spool, "reboot", &format!("b{i:02}"), 300).spawn(),
                None,
            )
        })
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
    for (i, (p, t)) in procs.into_iter().enumerate() {
        p.wait().assert_code(0, &format!("burst reboot of b{i:02}"));
        times.extend(t);
    }
    times.sort();
    (total, times)
}

fn report(label: &str, total: Duration, times: &[Duration]) {
    println!(
        "bench burst {label:<28} {BURST} reboots at once: total {:>7.1} ms  p50 {:>7.1} ms  p99 {:>7.1} ms",
        ms(total),
        ms(quantile(times, 0.5)),
        ms(quantile(times, 0.99))
    );
}

fn run_burst(label: &str, backend: &str, sims: &[IpmiSim], expect_sets: usize) {
    let spool = Spool::new();
    let text = format!("[backends.b]\n{backend}[[topology]]\nnodes = [\"*\"]\nlevels = [\"b\"]\n");
    let cfg = spool.write("fence-watcher.toml", &text, 0o640);
    let args = [
        "--config",
        &cfg.display().to_string(),
        "--max-concurrent",
        "64",
    ];
    let _daemon = Daemon::start(&spool, &args);
    let (total, times) = burst(&spool);
    report(label, total, &times);
    for sim in sims {
        let sets = sim.power_sets();
        assert_eq!(sets.len(), expect_sets, "port {}: {sets:?}", sim.port);
        assert_eq!(sets[expect_sets - 2..], ["0", "1"], "port {}", sim.port);
    }
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn bench_burst_of_50_bmcs() {
    let test = "bench_burst_of_50_bmcs";
    let _alone = crate::alone();
    let mut needs = bmc::ipmi_installed();
    needs.push(peers::installed("/usr/sbin/fence_ipmilan"));
    if !peers::require(test, &needs) {
        return;
    }
    let first = IpmiSim::start(test, 6300).expect("ipmi_sim, which peers::require found");
    let mut sims = vec![first];
    sims.extend((1..BURST).map(|i| IpmiSim::spawn(6300 + i)));
    for sim in &sims {
        let up = system_tests::wait_for(Duration::from_secs(60), || sim.status());
        assert!(up.is_some(), "ipmi_sim on {} never answered", sim.port);
    }
    let pw = sims[0].password_file.display().to_string();
    let per_node = |key: &str, table: &str| -> String {
        sims.iter()
            .enumerate()
            .map(|(i, s)| format!("[backends.b.{table}.b{i:02}]\n{key} = {}\n", s.port))
            .collect()
    };
    let ipmitool = ipmitool_backend(&pw, &per_node("port", "per_node"));
    run_burst("ipmitool", &ipmitool, &sims, 2);
    let ipmilan = fence_ipmilan_backend(&pw, &per_node("ipport", "nodes"));
    run_burst("fence-agent fence_ipmilan", &ipmilan, &sims, 4);
}
