//! Latency of the `redfish` backend against sushy-emulator in FAST mode (power changes show on
//! the next GET): median of 10 fences for off, on and reboot. A benchmark, not a test: run with
//! `cargo test -p fence-watcher --test redfish_bench -- --ignored --nocapture`.

use fence_watcher::backend::redfish;
use system_tests::bmc::sushy;

use std::time::{Duration, Instant};

use gfs2_fence_protocol::{Action, NodeName};
use redfish::{Redfish, RedfishConfig};
use sushy::{Opts, Sushy};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn bench(rf: &Redfish, label: &str) {
    let n1 = NodeName::parse("node1").expect("node");
    let (mut off, mut on, mut reboot) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..10 {
        for (action, times) in [
            (Action::Off, &mut off),
            (Action::On, &mut on),
            (Action::Reboot, &mut reboot),
        ] {
            let t = Instant::now();
            let msg = rf.fence(&n1, action).await.expect("fence");
            times.push(t.elapsed());
            if times.len() == 1 {
                println!("  {msg}");
            }
        }
    }
    println!(
        "{label}: median of 10: off {:?}, on {:?}, reboot {:?}",
        median(off),
        median(on),
        median(reboot)
    );
}

#[tokio::test]
#[ignore = "benchmark"]
async fn fence_latency_fast_mode() {
    let Some(emu) = Sushy::start(Opts::fast(system_tests::free_port())) else {
        return;
    };
    let id = ("system_id", "\"11111111-1111-4111-8111-111111111111\"");
    for (label, changes) in [
        ("restart, system_id, poll 50 ms", vec![id]),
        (
            "onoff, system_id, poll 50 ms",
            vec![id, ("reboot_method", "\"onoff\"")],
        ),
        (
            "restart, system_id, poll 500 ms (default)",
            vec![id, ("poll_interval_ms", "")],
        ),
        ("restart, found by name, poll 50 ms", vec![]),
    ] {
        let cfg: RedfishConfig = toml::from_str(&emu.backend_toml(&changes, "")).expect("config");
        let rf = Redfish::new("bench", &cfg).expect("build");
        bench(&rf, label).await;
    }
}
