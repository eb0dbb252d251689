//! The `aws-ec2` backend against a real moto server (crates/system-tests/src/moto.rs): off, on
//! and reboot, each confirmed in moto's own record of the states the instance entered and by a
//! second client (boto3) reading the state back; an instance already stopped; no match and two
//! matches; wrong credentials under moto's signature checking; a stop that never lands; moto
//! killed mid-fence; throttling; the deadline; the probe; the instance role through moto's IMDS.
//! moto's transitions are made to take `delay` (the harness patches them, since moto's are
//! instant), so every success here went through our polling.

use std::time::{Duration, SystemTime};

use fence_watcher::backend::aws_ec2::{AwsEc2, AwsEc2Config};
use fence_watcher::backend::{Backend, ProbeJob};
use gfs2_fence_protocol::{Action, NodeName, ProbeStatus};
use system_tests::moto::{Moto, Opts, REGION};

use crate::backend_support::job;

fn node(name: &str) -> NodeName {
    NodeName::parse(name).expect("node name")
}

/// moto with instance transitions taking 0.3 s.
fn moto(test: &str) -> Option<Moto> {
    Moto::start(
        test,
        Opts {
            delay: 0.3,
            ..Opts::default()
        },
    )
}

/// A backend against `moto` with its accepted key in a credentials file, plus `tail` lines.
fn backend(moto: &Moto, dir: &std::path::Path, tail: &str) -> AwsEc2 {
    let creds = moto.credentials_file(dir, "fence", &moto.key_id, &moto.secret);
    backend_with(
        moto,
        &format!(
            "credentials_file = \"{}\"\nprofile = \"fence\"\n{tail}",
            creds.display()
        ),
    )
}

fn backend_with(moto: &Moto, lines: &str) -> AwsEc2 {
    let text = format!(
        "region = \"{REGION}\"\nendpoint_url = \"{}\"\npoll_interval_ms = 50\n{lines}",
        moto.endpoint()
    );
    let cfg: AwsEc2Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    AwsEc2::new("ec2", &cfg).unwrap_or_else(|e| panic!("build: {e}"))
}

async fn fence(b: &AwsEc2, name: &str, action: Action) -> fence_watcher::backend::BackendOutcome {
    b.fence(&job(name, action)).await
}

fn calls(moto: &Moto, call: &str) -> Vec<String> {
    let prefix = format!("call {call} ");
    moto.events()
        .into_iter()
        .filter(|e| e.starts_with(&prefix))
        .collect()
}

/// Promise: off is StopInstances with Force=true, then a success only once moto shows the
/// instance stopped; on is StartInstances confirmed running; reboot is both, in that order;
/// only the node's own instance is touched, and an instance already stopped is fenced without a
/// StopInstances.
#[tokio::test]
async fn off_on_reboot_are_confirmed_in_the_emulators_state() {
    let Some(moto) = moto("off_on_reboot_are_confirmed_in_the_emulators_state") else {
        return;
    };
    let ids = moto.create(&["node1", "node2"]);
    let d = tempfile::tempdir().expect("tempdir");
    let b = backend(&moto, d.path(), "");

    let out = fence(&b, "node1", Action::Off).await;
    assert!(out.success, "{out:?}\n{}", moto.log());
    assert!(
        out.message.contains(&ids[0]) && out.message.contains("confirmed"),
        "{out:?}"
    );
    assert_eq!(moto.state(&ids[0]), "stopped");
    assert_eq!(moto.states_of(&ids[0]), ["stopping", "stopped"]);
    assert_eq!(
        calls(&moto, "StopInstances"),
        [format!("call StopInstances force=True {}", ids[0])]
    );
    assert_eq!(moto.state(&ids[1]), "running", "node2 is untouched");

    let out = fence(&b, "node1", Action::Off).await;
    assert!(
        out.success && out.message.contains("already stopped"),
        "{out:?}"
    );
    assert_eq!(
        calls(&moto, "StopInstances").len(),
        1,
        "no second StopInstances"
    );

    let out = fence(&b, "node1", Action::On).await;
    assert!(
        out.success && out.message.contains("running, confirmed"),
        "{out:?}"
    );
    assert_eq!(moto.state(&ids[0]), "running");

    let out = fence(&b, "node1", Action::Reboot).await;
    assert!(out.success, "{out:?}");
    assert!(
        out.message
            .contains("stopped, then running, both confirmed"),
        "{out:?}"
    );
    assert_eq!(
        moto.states_of(&ids[0]),
        [
            "stopping", "stopped", "pending", "running", "stopping", "stopped", "pending",
            "running"
        ]
    );
    assert_eq!(moto.state(&ids[0]), "running");
    assert_eq!(moto.states_of(&ids[1]), Vec::<String>::new());
}

/// Promise: an instance named outright (`instance_id` of the node's override) is fenced
/// without a tag lookup; `api-reboot` sends RebootInstances and says it is not a fence.
#[tokio::test]
async fn instance_id_override_and_api_reboot() {
    let Some(moto) = moto("instance_id_override_and_api_reboot") else {
        return;
    };
    let ids = moto.create(&["other-name"]);
    let d = tempfile::tempdir().expect("tempdir");
    let tail = format!(
        "reboot_method = \"api-reboot\"\n[nodes.node9]\ninstance_id = \"{}\"\n",
        ids[0]
    );
    let b = backend(&moto, d.path(), &tail);
    let out = fence(&b, "node9", Action::Off).await;
    assert!(out.success, "{out:?}");
    assert_eq!(moto.state(&ids[0]), "stopped");
    fence(&b, "node9", Action::On).await;
    let out = fence(&b, "node9", Action::Reboot).await;
    assert!(
        out.success && out.message.contains("not a confirmed fence"),
        "{out:?}"
    );
    assert_eq!(
        calls(&moto, "RebootInstances").len(),
        1,
        "{:?}",
        moto.events()
    );
}

/// Promise: no instance, or two, tagged with the node's name is a failure naming the node and
/// the filter, and nothing is stopped.
#[tokio::test]
async fn no_match_and_two_matches_fail_without_a_guess() {
    let Some(moto) = moto("no_match_and_two_matches_fail_without_a_guess") else {
        return;
    };
    let ids = moto.create(&["twin", "twin"]);
    let d = tempfile::tempdir().expect("tempdir");
    let b = backend(&moto, d.path(), "");
    let out = fence(&b, "node1", Action::Off).await;
    assert!(!out.success, "{out:?}");
    assert!(
        out.message
            .contains("node node1: no instance matches tag:Name=node1"),
        "{out:?}"
    );
    let out = fence(&b, "twin", Action::Off).await;
    assert!(!out.success, "{out:?}");
    assert!(
        out.message
            .contains("node twin: 2 instances match tag:Name=twin")
            && out.message.contains(&ids[0])
            && out.message.contains(&ids[1])
            && out.message.contains("refusing to guess"),
        "{out:?}"
    );
    assert!(calls(&moto, "StopInstances").is_empty());
    assert_eq!(moto.state(&ids[0]), "running");
}

/// Promise: with moto checking signatures (INITIAL_NO_AUTH_ACTION_COUNT), the right key fences,
/// and a wrong secret or an unknown key fails naming the call, the HTTP status and AWS's code,
/// never showing the secret, and stops nothing.
#[tokio::test]
async fn wrong_credentials_fail_with_authfailure() {
    let opts = Opts {
        delay: 0.3,
        auth: true,
        ..Opts::default()
    };
    let Some(moto) = Moto::start("wrong_credentials_fail_with_authfailure", opts) else {
        return;
    };
    let ids = moto.create(&["node1"]);
    let d = tempfile::tempdir().expect("tempdir");
    for (key, secret) in [
        (moto.key_id.as_str(), "Wr0ng-s3cret/value"),
        ("AKIAUNKNOWN000000000", "Wr0ng-s3cret/value"),
    ] {
        let creds = moto.credentials_file(d.path(), "bad", key, secret);
        let b = backend_with(
            &moto,
            &format!(
                "credentials_file = \"{}\"\nprofile = \"bad\"\n",
                creds.display()
            ),
        );
        let out = fence(&b, "node1", Action::Off).await;
        assert!(!out.success, "{out:?}");
        assert!(
            out.message
                .contains("DescribeInstances: HTTP 401, AuthFailure: AWS was not able to validate"),
            "{out:?}"
        );
        assert!(!out.message.contains("Wr0ng"), "{out:?}");
    }
    assert_eq!(moto.state(&ids[0]), "running");
    let out = fence(&backend(&moto, d.path(), ""), "node1", Action::Off).await;
    assert!(out.success, "the right key works: {out:?}");
    assert_eq!(moto.state(&ids[0]), "stopped");
}

/// Promise: a stop that never lands (the instance stays `stopping`) is a failure when the time
/// runs out, naming the last state seen; never a success.
#[tokio::test]
async fn stopping_for_ever_is_a_timeout_naming_the_last_state() {
    let opts = Opts {
        stuck: true,
        ..Opts::default()
    };
    let Some(moto) = Moto::start("stopping_for_ever_is_a_timeout_naming_the_last_state", opts)
    else {
        return;
    };
    let ids = moto.create(&["node1"]);
    let d = tempfile::tempdir().expect("tempdir");
    let b = backend(&moto, d.path(), "timeout_secs = 1.5\n");
    let out = fence(&b, "node1", Action::Off).await;
    assert!(!out.success, "{out:?}");
    assert!(
        out.message.contains(&format!(
            "{} was still stopping (never stopped) when the time ran out after 1.5 s",
            ids[0]
        )),
        "{out:?}"
    );
    assert!(
        calls(&moto, "DescribeInstances").len() >= 3,
        "it polled: {:?}",
        moto.events()
    );
}

/// Promise: moto killed while the backend waits for `stopped` fails the fence, naming the call
/// and the endpoint.
#[tokio::test]
async fn emulator_killed_mid_fence_is_a_failure() {
    let opts = Opts {
        stuck: true,
        ..Opts::default()
    };
    let Some(mut moto) = Moto::start("emulator_killed_mid_fence_is_a_failure", opts) else {
        return;
    };
    moto.create(&["node1"]);
    let d = tempfile::tempdir().expect("tempdir");
    let b = backend(&moto, d.path(), "timeout_secs = 30\n");
    let endpoint = moto.endpoint();
    let fencing = fence(&b, "node1", Action::Off);
    let killer = async {
        let stopped = tokio::time::timeout(Duration::from_secs(20), async {
            while calls(&moto, "StopInstances").is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        assert!(stopped.await.is_ok(), "StopInstances never reached moto");
        moto.kill();
    };
    let (out, ()) = tokio::join!(fencing, killer);
    assert!(!out.success, "{out:?}");
    // moto logs StopInstances before it answers: the kill may land before that answer (then
    // StopInstances fails) or during the polling (then DescribeInstances does).
    let named = ["StopInstances", "DescribeInstances"].iter().any(|call| {
        out.message
            .contains(&format!("aws-ec2: {call} to {endpoint}: "))
    });
    assert!(named, "{out:?}");
}

/// Promise: RequestLimitExceeded is retried with backoff and the fence succeeds; throttled
/// until the time runs out, it fails naming the call and the code. (moto never throttles: the
/// harness makes moto refuse StopInstances with its own RequestLimitExceeded error.)
#[tokio::test]
async fn throttling_is_retried_within_the_timeout() {
    let opts = Opts {
        throttle: 2,
        ..Opts::default()
    };
    let Some(moto) = Moto::start("throttling_is_retried_within_the_timeout", opts) else {
        return;
    };
    let ids = moto.create(&["node1", "node2"]);
    let d = tempfile::tempdir().expect("tempdir");
    let b = backend(&moto, d.path(), "");
    let out = fence(&b, "node1", Action::Off).await;
    assert!(out.success, "{out:?}");
    let stops: Vec<String> = moto
        .events()
        .into_iter()
        .filter(|e| e.starts_with("call StopInstances"))
        .collect();
    assert_eq!(stops.len(), 3, "{stops:?}");
    assert!(
        stops[0].contains("throttled") && stops[1].contains("throttled"),
        "{stops:?}"
    );
    assert_eq!(moto.state(&ids[0]), "stopped");
    drop(moto);

    let opts = Opts {
        throttle: 10_000,
        ..Opts::default()
    };
    let Some(moto) = Moto::start("throttling_is_retried_within_the_timeout", opts) else {
        return;
    };
    moto.create(&["node1"]);
    let b = backend(&moto, d.path(), "timeout_secs = 1\n");
    let out = fence(&b, "node1", Action::Off).await;
    assert!(!out.success, "{out:?}");
    assert!(
        out.message.contains("StopInstances: still throttled")
            && out.message.contains("RequestLimitExceeded"),
        "{out:?}"
    );
}

/// Promise: a job whose deadline has passed makes no API call at all.
#[tokio::test]
async fn no_call_after_the_deadline() {
    let Some(moto) = moto("no_call_after_the_deadline") else {
        return;
    };
    moto.create(&["node1"]);
    let d = tempfile::tempdir().expect("tempdir");
    let b = backend(&moto, d.path(), "");
    let before = moto.events().len();
    let mut late = job("node1", Action::Off);
    late.deadline = Some(SystemTime::now() - Duration::from_secs(1));
    let out = b.fence(&late).await;
    assert!(
        !out.success && out.message.contains("the time ran out"),
        "{out:?}"
    );
    assert_eq!(moto.events().len(), before, "{:?}", moto.events());
}

/// Promise: the probe reads the instance (up, with its state) and changes nothing; a node
/// without an instance is down.
#[tokio::test]
async fn probe_reads_without_changing() {
    let Some(moto) = moto("probe_reads_without_changing") else {
        return;
    };
    let ids = moto.create(&["node1"]);
    let d = tempfile::tempdir().expect("tempdir");
    let b = backend(&moto, d.path(), "");
    let probe = |n: &str| ProbeJob {
        node: node(n),
        deadline: SystemTime::now() + Duration::from_secs(10),
    };
    let up = b.probe(&probe("node1")).await;
    assert_eq!(up.status, ProbeStatus::Up, "{up:?}");
    assert_eq!(up.message, format!("aws-ec2: {} is running", ids[0]));
    let down = b.probe(&probe("node2")).await;
    assert_eq!(down.status, ProbeStatus::Down, "{down:?}");
    assert!(
        down.message.contains("no instance matches tag:Name=node2"),
        "{down:?}"
    );
    let changed: Vec<String> = moto
        .events()
        .into_iter()
        .filter(|e| !e.starts_with("call DescribeInstances"))
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
}

/// Promise: without a credentials file or AWS_* variables, the instance role is used through
/// IMDSv2 (moto serves the metadata service on its own port); the session token goes along.
#[tokio::test]
async fn instance_role_through_imdsv2() {
    let Some(moto) = moto("instance_role_through_imdsv2") else {
        return;
    };
    let ids = moto.create(&["node1"]);
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        panic!("AWS_ACCESS_KEY_ID is set in the test environment: this test proves IMDS");
    }
    let b = backend_with(&moto, &format!("imds_url = \"{}\"\n", moto.endpoint()));
    let out = fence(&b, "node1", Action::Off).await;
    assert!(out.success, "{out:?}");
    assert_eq!(moto.state(&ids[0]), "stopped");
    // Without a metadata service (nothing listens), the failure says where it looked.
    let port = system_tests::free_port();
    let b = backend_with(&moto, &format!("imds_url = \"http://127.0.0.1:{port}\"\n"));
    let out = fence(&b, "node1", Action::On).await;
    assert!(!out.success, "{out:?}");
    assert!(
        out.message
            .contains("no credentials_file, no AWS_ACCESS_KEY_ID")
            && out.message.contains(&format!("127.0.0.1:{port}")),
        "{out:?}"
    );
}
