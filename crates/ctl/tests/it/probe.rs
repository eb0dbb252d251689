//! `gfs2-fencing test`: the table and the exit codes, through real `command` backends
//! (`/bin/sh`); the same against a real BMC (ipmi_sim) is in
//! `crates/system-tests/tests/it/probes.rs`.

use std::process::{Command, Output};

use crate::common::{text, Sandbox, BIN};

/// A configuration on the sandbox's spool whose first level is `first` (a shell command for
/// `status_argv`, or none: unprobed), the second always up, for nodes `cn*`.
fn config(sandbox: &Sandbox, first: Option<&str>) -> std::path::PathBuf {
    let status = first.map_or(String::new(), |s| {
        format!("status_argv = [\"/bin/sh\", \"-c\", \"{s}\"]\n")
    });
    let text = format!(
        "[spool]\nrequest_dir = \"{}\"\nresponse_dir = \"{}\"\n\
         [backends.one]\ntype = \"command\"\nargv = [\"/bin/false\"]\n{status}\
         [backends.two]\ntype = \"command\"\nargv = [\"/bin/false\"]\n\
         status_argv = [\"/bin/sh\", \"-c\", \"echo PDU of {{node}} answered\"]\n\
         [[topology]]\nnodes = [\"cn*\"]\nlevels = [\"one\", \"two\"]\n",
        sandbox.rq.display(),
        sandbox.rs.display()
    );
    let path = sandbox
        .rq
        .parent()
        .expect("sandbox")
        .join("fence-watcher.toml");
    std::fs::write(&path, text).expect("config");
    path
}

fn test(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("test")
        .args(args)
        .output()
        .expect("run gfs2-fencing test")
}

#[test]
fn prints_one_row_a_level_and_exits_0_only_when_the_first_is_up() {
    let sandbox = Sandbox::new();
    let cfg = config(&sandbox, Some("echo BMC answered"));
    let out = test(&["cn1", "--config", cfg.to_str().expect("utf-8")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    assert!(
        rows[0].starts_with("LEVEL  BACKEND  TYPE     RESULT"),
        "{stdout}"
    );
    assert!(
        rows[1].starts_with("1      one      command  up "),
        "{stdout}"
    );
    assert!(
        rows[1].ends_with("sh status of cn1 succeeded: BMC answered"),
        "{stdout}"
    );
    assert!(
        rows[2].ends_with("sh status of cn1 succeeded: PDU of cn1 answered"),
        "{stdout}"
    );

    let cfg = config(&sandbox, Some("echo no route >&2; exit 1"));
    let out = test(&["cn1", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "level 2 up does not make level 1 work"
    );
    assert!(text(&out.stdout).contains("DOWN"), "{}", text(&out.stdout));
    let out = test(&[
        "cn1",
        "--level",
        "2",
        "--config",
        cfg.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout).lines().count(), 2, "only level 2");

    let cfg = config(&sandbox, None);
    let out = test(&["cn1", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "unprobed is not known to work");
    assert!(
        text(&out.stdout).contains("unprobed"),
        "{}",
        text(&out.stdout)
    );
    let names = |d: &std::path::Path| std::fs::read_dir(d).expect("list").count();
    assert_eq!(
        (names(&sandbox.rq), names(&sandbox.rs)),
        (0, 0),
        "it wrote into the spool"
    );
}

#[test]
fn a_node_without_a_route_or_a_missing_level_is_an_error_that_says_so() {
    let sandbox = Sandbox::new();
    let cfg = config(&sandbox, None);
    let cfg = cfg.to_str().expect("utf-8");
    let out = test(&["other", "--config", cfg]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "gfs2-fencing: no [[topology]] entry matches node other: it has no level to test"
    );
    let out = test(&["cn1", "--level", "3", "--config", cfg]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "gfs2-fencing: node cn1 has 2 levels; there is no level 3"
    );
    let out = test(&["cn1", "--config", "/nonexistent/fence-watcher.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("/nonexistent/fence-watcher.toml"),
        "{}",
        text(&out.stderr)
    );
}

/// `--json`: the levels as the heartbeat states them (`LevelHealth`), and `ok` as the exit status.
#[test]
fn test_json_has_each_level_and_the_verdict() {
    let sandbox = Sandbox::new();
    let cfg = config(&sandbox, Some("echo no route >&2; exit 1"));
    let out = test(&["cn1", "--json", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["schema"], "gfs2-fencing.test");
    assert_eq!(doc["version"], 1);
    assert_eq!(
        (doc["node"].as_str(), doc["ok"].as_bool()),
        (Some("cn1"), Some(false))
    );
    let levels = doc["levels"].as_array().expect("levels");
    let got: Vec<(u64, &str, &str)> = levels
        .iter()
        .map(|l| {
            let n = l["level"].as_u64().unwrap_or(0);
            (
                n,
                l["backend"].as_str().unwrap_or(""),
                l["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(got, [(1, "one", "down"), (2, "two", "up")]);
}
