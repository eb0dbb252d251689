//! A small campaign end to end against the binaries of this profile (build them first, as for
//! the system tests: `cargo build --workspace`): it prints its seed first and its counts last,
//! judges (exit 0 or 1, never 2), and leaves no process and no mount behind.

use std::process::Command;

#[test]
fn a_small_campaign_runs_judges_and_cleans_up() {
    let report = tempfile::NamedTempFile::new().expect("a report file");
    // The campaign's tree goes under a directory of this test's own, so its mounts can be told
    // from those of any other campaign running on the machine.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let out = Command::new(env!("CARGO_BIN_EXE_gfs2-chaos"))
        .env("TMPDIR", tmp.path())
        .args(["--seed", "7", "--exchanges", "12", "--concurrency", "2"])
        .args([
            "--faults",
            "kill-daemon,sighup,kill-agent",
            "--restart-sec",
            "0.2",
        ])
        .arg("--report")
        .arg(report.path())
        .output()
        .expect("run gfs2-chaos");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the campaign could not run ({:?}):\n{text}\n{err}",
        out.status
    );
    assert!(text.starts_with("gfs2-chaos: seed 7 "), "{text}");
    let summary = text
        .lines()
        .find_map(|l| l.strip_prefix("SUMMARY "))
        .expect("a SUMMARY line");
    let s: serde_json::Value = serde_json::from_str(summary).expect("the summary is JSON");
    assert_eq!(s["exchanges"], 12, "{summary}");
    assert_eq!(
        s["agent_exit_0"].as_u64().unwrap_or(0)
            + s["agent_exit_1"].as_u64().unwrap_or(0)
            + s["agent_exit_other"].as_u64().unwrap_or(0),
        12 + s["warmup_exchanges"].as_u64().unwrap_or(0)
    );
    // The saved history judges to the same verdict.
    let judged = Command::new(env!("CARGO_BIN_EXE_gfs2-chaos"))
        .arg("judge")
        .arg(report.path())
        .output()
        .expect("run gfs2-chaos judge");
    assert_eq!(judged.status.code(), out.status.code());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let ours = tmp.path().to_string_lossy().into_owned();
    assert!(
        !mounts.contains(&ours),
        "a tmpfs was left mounted under {ours}"
    );
    // The campaign directory is named in the output when kept; nothing may run from it.
    if let Some(dir) = err
        .lines()
        .find_map(|l| l.strip_prefix("campaign directory kept: "))
    {
        let left = gfs2_chaos::procs::running_from(&std::path::Path::new(dir).join("bin"));
        assert!(left.is_empty(), "processes left running: {left:?}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
