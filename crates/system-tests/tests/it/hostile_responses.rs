//! Hostile input, part 3: responses given to a waiting agent. No daemon runs: the test is the
//! (hostile) responder, writing into the response directory what the agent must judge.
//!
//! What the agent does with a response written in place: it reads the file only when it is
//! closed after writing (`IN_CLOSE_WRITE`) or renamed in (`IN_MOVED_TO`). One writer that writes
//! two chunks through one open file is therefore read whole. A writer that closes after the first
//! chunk has published a truncated file: cut JSON does not parse, so the agent fails at once
//! (exit 1) and never exits 0 on it.

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::time::Duration;

use gfs2_fence_protocol::Request;
use system_tests::faults::Counter;
use system_tests::{procs, wait_for, Agent, AgentProc, Spool};

static COUNT: Counter = Counter::new("hostile-input/responses");

/// A waiting agent and the request it published.
struct Waiting {
    agent: AgentProc,
    name: String,
    req: Request,
}

fn waiting(spool: &Spool, node: &str, timeout: u64) -> Waiting {
    let agent = Agent::new(spool, "reboot", node, timeout).spawn();
    let name = wait_for(Duration::from_secs(30), || {
        std::fs::read_dir(&spool.requests)
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .find(|n| !n.starts_with('.') && n.ends_with(".json"))
    })
    .expect("the agent publishes its request");
    let bytes = std::fs::read(spool.requests.join(&name)).expect("read the request");
    let req = Request::from_json(&bytes).expect("the agent's request parses");
    Waiting { agent, name, req }
}

fn response(req: &Request, id: &str, node: &str, success: bool) -> String {
    format!(
        "{{\"request_id\":\"{id}\",\"success\":{success},\"target_node\":\"{node}\",\
         \"action_performed\":\"{}\",\"message\":\"test responder\"}}",
        req.action
    )
}

fn good(req: &Request) -> String {
    response(req, req.request_id.as_str(), req.target_node.as_str(), true)
}

/// Runs one hostile response case: `plant` writes into the response directory, then the agent
/// must exit 1 with `words` in its error (and no `completed` event).
/// Each case gets a spool of its own, so earlier requests cannot be mistaken for this one.
fn case(node: &str, words: &str, plant: impl FnOnce(&Waiting, PathBuf, &Spool)) {
    let spool = &Spool::new();
    let w = waiting(spool, node, 60);
    let path = spool.responses.join(&w.name);
    plant(&w, path, spool);
    let run = w.agent.wait();
    run.assert_code(1, node);
    assert!(
        run.stderr.to_lowercase().contains(words),
        "{node}: error lacks {words:?}: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("no response within"),
        "{node}: the agent waited for its timeout instead of failing at once: {}",
        run.stderr
    );
    assert!(spool.events_for(node, "completed").is_empty(), "{node}");
}

fn write(path: &PathBuf, text: &str) {
    let tmp = path.with_file_name(".hostile.tmp");
    std::fs::write(&tmp, text).expect("write a response");
    std::fs::rename(&tmp, path).expect("rename it in");
}

/// Promise 1 (no false success): malformed, truncated, oversize, deeply nested, duplicate-key
/// and contradictory responses, and responses for another request or another node, make the
/// agent fail at once with exit 1, naming the problem.
#[test]
fn bad_responses_fail_at_once() {
    type Make = fn(&Request) -> String;
    let cases: [(&str, &str, Make); 9] = [
        ("cn-garbage", "unusable response", |_| "\u{1}garbage".into()),
        ("cn-trunc", "unusable response", |r| {
            good(r)[..20].to_owned()
        }),
        ("cn-big", "limit", |r| {
            format!("{}{}", good(r), " ".repeat(70 * 1024))
        }),
        ("cn-nested", "unusable response", |_| {
            format!("{}{}", "[".repeat(50_000), "]".repeat(50_000))
        }),
        ("cn-dup", "duplicate", |r| {
            good(r).replacen("\"success\":true", "\"success\":false,\"success\":true", 1)
        }),
        ("cn-liar", "outcome", |r| {
            good(r).replacen(
                "\"success\":true",
                "\"success\":true,\"outcome\":\"failed\"",
                1,
            )
        }),
        ("cn-other-id", "not", |r| {
            response(
                r,
                "00000000-0000-4000-8000-000000000000",
                r.target_node.as_str(),
                true,
            )
        }),
        ("cn-other-node", "node", |r| {
            response(r, r.request_id.as_str(), "someone-else", true)
        }),
        ("cn-string", "unusable response", |r| {
            good(r).replacen("\"success\":true", "\"success\":\"true\"", 1)
        }),
    ];
    for (node, words, make) in cases {
        case(node, words, |w, path, _| write(&path, &make(&w.req)));
    }
    COUNT.add("bad_responses_fail_at_once", cases.len());
}

/// Promise 1 and 5: a response that is a symlink (to a valid success response elsewhere), a
/// FIFO or a directory is refused at once and never followed or blocked on.
#[test]
fn special_file_responses_are_refused() {
    case("cn-symlink", "symbolic link", |w, path, spool| {
        let real = spool.write("real.json", &good(&w.req), 0o644);
        symlink(real, path).expect("plant a symlink");
    });
    case("cn-fifo", "fifo", |_, path, _| {
        let ok = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(ok.is_ok_and(|s| s.success()), "mkfifo");
    });
    case("cn-dir", "directory", |_, path, _| {
        std::fs::create_dir(path).expect("mkdir");
    });
    COUNT.add("special_file_responses_are_refused", 3);
}

/// Promise 1: a hard link to a valid success response is refused at once (exit 1, "hard
/// links"); a link sends only `IN_CREATE`, which the agent looks at for anything that is not
/// a regular file with one link.
#[test]
fn hard_linked_response_is_refused() {
    case("cn-hard", "hard link", |w, path, spool| {
        let real = spool.write("real.json", &good(&w.req), 0o644);
        std::fs::hard_link(real, path).expect("hard link");
    });
    COUNT.add("hard_linked_response_is_refused", 1);
}

/// Promise 1: a success response written in place in two chunks through one open file is read
/// only once closed (exit 0); one whose writer closes after the first chunk is a truncated file
/// and fails at once (exit 1), never 0.
#[test]
fn responses_written_in_place() {
    let spool = Spool::new();
    let w = waiting(&spool, "cn-slow", 60);
    let text = good(&w.req);
    let (a, b) = text.split_at(text.len() / 2);
    let mut f = std::fs::File::create(spool.responses.join(&w.name)).expect("create in place");
    f.write_all(a.as_bytes()).expect("first chunk");
    f.sync_all().expect("fsync");
    // The pause is the behaviour under test (a slow writer holding the file open half
    // written): there is no condition to wait for, the point is that nothing happens meanwhile.
    std::thread::sleep(Duration::from_millis(1500));
    f.write_all(b.as_bytes()).expect("second chunk");
    drop(f);
    w.agent.wait().assert_code(0, "one open file, two chunks");

    case("cn-half", "unusable response", |w, path, _| {
        let text = good(&w.req);
        std::fs::write(&path, &text[..text.len() / 2]).expect("first chunk, closed");
        // The rest comes late, once the agent judged the closed, truncated file (it exits at
        // once; a zombie counts as gone): a fixed pause here raced with a slow agent.
        let pid = w.agent.pid();
        let _ = wait_for(Duration::from_secs(30), || {
            (!procs::alive(pid)).then_some(())
        });
        let mut f = std::fs::OpenOptions::new().append(true).open(&path);
        if let Ok(f) = f.as_mut() {
            let _ = f.write_all(&text.as_bytes()[text.len() / 2..]);
        }
    });
    COUNT.add("responses_written_in_place", 2);
}
