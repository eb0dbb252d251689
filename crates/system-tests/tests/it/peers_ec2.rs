//! The `aws-ec2` backend through the real agent and daemon against a real moto server
//! (crates/system-tests/src/moto.rs), credentials from the daemon's environment: a reboot whose
//! response is a success only after moto recorded the instance stopped, then running; and a
//! topology whose level 1 is EC2 (its endpoint dead) and level 2 a `command` running boto3 the
//! seed's way against the live moto. A missing venv is a loud skip, a failure under `CI=true`.

use system_tests::free_port;
use system_tests::moto::{Moto, Opts, REGION};
use system_tests::{Agent, Daemon, Spool};

fn ec2_table(name: &str, endpoint: &str) -> String {
    format!(
        "[backends.{name}]\ntype = \"aws-ec2\"\nregion = \"{REGION}\"\nendpoint_url = \"{endpoint}\"\n\
         poll_interval_ms = 100\ntimeout_secs = 30\n"
    )
}

/// The daemon with moto's key in its environment, and `token` as `AWS_SESSION_TOKEN` (moto
/// refuses a token with a long-term IAM key when it checks signatures, as AWS does).
fn daemon(spool: &Spool, moto: &Moto, text: &str, token: Option<&str>) -> Daemon {
    let cfg = spool.write("fence-watcher.toml", text, 0o640);
    let builder = Daemon::builder(spool)
        .args(["--config", &cfg.display().to_string()])
        .env("AWS_ACCESS_KEY_ID", &moto.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &moto.secret);
    match token {
        Some(t) => builder.env("AWS_SESSION_TOKEN", t),
        None => builder.env_remove("AWS_SESSION_TOKEN"),
    }
    .start()
}

/// Everything the agent and the daemon wrote: the responses, the daemon's log, the agent's
/// event log.
fn written(spool: &Spool, daemon: &Daemon) -> String {
    let responses: Vec<String> = spool.responses().iter().map(|r| format!("{r:?}")).collect();
    format!(
        "{}\n{}\n{}",
        responses.join("\n"),
        daemon.log_text(),
        spool.log("fence-events.log")
    )
}

/// Promise: `reboot` through agent, daemon and the aws-ec2 backend exits 0 only after moto
/// recorded the instance stopping, stopped, pending, running (StopInstances with Force), and
/// `off` leaves it stopped as boto3 reads it; no secret reaches the response or the daemon log.
#[test]
fn ec2_reboot_and_off_through_agent_and_daemon() {
    let opts = Opts {
        delay: 0.3,
        auth: true,
        ..Opts::default()
    };
    let Some(moto) = Moto::start("ec2_reboot_and_off_through_agent_and_daemon", opts) else {
        return;
    };
    let ids = moto.create(&["node1", "node2"]);
    let spool = Spool::new();
    let text = format!(
        "{}[[topology]]\nnodes = [\"*\"]\nlevels = [\"ec2\"]\n",
        ec2_table("ec2", &moto.endpoint())
    );
    let daemon = daemon(&spool, &moto, &text, None);
    Agent::new(&spool, "reboot", "node1", 90)
        .run()
        .assert_code(0, "reboot through aws-ec2");
    let (_, r) = spool.response_for("node1");
    assert!(r.success && r.executed == Some(true), "{r:?}");
    assert_eq!(r.levels.len(), 1, "{r:?}");
    assert!(
        r.levels[0]
            .message
            .contains("stopped, then running, both confirmed"),
        "{r:?}"
    );
    assert_eq!(
        moto.states_of(&ids[0]),
        ["stopping", "stopped", "pending", "running"]
    );
    assert!(
        moto.events()
            .iter()
            .any(|e| e == &format!("call StopInstances force=True {}", ids[0])),
        "{:?}",
        moto.events()
    );
    assert_eq!(moto.state(&ids[0]), "running");

    Agent::new(&spool, "off", "node1", 90)
        .run()
        .assert_code(0, "off through aws-ec2");
    assert_eq!(moto.state(&ids[0]), "stopped");
    assert_eq!(moto.state(&ids[1]), "running", "node2 untouched");

    let everything = written(&spool, &daemon);
    assert!(
        !everything.contains(&moto.secret),
        "the secret key leaked: {everything}"
    );
}

/// Promise: level 1 (aws-ec2, nothing listening at its endpoint) fails naming the call and the
/// endpoint, level 2 (a `command` running boto3 the seed's way, forced stop and waiters) fences,
/// and the response names both levels in order; the instance really went stopped then running.
#[test]
fn ec2_level_fails_and_a_command_level_fences() {
    let Some(moto) = Moto::start(
        "ec2_level_fails_and_a_command_level_fences",
        Opts::default(),
    ) else {
        return;
    };
    let ids = moto.create(&["node1"]);
    let spool = Spool::new();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut argv: Vec<String> = moto.ctl_argv();
    argv.extend(["fence", "{action}", "{node}"].map(str::to_owned));
    let argv = argv
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "{}[backends.boto3]\ntype = \"command\"\nargv = [{argv}]\ntimeout_secs = 60\n\
         [[topology]]\nnodes = [\"*\"]\nlevels = [\"ec2\", \"boto3\"]\n",
        ec2_table("ec2", &dead)
    );
    let token = "s3ssion-t0ken-never-shown";
    let daemon = daemon(&spool, &moto, &text, Some(token));
    Agent::new(&spool, "reboot", "node1", 120)
        .run()
        .assert_code(0, "reboot through level 2");
    let (_, r) = spool.response_for("node1");
    let levels: Vec<(u32, &str, bool)> = r
        .levels
        .iter()
        .map(|l| (l.level, l.backend.as_str(), l.success))
        .collect();
    assert_eq!(levels, [(1, "ec2", false), (2, "boto3", true)], "{r:?}");
    assert!(
        r.levels[0]
            .message
            .contains(&format!("DescribeInstances to {dead}")),
        "{r:?}"
    );
    assert_eq!(moto.states_of(&ids[0]), ["stopped", "running"]);
    assert_eq!(moto.state(&ids[0]), "running");
    assert!(
        !written(&spool, &daemon).contains(token),
        "the session token leaked"
    );
}
