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
        interrupted: BTreeMap::new(),
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

/// A crash between an archive's link and its unlink (DESIGN U2) left the record in both
/// directories, two links of one file. It was unreadable (hard-linked), so `status` said ON
/// while nnf-sos, which still reads it, kept the node fenced, and `unfence` could only name it.
/// Now the ledger reads it as the record it still is, and the next unfencing finishes it by
/// the unlink alone: one copy left, in the archive, under the name it already had.
#[test]
fn an_unfencing_interrupted_after_its_link_is_still_a_record_and_is_finished() {
    let tmp = tempfile::tempdir().expect("tempdir");
    response(tmp.path(), "a.json", "cn1");
    std::fs::create_dir(tmp.path().join(ARCHIVE)).expect("archive");
    // The crash: linked, not unlinked.
    std::fs::hard_link(
        tmp.path().join("a.json"),
        tmp.path().join(ARCHIVE).join("a.json"),
    )
    .expect("link");
    let dir = SpoolDir::open(tmp.path()).expect("open");
    let found = ledger::load(&dir).expect("load");
    assert!(found.unreadable.is_empty(), "{:?}", found.unreadable);
    assert_eq!(found.records.len(), 1);
    assert_eq!(found.records[0].interrupted.as_deref(), Some("a.json"));
    assert!(
        ledger::fenced(&found).contains_key(&node("cn1")),
        "still fenced, as nnf-sos sees it"
    );

    let plan = plan(&dir, &node("cn1")).expect("plan");
    let out = archive(&dir, &plan).expect("archive");
    assert!(out.complete(), "{:?}", out.failed);
    assert_eq!(
        out.kept,
        [Kept {
            record: "a.json".into(),
            kept_as: "a.json".into()
        }]
    );
    assert!(!tmp.path().join("a.json").exists());
    let archive = SpoolDir::open(tmp.path().join(ARCHIVE)).expect("open archive");
    assert!(
        archive.read("a.json", MAX_SPOOL_FILE).is_ok(),
        "one link left, readable"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path().join(ARCHIVE))
            .expect("ls")
            .count(),
        1
    );
}

/// A hard link whose other name is not in the archive is no interrupted unfencing: it stays
/// unreadable (a spool file must have one link), and nothing is unlinked.
#[test]
fn a_hard_link_elsewhere_stays_unreadable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    response(tmp.path(), "a.json", "cn1");
    std::fs::create_dir(tmp.path().join(ARCHIVE)).expect("archive");
    std::fs::hard_link(tmp.path().join("a.json"), tmp.path().join("elsewhere")).expect("link");
    let dir = SpoolDir::open(tmp.path()).expect("open");
    let plan = plan(&dir, &node("cn1")).expect("plan");
    assert!(plan.records.is_empty());
    assert_eq!(plan.unreadable.len(), 1, "{:?}", plan.unreadable);
    assert!(
        plan.unreadable[0].1.contains("hard links"),
        "{:?}",
        plan.unreadable
    );
    archive(&dir, &plan).expect("archive");
    assert!(tmp.path().join("a.json").exists());
}
