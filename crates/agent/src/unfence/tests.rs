//! The unfencing procedure on real directories.

use super::*;

fn response(dir: &std::path::Path, name: &str, node: &str) {
    let json = format!(
        r#"{{"request_id":"{name}","success":true,"action_performed":"off","target_node":"{node}"}}"#
    );
    std::fs::write(dir.join(name), json).expect("write");
}

fn node(n: &str) -> NodeName {
    NodeName::parse(n).expect("node")
}

/// Only the node's records go, each under its own name in the archive; the other node's record
/// and the unreadable file stay, and the unreadable file is in the plan for the caller to name.
#[test]
fn only_the_nodes_records_are_archived_and_unreadable_ones_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    response(tmp.path(), "a.json", "cn1");
    response(tmp.path(), "b.json", "cn2");
    response(tmp.path(), "c.json", "cn1");
    std::fs::write(tmp.path().join("bad.json"), "{ not json").expect("bad");
    let dir = SpoolDir::open(tmp.path()).expect("open");
    let plan = plan(&dir, &node("cn1")).expect("plan");
    assert_eq!(plan.unreadable.len(), 1);
    assert_eq!(plan.unreadable[0].0, "bad.json");
    let out = archive(&dir, &plan).expect("archive");
    assert!(out.complete() && out.gone.is_empty());
    let kept: Vec<&str> = out.kept.iter().map(|k| k.kept_as.as_str()).collect();
    assert_eq!(kept.len(), 2);
    assert!(
        kept.contains(&"a.json") && kept.contains(&"c.json"),
        "{kept:?}"
    );
    let left = ledger::load(&dir).expect("load");
    let names: Vec<&str> = left.records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["b.json"]);
    assert!(tmp.path().join("bad.json").exists());
    assert!(tmp.path().join(ARCHIVE).join("a.json").exists());
}

/// A node without records creates no archive directory.
#[test]
fn nothing_to_archive_touches_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    response(tmp.path(), "b.json", "cn2");
    let dir = SpoolDir::open(tmp.path()).expect("open");
    let plan = plan(&dir, &node("cn1")).expect("plan");
    let out = archive(&dir, &plan).expect("archive");
    assert!(out.kept.is_empty() && out.complete());
    assert!(!tmp.path().join(ARCHIVE).exists());
}

/// The detailed event carries `by` and `archived` as CLI-SPEC says, and a record left behind
/// adds a `failed` event that says nnf-sos still sees the node fenced.
#[test]
fn the_unfenced_event_names_who_and_which_records() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let logs = tmp.path().join("log");
    let mut events = EventLog::new(logs.clone());
    let plan = Plan {
        node: node("cn1"),
        records: vec!["a.json".into(), "b.json".into()],
        unreadable: vec![],
    };
    let out = Outcome {
        kept: vec![Kept {
            record: "a.json".into(),
            kept_as: "a.json.1".into(),
        }],
        gone: vec![],
        failed: vec![(
            "b.json".into(),
            SpoolError::Remove {
                path: "/rs/b.json".into(),
                source: std::io::Error::from_raw_os_error(30),
            },
        )],
    };
    let audit = Audit {
        action: "unfence",
        request_id: None,
        by: "alice (uid 0) via gfs2-fencing unfence",
        recorder: "host1",
        duration: Duration::ZERO,
    };
    log(&mut events, &audit, &plan, &out);
    let text = std::fs::read_to_string(logs.join(crate::events::DETAILED_LOG)).expect("log");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["event"], "unfenced");
    assert_eq!(lines[0]["action"], "unfence");
    assert_eq!(lines[0]["target_node"], "cn1");
    assert_eq!(lines[0]["by"], audit.by);
    assert_eq!(
        lines[0]["archived"],
        serde_json::json!([{"record": "a.json", "kept_as": "a.json.1"}])
    );
    assert_eq!(lines[1]["event"], "failed");
    assert_eq!(lines[1]["action"], "unfence", "not a failed on");
    let details = lines[1]["details"].as_str().unwrap_or_default();
    assert!(
        details.contains("b.json") && details.contains("still sees cn1 fenced"),
        "{details}"
    );
    let readable =
        std::fs::read_to_string(logs.join(crate::events::READABLE_LOG)).expect("readable");
    assert!(
        readable.contains("ACTION=unfence TARGET=cn1 GFS2=none STATUS=unfenced"),
        "{readable}"
    );
}

/// After an `on`, only the records that appeared before its answer go with it: an `off` that
/// appeared later (a newer fence, answered before the `on`'s agent archived) stays, or the
/// storage would come back to a node just fenced.
#[test]
fn an_on_archives_what_came_before_its_answer_and_never_a_later_fence() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let aged = |name: &str, secs: u64| {
        response(tmp.path(), name, "cn1");
        let f = std::fs::File::options()
            .write(true)
            .open(tmp.path().join(name))
            .expect("open");
        let when = std::time::SystemTime::now() - Duration::from_secs(secs);
        f.set_modified(when).expect("mtime");
    };
    aged("old-off.json", 30);
    aged("on.json", 20);
    aged("new-off.json", 10);
    let dir = SpoolDir::open(tmp.path()).expect("open");
    let plan = plan_through(&dir, &node("cn1"), "on.json").expect("plan");
    assert_eq!(plan.records, ["old-off.json", "on.json"]);
    let none = plan_through(&dir, &node("cn1"), "gone.json").expect("plan");
    assert!(none.records.is_empty(), "{:?}", none.records);
}
