//! Start-up: safe by default. No backend, an insecure spool or a non-loopback metrics address
//! stop the daemon with a message saying what to do; spool directories are created 0750.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::Spool;

fn refused(spool: &Spool, args: &[&str]) -> String {
    let out = common::daemon(spool)
        .command()
        .args(args)
        .output()
        .expect("run fence_watcher");
    assert!(!out.status.success(), "started although it should refuse");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn refuses_to_start_without_a_backend_and_says_how_to_configure_one() {
    let spool = common::spool();
    let cfg = spool.config("[daemon]\nmax_concurrent = 4\n");
    let err = refused(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    assert!(
        err.contains("[backends.NAME]") && err.contains("[[topology]]"),
        "{err}"
    );
    assert!(err.contains("--simulate"), "{err}");
    assert!(
        !spool.requests.exists(),
        "nothing may be created before the configuration is valid"
    );
}

#[test]
fn refuses_world_writable_and_creates_private_directories() {
    let spool = common::spool();
    std::fs::create_dir(&spool.requests).expect("mkdir");
    std::fs::set_permissions(&spool.requests, std::fs::Permissions::from_mode(0o777))
        .expect("chmod");
    let err = refused(&spool, &["--simulate"]);
    assert!(
        err.contains("world-writable") && err.contains(spool.requests.to_str().expect("utf-8")),
        "{err}"
    );

    std::fs::remove_dir(&spool.requests).expect("rmdir");
    let _d = common::start(&spool, &["--simulate"]);
    for dir in [
        &spool.requests,
        &spool.responses,
        &spool.requests.join(".claimed"),
        &spool.requests.join(".rejected"),
    ] {
        let mode = std::fs::metadata(dir)
            .expect("created")
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(mode, 0o750, "{}", dir.display());
    }
}

#[test]
fn refuses_a_non_loopback_metrics_address_and_a_bad_topology() {
    let spool = common::spool();
    let err = refused(&spool, &["--simulate", "--metrics-listen", "0.0.0.0:9464"]);
    assert!(
        err.contains("metrics_listen") && err.contains("loopback"),
        "{err}"
    );
    let cfg = spool.config(
        "[backends.a]\ntype = \"simulate\"\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"b\"]\n",
    );
    let err = refused(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    assert!(
        err.contains("topology[0].levels") && err.contains("\"b\""),
        "{err}"
    );
}

#[test]
fn check_config_validates_without_starting() {
    let spool = common::spool();
    let good = spool.config(
        "[backends.a]\ntype = \"simulate\"\n[[topology]]\nnodes = [\"cn-*\"]\nlevels = [\"a\"]\n",
    );
    let out = common::daemon(&spool)
        .command()
        .args(["--config", good.to_str().expect("utf-8"), "--check-config"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("is valid"));
    assert!(!spool.requests.exists());
    let bad = spool.config("[backends.a]\ntype = \"teleport\"\n");
    let out = common::daemon(&spool)
        .command()
        .args(["--config", bad.to_str().expect("utf-8"), "--check-config"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("teleport"));
}

#[test]
fn check_config_refuses_a_misspelled_after_fence_placeholder() {
    let spool = common::spool();
    let cfg = spool.config(
        "[backends.a]\ntype = \"simulate\"\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"a\"]\n\
         [after_fence]\ncommand = [\"/usr/sbin/dlm_tool\", \"fence_ack\", \"{nodid}\"]\n",
    );
    let out = common::daemon(&spool)
        .command()
        .args(["--config", cfg.to_str().expect("utf-8"), "--check-config"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted {{nodid}}: {err}");
    assert!(
        err.contains("after_fence.command[2]") && err.contains("unknown placeholder {nodid}"),
        "{err}"
    );
}

#[test]
fn the_documented_example_configuration_is_valid() {
    let spool = common::spool();
    let example = include_str!("../../../../packaging/fence-watcher.toml.example");
    let secret = spool.path("ipmi.password");
    std::fs::write(&secret, "secret\n").expect("write secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let text = example.replace(
        "/etc/gfs2-fencing/ipmi.password",
        secret.to_str().expect("utf-8"),
    );
    assert_ne!(text, example, "the example names a secret file");
    let cfg = spool.config(&text);
    let out = common::daemon(&spool)
        .command()
        .args(["--config", cfg.to_str().expect("utf-8"), "--check-config"])
        .output()
        .expect("run");
    let agent = system_tests::peers::installed("/usr/sbin/fence_ipmilan");
    if !system_tests::peers::require("the_documented_example_configuration_is_valid", &[agent]) {
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn refuses_a_spool_directory_owned_by_another_user() {
    let root = system_tests::peers::root();
    if !system_tests::peers::require("refuses_a_spool_directory_owned_by_another_user", &[root]) {
        return;
    }
    let spool = common::spool();
    std::fs::create_dir(&spool.responses).expect("mkdir");
    std::os::unix::fs::chown(&spool.responses, Some(65534), Some(65534)).expect("chown");
    let err = refused(&spool, &["--simulate"]);
    assert!(
        err.contains("owned by uid 65534")
            && err.contains(spool.responses.to_str().expect("utf-8")),
        "{err}"
    );
}
