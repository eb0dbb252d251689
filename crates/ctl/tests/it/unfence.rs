//! `unfence`: what it clears, what it keeps, what it reports, and the audit record it leaves.

use std::process::Output;
use std::time::Duration;

use crate::common::{from_now, text, Sandbox};

/// `gfs2-fencing unfence <args>` with the event logs in the sandbox (never the host's LOG_DIR),
/// as user `sudo_user` when given.
fn unfence(sb: &Sandbox, args: &[&str], sudo_user: Option<&str>) -> Output {
    let mut all = vec!["unfence"];
    all.extend_from_slice(args);
    let mut c = sb.command(&all);
    c.arg("--log-dir").arg(logs(sb)).env_remove("SUDO_USER");
    if let Some(user) = sudo_user {
        c.env("SUDO_USER", user);
    }
    c.output().expect("run gfs2-fencing unfence")
}

fn logs(sb: &Sandbox) -> std::path::PathBuf {
    sb.rs.parent().expect("sandbox root").join("log")
}

/// The detailed event log, parsed.
fn events(sb: &Sandbox) -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(logs(sb).join("fence-events-detailed.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn off(id: &str, node: &str) -> String {
    format!(
        r#"{{"request_id":"{id}","success":true,"action_performed":"off","target_node":"{node}","message":"m","timestamp":"{}"}}"#,
        from_now(0)
    )
}

/// Issue 11 #12: `unfence` silently skipped response files it could not read, which may be the
/// node's records that nnf-sos still reads. It names them and exits 1 (the readable ones are
/// still cleared).
#[test]
fn unfence_reports_unreadable_records_and_exits_non_zero() {
    let sb = Sandbox::new();
    sb.write(&sb.rs, "a1.json", &off("a1", "cn1"), Duration::ZERO);
    sb.write(&sb.rs, "bad.json", "{ not json", Duration::ZERO);
    let out = unfence(&sb, &["cn1", "--yes"], None);
    let printed = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("UNREADABLE") && printed.contains("bad.json"),
        "{printed}"
    );
    assert!(
        !sb.rs.join("a1.json").exists(),
        "the readable one is cleared"
    );
    assert!(sb.rs.join("bad.json").exists(), "the unreadable one stays");
}

/// Issue 11 #12: a record whose name was already in `.unfenced/` (the node unfenced before)
/// stopped `unfence` at the first collision, leaving the rest of the node's records in place.
/// Each gets a fresh name; here with two collisions on one name and one on another.
#[test]
fn unfence_does_not_stop_at_a_name_collision_in_the_archive() {
    let sb = Sandbox::new();
    let archive = sb.rs.join(".unfenced");
    std::fs::create_dir(&archive).expect("archive");
    for old in ["a1.json", "a1.json.1", "a2.json"] {
        std::fs::write(archive.join(old), "old").expect("old archive");
    }
    sb.write(&sb.rs, "a1.json", &off("a1", "cn1"), Duration::from_secs(2));
    sb.write(&sb.rs, "a2.json", &off("a2", "cn1"), Duration::ZERO);
    let out = unfence(&sb, &["cn1", "--yes"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!sb.rs.join("a1.json").exists() && !sb.rs.join("a2.json").exists());
    for (kept, id) in [("a1.json.2", "a1"), ("a2.json.1", "a2")] {
        let body = std::fs::read_to_string(archive.join(kept)).expect(kept);
        assert!(body.contains(&format!("\"{id}\"")), "{kept}: {body}");
    }
    for old in ["a1.json", "a1.json.1", "a2.json"] {
        let body = std::fs::read_to_string(archive.join(old)).expect(old);
        assert_eq!(body, "old", "{old} untouched");
    }
}

/// Issue 15: `unfence NODE --yes` left no trace in the event logs. It writes one `unfenced`
/// event per run in each of the three logs: who (the sudo user, with the uid), which records and
/// where they are kept; another node's record stays and is not named.
#[test]
fn unfence_records_who_and_which_records_in_the_three_logs() {
    let sb = Sandbox::new();
    sb.write(&sb.rs, "a1.json", &off("a1", "cn1"), Duration::from_secs(2));
    sb.write(&sb.rs, "a2.json", &off("a2", "cn1"), Duration::ZERO);
    sb.write(&sb.rs, "b1.json", &off("b1", "cn2"), Duration::ZERO);
    let out = unfence(&sb, &["cn1", "--yes"], Some("alice"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        sb.rs.join("b1.json").exists(),
        "another node's record stays"
    );
    let events = events(&sb);
    assert_eq!(events.len(), 1, "{events:?}");
    let ev = &events[0];
    assert_eq!(ev["event"], "unfenced");
    assert_eq!(ev["action"], "unfence");
    assert_eq!(ev["target_node"], "cn1");
    assert!(ev["request_id"].is_null(), "{ev}");
    let uid = rustix::process::getuid().as_raw();
    assert_eq!(
        ev["by"],
        format!("alice (uid {uid}) via gfs2-fencing unfence")
    );
    assert_eq!(
        ev["archived"],
        serde_json::json!([
            {"record": "a1.json", "kept_as": "a1.json"},
            {"record": "a2.json", "kept_as": "a2.json"},
        ])
    );
    for (log, words) in [
        (
            "fence-events-readable.log",
            "ACTION=unfence TARGET=cn1 GFS2=none STATUS=unfenced",
        ),
        ("fence-events.log", "gfs2-fencing["),
    ] {
        let text = std::fs::read_to_string(logs(&sb).join(log)).expect(log);
        assert_eq!(text.lines().count(), 1, "{log}: {text}");
        assert!(
            text.contains(words) && text.contains("a2.json"),
            "{log}: {text}"
        );
    }
}

/// Without `--yes` nothing moves and nothing is logged; a node without records logs nothing.
#[test]
fn a_dry_run_or_nothing_to_clear_leaves_no_event() {
    let sb = Sandbox::new();
    sb.write(&sb.rs, "a1.json", &off("a1", "cn1"), Duration::ZERO);
    let out = unfence(&sb, &["cn1"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("would clear"),
        "{}",
        text(&out.stdout)
    );
    assert!(sb.rs.join("a1.json").exists());
    let out = unfence(&sb, &["cn9", "--yes"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(events(&sb).is_empty());
}

/// A record that cannot be archived (the archive is a file) fails the command, says so, and
/// leaves a `failed` event: nnf-sos still sees the node fenced.
#[test]
fn an_archive_that_cannot_be_made_fails_and_is_logged() {
    let sb = Sandbox::new();
    sb.write(&sb.rs, "a1.json", &off("a1", "cn1"), Duration::ZERO);
    std::fs::write(sb.rs.join(".unfenced"), "in the way").expect("block");
    let out = unfence(&sb, &["cn1", "--yes"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains(".unfenced"),
        "{}",
        text(&out.stderr)
    );
    assert!(sb.rs.join("a1.json").exists());
    let events = events(&sb);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "failed");
    assert_eq!(events[0]["action"], "unfence");
    assert!(
        events[0]["details"]
            .as_str()
            .is_some_and(|d| d.contains("nnf-sos still sees cn1 fenced")),
        "{}",
        events[0]
    );
}

/// `--json` (every subcommand has it, docs/cli.md): the dry run names what it would clear, the
/// real run what it cleared and where it is kept, and both name the unreadable file; `ok` and
/// the exit status agree.
#[test]
fn unfence_json_says_what_would_be_and_what_was_cleared() {
    let sb = Sandbox::new();
    sb.write(&sb.rs, "a1.json", &off("a1", "cn1"), Duration::ZERO);
    sb.write(&sb.rs, "bad.json", "{ not json", Duration::ZERO);
    let doc = |out: &Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
    };
    let dry = unfence(&sb, &["cn1", "--json"], None);
    assert_eq!(dry.status.code(), Some(1), "an unreadable file: not ok");
    let d = doc(&dry);
    assert_eq!(d["schema"], "gfs2-fencing.unfence");
    assert_eq!(d["version"], 1);
    assert_eq!(
        (d["dry_run"].as_bool(), d["ok"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(d["records"][0]["record"], "a1.json");
    assert_eq!(d["records"][0]["state"], "would_clear");
    assert_eq!(d["unreadable"][0]["file"], "bad.json");
    assert!(sb.rs.join("a1.json").exists(), "a dry run clears nothing");

    let real = unfence(&sb, &["cn1", "--yes", "--json"], None);
    let r = doc(&real);
    assert_eq!(r["dry_run"], false);
    assert_eq!(r["records"][0]["state"], "cleared");
    let kept = r["records"][0]["kept_as"].as_str().expect("kept_as");
    assert!(
        std::path::Path::new(kept).is_file(),
        "{kept} is the archived record"
    );
    assert!(!sb.rs.join("a1.json").exists());
    std::fs::remove_file(sb.rs.join("bad.json")).expect("rm bad");
    let none = unfence(&sb, &["cn1", "--yes", "--json"], None);
    assert_eq!(none.status.code(), Some(0));
    let n = doc(&none);
    assert_eq!(
        (n["ok"].as_bool(), n["records"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );
}
