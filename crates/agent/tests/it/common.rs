//! Shared test helpers: a sandbox of spool and log directories, the real agent binary run the
//! way Pacemaker runs it (options on stdin) or the way a person does (argv), a responder, and
//! waits on conditions.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gfs2_fence_protocol::{
    Outcome, Publish, Request, Response, SpoolDir, SpoolName, MAX_SPOOL_FILE,
};

pub const BIN: &str = env!("CARGO_BIN_EXE_fence_gfs2_recorder");

/// Environment variables the agent reads; cleared so the host's settings never leak in.
const AGENT_ENV: &[&str] = &[
    "REQUEST_DIR",
    "RESPONSE_DIR",
    "NNF_FENCE_REQUEST_DIR",
    "NNF_FENCE_RESPONSE_DIR",
    "LOG_DIR",
    "FENCE_TIMEOUT",
    "GFS2_DISCOVERY_ENABLED",
    "GFS2_SOURCES",
    "GFS2_TIMEOUT",
    "REQUIRE_HEARTBEAT",
    "HEARTBEAT_MAX_AGE",
    "FILE_NAMING",
    "ALLOW_SIMULATE",
    "BACKEND_HEALTH",
];

pub struct Sandbox {
    pub tmp: tempfile::TempDir,
    pub rq: PathBuf,
    pub rs: PathBuf,
    pub log: PathBuf,
}

impl Sandbox {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (rq, rs, log) = (
            tmp.path().join("rq"),
            tmp.path().join("rs"),
            tmp.path().join("log"),
        );
        std::fs::create_dir(&rq).expect("rq");
        std::fs::create_dir(&rs).expect("rs");
        Sandbox { tmp, rq, rs, log }
    }

    /// Pacemaker-style stdin: the directories, discovery off, then `extra` lines.
    pub fn stdin(&self, extra: &str) -> String {
        format!(
            "request_dir={}\nresponse_dir={}\nlog_dir={}\ngfs2_discovery=false\n{extra}",
            self.rq.display(),
            self.rs.display(),
            self.log.display()
        )
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        for v in AGENT_ENV {
            c.env_remove(v);
        }
        // Defaults that never reach the host's real directories, even for argv-only runs.
        c.env("REQUEST_DIR", &self.rq)
            .env("RESPONSE_DIR", &self.rs)
            .env("LOG_DIR", &self.log);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Starts the agent with `extra` stdin lines after the sandbox's own.
    pub fn spawn(&self, extra: &str) -> Child {
        let mut child = self.command().spawn().expect("spawn agent");
        let input = self.stdin(extra);
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes()).expect("write stdin");
        }
        child
    }

    pub fn run(&self, extra: &str) -> Output {
        self.spawn(extra).wait_with_output().expect("agent output")
    }

    pub fn run_raw_stdin(&self, input: &[u8]) -> Output {
        run_with_stdin(self.command(), input)
    }

    pub fn run_argv(&self, args: &[&str]) -> Output {
        let mut c = self.command();
        c.args(args).stdin(Stdio::null());
        c.output().expect("agent output")
    }

    /// Request files (visible names only).
    pub fn requests(&self) -> Vec<String> {
        visible(&self.rq)
    }

    /// Waits (20 s at most) until a request file is published; whether one was.
    pub fn wait_for_request(&self) -> bool {
        wait_until(Duration::from_secs(20), || !self.requests().is_empty())
    }

    pub fn events(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.log.join("fence-events-detailed.jsonl"))
            .unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("every jsonl line parses"))
            .collect()
    }

    pub fn statuses(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["event"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Writes a response file directly, as a record.
    pub fn write_response(&self, file: &str, json: &str) {
        let tmp = self.rs.join(format!(".{file}.tmp"));
        std::fs::write(&tmp, json).expect("write response");
        std::fs::rename(&tmp, self.rs.join(file)).expect("rename response");
    }
}

pub fn run_with_stdin(mut c: Command, input: &[u8]) -> Output {
    let mut child = c.spawn().expect("spawn agent");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    child.wait_with_output().expect("agent output")
}

pub fn visible(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.retain(|n| !n.starts_with('.'));
    v.sort();
    v
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// How a test responder answers a request.
#[derive(Clone, Copy)]
pub enum Answer {
    Success,
    Failure,
    Garbage,
    WrongId,
    Symlink,
    Fifo,
    /// This JSON, made from the request.
    Json(fn(&Request) -> String),
}

/// A responder thread: polls the request directory every few milliseconds (simple on purpose;
/// the real daemon is tested elsewhere) and answers each new request once.
pub struct Responder {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<usize>>,
}

impl Responder {
    pub fn start(sb: &Sandbox, answer: Answer) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (rq, rs, flag) = (sb.rq.clone(), sb.rs.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let rq = SpoolDir::open(rq).expect("open rq");
            let rs = SpoolDir::open(rs).expect("open rs");
            let mut answered = 0;
            // Requests stay in place here, and an `on` archives its response: remember what
            // was answered, or the archived `on` would be answered again.
            let mut seen = std::collections::HashSet::new();
            while !flag.load(Ordering::SeqCst) {
                for name in rq.scan().map(|s| s.files).unwrap_or_default() {
                    if seen.contains(&name) || rs.exists(name.as_str()).unwrap_or(true) {
                        continue;
                    }
                    let Ok(bytes) = rq.read(name.as_str(), MAX_SPOOL_FILE) else {
                        continue;
                    };
                    let Ok(req) = Request::from_json(&bytes) else {
                        continue;
                    };
                    answer_one(&rs, &name, &req, answer);
                    seen.insert(name);
                    answered += 1;
                }
                std::thread::sleep(Duration::from_millis(3));
            }
            answered
        });
        Responder {
            stop,
            handle: Some(handle),
        }
    }

    pub fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .map(|h| h.join().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn answer_one(rs: &SpoolDir, name: &SpoolName, req: &Request, answer: Answer) {
    let mut ok = Response::to_request(
        req,
        Outcome::Success,
        format!("reboot of {} done", req.target_node),
        "test".into(),
    );
    // to_request writes executed: false (it serves the unexecuted answers); a success ran.
    ok.executed = Some(true);
    let path = rs.join(name.as_str());
    match answer {
        Answer::Success => drop(rs.publish(name, &ok.to_json(), Publish::NoReplace)),
        Answer::Failure => {
            let r = Response::to_request(
                req,
                Outcome::Failed,
                "bmc unreachable".into(),
                "test".into(),
            );
            drop(rs.publish(name, &r.to_json(), Publish::NoReplace))
        }
        Answer::Garbage => drop(rs.publish(name, b"{\"request_id\": ", Publish::NoReplace)),
        Answer::WrongId => {
            let mut r = ok.clone();
            r.request_id = gfs2_fence_protocol::RequestId::new();
            drop(rs.publish(name, &r.to_json(), Publish::NoReplace))
        }
        Answer::Symlink => {
            let real = rs.path().join("elsewhere");
            std::fs::write(&real, ok.to_json()).expect("write target");
            std::os::unix::fs::symlink(&real, &path).expect("symlink");
        }
        Answer::Json(make) => drop(rs.publish(name, make(req).as_bytes(), Publish::NoReplace)),
        Answer::Fifo => {
            let made = Command::new("mkfifo").arg(&path).status();
            assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        }
    }
}

/// Waits until `cond` holds, looking every few milliseconds, for at most `limit`; whether it
/// held. For conditions only the file system or `/proc` can tell (another process's progress).
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether process `pid` catches SIGTERM (its handler is installed): the `SigCgt` mask of
/// `/proc/<pid>/status`, where SIGTERM (15) is bit 14.
pub fn catches_sigterm(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

/// The command prefix that runs a program as `nobody`, or `None` when the tests do not run as
/// root or `setpriv` is missing (a loud skip; a failure under `CI=true`).
pub fn as_nobody(test: &str) -> Option<[&'static str; 5]> {
    let needs = [
        system_tests::peers::root(),
        system_tests::peers::installed("/usr/bin/setpriv"),
    ];
    if !system_tests::peers::require(test, &needs) {
        return None;
    }
    Some([
        "/usr/bin/setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--",
    ])
}
