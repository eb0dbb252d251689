//! Real Pacemaker, our agent, the daemon and a real EC2 API (moto, crates/system-tests/src/
//! moto.rs): `stonith_admin --reboot cn1`, whose "power" is a moto instance tagged `Name=cn1`,
//! is a success in Pacemaker's history only after moto recorded that instance stopping, stopped,
//! pending and running; a node whose instance never finishes stopping is a failed fence, never a
//! success. Needs root, Pacemaker and the moto venv; skips loudly elsewhere, fails in CI.

use system_tests::moto::{Moto, Opts, REGION};
use system_tests::pacemaker::{self, Cluster};
use system_tests::{peers, Daemon, Spool};

fn table(name: &str, moto: &Moto, timeout: u32, creds: &std::path::Path) -> String {
    format!(
        "[backends.{name}]\ntype = \"aws-ec2\"\nregion = \"{REGION}\"\nendpoint_url = \"{}\"\n\
         credentials_file = \"{}\"\npoll_interval_ms = 100\ntimeout_secs = {timeout}\n",
        moto.endpoint(),
        creds.display()
    )
}

/// Promises: the reboot of cn1 succeeds in Pacemaker only after moto saw its instance stopped
/// and running again (forced stop); the reboot of cn2, whose instance stays `stopping`, fails in
/// Pacemaker and its history says failed.
#[test]
fn pacemaker_fences_an_ec2_instance_through_the_daemon() {
    let test = "pacemaker_fences_an_ec2_instance_through_the_daemon";
    let mut needs = vec![peers::root()];
    needs.extend(pacemaker::installed());
    if !peers::require(test, &needs) {
        return;
    }
    let opts = Opts {
        delay: 0.5,
        ..Opts::default()
    };
    let Some(live) = Moto::start(test, opts) else {
        return;
    };
    let stuck_opts = Opts {
        stuck: true,
        ..Opts::default()
    };
    let stuck = Moto::start(test, stuck_opts).expect("moto, whose venv peers::require found");
    let cn1 = live.create(&["cn1"]).remove(0);
    let cn2 = stuck.create(&["cn2"]).remove(0);
    let spool = Spool::new();
    let live_creds = live.credentials_file(spool.root(), "default", &live.key_id, &live.secret);
    let stuck_creds = spool.root().join("stuck");
    std::fs::create_dir(&stuck_creds).expect("mkdir");
    let stuck_creds = stuck.credentials_file(&stuck_creds, "default", &stuck.key_id, &stuck.secret);
    let text = format!(
        "{}{}[[topology]]\nnodes = [\"cn1\"]\nlevels = [\"ec2\"]\n\
         [[topology]]\nnodes = [\"cn2\"]\nlevels = [\"ec2stuck\"]\n",
        table("ec2", &live, 30, &live_creds),
        table("ec2stuck", &stuck, 5, &stuck_creds)
    );
    let cfg = spool.write("fence-watcher.toml", &text, 0o640);
    let daemon = Daemon::start(&spool, &["--config", &cfg.display().to_string()]);
    let cluster = Cluster::start();
    cluster.set_property("stonith-enabled", "true");
    let attrs = [
        ("require_heartbeat", "false"),
        ("pcmk_host_list", "cn1 cn2"),
    ];
    cluster.add_spool_device("gfs2-ec2", &spool, &attrs, 60);

    let (out, took) = cluster.fence("reboot", "cn1", 120);
    assert!(
        out.status.success(),
        "stonith_admin --reboot cn1: {out:?}\n{}\n{}",
        daemon.log_text(),
        cluster.logs()
    );
    println!(
        "peers_pacemaker_ec2: reboot of cn1 (moto) took {} ms",
        took.as_millis()
    );
    assert_eq!(
        live.states_of(&cn1),
        ["stopping", "stopped", "pending", "running"]
    );
    assert_eq!(live.state(&cn1), "running");
    let (text, xml) = cluster.history("cn1");
    assert!(
        xml.contains("status=\"success\""),
        "history of cn1:\n{text}\n{xml}"
    );

    let (out, _) = cluster.fence("reboot", "cn2", 120);
    assert!(
        !out.status.success(),
        "Pacemaker reported success for an instance that never stopped: {out:?}"
    );
    let (text, xml) = cluster.history("cn2");
    assert!(
        !xml.contains("status=\"success\""),
        "history of cn2:\n{xml}"
    );
    assert!(
        xml.contains("status=\"failed\""),
        "history of cn2:\n{text}\n{xml}"
    );
    // Pacemaker may try the device more than once: each try stops again, none lands.
    let states = stuck.states_of(&cn2);
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "stopping"),
        "never stopped, never started: {states:?}"
    );
}
