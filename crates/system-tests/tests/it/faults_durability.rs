//! Faults, part 4: durability against a power loss (promise 4). A power loss cannot be caused
//! here, so the test checks what makes one survivable: the system calls, traced with `strace`
//! (one file per thread, `-ff`). The daemon must fsync the response's temporary file before
//! renaming it into place, fsync the directory after the rename and before removing the claim;
//! the claim itself is fsynced in both directories. The agent must `fdatasync` its outcome
//! event before it exits.
//!
//! Needs `strace`: skips loudly without it, fails in CI (`.ci/run` installs it).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use system_tests::faults::Counter;
use system_tests::{bins, peers, wait_for, Daemon, Spool};

static COUNT: Counter = Counter::new("faults/durability");

fn have_strace(test: &str) -> bool {
    peers::require(test, &[peers::installed("/usr/bin/strace")])
}

const TRACED: &str = "trace=openat,write,fsync,fdatasync,renameat2,rename,renameat,unlinkat";

/// Every traced thread's calls, in order, one `Vec` per thread.
fn traces(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_dir(dir)
        .expect("list traces")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("trace."))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            text.lines().map(str::to_owned).collect()
        })
        .collect()
}

/// The fd an `openat(..., "<name>", ...) = N` line returned.
fn opened(line: &str) -> Option<String> {
    line.rsplit_once(" = ").map(|(_, n)| n.trim().to_owned())
}

/// Promise 4: the daemon's response is fsynced before its rename, the directory after it, and
/// only then is the claim removed; the claim rename is fsynced in both directories.
#[test]
fn the_daemon_syncs_before_it_removes_the_claim() {
    if !have_strace("the_daemon_syncs_before_it_removes_the_claim") {
        return;
    }
    let spool = Spool::new();
    let tdir = spool.root().join("traces");
    std::fs::create_dir(&tdir).expect("mkdir");
    let mut child = Command::new("strace")
        .args(["-ff", "-qq", "-s", "256", "-e", TRACED, "-o"])
        .arg(tdir.join("trace"))
        .arg(bins::watcher())
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
    // strace only detaches on SIGTERM: the daemon itself is stopped by its own pid.
    let daemon_pid = hb.expect("fence_watcher under strace never started").pid;
    let run = system_tests::Agent::new(&spool, "off", "cn1", 60).run();
    run.assert_code(0, "fence under strace");
    let (name, _) = spool.response_for("cn1");
    let _ = spool.drained(Duration::from_secs(30));
    system_tests::procs::signal(daemon_pid, rustix::process::Signal::TERM);
    assert!(
        system_tests::procs::wait_gone(&[daemon_pid], Duration::from_secs(60)).is_empty(),
        "fence_watcher did not stop"
    );
    system_tests::procs::stop_child(&mut child, Duration::from_secs(30));

    let all = traces(&tdir);
    let tmp = format!("\".{name}.tmp\"");
    let quoted = format!("\"{name}\"");
    let publisher = all
        .iter()
        .find(|t| {
            t.iter()
                .any(|l| l.starts_with("renameat2(") && l.contains(&tmp))
        })
        .expect("a thread renamed the response into place");
    let at = |pred: &dyn Fn(&String) -> bool| publisher.iter().position(pred);
    let open = at(&|l| l.starts_with("openat(") && l.contains(&tmp)).expect("tmp opened");
    let fd = opened(&publisher[open]).expect("tmp fd");
    let rename = at(&|l| l.starts_with("renameat2(") && l.contains(&tmp)).expect("rename");
    let file_sync = at(&|l| l.starts_with(&format!("fsync({fd})")));
    assert!(
        file_sync.is_some_and(|i| open < i && i < rename),
        "response data not fsynced before its rename:\n{}",
        publisher.join("\n")
    );
    let unlink = at(&|l| l.starts_with("unlinkat(") && l.contains(&quoted)).expect("claim removed");
    let dir_sync = publisher[rename..unlink]
        .iter()
        .any(|l| l.starts_with("fsync("));
    assert!(
        dir_sync,
        "no directory fsync between the rename and the claim's removal:\n{}",
        publisher.join("\n")
    );
    let claimer = all
        .iter()
        .find(|t| {
            t.iter()
                .any(|l| l.starts_with("renameat2(") && l.matches(quoted.as_str()).count() == 2)
        })
        .expect("a thread claimed the request");
    let c = claimer
        .iter()
        .position(|l| l.starts_with("renameat2(") && l.matches(quoted.as_str()).count() == 2)
        .expect("claim rename");
    let syncs = claimer[c..]
        .iter()
        .take(3)
        .filter(|l| l.starts_with("fsync("))
        .count();
    assert_eq!(
        syncs,
        2,
        "the claim is fsynced in both directories:\n{}",
        claimer.join("\n")
    );
    COUNT.add("the_daemon_syncs_before_it_removes_the_claim", 1);
}

/// Promise 4: the agent `fdatasync`s its `completed` event in every log before exiting 0.
#[test]
fn the_agent_syncs_its_outcome_event() {
    if !have_strace("the_agent_syncs_its_outcome_event") {
        return;
    }
    let spool = Spool::new();
    let _d = Daemon::start(&spool, &["--simulate"]);
    let tdir = spool.root().join("traces");
    std::fs::create_dir(&tdir).expect("mkdir");
    let mut child = Command::new("strace")
        .args(["-ff", "-qq", "-s", "4096", "-e", TRACED, "-o"])
        .arg(tdir.join("trace"))
        .arg(bins::agent())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace fence_gfs2_recorder");
    let opts = format!(
        "action=reboot\nport=cn1\nrequest_dir={}\nresponse_dir={}\nlog_dir={}\n\
         fence_timeout=60\ngfs2_discovery=false\nrequire_heartbeat=false\n",
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
    let all = traces(&tdir);
    let main = all
        .iter()
        .find(|t| {
            t.iter()
                .any(|l| l.starts_with("write(") && l.contains("completed"))
        })
        .expect("a thread wrote the completed event");
    for log in system_tests::spool::LOG_FILES {
        let mut fd = None;
        let mut wrote = false;
        let mut synced = false;
        for l in main {
            if l.starts_with("openat(") && l.contains(&format!("\"{log}\"")) {
                fd = opened(l);
            } else if let Some(f) = &fd {
                if l.starts_with(&format!("write({f},")) && l.contains("completed") {
                    wrote = true;
                } else if wrote && l.starts_with(&format!("fdatasync({f})")) {
                    synced = true;
                }
            }
        }
        assert!(
            wrote,
            "{log}: completed event not found:\n{}",
            main.join("\n")
        );
        assert!(
            synced,
            "{log}: the completed event is not fdatasynced:\n{}",
            main.join("\n")
        );
    }
    COUNT.add("the_agent_syncs_its_outcome_event", 3);
}
