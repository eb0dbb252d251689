//! Every view against a spool made by real exchanges: the real agent and daemon, simulated and
//! through a `command` backend that fails, plus hand-made cancelled, expired, claimed, invalid,
//! unusable, malformed and archived (`.unfenced/`) files and event lines (an `unfenced` event,
//! a malformed line, a hostile one). Each view's table is checked, and its `--json` parsed and
//! its fields asserted.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use gfs2_fence_protocol::{Action, Gfs2Discovery, NodeName, Request, SpoolName, Timestamp};
use serde_json::Value;
use system_tests::{Agent, Daemon, Spool};

use crate::common::text;

/// A route whose only level fails: a real `command` backend running `/bin/false`.
const FAILING: &str = "[backends.bad]\ntype = \"command\"\nargv = [\"/bin/false\"]\n\
    [[topology]]\nnodes = [\"cn*\"]\nlevels = [\"bad\"]\n";

/// `gfs2-fencing <args>` on `spool` (its three directories as flags, no variable inherited).
fn ctl(spool: &Spool, args: &[&str]) -> Output {
    // Never the host's /etc/gfs2-fencing/fence-watcher.toml.
    let none = spool.root().join("none.toml");
    std::fs::write(&none, "").expect("an empty configuration");
    let mut c = spool.ctl(args);
    c.arg("--config").arg(&none);
    for var in ["REQUEST_DIR", "NNF_FENCE_REQUEST_DIR", "RESPONSE_DIR"] {
        c.env_remove(var);
    }
    c.env_remove("NNF_FENCE_RESPONSE_DIR").env_remove("LOG_DIR");
    c.output().expect("run gfs2-fencing")
}

/// `ctl` with `--json`: the parsed document, checked for its schema and version.
fn json(spool: &Spool, view: &str, args: &[&str]) -> Value {
    let out = ctl(spool, &[&[view, "--json"], args].concat());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{view} --json: {e}\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    assert_eq!(doc["schema"], format!("gfs2-fencing.{view}"), "{doc}");
    assert_eq!(doc["version"], 1, "{doc}");
    doc
}

/// The text of a successful run.
fn table(spool: &Spool, args: &[&str]) -> String {
    let out = ctl(spool, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn request(node: &str, action: Action, deadline_secs: u64) -> Request {
    let node = NodeName::parse(node).expect("node");
    let d = Duration::from_secs(deadline_secs);
    Request::new(
        action,
        node,
        Gfs2Discovery::disabled("test"),
        "rn1".into(),
        d,
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(dir.join(name), bytes).expect("write");
}

/// A simulating daemon, with a configuration of its own (never the host's).
fn simulating(spool: &Spool) -> Daemon {
    let none = spool.write("simulate.toml", "", 0o640);
    Daemon::start(
        spool,
        &["--config", none.to_str().expect("utf-8"), "--simulate"],
    )
}

/// The spool of the module doc; the daemons are stopped.
fn spool_by_exchanges() -> Spool {
    let spool = Spool::new();
    let mut sim = simulating(&spool);
    Agent::new(&spool, "reboot", "cn1", 30)
        .run()
        .assert_code(0, "simulated reboot");
    Agent::new(&spool, "off", "cn2", 30)
        .run()
        .assert_code(0, "simulated off");
    sim.stop();
    let cfg = spool.config(FAILING);
    let cfg = cfg.to_str().expect("utf-8");
    let mut failing = Daemon::start(&spool, &["--config", cfg]);
    Agent::new(&spool, "off", "cn3", 30)
        .run()
        .assert_code(1, "the backend fails");
    failing.stop();
    hand_made(&spool);
    spool
}

fn hand_made(spool: &Spool) {
    let mut cancelled = request("cn5", Action::Off, 300);
    cancelled.cancelled = true;
    publish(spool, "cancelled.json", &cancelled);
    let mut expired = request("cn6", Action::Reboot, 300);
    expired.deadline = Timestamp::parse("2020-01-01T00:00:00Z").ok();
    publish(spool, "expired.json", &expired);
    publish(spool, "pending.json", &request("cn7", Action::Off, 300));
    write(&spool.requests, "bad.json", b"{ nope");
    write(&spool.requests, "bad name.json", b"{}");
    write(&spool.requests, "evil\u{1b}[2J\u{2028}.json", b"{}");
    let mut stuck = request("cn8", Action::Off, 300);
    stuck.deadline = Timestamp::parse("2020-01-01T00:00:00Z").ok();
    write(
        &spool.requests.join(".claimed"),
        "stuck.json",
        &stuck.to_json(),
    );
    write(&spool.responses, "broken.json", b"{\"request_id\": 3}");
    let old = r#"{"request_id":"old-1","success":true,"action_performed":"off","target_node":"cn4","message":"old","timestamp":"2020-01-01T00:00:00Z"}"#;
    write(
        &spool.responses.join(".unfenced"),
        "old-1.json.1",
        old.as_bytes(),
    );
    let unfenced = r#"{"timestamp":"2020-01-02T00:00:00Z","event":"unfenced","action":"unfence","target_node":"cn4","request_id":null,"recorder_node":"rn1","details":"2 records","duration_ms":1,"pid":9,"by":"root (uid 0) via gfs2-fencing unfence","archived":[{"record":"old-1.json","kept_as":"old-1.json.1"}]}"#;
    let hostile = r#"{"timestamp":"2020-01-03T00:00:00Z","event":"requested","action":"off","target_node":"cn9","request_id":"evil","details":"\u001b[2J\nforged line"}"#;
    let log = spool.logs.join("fence-events-detailed.jsonl");
    let mut lines = std::fs::read_to_string(&log).expect("the agent's log");
    lines.push_str(&format!("{unfenced}\nnot an event\n{hostile}\n"));
    std::fs::write(&log, lines).expect("append");
}

fn publish(spool: &Spool, name: &str, req: &Request) {
    spool.publish_as(&SpoolName::parse(name).expect("name"), &req.to_json());
}

/// The first whitespace-separated cell of the row that mentions `needle`.
fn first_cell<'a>(out: &'a str, needle: &str) -> &'a str {
    let row = out.lines().find(|l| l.contains(needle));
    let row = row.unwrap_or_else(|| panic!("no row with {needle} in:\n{out}"));
    row.split_whitespace().next().unwrap_or_default()
}

/// The cells of the row that mentions `needle`.
fn cells<'a>(out: &'a str, needle: &str) -> Vec<&'a str> {
    let row = out.lines().find(|l| l.contains(needle));
    let row = row.unwrap_or_else(|| panic!("no row with {needle} in:\n{out}"));
    row.split_whitespace().collect()
}

/// `v[key]` of the object in `list` whose `field` is `value`.
fn find<'a>(list: &'a Value, field: &str, value: &str) -> &'a Value {
    let items = list.as_array().expect("a list");
    let found = items.iter().find(|i| i[field] == value);
    found.unwrap_or_else(|| panic!("no {field} = {value} in {list:#}"))
}

#[test]
fn every_view_of_a_spool_made_by_real_exchanges() {
    let spool = spool_by_exchanges();
    requests_view(&spool);
    records_view(&spool);
    fenced_view(&spool);
    history_view(&spool);
    show_view(&spool);
    let out = ctl(&spool, &["status"]);
    assert_eq!(out.status.code(), Some(3), "the daemons stopped");
    let doc = json(&spool, "status", &[]);
    assert_eq!(doc["verdict"], "not_working");
    assert_eq!(doc["exit_code"], 3);
    assert_eq!(doc["responder"]["alive"], false);
    assert_eq!(doc["responder"]["lock"]["held"], false);
    let waiting: Vec<&str> = doc["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(|r| r["file"].as_str())
        .collect();
    assert_eq!(waiting, ["expired.json", "pending.json", "stuck.json"]);
    let problems: Vec<(&str, &str)> = doc["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| Some((p["severity"].as_str()?, p["message"].as_str()?)))
        .collect();
    for (severity, start) in [
        ("fail", "no responder holds the lock in "),
        ("warn", "request expired.json is queued past its deadline"),
        ("warn", "request stuck.json is claimed past its deadline"),
        ("warn", "request file bad.json is invalid"),
        ("warn", "record file broken.json is invalid"),
    ] {
        let found = problems
            .iter()
            .any(|(s, m)| *s == severity && m.starts_with(start));
        assert!(found, "no {severity} {start:?} in {problems:#?}");
    }
}

fn requests_view(spool: &Spool) {
    let out = table(spool, &["requests"]);
    assert!(out.starts_with("STATE "), "{out}");
    for (file, state) in [
        ("cancelled.json", "cancelled"),
        ("expired.json", "expired"),
        ("pending.json", "pending"),
        ("bad.json", "INVALID"),
        ("bad name.json", "UNUSABLE"),
        ("stuck.json", "claimed"),
    ] {
        assert_eq!(first_cell(&out, file), state, "{out}");
    }
    assert_eq!(first_cell(&out, "evil\\u{1b}[2J\\u{2028}.json"), "UNUSABLE");
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{2028}'),
        "{out:?}"
    );
    let doc = json(spool, "requests", &[]);
    let all = &doc["requests"];
    assert_eq!(all.as_array().map(Vec::len), Some(7), "{doc:#}");
    let c = find(all, "file", "cancelled.json");
    assert_eq!(
        (&c["state"], &c["cancelled"]),
        (&"cancelled".into(), &true.into())
    );
    assert_eq!(c["target_node"], "cn5");
    let s = find(all, "file", "stuck.json");
    assert_eq!(
        (&s["location"], &s["past_deadline"]),
        (&"claimed".into(), &true.into())
    );
    assert!(find(all, "file", "bad.json")["error"].is_string());
}

fn records_view(spool: &Spool) {
    let out = table(spool, &["records"]);
    assert!(out.starts_with("TIMESTAMP "), "{out}");
    assert!(cells(&out, "broken.json").contains(&"INVALID"), "{out}");
    let archived = cells(&out, ".unfenced/old-1.json.1");
    assert!(archived.contains(&"archived"), "{out}");
    let doc = json(spool, "records", &[]);
    let recs = &doc["records"];
    let node = |n: &str| find(recs, "target_node", n);
    assert_eq!(node("cn1")["fenced"], true);
    assert_eq!(node("cn1")["action_performed"], "reboot");
    assert_eq!(node("cn1")["levels"][0]["simulated"], true);
    assert_eq!(node("cn2")["fenced"], true);
    assert_eq!(
        (&node("cn3")["outcome"], &node("cn3")["fenced"]),
        (&"failed".into(), &false.into())
    );
    assert_eq!(node("cn3")["levels"][0]["backend"], "bad");
    assert_eq!(
        (&node("cn4")["place"], &node("cn4")["fenced"]),
        (&"archived".into(), &false.into())
    );
    assert_eq!(doc["invalid"][0]["file"], "broken.json");
    let doc = json(spool, "records", &["cn3"]);
    assert_eq!(doc["node"], "cn3");
    assert_eq!(doc["records"].as_array().map(Vec::len), Some(1));
}

fn fenced_view(spool: &Spool) {
    let out = table(spool, &["fenced"]);
    let nodes: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(nodes, ["cn1", "cn2"], "{out}");
    let doc = json(spool, "fenced", &[]);
    let cn1 = find(&doc["fenced"], "node", "cn1");
    assert_eq!(cn1["record"]["success"], true);
    assert_eq!(cn1["record"]["place"], "live");
}

fn history_view(spool: &Spool) {
    let doc = json(spool, "history", &[]);
    let entries = doc["entries"].as_array().expect("entries");
    let times: Vec<&str> = entries.iter().filter_map(|e| e["time"].as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let cn3 = find(&doc["entries"], "node", "cn3");
    assert_eq!(
        (&cn3["kind"], &cn3["outcome"]),
        (&"fence".into(), &"failed".into())
    );
    let kinds: Vec<&str> = cn3["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(kinds, ["requested", "failed"]);
    assert_eq!(cn3["reported"], "failed");
    assert_eq!(
        find(&doc["entries"], "node", "cn1")["reported"],
        "completed"
    );
    let unfence = find(&doc["entries"], "kind", "unfence");
    assert_eq!(unfence["node"], "cn4");
    assert_eq!(unfence["archived"][0]["kept_as"], "old-1.json.1");
    assert_eq!(doc["log"]["malformed_lines"], 1);
    let only = |args: &[&str]| {
        let d = json(spool, "history", args);
        let e = d["entries"].as_array().cloned().unwrap_or_default();
        e.iter()
            .map(|e| e["node"].as_str().unwrap_or("-").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(only(&["--node", "cn3"]), ["cn3"]);
    assert_eq!(only(&["--outcome", "failed"]), ["cn3"]);
    assert_eq!(only(&["--limit", "2"]).len(), 2);
    let recent = only(&["--since", "1h"]);
    assert!(
        recent.contains(&"cn1".into()) && !recent.contains(&"cn4".into()),
        "{recent:?}"
    );
    let out = table(spool, &["history"]);
    assert!(out.starts_with("TIME "), "{out}");
    assert!(
        out.contains("by root (uid 0) via gfs2-fencing unfence"),
        "{out}"
    );
    assert!(
        !out.contains('\u{1b}') && !out.contains("\nforged"),
        "{out:?}"
    );
    assert!(out.contains("(1 malformed line(s) of "), "{out}");
}

fn show_view(spool: &Spool) {
    let records = json(spool, "records", &["cn3"]);
    let cn3 = &records["records"][0];
    let (id, name) = (cn3["request_id"].as_str(), cn3["file"].as_str());
    let (id, name) = (id.expect("an id"), name.expect("a file"));
    let out = table(spool, &["show", id]);
    assert!(out.starts_with(&format!("request  {id}\n")), "{out}");
    assert!(out.contains("outcome  failed"), "{out}");
    assert!(out.contains("FAILED"), "the level's row: {out}");
    let doc = json(spool, "show", &[id]);
    assert_eq!(
        (&doc["kind"], &doc["node"]),
        (&"fence".into(), &"cn3".into())
    );
    assert_eq!(doc["records"][0]["levels"][0]["success"], false);
    assert_eq!(doc["events"].as_array().map(Vec::len), Some(2));
    let path = spool.responses.join(name);
    let by_file = json(spool, "show", &[path.to_str().expect("utf-8")]);
    assert_eq!(by_file["request_id"], id);
    let archived = json(spool, "show", &["old-1.json.1"]);
    assert_eq!(archived["records"][0]["place"], "archived");
    let bad = json(spool, "show", &["broken.json"]);
    assert_eq!(bad["kind"], "invalid");
    let out = ctl(spool, &["show", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("nosuch"),
        "{}",
        text(&out.stderr)
    );
}

/// `status` exits by whether fencing works now: 0 with a real responder, 4 with a warning,
/// 3 without a responder or with a simulating one.
#[test]
fn status_exits_by_whether_fencing_works_now() {
    let spool = Spool::new();
    let cfg = spool.config(FAILING);
    let mut real = Daemon::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let out = ctl(&spool, &["status"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("fencing works\n"), "{stdout}");
    assert!(stdout.contains(&format!("pid {}", real.pid())), "{stdout}");
    let doc = json(&spool, "status", &[]);
    assert_eq!(
        (&doc["verdict"], &doc["exit_code"]),
        (&"works".into(), &0.into())
    );
    assert_eq!(doc["responder"]["alive"], true);
    assert_eq!(doc["responder"]["simulate"], false);
    assert_eq!(doc["responder"]["lock"]["pid"], real.pid());

    write(&spool.responses, "broken.json", b"{ not json");
    let out = ctl(&spool, &["status"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("WARN record file broken.json is invalid"),
        "{stdout}"
    );
    assert_eq!(
        json(&spool, "status", &[])["problems"][0]["severity"],
        "warn"
    );

    real.stop();
    let out = ctl(&spool, &["status"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("FAIL no responder holds the lock"),
        "{stdout}"
    );
    std::fs::remove_file(spool.responses.join("broken.json")).expect("rm");

    let _sim = simulating(&spool);
    let out = ctl(&spool, &["status"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("simulate: YES"), "{stdout}");
    let doc = json(&spool, "status", &[]);
    assert_eq!(doc["responder"]["simulate"], true);
    assert_eq!(doc["problems"][0]["severity"], "fail");
}

/// The runbook's "a fence that timed out": the agent gave up (Pacemaker was told it failed)
/// and a responder answered later, a success (nnf-sos, or a responder that was down, answers
/// whenever it comes). `history` and `show` say both sides. fence_watcher itself cuts its
/// levels at the request's deadline, so it is a third-party response here.
#[test]
fn a_response_after_the_agent_timed_out_shows_both_sides() {
    let spool = Spool::new();
    Agent::new(&spool, "reboot", "cn1", 1)
        .run()
        .assert_code(1, "no responder: the agent times out");
    let events = spool.events_for("cn1", "timeout");
    let id = events[0]["request_id"].as_str().expect("the request's id");
    let late = format!(
        r#"{{"request_id":"{id}","success":true,"target_node":"cn1","message":"fenced late"}}"#
    );
    write(&spool.responses, &format!("{id}.json"), late.as_bytes());
    let doc = json(&spool, "history", &["--node", "cn1"]);
    let e = &doc["entries"][0];
    assert_eq!(
        (&e["outcome"], &e["reported"]),
        (&"success".into(), &"timeout".into()),
        "{e:#}"
    );
    let out = table(&spool, &["history", "--node", "cn1"]);
    assert!(
        out.contains("fenced late (the agent reported timeout)"),
        "{out}"
    );
    let out = table(&spool, &["show", id]);
    assert!(
        out.contains("outcome  success\nagent    timeout\n"),
        "{out}"
    );
}
