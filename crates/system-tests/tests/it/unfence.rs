//! Unfencing as nnf-sos sees it (issue 15, "The records must mean the same to nnf-sos"): the
//! real agent and daemon, `gfs2-fencing unfence`, and the model of nnf-sos in
//! `system_tests::nnf_model` (nnf-sos cannot run here) with its periodic reconcile off, so only
//! the events our programs raise can change its mind.

use std::collections::BTreeSet;
use std::process::Output;

use inotify::EventMask;
use system_tests::journal::{self, Journal};
use system_tests::nnf_model::NnfModel;
use system_tests::{peers, wait_for, Agent, Daemon, Spool};

/// `gfs2-fencing <args>` on the spool, with the event logs in it and a known sudo user.
fn ctl(spool: &Spool, args: &[&str]) -> Output {
    spool
        .ctl(args)
        .env("SUDO_USER", "operator")
        .output()
        .expect("run gfs2-fencing")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `gfs2-fencing unfence NODE --yes`, which must succeed; its output.
fn unfence_ok(spool: &Spool, node: &str) -> Output {
    let out = ctl(spool, &["unfence", node, "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// The nodes `gfs2-fencing fenced --json` names.
fn ctl_fenced(spool: &Spool) -> BTreeSet<String> {
    let out = ctl(spool, &["fenced", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("fenced --json");
    assert_eq!(doc["schema"], "gfs2-fencing.fenced", "{doc}");
    doc["fenced"]
        .as_array()
        .expect("a fenced array")
        .iter()
        .filter_map(|f| f["node"].as_str().map(str::to_owned))
        .collect()
}

/// The nodes of the live records `gfs2-fencing records` lists (every record here is a
/// success, so with nnf-sos's rule these are the fenced ones).
fn ctl_records(spool: &Spool) -> BTreeSet<String> {
    let out = ctl(spool, &["records", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("records --json");
    doc["records"]
        .as_array()
        .expect("a records array")
        .iter()
        .filter(|r| r["place"] == "live")
        .filter_map(|r| r["target_node"].as_str().map(str::to_owned))
        .collect()
}

/// The nodes the agent's `list-status` says OFF.
fn agent_off(spool: &Spool) -> BTreeSet<String> {
    let run = Agent::device(spool, "list-status").run();
    run.assert_code(0, "list-status");
    run.stdout
        .lines()
        .filter_map(|l| l.strip_suffix(",,OFF").map(str::to_owned))
        .collect()
}

/// The model, `status` of each node, `list-status`, `fenced` and `records` all say `fenced`. The model
/// converges at once after a removal; after a new response it needs a reconcile after the
/// response's rename (the daemon writes its `.tmp` file, which triggers one, just before the
/// rename), which the daemon's next heartbeat write gives (interval 1 s here).
fn agree(spool: &Spool, nnf: &NnfModel, fenced: &[&str]) {
    let want: BTreeSet<String> = fenced.iter().map(|n| n.to_string()).collect();
    let same = wait_for(std::time::Duration::from_secs(30), || {
        (nnf.fenced() == want).then_some(())
    });
    assert!(
        same.is_some(),
        "nnf-sos sees {:?}, not {want:?}",
        nnf.fenced()
    );
    for node in ["cn1", "cn2"] {
        let code = if want.contains(node) { 2 } else { 0 };
        Agent::new(spool, "status", node, 10)
            .run()
            .assert_code(code, &format!("status of {node}, nnf-sos sees {want:?}"));
    }
    assert_eq!(agent_off(spool), want, "list-status");
    assert_eq!(ctl_fenced(spool), want, "gfs2-fencing fenced");
    assert_eq!(ctl_records(spool), want, "gfs2-fencing records");
}

/// Promise: after off, on, reboot and `gfs2-fencing unfence`, nnf-sos's rule, the agent's
/// `status`/`list-status`, `gfs2-fencing fenced` and `records` name the same fenced nodes, and every
/// record that leaves RESPONSE_DIR raises the Remove event nnf-sos reconciles on.
#[test]
fn nnf_sos_agrees_with_status_after_off_on_reboot_and_unfence() {
    let spool = Spool::new();
    let nnf = NnfModel::start(&spool.responses, None);
    // Its own (empty) configuration: a host's /etc/gfs2-fencing/fence-watcher.toml with real
    // backends would make --simulate refuse to start.
    let config = spool.config("");
    let config = config.to_string_lossy();
    let args = [
        "--simulate",
        "--heartbeat-interval",
        "1",
        "--config",
        &config,
    ];
    let mut daemon = Daemon::start(&spool, &args);
    Agent::new(&spool, "off", "cn1", 30)
        .run()
        .assert_code(0, "off");
    agree(&spool, &nnf, &["cn1"]);
    Agent::new(&spool, "on", "cn1", 30)
        .run()
        .assert_code(0, "on");
    let unfenced = spool.events_for("cn1", "unfenced");
    assert_eq!(unfenced.len(), 1, "{unfenced:?}");
    let records: Vec<String> = unfenced[0]["archived"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k["record"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(records.len(), 2, "the off and the on answers: {records:?}");
    for name in &records {
        nnf.wait_saw(EventMask::DELETE, name);
    }
    agree(&spool, &nnf, &[]);
    Agent::new(&spool, "reboot", "cn2", 30)
        .run()
        .assert_code(0, "reboot");
    agree(&spool, &nnf, &["cn2"]);

    // Without the daemon's heartbeat writes, only the unfence's own events can tell nnf-sos.
    daemon.stop();
    let (name, _) = spool.response_for("cn2");
    let before = nnf.reconciles();
    unfence_ok(&spool, "cn2");
    nnf.wait_saw(EventMask::DELETE, &name);
    assert!(
        nnf.reconciles() > before,
        "the Remove event made nnf-sos reconcile"
    );
    assert!(
        nnf.fenced().is_empty(),
        "nnf-sos still sees {:?}",
        nnf.fenced()
    );
    agree(&spool, &nnf, &[]);
    let ev = spool.events_for("cn2", "unfenced");
    assert_eq!(ev.len(), 1, "{ev:?}");
    let by = ev[0]["by"].as_str().unwrap_or_default();
    assert!(
        by.starts_with("operator (uid ") && by.ends_with(" via gfs2-fencing unfence"),
        "{by}"
    );
    assert_eq!(ev[0]["archived"][0]["record"], name.as_str());
}

/// The defect `gfs2-fencing unfence` had, shown on the model: a record renamed out of
/// RESPONSE_DIR (as it did) raises no event nnf-sos reconciles on, so the node stays fenced for
/// nnf-sos until its periodic reconcile. (A record written in place, as nnf-sos's own
/// no-storage answer is, is seen at once.)
#[test]
fn a_record_renamed_out_stays_fenced_for_nnf_sos_until_its_periodic_reconcile() {
    let spool = Spool::new();
    let nnf = NnfModel::start(&spool.responses, None);
    let record = r#"{"request_id":"r1","success":true,"status":"success","target_node":"cn3"}"#;
    std::fs::write(spool.responses.join("r1.json"), record).expect("write in place");
    nnf.wait_saw(EventMask::CLOSE_WRITE, "r1.json");
    assert_eq!(nnf.fenced(), BTreeSet::from(["cn3".to_owned()]));
    let archive = spool.responses.join(".unfenced");
    std::fs::create_dir(&archive).expect("archive");
    std::fs::rename(spool.responses.join("r1.json"), archive.join("r1.json")).expect("rename");
    nnf.wait_saw(EventMask::MOVED_FROM, "r1.json");
    assert_eq!(
        nnf.fenced(),
        BTreeSet::from(["cn3".to_owned()]),
        "no reconcile on a rename"
    );
    nnf.rescan();
    assert!(
        nnf.fenced().is_empty(),
        "the periodic reconcile sees it gone"
    );
}

/// Promise (issue 15): `gfs2-fencing unfence NODE --yes` leaves a journal entry, found by the
/// tool's identifier and the node, with the records and who unfenced. Real systemd-journald,
/// read with journalctl.
#[test]
fn unfence_is_in_the_journal_by_node_with_its_records() {
    let test = "unfence_is_in_the_journal_by_node_with_its_records";
    if !peers::require(test, &journal::available()) {
        return;
    }
    let journal = Journal::start();
    let spool = Spool::new();
    // A node name of this run only: the host's journal may hold entries of earlier runs.
    let node = format!("jn-{}", std::process::id());
    let record = format!(
        r#"{{"request_id":"j1","success":true,"action_performed":"off","target_node":"{node}"}}"#
    );
    std::fs::write(spool.responses.join("j1.json"), record).expect("record");
    let out = unfence_ok(&spool, &node);
    assert!(
        !text(&out.stderr).contains("cannot write to the journal"),
        "{}",
        text(&out.stderr)
    );
    let matches = [
        "SYSLOG_IDENTIFIER=gfs2-fencing".to_owned(),
        format!("NODE={node}"),
    ];
    let entries = journal.wait_entries(None, &matches, 1);
    let e = &entries[0];
    assert_eq!(e["PRIORITY"], "5", "{e}");
    assert_eq!(e["OUTCOME"], "unfenced", "{e}");
    assert_eq!(e["RECORDS"], "j1.json", "{e}");
    assert_eq!(e["KEPT_AS"], ".unfenced/j1.json", "{e}");
    let by = e["UNFENCED_BY"].as_str().unwrap_or_default();
    assert!(by.starts_with("operator (uid "), "{e}");
    let message = e["MESSAGE"].as_str().unwrap_or_default();
    assert!(
        message.contains("archived 1 record(s)") && message.contains("j1.json"),
        "{e}"
    );
}
