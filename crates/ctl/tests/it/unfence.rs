//! `unfence`: what it clears, what it keeps, what it reports.

use std::time::Duration;

use crate::common::{from_now, text, Sandbox};

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
    let out = sb.run(&["unfence", "cn1", "--yes"]);
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
    let out = sb.run(&["unfence", "cn1", "--yes"]);
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
