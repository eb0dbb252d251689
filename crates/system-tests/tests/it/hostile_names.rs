//! Hostile input, part 1: node names and file names. Every hostile name is refused at the edge
//! with a clear message, nothing is written where it must not be, and the daemon keeps running.
//!
//! NUL bytes cannot be passed in argv (execve takes C strings), so NUL is tried on stdin and
//! inside request files only. A newline cannot be *inside* a stdin value either (it ends the
//! `key=value` line: that is Pacemaker's format), so newlines are tried in argv and in files.

use std::time::Duration;

use gfs2_fence_protocol::Outcome;
use system_tests::faults::{drop_file, request_json, Counter};
use system_tests::{wait_for, Agent, Daemon, Spool};

static COUNT: Counter = Counter::new("hostile-input/names");

/// Names that must never become a node name.
fn hostile_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "a/b",
        "../etc",
        "..",
        "cn1/../../tmp",
        "/etc/passwd",
        "cn1;id",
        "$(touch /tmp/pwned)",
        "`id`",
        "cn1|cat",
        "cn1 cn2",
        "%s%n%x",
        "{node}",
        "-o",
        "--request-dir=/tmp",
        "c\u{0441}n1",       // Cyrillic es, looks like 'c'
        "\u{ff43}\u{ff4e}1", // full-width "cn1"
        "cn1\u{200b}",       // zero-width space
        "cn\u{202e}1",       // right-to-left override
        "cn1\t",
        "",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("a".repeat(10 * 1024));
    v
}

/// Promise 5 (no escape) and 1 (no false success): every hostile node name given on stdin or
/// in argv is refused at once (exit 1, a message about the node name or plug), and no request
/// file is published anywhere.
#[test]
fn agent_refuses_hostile_node_names() {
    let spool = Spool::new();
    let mut tried = 0;
    let mut names = hostile_names();
    names.push("cn1\0evil".to_owned());
    for name in &names {
        // Pacemaker's stdin format trims each line: "cn1\t" there is "cn1", a valid name.
        if name.trim() == name {
            tried += 1;
            let run = Agent::new(&spool, "reboot", name, 30).run();
            check_refused(&run, name, "stdin");
        }
        if !name.contains('\0') {
            tried += 1;
            let req = format!("--request-dir={}", spool.requests.display());
            let resp = format!("--response-dir={}", spool.responses.display());
            let log = format!("--log-dir={}", spool.logs.display());
            let args = [
                "-o",
                "reboot",
                "-n",
                name,
                &req,
                &resp,
                &log,
                "--fence-timeout=30",
            ];
            check_refused(&Agent::argv(&spool, &args).run(), name, "argv");
        }
    }
    for newline in ["cn1\nid", "cn1\r\n", "\ncn1"] {
        tried += 1;
        let args = ["-o", "reboot", "-n", newline, "--fence-timeout=30"];
        check_refused(&Agent::argv(&spool, &args).run(), newline, "argv");
    }
    let left: Vec<_> = std::fs::read_dir(&spool.requests)
        .expect("list requests")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "a hostile name published something: {left:?}"
    );
    assert!(!std::path::Path::new("/tmp/pwned").exists(), "a shell ran");
    COUNT.add("agent_refuses_hostile_node_names", tried);
}

fn check_refused(run: &system_tests::AgentRun, name: &str, how: &str) {
    run.assert_code(1, &format!("{how} node name {name:?}"));
    let err = run.stderr.to_lowercase();
    assert!(
        err.contains("node name") || err.contains("plug") || err.contains("node"),
        "{how} {name:?}: the error does not name the node option: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains('\u{202e}') && !run.stderr.contains("\ncn1\n"),
        "{how}: the raw hostile name reached stderr unescaped: {:?}",
        run.stderr
    );
}

/// Promise 5 and 2: requests whose `target_node` is hostile (JSON escapes for NUL, newline,
/// `/`, `..`, shell and format characters, look-alikes, 10 KB) are answered `invalid` under
/// node `unknown`, never executed, and the daemon keeps answering valid requests.
#[test]
fn daemon_answers_hostile_target_nodes_invalid() {
    let spool = Spool::new();
    let _daemon = Daemon::start(&spool, &["--simulate"]);
    let mut escaped: Vec<String> = hostile_names()
        .iter()
        .map(|n| serde_json::to_string(n).expect("json string"))
        .map(|q| q[1..q.len() - 1].to_owned())
        .collect();
    escaped.extend(["cn1\\u0000x", "cn1\\nSTATUS=completed", "..\\/..\\/etc"].map(String::from));
    for (i, node) in escaped.iter().enumerate() {
        let id = format!("hostile-node-{i:03}");
        let body = request_json(&id, "PLACEHOLDER", "off", 300, 0).replace("PLACEHOLDER", node);
        drop_file(&spool.requests, &format!("{id}.json"), body.as_bytes());
    }
    let all = wait_for(Duration::from_secs(60), || {
        let r = spool.responses();
        (r.len() == escaped.len()).then_some(r)
    })
    .unwrap_or_else(|| {
        panic!(
            "not every hostile request was answered: {:?}",
            spool.responses()
        )
    });
    for (name, r) in &all {
        assert_eq!(r.outcome, Some(Outcome::Invalid), "{name}: {r:?}");
        assert_eq!(r.executed, Some(false), "{name}");
        assert!(!r.success, "{name}");
        assert_eq!(r.target_node.as_str(), "unknown", "{name}");
        assert!(r.message.contains("node name"), "{name}: {}", r.message);
    }
    Agent::new(&spool, "reboot", "cn-after", 60)
        .run()
        .assert_code(0, "a valid request after the hostile ones");
    COUNT.add("daemon_answers_hostile_target_nodes_invalid", escaped.len());
}

/// Promise 5 and 6: request files whose *names* no response could carry (spaces, shell
/// characters, non-ASCII, newline, over 250 bytes) are moved to `.rejected/` under a generated
/// name, nothing is executed or answered under the hostile name, and the daemon keeps running.
#[test]
fn daemon_moves_hostile_file_names_aside() {
    let spool = Spool::new();
    let _daemon = Daemon::start(&spool, &["--simulate"]);
    // 251..=255 bytes: a valid file name on Linux, too long for a response's temporary name.
    let long = format!("{}.json", "a".repeat(246));
    let names = [
        "a b.json",
        "x;id.json",
        "$(id).json",
        "c\u{0441}n1.json",
        "line\nbreak.json",
        "tab\there.json",
        "quote\".json",
        long.as_str(),
    ];
    for n in names {
        let body = request_json("hostile-fname", "cn1", "off", 300, 0);
        std::fs::write(spool.requests.join(n), body).expect("write a hostile file name");
    }
    let rejected = spool.requests.join(".rejected");
    let moved = wait_for(Duration::from_secs(60), || {
        let n = std::fs::read_dir(&rejected).ok()?.count();
        (n == names.len()).then_some(n)
    });
    assert!(
        moved.is_some(),
        "not all moved aside; still there: {:?}",
        std::fs::read_dir(&spool.requests).map(|d| d
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect::<Vec<_>>())
    );
    for entry in std::fs::read_dir(&rejected)
        .expect("list .rejected")
        .flatten()
    {
        let n = entry
            .file_name()
            .into_string()
            .expect("generated names are ASCII");
        assert!(n.starts_with("rejected-"), "{n}");
    }
    assert!(
        spool.responses().is_empty(),
        "nothing answered under a hostile name"
    );
    Agent::new(&spool, "reboot", "cn-after", 60)
        .run()
        .assert_code(0, "a valid request after the hostile names");
    COUNT.add("daemon_moves_hostile_file_names_aside", names.len());
}
