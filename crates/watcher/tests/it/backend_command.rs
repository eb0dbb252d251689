//! The `command` and `simulate` backends, configuration checks, and the shared process runner
//! (clean environment, bounded output, the whole process group killed on timeout), all against
//! real processes.

use crate::backend_support;
use fence_watcher::backend;

use std::time::Duration;

use backend_support::{alive, build, eventually, file, job, parse, script};
use gfs2_fence_protocol::Action;

#[tokio::test]
async fn simulate_success_fail_and_delay_say_nothing_was_fenced() {
    let ok = build("type = \"simulate\"").expect("build");
    let out = ok.fence(&job("cn1", Action::Off)).await;
    assert!(out.success);
    assert_eq!(out.message, "simulated off of cn1 (no real fencing)");

    let fail = build("type = \"simulate\"\noutcome = \"fail\"").expect("build");
    let out = fail.fence(&job("cn1", Action::Reboot)).await;
    assert!(!out.success);
    assert_eq!(
        out.message,
        "simulated failure of reboot of cn1 (no real fencing)"
    );

    let slow = build("type = \"simulate\"\ndelay_secs = 0.3").expect("build");
    let start = std::time::Instant::now();
    assert!(slow.fence(&job("cn1", Action::On)).await.success);
    assert!(start.elapsed() >= Duration::from_millis(300));

    let hang = build("type = \"simulate\"\ndelay_secs = 30\ntimeout_secs = 0.2").expect("build");
    let out = hang.fence(&job("cn1", Action::Off)).await;
    assert!(!out.success);
    assert!(
        out.message.contains("timed out after 0.2 s"),
        "{}",
        out.message
    );
}

#[tokio::test]
async fn command_expands_placeholders_into_single_arguments_with_a_clean_env() {
    let d = tempfile::tempdir().expect("tempdir");
    let rec = d.path().join("rec");
    let cmd = d.path().join("fence-node");
    script(
        &cmd,
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do echo \"arg:$a\"; done > {0}\nenv >> {0}\necho done\n",
            rec.display()
        ),
    );
    let table = format!(
        "type = \"command\"\nargv = [\"{}\", \"--node\", \"{{node}}\", \"x {{node}} ;y\", \"{{action}}\", \"id={{request_id}}\"]\nenv = {{ FOO = \"bar\" }}",
        cmd.display()
    );
    let out = build(&table)
        .expect("build")
        .fence(&job("cn-1.a", Action::Off))
        .await;
    assert!(out.success, "{}", out.message);
    assert_eq!(out.message, "fence-node off of cn-1.a succeeded: done");
    let rec = std::fs::read_to_string(&rec).expect("record");
    let args: Vec<&str> = rec.lines().filter_map(|l| l.strip_prefix("arg:")).collect();
    assert_eq!(args, ["--node", "cn-1.a", "x cn-1.a ;y", "off", "id=req-1"]);
    assert!(rec.lines().any(|l| l == "FOO=bar"), "{rec}");
    assert!(
        rec.lines()
            .any(|l| l == "PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
        "{rec}"
    );
    assert!(rec.lines().any(|l| l == "PYTHONWARNINGS=ignore"), "{rec}");
    // Nothing of the test process's environment (cargo sets CARGO_*) leaks into the child.
    assert!(
        !rec.lines()
            .any(|l| l.starts_with("CARGO") || l.starts_with("HOME=")),
        "{rec}"
    );
}

#[tokio::test]
async fn command_exit_codes_map_to_failure_with_the_last_stderr_line() {
    let d = tempfile::tempdir().expect("tempdir");
    let cmd = d.path().join("fence-node");
    script(
        &cmd,
        "#!/bin/sh\necho working\necho 'boom: no such node' >&2\nexit 3\n",
    );
    let b = build(&format!(
        "type = \"command\"\nargv = [\"{}\", \"{{node}}\"]",
        cmd.display()
    ))
    .expect("build");
    let out = b.fence(&job("cn2", Action::Reboot)).await;
    assert!(!out.success);
    assert_eq!(
        out.message,
        "fence-node reboot of cn2 failed (exit 3): boom: no such node"
    );
}

#[tokio::test]
async fn huge_binary_output_is_drained_bounded_and_never_panics() {
    let d = tempfile::tempdir().expect("tempdir");
    let cmd = d.path().join("noisy");
    script(
        &cmd,
        "#!/bin/sh\nhead -c 3000000 /dev/urandom\nhead -c 300000 /dev/urandom >&2\nexit 1\n",
    );
    let b = build(&format!(
        "type = \"command\"\nargv = [\"{}\"]\ntimeout_secs = 60",
        cmd.display()
    ))
    .expect("build");
    let out = b.fence(&job("cn1", Action::Off)).await;
    assert!(!out.success);
    assert!(out.message.contains("exit 1"), "{}", out.message);
    assert!(out.message.chars().count() <= 301, "{}", out.message.len());
    assert!(!out.message.chars().any(char::is_control));
}

/// A command that starts a grandchild, records its pid, and hangs; `ignore_term` makes both
/// ignore SIGTERM (ignored signals are inherited), forcing the SIGKILL step.
fn hanging_command(
    dir: &std::path::Path,
    ignore_term: bool,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let pidfile = dir.join("grandchild.pid");
    let cmd = dir.join("hang");
    let trap = if ignore_term { "trap '' TERM\n" } else { "" };
    script(
        &cmd,
        &format!(
            "#!/bin/sh\n{trap}sleep 1000 &\necho $! > {}\nwait\n",
            pidfile.display()
        ),
    );
    (cmd, pidfile)
}

fn read_pid(pidfile: &std::path::Path) -> u32 {
    assert!(eventually(30, || std::fs::read_to_string(pidfile)
        .is_ok_and(|s| s.ends_with('\n'))));
    std::fs::read_to_string(pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid number")
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    for ignore_term in [false, true] {
        let d = tempfile::tempdir().expect("tempdir");
        let (cmd, pidfile) = hanging_command(d.path(), ignore_term);
        let b = build(&format!(
            "type = \"command\"\nargv = [\"{}\"]\ntimeout_secs = 1",
            cmd.display()
        ))
        .expect("build");
        let out = b.fence(&job("cn1", Action::Off)).await;
        assert!(!out.success);
        assert_eq!(out.message, "hang off of cn1 failed (timed out after 1 s)");
        let grandchild = read_pid(&pidfile);
        assert!(
            eventually(10, || !alive(grandchild)),
            "grandchild {grandchild} survived (ignore_term {ignore_term})"
        );
    }
}

#[tokio::test]
async fn dropping_a_running_fence_kills_its_group() {
    let d = tempfile::tempdir().expect("tempdir");
    let (cmd, pidfile) = hanging_command(d.path(), false);
    let b = build(&format!(
        "type = \"command\"\nargv = [\"{}\"]",
        cmd.display()
    ))
    .expect("build");
    let task = tokio::spawn(async move { b.fence(&job("cn1", Action::Off)).await });
    let path = pidfile.clone();
    let grandchild = tokio::task::spawn_blocking(move || read_pid(&path))
        .await
        .expect("join");
    assert!(alive(grandchild));
    task.abort();
    let _ = task.await;
    assert!(
        eventually(10, || !alive(grandchild)),
        "grandchild {grandchild} survived the drop"
    );
}

#[test]
fn build_refuses_bad_configurations_with_clear_messages() {
    let d = tempfile::tempdir().expect("tempdir");
    let pw = d.path().join("bmc.pw");
    file(&pw, "s3cretPW\n", 0o644);
    let cases = [
        (
            "type = \"command\"\nargv = [\"/usr/bin/{node}\"]",
            "argv[0] \"/usr/bin/{node}\" must not contain a placeholder",
        ),
        (
            "type = \"command\"\nargv = [\"bin/fence\"]",
            "must be a bare name or an absolute path",
        ),
        ("type = \"command\"\nargv = []", "argv is empty"),
        (
            "type = \"command\"\nargv = [\"true\", \"{nodes}\"]",
            "unknown placeholder {nodes}",
        ),
        (
            "type = \"command\"\nargv = [\"true\"]\ntimeout_secs = 0",
            "timeout_secs 0 must be > 0",
        ),
        (
            "type = \"fence-agent\"\nagent = \"fence_nope\"",
            "backend test: agent \"fence_nope\" not found in /usr/sbin or /usr/bin",
        ),
        (
            "type = \"fence-agent\"\nagent = \"fence_dummy\"\nparams = { action = \"on\" }",
            "key \"action\" is set by the backend",
        ),
        (
            "type = \"fence-agent\"\nagent = \"fence_dummy\"\nparams = { ip = \"a\\nb\" }",
            "must not contain a newline",
        ),
        (
            "type = \"fence-agent\"\nagent = \"fence_dummy\"\nsecret_files = { password = \"/p\" }\n\
             [nodes.cn1]\npassword = \"plain\"",
            "password is in both secret_files and params (or nodes)",
        ),
        (
            "type = \"ipmitool\"\nusername = \"admin\"\ncipher = 0",
            "cipher 0 accepts any password",
        ),
        (
            "type = \"ipmitool\"\nusername = \"admin\"\nhost = \"x;rm\"",
            "must be a host name or address",
        ),
    ];
    for (table, want) in cases {
        let err = build(table).expect_err(table);
        assert!(err.contains(want), "{table}\n=> {err}");
    }
    let world = format!(
        "type = \"ipmitool\"\nusername = \"admin\"\npassword_file = \"{}\"",
        pw.display()
    );
    let err = build(&world).expect_err("world-readable");
    assert_eq!(
        err,
        format!(
            "backend test: password_file {} (owner uid {}) is world-readable or world-writable \
             (mode 0644); run: chmod 0600 {}",
            pw.display(),
            rustix::process::geteuid().as_raw(),
            pw.display()
        )
    );
    assert!(!err.contains("s3cretPW"));
    // Unknown keys are refused, so a typo never silently falls back to a default.
    let typo = parse("type = \"ipmitool\"\nusername = \"admin\"\nciper = 3").expect_err("typo");
    assert!(typo.contains("ciper"), "{typo}");
    // The timeout the scheduler sees is the one the backend enforces.
    let cfg = parse("type = \"command\"\nargv = [\"true\"]\ntimeout_secs = 7.5").expect("parse");
    assert_eq!(cfg.timeout(), Duration::from_millis(7500));
    assert_eq!(
        parse("type = \"simulate\"").expect("parse").timeout(),
        Duration::from_secs(60)
    );
    // A slow simulation without an explicit timeout is not a hang.
    let slow = parse("type = \"simulate\"\ndelay_secs = 120").expect("parse");
    assert_eq!(slow.timeout(), Duration::from_secs(121));
}

/// The TOML examples in the backends' module documentation parse with the real schema, so the
/// documented keys cannot drift from the code.
#[test]
fn documented_examples_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend");
    let mut seen = 0;
    for name in ["fence_agent.rs", "ipmitool.rs", "command.rs", "simulate.rs"] {
        let src = std::fs::read_to_string(dir.join(name)).expect("source");
        let doc: String = src
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
            .collect();
        let block = doc
            .split("```toml\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .expect("a toml example");
        let table: toml::Table = toml::from_str(block).unwrap_or_else(|e| panic!("{name}: {e}"));
        let backends = table["backends"].as_table().expect("[backends.X]");
        for (key, value) in backends {
            let cfg: Result<backend::BackendConfig, _> = value.clone().try_into();
            cfg.unwrap_or_else(|e| panic!("{name}: backends.{key}: {e}"));
            seen += 1;
        }
    }
    assert_eq!(seen, 4);
}

/// The native redfish backend (module `redfish/`) is reachable through the same configuration
/// enum and trait as the others (its behaviour is tested in `redfish_*.rs`).
#[test]
fn redfish_tables_build_through_the_common_enum() {
    let d = tempfile::tempdir().expect("tempdir");
    let pw = d.path().join("bmc.pw");
    file(&pw, "s3cretPW\n", 0o600);
    let table = format!(
        "type = \"redfish\"\nhost = \"{{node}}-bmc\"\nscheme = \"http\"\nallow_http = true\n\
         username = \"fence\"\npassword_file = \"{}\"\ntimeout_secs = 42\n",
        pw.display()
    );
    let cfg = parse(&table).expect("parse");
    assert_eq!(cfg.timeout(), Duration::from_secs(42));
    let b = cfg.build("bmc").expect("build");
    assert_eq!(
        (b.kind(), b.timeout()),
        ("redfish", Duration::from_secs(42))
    );
    let missing = table.replace(&pw.display().to_string(), "/nonexistent/bmc.pw");
    let err = build(&missing).expect_err("missing password file");
    assert!(
        err.starts_with("backend test: password_file /nonexistent/bmc.pw"),
        "{err}"
    );
}
