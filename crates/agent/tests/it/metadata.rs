//! Metadata, man page and Pacemaker's own view of the agent, checked with the real tools:
//! xmllint against fence-agents' metadata.rng, xsltproc with fence2man.xsl, stonith_admin.

use std::path::Path;
use std::process::{Command, Stdio};

use system_tests::peers::{installed, require, root};

use crate::common::{self, text, Sandbox, BIN};

const RNG: &str = "/usr/share/cluster/relaxng/metadata.rng";
const XSL: &str = "/usr/share/cluster/relaxng/fence2man.xsl";

/// `(found, why not)` for [`require`]: whether `name` is on the `PATH`.
fn tool(name: &str) -> (bool, String) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    (found, format!("{name} is not installed"))
}

fn metadata_of(args: &[&str]) -> String {
    let out = Sandbox::new().run_argv(args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn pipe(program: &str, args: &[&str], input: &str) -> std::process::Output {
    let mut c = Command::new(program);
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::run_with_stdin(c, input.as_bytes())
}

#[test]
fn metadata_is_valid_against_metadata_rng() {
    if !require(
        "metadata_is_valid_against_metadata_rng",
        &[tool("xmllint"), installed(RNG)],
    ) {
        return;
    }
    for args in [&["-o", "metadata"][..], &["--action=meta-data"][..]] {
        let xml = metadata_of(args);
        let out = pipe("xmllint", &["--relaxng", RNG, "--noout", "-"], &xml);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let xml = metadata_of(&["-o", "metadata"]);
    assert!(
        xml.contains("<parameter name=\"plug\" unique=\"0\" required=\"1\" obsoletes=\"port\">")
    );
    assert!(xml.contains("<action name=\"on\" automatic=\"0\" />"));
}

#[test]
fn metadata_from_stdin_like_pacemaker() {
    let sb = Sandbox::new();
    let out = common::run_with_stdin(sb.command(), b"action=metadata\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("<?xml"));
}

#[test]
fn fence2man_builds_a_man_page_from_the_metadata() {
    if !require(
        "fence2man_builds_a_man_page_from_the_metadata",
        &[tool("xsltproc"), installed(XSL)],
    ) {
        return;
    }
    let xml = metadata_of(&["-o", "metadata"]);
    let out = pipe("xsltproc", &[XSL, "-"], &xml);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let man = text(&out.stdout);
    assert!(
        man.contains("fence_timeout") && man.contains(".SH"),
        "{man}"
    );
}

#[test]
fn manpage_action_prints_roff() {
    let man = metadata_of(&["-o", "manpage"]);
    assert!(man.starts_with(".TH FENCE_GFS2_RECORDER 8"));
    for needle in [
        "fence\\-timeout",
        ".SH ACTIONS",
        "validate\\-all",
        "request_dir",
    ] {
        assert!(man.contains(needle), "{needle}");
    }
    if require("manpage_action_prints_roff (groff check)", &[tool("groff")]) {
        let out = pipe("groff", &["-man", "-Tutf8", "-ww", "-z"], &man);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn metadata_works_as_nobody_and_creates_nothing() {
    let Some(prefix) = common::as_nobody("metadata_works_as_nobody_and_creates_nothing") else {
        return;
    };
    let sb = Sandbox::new();
    let log = sb.tmp.path().join("never");
    let mut c = Command::new(prefix[0]);
    c.args(&prefix[1..])
        .arg(BIN)
        .env("LOG_DIR", &log)
        .env("REQUEST_DIR", "/nonexistent/rq");
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = common::run_with_stdin(
        c,
        b"action=metadata\nverbose=1\ndebug_file=/tmp/never-debug\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("<resource-agent name=\"fence_gfs2_recorder\""));
    assert!(!log.exists());
    assert!(!Path::new("/tmp/never-debug").exists());
}

/// Copies the binary to /usr/sbin, where Pacemaker looks for fence agents.
fn install_for_pacemaker(test: &str) -> bool {
    if !require(test, &[root(), tool("stonith_admin")]) {
        return false;
    }
    let dest = "/usr/sbin/fence_gfs2_recorder";
    let tmp = format!("{dest}.test-{}", std::process::id());
    std::fs::copy(BIN, &tmp).is_ok() && std::fs::rename(&tmp, dest).is_ok()
}

#[test]
fn stonith_admin_reads_metadata_and_validates() {
    if !install_for_pacemaker("stonith_admin_reads_metadata_and_validates") {
        return;
    }
    let out = Command::new("stonith_admin")
        .args(["--metadata", "--agent", "fence_gfs2_recorder"])
        .output()
        .expect("stonith_admin");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("fence_timeout"));
    let out = Command::new("stonith_admin")
        .args([
            "--validate",
            "--agent",
            "fence_gfs2_recorder",
            "--option",
            "fence_timeout=50",
            "--option",
            "gfs2_discovery=false",
        ])
        .output()
        .expect("stonith_admin");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = Command::new("stonith_admin")
        .args([
            "--validate",
            "--agent",
            "fence_gfs2_recorder",
            "--option",
            "fence_timeout=abc",
        ])
        .output()
        .expect("stonith_admin");
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("fence_timeout") || text(&out.stderr).contains("fence_timeout")
    );
}

#[test]
fn validate_all_warns_when_fence_timeout_leaves_no_room() {
    let sb = Sandbox::new();
    let out = sb.run("action=validate-all\nfence_timeout=60\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("no room under Pacemaker"),
        "{}",
        text(&out.stderr)
    );
    let out = sb.run("action=validate-all\nfence_timeout=50\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    let out = sb.run("action=validate-all\nheartbeat_max_age=x\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("heartbeat_max_age"));
}
