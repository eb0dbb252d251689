//! `gfs2-fencing check` reading the heartbeat (issue 12): its age by the interval it states,
//! its simulated routes and its backend health. The heartbeat files are written here (the
//! daemon's side is tested by the daemon's tests); each line is checked as printed.

use std::time::Duration;

use gfs2_fence_protocol::{
    Health, Heartbeat, LevelHealth, NodeHealth, ProbeStatus, Timestamp, HEARTBEAT_FILE,
};

use crate::common::{text, Sandbox};

fn heartbeat(
    sb: &Sandbox,
    interval_secs: u64,
    simulated_routes: u32,
    health: Option<Health>,
    age: u64,
) {
    let hb = Heartbeat {
        pid: 4242,
        host: "rabbit-1".into(),
        started: Timestamp::now(),
        interval_secs,
        simulated_routes,
        health,
    };
    let json = String::from_utf8(hb.to_json()).expect("utf-8");
    sb.write(&sb.rs, HEARTBEAT_FILE, &json, Duration::from_secs(age));
}

/// The OK or FAIL line of `check` output about `what`.
fn line(sb: &Sandbox, args: &[&str], what: &str) -> String {
    let out = sb.run(&[&["check"], args].concat());
    assert_eq!(out.status.code(), Some(1), "no lock, no agent here: fails");
    let stdout = text(&out.stdout);
    stdout
        .lines()
        .find(|l| {
            let rest = l.strip_prefix("OK   ").or_else(|| l.strip_prefix("FAIL "));
            rest.is_some_and(|r| r.starts_with(&format!("{what}:")))
        })
        .unwrap_or_else(|| panic!("no {what} line in:\n{stdout}"))
        .to_owned()
}

/// Issue 12 defect, the operator tool's copy: `check` judged the heartbeat against 30 s
/// whatever interval the daemon stated.
#[test]
fn check_judges_the_heartbeat_by_the_interval_it_states() {
    let sb = Sandbox::new();
    heartbeat(&sb, 45, 0, None, 40);
    let l = line(&sb, &[], "responder heartbeat");
    assert!(l.starts_with("OK   ") && l.contains("beat 40 s ago"), "{l}");
    let l = line(&sb, &["--heartbeat-max-age", "30"], "responder heartbeat");
    assert!(
        l.starts_with("FAIL ") && l.contains("heartbeat_max_age is 30 s"),
        "{l}"
    );
    heartbeat(&sb, 45, 0, None, 140);
    let l = line(&sb, &[], "responder heartbeat");
    assert!(l.starts_with("FAIL ") && l.contains("is 135 s"), "{l}");
}

#[test]
fn check_fails_on_simulated_routes() {
    let sb = Sandbox::new();
    heartbeat(&sb, 10, 0, None, 0);
    let l = line(&sb, &[], "simulated routes");
    assert!(l.starts_with("OK   simulated routes: none"), "{l}");
    let l = line(&sb, &[], "backend health");
    assert!(l.starts_with("OK   ") && l.contains("not probed"), "{l}");
    heartbeat(&sb, 10, 3, None, 0);
    let l = line(&sb, &[], "simulated routes");
    assert!(
        l.starts_with("FAIL simulated routes: 3 routes fence through the simulate backend")
            && l.contains("allow_simulate=true"),
        "{l}"
    );
}

fn level(n: u32, backend: &str, status: ProbeStatus, message: &str) -> LevelHealth {
    LevelHealth {
        level: n,
        backend: backend.into(),
        kind: "redfish".into(),
        status,
        checked: Timestamp::now(),
        latency_ms: 30,
        message: message.into(),
    }
}

#[test]
fn check_reports_unfenceable_nodes_and_levels_down() {
    use ProbeStatus::{Down, Up};
    let sb = Sandbox::new();
    let degraded = NodeHealth {
        node: "cn1".into(),
        levels: vec![
            level(1, "bmc", Down, "401 Unauthorized"),
            level(2, "pdu", Up, "On"),
        ],
    };
    let dead = NodeHealth {
        node: "cn2".into(),
        levels: vec![
            level(1, "bmc", Down, "timed out"),
            level(2, "pdu", Down, "refused"),
        ],
    };
    let health = |nodes| Some(Health { nodes });
    heartbeat(&sb, 10, 0, health(vec![degraded.clone()]), 0);
    let out = text(&sb.run(&["check"]).stdout);
    assert!(
        out.contains("WARN backend health: node cn1 has a level down, another still works: level 1 (bmc, redfish): 401 Unauthorized"),
        "{out}"
    );
    let l = line(&sb, &[], "backend health");
    assert!(
        l.starts_with("OK   backend health: 1 node, 2 levels probed, 1 down"),
        "{l}"
    );
    heartbeat(&sb, 10, 0, health(vec![degraded, dead]), 0);
    let l = line(&sb, &[], "backend health");
    assert!(
        l.starts_with("FAIL backend health: node cn2 can be fenced by no level")
            && l.contains("level 1 (bmc, redfish): timed out")
            && l.contains("level 2 (pdu, redfish): refused"),
        "{l}"
    );
}

/// `check --json`: the same lines as one document, in the same order, WARN lines included.
#[test]
fn check_json_has_every_line_of_the_text() {
    use ProbeStatus::{Down, Up};
    let sb = Sandbox::new();
    let degraded = NodeHealth {
        node: "cn1".into(),
        levels: vec![level(1, "bmc", Down, "401"), level(2, "pdu", Up, "On")],
    };
    heartbeat(
        &sb,
        10,
        0,
        Some(Health {
            nodes: vec![degraded],
        }),
        0,
    );
    let out = sb.run(&["check", "--json"]);
    assert_eq!(out.status.code(), Some(1), "no lock, no agent here");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(
        (&doc["schema"], &doc["version"], &doc["ok"]),
        (&"gfs2-fencing.check".into(), &1.into(), &false.into())
    );
    let checks = doc["checks"].as_array().expect("checks");
    let text = text(&sb.run(&["check"]).stdout);
    assert_eq!(checks.len(), text.lines().count(), "{text}");
    let status = |what: &str| {
        let c = checks.iter().find(|c| c["check"] == what);
        c.map(|c| c["status"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(status("responder heartbeat").as_deref(), Some("ok"));
    assert_eq!(status("responder lock").as_deref(), Some("fail"));
    let warn = checks
        .iter()
        .find(|c| c["status"] == "warn")
        .expect("a WARN");
    assert_eq!(warn["check"], "backend health");
    assert!(
        warn["detail"].as_str().is_some_and(|d| d.contains("cn1")),
        "{warn}"
    );
}

/// Found by the doctor work: a heartbeat of this host whose writer is dead (a daemon killed a
/// moment ago) failed the agent's `monitor` but passed `check` and `status`. All three now
/// apply the agent's rule (`heartbeat::dead_local_writer`).
#[test]
fn a_fresh_heartbeat_of_a_dead_local_daemon_fails_check_and_status() {
    let sb = Sandbox::new();
    // A pid that ran and exited: no process has it now (pids are not reused this fast).
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let dead = child.id();
    child.wait().expect("wait");
    let hb = Heartbeat {
        pid: dead,
        host: gfs2_fence_protocol::hostname(),
        started: Timestamp::now(),
        interval_secs: 10,
        simulated_routes: 0,
        health: None,
    };
    let json = String::from_utf8(hb.to_json()).expect("utf-8");
    sb.write(&sb.rs, HEARTBEAT_FILE, &json, Duration::ZERO);
    let l = line(&sb, &[], "responder heartbeat");
    assert!(
        l.starts_with("FAIL ") && l.contains(&format!("pid {dead} on this host")),
        "{l}"
    );
    let out = sb.run(&["status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains(&format!("pid {dead} on this host, which is not running")),
        "{}",
        text(&out.stdout)
    );
}
