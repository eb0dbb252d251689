//! `demo`: the whole request/response flow on this machine, with no cluster and no root.
//!
//! It starts the real `fence_watcher` on an embedded configuration whose backends are simulated
//! (a "BMC" that fails and a "PDU" that works, as a two-level fencing topology), then runs the real
//! `fence_gfs2_recorder` the way Pacemaker does (options on stdin) and the way a person does
//! (argv), and shows the files and logs that result. Everything lives in a temporary directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fence_gfs2_recorder::metadata::AGENT;
use gfs2_fence_protocol::HEARTBEAT_FILE;

use crate::Error;

/// The demo's daemon configuration: simulated backends only, so nothing real is ever fenced.
const DEMO_CONFIG: &str = r#"# fence_watcher configuration used by `gfs2-fencing demo` (simulated backends only)
[daemon]
heartbeat_interval_secs = 1
max_concurrent = 8

[backends.bmc-rack7]      # level 1: a BMC that does not answer
type = "simulate"
outcome = "fail"

[backends.pdu-rack7]      # level 2: a PDU that cuts power
type = "simulate"
delay_secs = 0.2

[backends.unreachable]
type = "simulate"
outcome = "fail"

[[topology]]
nodes = ["doomed-*"]
levels = ["unreachable"]

[[topology]]
nodes = ["*"]
levels = ["bmc-rack7", "pdu-rack7"]
"#;

#[derive(clap::Args)]
pub struct Args {
    /// Keep the demo directory (and print its path) instead of removing it
    #[arg(long)]
    keep: bool,
}

struct Demo {
    root: PathBuf,
    agent: PathBuf,
    requests: PathBuf,
    responses: PathBuf,
    logs: PathBuf,
}

pub fn run(args: &Args) -> Result<bool, Error> {
    let tmp = tempfile::Builder::new()
        .prefix("gfs2-fencing-demo.")
        .tempdir()
        .map_err(Error::TempDir)?;
    let bin_dir = sibling_dir()?;
    let demo = Demo {
        root: tmp.path().to_owned(),
        agent: bin_dir.join(AGENT),
        requests: tmp.path().join("requests"),
        responses: tmp.path().join("responses"),
        logs: tmp.path().join("log"),
    };
    let config = demo.root.join("fence-watcher.toml");
    fs::write(&config, DEMO_CONFIG).map_err(|source| Error::Write {
        path: config.clone(),
        source,
    })?;
    crate::out::outln!("== gfs2-fencing demo in {}", demo.root.display());
    crate::out::outln!(
        "== starting fence_watcher with simulated backends (level 1 fails, level 2 works)"
    );
    crate::out::outln!(
        "== the agent runs with ALLOW_SIMULATE=true (allow_simulate): without it, a simulated \
         success is no fence and monitor fails, as on a real cluster\n"
    );
    let mut watcher = start_watcher(&bin_dir.join("fence_watcher"), &demo, &config)?;
    let outcome = demo.scenes();
    stop(&mut watcher);
    show_file(
        "fence_watcher's log (stderr)",
        &demo.root.join("fence_watcher.log"),
    );
    if args.keep {
        crate::out::outln!("\nkept {}", tmp.keep().display());
    }
    outcome
}

/// The other binaries are installed (or built) beside this one.
fn sibling_dir() -> Result<PathBuf, Error> {
    let exe = std::env::current_exe().map_err(Error::CurrentExe)?;
    let dir = exe.parent().map(Path::to_owned).unwrap_or_default();
    for bin in ["fence_watcher", AGENT] {
        if !dir.join(bin).is_file() {
            return Err(Error::NotInstalled { bin, exe });
        }
    }
    Ok(dir)
}

fn start_watcher(bin: &Path, demo: &Demo, config: &Path) -> Result<Child, Error> {
    let log_path = demo.root.join("fence_watcher.log");
    let log = fs::File::create(&log_path).map_err(|source| Error::Write {
        path: log_path,
        source,
    })?;
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("--request-dir")
        .arg(&demo.requests)
        .arg("--response-dir")
        .arg(&demo.responses)
        .stdin(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|source| Error::Start {
            path: bin.to_owned(),
            source,
        })?;
    let started = Instant::now();
    while !demo.responses.join(HEARTBEAT_FILE).exists() {
        if let Ok(Some(status)) = child.try_wait() {
            show_file("fence_watcher's log", &demo.root.join("fence_watcher.log"));
            return Err(Error::WatcherExited(status));
        }
        if started.elapsed() > Duration::from_secs(10) {
            stop(&mut child);
            return Err(Error::NoHeartbeat);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child)
}

fn stop(child: &mut Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let _ = child.wait();
}

impl Demo {
    /// Runs the scenes; `Ok(true)` when every exit code was the expected one.
    fn scenes(&self) -> Result<bool, Error> {
        let mut ok = true;
        ok &= self.scene(
            "Pacemaker's recurring monitor (stdin, no argv)",
            &[],
            "action=monitor\n",
            0,
        )?;
        ok &= self.scene(
            "Pacemaker fences compute-node-3 (stdin, as the fencer sends it)",
            &[],
            "action=reboot\nnodename=compute-node-3\nport=compute-node-3\nfence_timeout=20\n",
            0,
        )?;
        ok &= self.scene(
            "An operator powers compute-node-4 off (argv)",
            &["-o", "off", "-n", "compute-node-4"],
            "",
            0,
        )?;
        ok &= self.scene(
            "status of compute-node-4 (2 = off, from the records)",
            &["-o", "status", "-n", "compute-node-4"],
            "",
            2,
        )?;
        ok &= self.scene("list: nodes with records", &["-o", "list"], "", 0)?;
        ok &= self.scene(
            "Every level fails for doomed-1: the agent must report failure",
            &["-o", "reboot", "-n", "doomed-1", "--fence-timeout=20"],
            "",
            1,
        )?;
        self.show_results();
        crate::out::outln!(
            "\n== {}",
            if ok {
                "demo finished: every exit code was as expected"
            } else {
                "demo FAILED: see above"
            }
        );
        Ok(ok)
    }

    fn scene(&self, title: &str, argv: &[&str], stdin: &str, expect: i32) -> Result<bool, Error> {
        crate::out::outln!("-- {title}");
        let shown = if argv.is_empty() {
            format!(
                "printf '{}' | fence_gfs2_recorder",
                stdin.replace('\n', "\\n")
            )
        } else {
            format!("fence_gfs2_recorder {}", argv.join(" "))
        };
        crate::out::outln!("   $ {shown}");
        let started = Instant::now();
        let mut child = Command::new(&self.agent)
            .args(argv)
            .env("REQUEST_DIR", &self.requests)
            .env("RESPONSE_DIR", &self.responses)
            .env("LOG_DIR", &self.logs)
            .env("GFS2_TIMEOUT", "1")
            // The demo's backends are simulated; only a demo may take that for a fence.
            .env("ALLOW_SIMULATE", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Run {
                path: self.agent.clone(),
                source,
            })?;
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        let out = child.wait_with_output().map_err(|source| Error::Run {
            path: self.agent.clone(),
            source,
        })?;
        let code = out.status.code().unwrap_or(-1);
        for line in String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
        {
            crate::out::outln!("   | {line}");
        }
        let verdict = if code == expect {
            "as expected"
        } else {
            "UNEXPECTED"
        };
        crate::out::outln!(
            "   exit {code} ({verdict}) in {} ms\n",
            started.elapsed().as_millis()
        );
        Ok(code == expect)
    }

    fn show_results(&self) {
        let pending = fs::read_dir(&self.requests)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .count()
            })
            .unwrap_or(0);
        crate::out::outln!("-- request directory after the run: {pending} file(s) left (the watcher removes what it answered)");
        if let Some(first) = first_json(&self.responses) {
            show_file("one response (the durable fence record)", &first);
        }
        show_file(
            "the readable event log",
            &self.logs.join("fence-events-readable.log"),
        );
    }
}

fn first_json(dir: &Path) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort_by_key(|p| fs::metadata(p).and_then(|m| m.modified()).ok());
    files.into_iter().next()
}

fn show_file(title: &str, path: &Path) {
    crate::out::outln!("-- {title}: {}", path.display());
    match fs::read_to_string(path) {
        Ok(text) => text.lines().for_each(|l| crate::out::outln!("   {l}")),
        Err(e) => crate::out::outln!("   (cannot read: {e})"),
    }
}
