//! Hostile input, part 2: request files given to the daemon. Malformed, truncated, huge (over
//! 64 KiB, and a 1 GB sparse file), deeply nested and duplicate-key JSON, and entries that are
//! not regular files (symlinks, FIFOs, directories, hard links). Each is answered `invalid`
//! naming the problem, nothing is executed, no claim is left, and the daemon keeps running.

use std::os::unix::fs::symlink;
use std::time::Duration;

use gfs2_fence_protocol::Outcome;
use system_tests::faults::{command_backend, request_json, temp_files, Counter};
use system_tests::{wait_for, Agent, Daemon, Spool};

static COUNT: Counter = Counter::new("hostile-input/requests");

/// A backend that records every run, so "never executed" is checked, not assumed.
fn recording_daemon(spool: &Spool) -> Daemon {
    let runs = spool.root().join("runs.log");
    let script = format!("#!/bin/sh\necho \"$1 $2\" >> '{}'\n", runs.display());
    let cfg = command_backend(spool, &script, 30);
    Daemon::start(spool, &["--config", &cfg])
}

/// Waits for `name`'s response and checks it is `invalid` with `words` in its message.
fn expect_invalid(spool: &Spool, name: &str, words: &str) {
    let path = spool.responses.join(name);
    let got = wait_for(Duration::from_secs(60), || std::fs::read(&path).ok());
    let bytes = got.unwrap_or_else(|| panic!("{name} was never answered"));
    let r = gfs2_fence_protocol::Response::from_json(&bytes)
        .unwrap_or_else(|e| panic!("{name}: the daemon's response does not parse: {e}"));
    assert_eq!(r.outcome, Some(Outcome::Invalid), "{name}: {r:?}");
    assert!(!r.success && r.executed == Some(false), "{name}: {r:?}");
    assert!(
        r.message.to_lowercase().contains(words),
        "{name}: message lacks {words:?}: {}",
        r.message
    );
    assert!(
        bytes.len() < 64 * 1024,
        "{name}: response of {} bytes",
        bytes.len()
    );
}

/// Promise 2, 3 and 6: malformed JSON of every kind is answered `invalid` (the message says
/// why), never executed, and leaves no claim; a valid request afterwards still works.
#[test]
fn malformed_requests_are_answered_invalid() {
    let spool = Spool::new();
    let _daemon = recording_daemon(&spool);
    let good = request_json("req-good", "cn1", "off", 300, 0);
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested_obj = format!(
        "{{\"request_id\":\"req-nested2\",\"x\":{}1{}}}",
        "{\"a\":".repeat(5000),
        "}".repeat(5000)
    );
    let dup = good.replacen(
        "\"action\":\"off\"",
        "\"action\":\"off\",\"action\":\"on\"",
        1,
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("req-empty.json", Vec::new(), "json"),
        ("req-garbage.json", b"\x00\xff\xfe garbage".to_vec(), "json"),
        (
            "req-trunc.json",
            good.as_bytes()[..good.len() / 2].to_vec(),
            "json",
        ),
        ("req-null.json", b"null".to_vec(), "json"),
        ("req-array.json", b"[1,2,3]".to_vec(), "json"),
        ("req-nested.json", nested.into_bytes(), "json"),
        ("req-nested2.json", nested_obj.into_bytes(), "json"),
        ("req-dup.json", dup.into_bytes(), "duplicate"),
        (
            "req-action.json",
            good.replace("\"off\"", "\"explode\"").into_bytes(),
            "json",
        ),
        (
            "req-type.json",
            good.replace("\"cn1\"", "42").into_bytes(),
            "json",
        ),
        (
            "req-id.json",
            good.replace("req-good", "../../x").into_bytes(),
            "request_id",
        ),
        (
            "req-big.json",
            format!("{good}{}", " ".repeat(70 * 1024)).into_bytes(),
            "limit",
        ),
        (
            "req-fs.json",
            good.replace("[]", "[\"a\\nb\"]").into_bytes(),
            "gfs2_filesystems",
        ),
    ];
    for (name, bytes, _) in &cases {
        system_tests::faults::drop_file(&spool.requests, name, bytes);
    }
    for (name, _, words) in &cases {
        expect_invalid(&spool, name, words);
    }
    assert!(
        spool.lines("runs.log").is_empty(),
        "a malformed request ran"
    );
    let left = spool.drained(Duration::from_secs(30));
    assert!(left.is_empty(), "claims left: {left:?}");
    assert!(temp_files(&spool.responses).is_empty());
    Agent::new(&spool, "reboot", "cn2", 60)
        .run()
        .assert_code(0, "a valid request after the malformed ones");
    COUNT.add("malformed_requests_are_answered_invalid", cases.len());
}

/// Promise 6: a 1 GB sparse request file is refused by its size without being read (the
/// daemon's memory stays small), and answered `invalid`.
#[test]
fn a_sparse_gigabyte_request_is_refused_unread() {
    let spool = Spool::new();
    let daemon = recording_daemon(&spool);
    let tmp = spool.requests.join(".req-huge.json.tmp");
    let f = std::fs::File::create(&tmp).expect("create the sparse file");
    f.set_len(1 << 30).expect("make it 1 GB (sparse)");
    drop(f);
    std::fs::rename(&tmp, spool.requests.join("req-huge.json")).expect("publish it");
    expect_invalid(&spool, "req-huge.json", "limit");
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid()))
        .expect("the daemon is still running");
    let hwm_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    assert!(
        hwm_kb < 200 * 1024,
        "daemon peak RSS {hwm_kb} kB: it read the file"
    );
    assert!(spool.lines("runs.log").is_empty());
    COUNT.add("a_sparse_gigabyte_request_is_refused_unread", 1);
}

/// Promise 5: request entries that are not regular files are answered `invalid` without being
/// followed or opened for blocking reads: a symlink to a file outside (never read, never
/// moved), a FIFO (the daemon does not hang on it), a directory, and a hard link to a file
/// outside (which stays untouched).
#[test]
fn special_files_are_answered_invalid_and_never_followed() {
    let spool = Spool::new();
    let _daemon = recording_daemon(&spool);
    let outside = spool.write(
        "outside.json",
        &request_json("req-link", "cn1", "off", 300, 0),
        0o644,
    );
    let before = std::fs::read(&outside).expect("read the outside file");
    symlink(&outside, spool.requests.join("req-link.json")).expect("plant a symlink");
    symlink("/etc/shadow", spool.requests.join("req-shadow.json")).expect("plant a symlink");
    let fifo = spool.requests.join("req-fifo.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    std::fs::create_dir(spool.requests.join("req-dir.json")).expect("mkdir");
    std::fs::hard_link(&outside, spool.requests.join("req-hard.json")).expect("hard link");
    expect_invalid(&spool, "req-link.json", "symbolic link");
    expect_invalid(&spool, "req-shadow.json", "symbolic link");
    expect_invalid(&spool, "req-fifo.json", "fifo");
    expect_invalid(&spool, "req-dir.json", "directory");
    expect_invalid(&spool, "req-hard.json", "hard link");
    assert_eq!(
        std::fs::read(&outside).expect("outside file still there"),
        before
    );
    assert!(spool.lines("runs.log").is_empty(), "a special file ran");
    Agent::new(&spool, "reboot", "cn2", 60)
        .run()
        .assert_code(0, "the daemon still answers");
    COUNT.add("special_files_are_answered_invalid_and_never_followed", 5);
}

/// Promise 2 (and what "in place" means for the daemon): a request written in place in two
/// chunks by one open file is read only after its close (`IN_CLOSE_WRITE`), so the slow
/// writer's complete request is executed, once.
#[test]
fn a_request_written_in_place_slowly_is_read_whole() {
    use std::io::Write;
    let spool = Spool::new();
    let _daemon = recording_daemon(&spool);
    let body = request_json("req-slow", "cn7", "off", 300, 0);
    let (a, b) = body.split_at(body.len() / 2);
    let mut f = std::fs::File::create(spool.requests.join("req-slow.json")).expect("create");
    f.write_all(a.as_bytes()).expect("first chunk");
    f.sync_all().expect("fsync");
    // The pause is the behaviour under test (a slow writer holding the file open half
    // written): there is no condition to wait for, the point is that nothing happens meanwhile.
    std::thread::sleep(Duration::from_millis(1500));
    f.write_all(b.as_bytes()).expect("second chunk");
    drop(f);
    let path = spool.responses.join("req-slow.json");
    let got = wait_for(Duration::from_secs(60), || std::fs::read(&path).ok()).expect("answered");
    let r = gfs2_fence_protocol::Response::from_json(&got).expect("parses");
    assert!(r.success, "the complete request was executed: {r:?}");
    assert_eq!(spool.lines("runs.log"), vec!["off cn7".to_owned()]);
    COUNT.add("a_request_written_in_place_slowly_is_read_whole", 1);
}
