//! Faults, part 4: durability against a power loss (promise 4). A power loss cannot be caused
//! here, so the tests check what makes one survivable, the syncs DESIGN.md ("Durability: which
//! syncs and why") keeps, in the order it needs, and no others: the system calls, traced with
//! `strace` (one file per thread, `-ff`, wall-clock stamps `-ttt`).
//!
//! Kept: each published file's content is fsynced before its rename (A1 the request, D3 the
//! response); the agent fsyncs RESPONSE_DIR after it read a success and before it writes
//! `completed` and exits 0 (A8); it `fdatasync`s its outcome event in each log (A3-5), and fsyncs
//! LOG_DIR and its parent only when it created them (A6-7). Dropped, and asserted absent: the
//! directory fsyncs after the request's rename (A2), the claim (D1-2), the response's rename
//! (D4) and the claim's removal (D5). One successful exchange costs six syncs.
//!
//! Needs `strace`: skips loudly without it, fails in CI (`.ci/run` installs it).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use system_tests::faults::Counter;
use system_tests::{bins, peers, wait_for, Daemon, Spool};

static COUNT: Counter = Counter::new("faults/durability");

fn have_strace(test: &str) -> bool {
    peers::require(test, &[peers::installed("/usr/bin/strace")])
}

/// `open` too: rustix opens `AT_FDCWD` paths (the spool and log directories) with `open(2)`.
const TRACED: &str = "trace=open,openat,write,fsync,fdatasync,sync_file_range,syncfs,sync,\
                      renameat2,rename,renameat,unlinkat,exit_group";

/// One traced call: its wall-clock time (`-ttt`) and the call as strace prints it.
struct Call {
    at: f64,
    text: String,
}

impl Call {
    fn is(&self, prefix: &str) -> bool {
        self.text.starts_with(prefix)
    }

    /// Any system call that makes something durable.
    fn is_sync(&self) -> bool {
        [
            "fsync(",
            "fdatasync(",
            "sync_file_range(",
            "syncfs(",
            "sync(",
        ]
        .iter()
        .any(|p| self.is(p))
    }

    fn syncs_fd(&self, fd: &str) -> bool {
        self.is(&format!("fsync({fd})")) || self.is(&format!("fdatasync({fd})"))
    }

    /// The fd an `open`/`openat` returned; `None` when it failed.
    fn opened(&self) -> Option<String> {
        if !(self.is("open(") || self.is("openat(")) {
            return None;
        }
        let (_, n) = self.text.rsplit_once(" = ")?;
        let n = n.split_whitespace().next()?;
        (!n.starts_with('-')).then(|| n.to_owned())
    }

    /// The directory fd an `openat` is relative to.
    fn dirfd(&self) -> Option<String> {
        let args = self.text.strip_prefix("openat(")?;
        Some(args.split_once(',')?.0.to_owned())
    }

    fn opens(&self, quoted: &str) -> bool {
        (self.is("open(") || self.is("openat(")) && self.text.contains(quoted)
    }
}

/// Every traced thread's calls, in order, one `Vec` per thread.
fn traces(dir: &Path) -> Vec<Vec<Call>> {
    std::fs::read_dir(dir)
        .expect("list traces")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("trace."))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            text.lines().filter_map(parse).collect()
        })
        .collect()
}

fn parse(line: &str) -> Option<Call> {
    let (at, text) = line.split_once(' ')?;
    Some(Call {
        at: at.parse().ok()?,
        text: text.to_owned(),
    })
}

fn show(t: &[Call]) -> String {
    t.iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn quoted(p: &Path) -> String {
    format!("\"{}\"", p.display())
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

fn strace(tdir: &Path, program: &Path) -> Command {
    std::fs::create_dir_all(tdir).expect("mkdir traces");
    let mut cmd = Command::new("strace");
    cmd.args(["-ff", "-qq", "-ttt", "-s", "4096", "-e", TRACED, "-o"])
        .arg(tdir.join("trace"))
        .arg(program);
    cmd
}

/// Runs one agent fence of `node` under strace into `tdir`; it must exit 0.
fn traced_fence(spool: &Spool, tdir: &Path, action: &str, node: &str) -> Vec<Vec<Call>> {
    let mut child = strace(tdir, &bins::agent())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace fence_gfs2_recorder");
    let opts = format!(
        "action={action}\nport={node}\nrequest_dir={}\nresponse_dir={}\nlog_dir={}\n\
         fence_timeout=60\ngfs2_discovery=false\nrequire_heartbeat=false\nallow_simulate=true\n",
        spool.requests.display(),
        spool.responses.display(),
        spool.logs.display()
    );
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(opts.as_bytes())
        .expect("write options");
    let status = child.wait().expect("wait for strace");
    assert!(status.success(), "the agent under strace failed");
    traces(tdir)
}

/// The agent's thread that wrote the `completed` event.
fn agent_main(all: &[Vec<Call>]) -> &[Call] {
    all.iter()
        .find(|t| {
            t.iter()
                .any(|c| c.is("write(") && c.text.contains("completed"))
        })
        .expect("a thread wrote the completed event")
}

/// `fence_watcher --simulate` under strace, stopped (by its own pid: strace only detaches on
/// SIGTERM) when dropped.
struct TracedDaemon {
    child: std::process::Child,
    pid: u32,
}

impl TracedDaemon {
    fn start(spool: &Spool, tdir: &Path) -> TracedDaemon {
        let child = strace(tdir, &bins::watcher())
            .arg("--request-dir")
            .arg(&spool.requests)
            .arg("--response-dir")
            .arg(&spool.responses)
            .arg("--simulate")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("strace fence_watcher");
        let hb = wait_for(Duration::from_secs(60), || {
            let bytes = std::fs::read(spool.heartbeat()).ok()?;
            gfs2_fence_protocol::Heartbeat::from_json(&bytes)
        });
        let pid = hb.expect("fence_watcher under strace never started").pid;
        TracedDaemon { child, pid }
    }

    fn stop(mut self, spool: &Spool) {
        let _ = spool.drained(Duration::from_secs(30));
        system_tests::procs::signal(self.pid, rustix::process::Signal::TERM);
        assert!(
            system_tests::procs::wait_gone(&[self.pid], Duration::from_secs(60)).is_empty(),
            "fence_watcher did not stop"
        );
        system_tests::procs::stop_child(&mut self.child, Duration::from_secs(30));
    }
}

/// Promise 4: the daemon fsyncs the response's content before naming it (D3), and that is its
/// only sync for the exchange: no fsync after the claim rename (D1-2), nor between the response's
/// rename and the claim's removal (D4), nor after it (D5).
#[test]
fn the_daemon_syncs_the_response_content_before_naming_it() {
    if !have_strace("the_daemon_syncs_the_response_content_before_naming_it") {
        return;
    }
    let spool = Spool::new();
    let tdir = spool.root().join("traces");
    let daemon = TracedDaemon::start(&spool, &tdir);
    let run = system_tests::Agent::new(&spool, "off", "cn1", 60).run();
    run.assert_code(0, "fence under strace");
    let (name, _) = spool.response_for("cn1");
    daemon.stop(&spool);

    let all = traces(&tdir);
    let tmp = format!("\".{name}.tmp\"");
    let quoted = format!("\"{name}\"");
    let publisher = all
        .iter()
        .find(|t| {
            t.iter()
                .any(|c| c.is("renameat2(") && c.text.contains(&tmp))
        })
        .expect("a thread renamed the response into place");
    let at = |pred: &dyn Fn(&Call) -> bool| publisher.iter().position(pred);
    let open = at(&|c| c.is("openat(") && c.text.contains(&tmp)).expect("tmp opened");
    let fd = publisher[open].opened().expect("tmp fd");
    let rename = at(&|c| c.is("renameat2(") && c.text.contains(&tmp)).expect("rename");
    let file_sync = at(&|c| c.syncs_fd(&fd));
    assert!(
        file_sync.is_some_and(|i| open < i && i < rename),
        "response data not fsynced before its rename:\n{}",
        show(publisher)
    );
    let unlink = at(&|c| c.is("unlinkat(") && c.text.contains(&quoted)).expect("claim removed");
    assert!(
        rename < unlink,
        "the claim removed before the response was named"
    );
    let syncs: Vec<&str> = publisher[open..]
        .iter()
        .filter(|c| c.is_sync())
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(
        syncs.len(),
        1,
        "from the response's creation on, its fsync is the publisher's only sync (D4, D5 \
         dropped): {syncs:?}\n{}",
        show(publisher)
    );
    // The claim, its read and the publication may run on different threads of the blocking
    // pool: the clock orders them. From the claim on, no thread syncs anything but the
    // response's content (D1-2 and D5 dropped).
    let is_claim = |c: &Call| c.is("renameat2(") && c.text.matches(quoted.as_str()).count() == 2;
    let claimed = all
        .iter()
        .flatten()
        .find(|c| is_claim(c))
        .expect("a thread claimed the request")
        .at;
    let after_claim: Vec<&str> = all
        .iter()
        .flatten()
        .filter(|c| c.at >= claimed && c.is_sync())
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(
        after_claim.len(),
        1,
        "from the claim on, the response's content is the daemon's only sync (D1-2, D4, D5 \
         dropped): {after_claim:?}"
    );
    COUNT.add("the_daemon_syncs_the_response_content_before_naming_it", 1);
}

/// What the agent's main thread did with the syncs of one fence.
struct AgentSyncs<'a> {
    main: &'a [Call],
    /// Index of the first `write` of the `completed` event.
    completed: usize,
}

impl<'a> AgentSyncs<'a> {
    fn new(main: &'a [Call]) -> Self {
        let completed = main
            .iter()
            .position(|c| c.is("write(") && c.text.contains("completed"))
            .expect("completed written");
        AgentSyncs { main, completed }
    }

    /// The directory fd the (last successful) `openat` of `name` used.
    fn dir_of(&self, name: &str) -> String {
        let q = format!("\"{name}\"");
        self.main
            .iter()
            .rev()
            .find(|c| c.is("openat(") && c.text.contains(&q) && c.opened().is_some())
            .and_then(Call::dirfd)
            .unwrap_or_else(|| panic!("{q} not opened:\n{}", show(self.main)))
    }

    fn position(&self, pred: impl Fn(&Call) -> bool) -> Option<usize> {
        self.main.iter().position(pred)
    }

    /// A1 kept, A2 dropped: the request's content is fsynced before its rename, and REQUEST_DIR
    /// never after it.
    fn assert_request(&self, name: &str) {
        let tmp = format!("\".{name}.tmp\"");
        let open = self
            .position(|c| c.is("openat(") && c.text.contains(&tmp))
            .expect("request tmp opened");
        let fd = self.main[open].opened().expect("request tmp fd");
        let rename = self
            .position(|c| c.is("renameat2(") && c.text.contains(&tmp))
            .expect("request renamed");
        assert!(
            self.position(|c| c.syncs_fd(&fd))
                .is_some_and(|i| open < i && i < rename),
            "the request's content is not fsynced before its rename (A1):\n{}",
            show(self.main)
        );
        let dir = self.dir_of(&format!(".{name}.tmp"));
        assert!(
            !self.main[rename..].iter().any(|c| c.syncs_fd(&dir)),
            "REQUEST_DIR is fsynced after the rename (A2 was dropped):\n{}",
            show(self.main)
        );
    }

    /// A8: RESPONSE_DIR fsynced after the successful read of the response, before `completed`
    /// is written and before the agent exits.
    fn assert_a8(&self, name: &str) {
        let q = format!("\"{name}\"");
        let read = self
            .position(|c| c.is("openat(") && c.text.contains(&q) && c.opened().is_some())
            .expect("the response was read");
        let dir = self.dir_of(name);
        let sync = self.position(|c| c.syncs_fd(&dir));
        let exit = self
            .position(|c| c.is("exit_group("))
            .unwrap_or(self.main.len());
        assert!(
            sync.is_some_and(|i| read < i && i < self.completed && i < exit),
            "RESPONSE_DIR is not fsynced between reading the success and writing `completed` \
             (A8):\n{}",
            show(self.main)
        );
    }

    /// A3-5: each log's `completed` line written, then `fdatasync`ed, before the exit.
    fn assert_logs(&self) {
        let exit = self
            .position(|c| c.is("exit_group("))
            .unwrap_or(self.main.len());
        for log in system_tests::spool::LOG_FILES {
            let mut fd = None;
            let mut wrote = false;
            let mut synced = false;
            for c in &self.main[..exit] {
                if c.opens(&format!("\"{log}\"")) {
                    fd = c.opened();
                } else if c.opened().is_some() && c.opened() == fd {
                    // The number was reused by another open: our log was closed. The logs
                    // share one number in turn, so only this log's own fd counts.
                    fd = None;
                } else if let Some(f) = &fd {
                    if c.is(&format!("write({f},")) && c.text.contains("completed") {
                        wrote = true;
                    } else if wrote && c.is(&format!("fdatasync({f})")) {
                        synced = true;
                    }
                }
            }
            assert!(
                wrote,
                "{log}: completed event not found:\n{}",
                show(self.main)
            );
            assert!(
                synced,
                "{log}: the completed event is not fdatasynced before the exit:\n{}",
                show(self.main)
            );
        }
    }

    /// A6-7: whether LOG_DIR and its parent were fsynced.
    fn log_dir_syncs(&self, logs: &Path) -> (bool, bool) {
        let dir = self.dir_of(system_tests::spool::LOG_FILES[0]);
        // Only syncs from the first log's open on: the same fd number may have been another
        // file's before LOG_DIR was opened (the request's temporary file, fsynced by A1).
        let first_log = format!("\"{}\"", system_tests::spool::LOG_FILES[0]);
        let from = self.position(|c| c.opens(&first_log)).unwrap_or(0);
        let dir_synced = self.main[from..].iter().any(|c| c.syncs_fd(&dir));
        let parent = logs.parent().expect("LOG_DIR has a parent");
        let q = quoted(parent);
        let parent_synced = self.main.iter().enumerate().any(|(i, c)| {
            c.opens(&q)
                && c.opened()
                    .is_some_and(|fd| self.main[i..].iter().any(|l| l.syncs_fd(&fd)))
        });
        (dir_synced, parent_synced)
    }

    fn syncs(&self) -> Vec<&str> {
        self.main
            .iter()
            .filter(|c| c.is_sync())
            .map(|c| c.text.as_str())
            .collect()
    }
}

/// Promise 4: the agent's syncs in order: the request's content before its rename (A1), no
/// REQUEST_DIR sync (A2), RESPONSE_DIR after reading the success and before `completed` (A8),
/// each log's `completed` line `fdatasync`ed before exit 0 (A3-5); LOG_DIR and its parent only
/// when the run created them (A6-7), so with the logs in place a fence costs five syncs.
#[test]
fn the_agent_syncs_its_outcome_event() {
    if !have_strace("the_agent_syncs_its_outcome_event") {
        return;
    }
    let spool = Spool::new();
    let _d = Daemon::start(&spool, &["--simulate"]);
    assert!(!spool.logs.exists(), "LOG_DIR is the agent's to create");
    for (run, node) in [(1, "cn1"), (2, "cn2")] {
        let tdir = spool.root().join(format!("traces-{run}"));
        let all = traced_fence(&spool, &tdir, "reboot", node);
        let (name, _) = spool.response_for(node);
        let a = AgentSyncs::new(agent_main(&all));
        a.assert_request(&name);
        a.assert_a8(&name);
        a.assert_logs();
        let (dir, parent) = a.log_dir_syncs(&spool.logs);
        if run == 1 {
            assert!(
                dir && parent,
                "the run that created LOG_DIR and its logs fsyncs LOG_DIR and its parent \
                 (A6-7):\n{}",
                show(a.main)
            );
        } else {
            assert!(
                !dir && !parent,
                "with the logs in place, neither LOG_DIR nor its parent is fsynced:\n{}",
                show(a.main)
            );
            assert_eq!(
                a.syncs().len(),
                5,
                "A1, A8 and three fdatasyncs: {:?}",
                a.syncs()
            );
        }
    }
    COUNT.add("the_agent_syncs_its_outcome_event", 6);
}

/// DESIGN.md's figure: with the logs in place, one successful exchange costs six syncs in all,
/// five in the agent (A1, A8, A3-5) and one in the daemon (D3). Every thread of both processes
/// is counted, and every kind of sync call.
#[test]
fn one_exchange_costs_six_syncs() {
    if !have_strace("one_exchange_costs_six_syncs") {
        return;
    }
    let spool = Spool::new();
    let ddir = spool.root().join("traces-daemon");
    let daemon = TracedDaemon::start(&spool, &ddir);
    // A first fence creates LOG_DIR and the logs, and lets the daemon finish starting.
    system_tests::Agent::new(&spool, "off", "cn0", 60)
        .run()
        .assert_code(0, "warm-up fence");
    assert!(
        spool.drained(Duration::from_secs(30)).is_empty(),
        "warm-up left work"
    );
    let from = now();
    let agent = traced_fence(&spool, &spool.root().join("traces-agent"), "off", "cn1");
    daemon.stop(&spool);
    let listed = |all: &[Vec<Call>]| -> Vec<String> {
        all.iter()
            .flatten()
            .filter(|c| c.at >= from && c.is_sync())
            .map(|c| c.text.clone())
            .collect()
    };
    let (a, d) = (listed(&agent), listed(&traces(&ddir)));
    assert_eq!(
        (a.len(), d.len()),
        (5, 1),
        "syncs of one exchange: agent {a:?}, daemon {d:?}"
    );
    COUNT.add("one_exchange_costs_six_syncs", 1);
}
