//! An accepted `on` archives the node's records (issue 15): nnf-sos reads any success left in
//! RESPONSE_DIR, the `on` answer included, as "fenced", and so does the agent's `status`.

use crate::common::{text, Answer, Responder, Sandbox};

/// A success record for `node`, which appeared a minute ago (before any answer of the test: an
/// `on` archives only what came before its answer).
fn off_record(sb: &Sandbox, file: &str, node: &str) {
    sb.write_response(
        file,
        &format!(
            r#"{{"request_id":"{file}","success":true,"action_performed":"off","target_node":"{node}"}}"#
        ),
    );
    let f = std::fs::File::options()
        .write(true)
        .open(sb.rs.join(file))
        .expect("open the record");
    let a_minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    f.set_modified(a_minute_ago).expect("mtime");
}

fn visible(dir: &std::path::Path) -> Vec<String> {
    crate::common::visible(dir)
}

/// The node's earlier `off` and the `on` answer leave RESPONSE_DIR for `.unfenced/`, another
/// node's record stays, one `unfenced` event names who and which records, and `status` says ON.
#[test]
fn an_accepted_on_archives_the_nodes_records() {
    let sb = Sandbox::new();
    off_record(&sb, "old-off.json", "cn1");
    off_record(&sb, "other.json", "cn2");
    let r = Responder::start(&sb, Answer::Success);
    let out = sb.run("port=cn1\naction=on\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(r.stop(), 1);
    assert_eq!(visible(&sb.rs), ["other.json"]);
    let archived = visible(&sb.rs.join(".unfenced"));
    assert_eq!(archived.len(), 2, "{archived:?}");
    assert!(
        archived.contains(&"old-off.json".to_owned()),
        "{archived:?}"
    );
    assert_eq!(sb.statuses(), ["requested", "completed", "unfenced"]);
    let events = sb.events();
    let ev = &events[2];
    assert_eq!(ev["action"], "on");
    assert_eq!(ev["target_node"], "cn1");
    assert_eq!(ev["by"], "fence_gfs2_recorder -o on");
    assert_eq!(ev["request_id"], events[1]["request_id"]);
    let mut records: Vec<&str> = ev["archived"]
        .as_array()
        .map(|a| a.iter().filter_map(|k| k["record"].as_str()).collect())
        .unwrap_or_default();
    records.sort();
    let on_response = format!("{}.json", events[1]["request_id"].as_str().unwrap_or("?"));
    let mut expected = vec!["old-off.json", on_response.as_str()];
    expected.sort();
    assert_eq!(records, expected);
    let status = sb.run("port=cn1\naction=status\n");
    assert_eq!(
        status.status.code(),
        Some(0),
        "ON: {}",
        text(&status.stdout)
    );
}

/// When the archive cannot be made (here `.unfenced` is a file), the `on` still succeeds (the
/// node is on), but stderr and a `failed` event of action `unfence` say that nnf-sos still sees
/// it fenced; `status` agrees with nnf-sos (OFF) until the records are cleared.
#[test]
fn an_on_whose_records_cannot_be_archived_succeeds_loudly() {
    let sb = Sandbox::new();
    off_record(&sb, "old-off.json", "cn1");
    std::fs::write(sb.rs.join(".unfenced"), "in the way").expect("block the archive");
    let _r = Responder::start(&sb, Answer::Success);
    let out = sb.run("port=cn1\naction=on\nfence_timeout=30\n");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("nnf-sos still sees cn1 fenced"), "{err}");
    assert_eq!(sb.statuses(), ["requested", "completed", "failed"]);
    let failed = &sb.events()[2];
    assert_eq!(failed["action"], "unfence", "not a failed on: {failed}");
    assert!(
        failed["details"]
            .as_str()
            .is_some_and(|d| d.contains(".unfenced")),
        "{failed}"
    );
    let status = sb.run("port=cn1\naction=status\n");
    assert_eq!(status.status.code(), Some(2), "still OFF for nnf-sos too");
}

/// A failed `on` unfences nothing: the node's records stay.
#[test]
fn a_failed_on_archives_nothing() {
    let sb = Sandbox::new();
    off_record(&sb, "old-off.json", "cn1");
    let _r = Responder::start(&sb, Answer::Failure);
    let out = sb.run("port=cn1\naction=on\nfence_timeout=30\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(visible(&sb.rs).contains(&"old-off.json".to_owned()));
    assert!(!sb.rs.join(".unfenced").exists());
    assert_eq!(sb.statuses(), ["requested", "failed"]);
}
