//! The common flags of every spool-reading subcommand: the directories resolve as the daemon's
//! do (flag > environment > the configuration's `[spool]` > default), through the daemon's own
//! `fence_watcher::config::spool_dirs`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::{text, BIN};

/// `gfs2-fencing <args>` with the directory variables set as given and the others removed.
fn run(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).stdin(Stdio::null());
    for var in [
        "REQUEST_DIR",
        "NNF_FENCE_REQUEST_DIR",
        "RESPONSE_DIR",
        "NNF_FENCE_RESPONSE_DIR",
        "LOG_DIR",
    ] {
        c.env_remove(var);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run gfs2-fencing")
}

/// The request directory a `requests --json` run read.
fn request_dir(out: &Output) -> String {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    doc["request_dir"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn directories_resolve_flag_then_environment_then_the_configuration() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = |name: &str| {
        let d = tmp.path().join(name);
        std::fs::create_dir(&d).expect("dir");
        d
    };
    let (file_rq, file_rs, env_rq, flag_rq) = (
        dir("file-rq"),
        dir("file-rs"),
        dir("env-rq"),
        dir("flag-rq"),
    );
    let cfg = tmp.path().join("fence-watcher.toml");
    // A backend the daemon would refuse (no argv): the tool reads [spool] only.
    let toml = format!(
        "[spool]\nrequest_dir = \"{}\"\nresponse_dir = \"{}\"\n[backends.bmc]\ntype = \"command\"\n",
        file_rq.display(),
        file_rs.display()
    );
    std::fs::write(&cfg, toml).expect("config");
    let cfg = cfg.to_str().expect("utf-8");

    let out = run(&["requests", "--json", "--config", cfg], &[]);
    assert_eq!(request_dir(&out), file_rq.display().to_string());
    let env = [("NNF_FENCE_REQUEST_DIR", env_rq.as_path())];
    let out = run(&["requests", "--json", "--config", cfg], &env);
    assert_eq!(request_dir(&out), env_rq.display().to_string());
    let flag = flag_rq.to_str().expect("utf-8");
    let out = run(
        &["requests", "--json", "--config", cfg, "--request-dir", flag],
        &env,
    );
    assert_eq!(request_dir(&out), flag);

    let missing = run(
        &["requests", "--config", "/nonexistent/fence-watcher.toml"],
        &[],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("/nonexistent/fence-watcher.toml"),
        "{}",
        text(&missing.stderr)
    );
}

/// Issue 15: `check` had no `--config`, so it checked the default directories when the
/// configuration's `[spool]` named others.
#[test]
fn check_reads_the_configurations_spool() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (rq, rs) = (tmp.path().join("rq"), tmp.path().join("rs"));
    for d in [&rq, &rs] {
        std::fs::create_dir(d).expect("dir");
    }
    let cfg = tmp.path().join("fence-watcher.toml");
    let toml = format!(
        "[spool]\nrequest_dir = \"{}\"\nresponse_dir = \"{}\"\n",
        rq.display(),
        rs.display()
    );
    std::fs::write(&cfg, toml).expect("config");
    let out = run(&["check", "--config", cfg.to_str().expect("utf-8")], &[]);
    let stdout = text(&out.stdout);
    let expect = format!("OK   request directory: {} is a writable", rq.display());
    assert!(stdout.contains(&expect), "{stdout}");
    let expect = format!("OK   response directory: {} is a writable", rs.display());
    assert!(stdout.contains(&expect), "{stdout}");
}
