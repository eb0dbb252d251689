//! The file-descriptor budget (issue 10, #1 and #2): a shortage of descriptors, passing or
//! provoked by a local user, never fails, fakes or loses a fence.

use std::process::{Command, Stdio};
use std::time::Duration;

use gfs2_fence_protocol::{Action, Outcome};
use rustix::process::{prlimit, Pid, Resource, Rlimit};

use crate::common::{daemon, free_port, scrape, spool, start, Daemon, Hog, Spool, DRAIN, PATIENCE};

/// Sets the soft `RLIMIT_NOFILE` of `pid`, keeping its hard limit.
fn set_soft_nofile(pid: u32, soft: u64) {
    let pid = Pid::from_raw(pid as i32).expect("pid");
    let hard = rustix::process::getrlimit(Resource::Nofile).maximum;
    let new = Rlimit {
        current: Some(soft),
        maximum: hard,
    };
    prlimit(Some(pid), Resource::Nofile, new).expect("prlimit");
}

/// Regression: a claimed request that could not be opened for lack of descriptors (EMFILE) was
/// answered `invalid` with `target_node: "unknown"` and never fenced.
#[test]
fn a_transient_read_error_turns_a_fence_into_a_permanent_invalid() {
    let spool = spool();
    let mut d = start(&spool, &["--simulate"]);
    // A soft limit of 0: every new descriptor fails with EMFILE, the ones held keep working
    // (the inotify watch sees the request, the claim is a rename through a held dirfd).
    set_soft_nofile(d.pid(), 0);
    let (name, req) = spool.request("cn-emfile", Action::Off, PATIENCE);
    d.wait_log("Too many open files");
    let hard = rustix::process::getrlimit(Resource::Nofile).maximum;
    set_soft_nofile(d.pid(), hard.unwrap_or(1024));
    let resp = spool.wait_response(name.as_str());
    assert_eq!(
        resp.outcome,
        Some(Outcome::Success),
        "{resp:?}\n{}",
        d.log_text()
    );
    assert_eq!(resp.target_node, req.target_node);
    assert_eq!(resp.executed, Some(true));
    assert!(spool.claimed_drained(DRAIN));
    assert!(
        d.log_text().contains("cannot read the claimed request"),
        "{}",
        d.log_text()
    );
}

/// The daemon started with a soft `RLIMIT_NOFILE` of `soft` (the hard one kept), as systemd
/// starts a unit without `LimitNOFILE=`.
fn limited(spool: &Spool, soft: u64, hard: Option<u64>, args: &[&str]) -> Command {
    let hard = hard.unwrap_or_else(hard_limit);
    let plain = daemon(spool).command();
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nofile={soft}:{hard}"))
        .arg("--")
        .arg(plain.get_program())
        .args(plain.get_args())
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in plain.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd
}

fn hard_limit() -> u64 {
    rustix::process::getrlimit(Resource::Nofile)
        .maximum
        .unwrap_or(1 << 20)
}

/// The lowest fd number free in `pid`, and how many fds are open in the `span` numbers
/// from it.
fn fd_numbers(pid: u32, span: u64) -> (u64, usize) {
    let mut used: Vec<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fds")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    used.sort();
    let lowest_free = (0..).find(|n| used.binary_search(n).is_err()).unwrap_or(0);
    let above = used
        .iter()
        .filter(|n| (lowest_free..lowest_free + span).contains(*n))
        .count();
    (lowest_free, above)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// A command backend sleeping `secs`, so fences overlap.
fn sleeping_backend(spool: &Spool, secs: &str) -> std::path::PathBuf {
    spool.config(&format!(
        r#"
        [backends.cmd]
        type = "command"
        argv = ["/bin/sleep", "{secs}"]
        timeout_secs = 120
        [[topology]]
        nodes = ["*"]
        levels = ["cmd"]
        "#
    ))
}

/// Publishes `n` requests for distinct nodes and asserts that every one is answered success.
fn fence_all(spool: &Spool, d: &Daemon, n: usize, prefix: &str) {
    let names: Vec<_> = (0..n)
        .map(|i| spool.request(&format!("{prefix}-{i}"), Action::Off, LONG).0)
        .collect();
    let failed: Vec<_> = names
        .iter()
        .map(|name| spool.wait_response(name.as_str()))
        .filter(|r| r.outcome != Some(Outcome::Success))
        .map(|r| r.message)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {n} fences failed, first: {:?}\n{}",
        failed.len(),
        failed.first(),
        d.log_text()
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

const LONG: Duration = Duration::from_secs(180);

/// Regression: with the default soft limit (1024) and `max_concurrent = 600`, 265 of 600
/// fences failed for lack of file descriptors, with no attacker at all.
#[test]
fn max_concurrent_600_failed_fences_for_lack_of_file_descriptors() {
    let spool = spool();
    let cfg = sleeping_backend(&spool, "3");
    let cfg = cfg.to_str().expect("utf-8");
    let args = ["--config", cfg, "--max-concurrent", "600"];
    // A hard limit that cannot carry 600 is refused at load, with the formula.
    let out = limited(&spool, 1024, Some(1024), &args)
        .arg("--check-config")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("daemon.max_concurrent = 600 needs") && err.contains("at most 102"),
        "{err}"
    );
    // A hard limit that can: 600 overlapping backend children, none fails.
    assert!(
        hard_limit() >= 6000,
        "this test needs a hard RLIMIT_NOFILE of 6000"
    );
    let d = daemon(&spool).start_command(limited(&spool, 1024, None, &args));
    assert!(
        d.log_text().contains("soft limit 1024 raised"),
        "{}",
        d.log_text()
    );
    fence_all(&spool, &d, 600, "cn-600");
    assert!(spool.claimed_drained(DRAIN));
}

/// Holds `count` connections to the metrics port as an unprivileged user (nobody), replacing
/// each one the daemon closes, until killed: the attack of issue 10, #1.
pub struct Flood {
    _hog: Hog,
}

const FLOOD: &str = r#"
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, count = int(sys.argv[1]), int(sys.argv[2])
def conn():
    c = socket.socket()
    c.settimeout(0.5)
    try:
        c.connect(("127.0.0.1", port))
        c.setblocking(False)
        return c
    except OSError:
        c.close()
        return None
socks = []
while len(socks) < count:
    c = conn()
    if c:
        socks.append(c)
print(len(socks), flush=True)
while True:
    for i, c in enumerate(socks):
        try:
            if c is not None and c.recv(1) != b"":
                continue
        except BlockingIOError:
            continue
        except OSError:
            pass
        if c is not None:
            c.close()
        socks[i] = conn()
"#;

impl Flood {
    pub fn start(port: u16, count: usize) -> Flood {
        let args = [port.to_string(), count.to_string()];
        let (hog, held) = Hog::start(FLOOD, &[&args[0], &args[1]], NOBODY);
        assert_eq!(held, count.to_string(), "connections held");
        Flood { _hog: hog }
    }
}

/// The unprivileged user the flood runs as.
const NOBODY: u32 = 65534;

/// Regression: a local user holding 3000 connections to the metrics port took the daemon to
/// its 1024 fds; fences were answered `invalid`, timed out, or their backend could not start.
#[test]
fn a_local_user_can_make_every_fence_fail() {
    let spool = spool();
    let cfg = sleeping_backend(&spool, "0.5");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let cfg = cfg.to_str().expect("utf-8");
    let args = ["--config", cfg, "--metrics-listen", &listen];
    let d = daemon(&spool).start_command(limited(&spool, 1024, None, &args));
    let baseline = open_fds(d.pid());
    let flood = Flood::start(port, 3000);
    let pid = d.pid();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(open_fds(pid));
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        })
    };
    fence_all(&spool, &d, 40, "cn-flood");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().expect("sampler");
    drop(flood);
    assert!(spool.claimed_drained(DRAIN));
    // The metrics cap (8 + 1) and 16 backend children (max_concurrent, 9 fds each at spawn)
    // over the baseline; without the cap the flood alone took it to the 1024 limit.
    let bound = baseline + 9 + 16 * 9 + 16;
    eprintln!("daemon fds: baseline {baseline}, peak {peak} under the flood");
    assert!(
        peak <= bound,
        "daemon fds peaked at {peak} (baseline {baseline}, bound {bound})"
    );
    assert!(scrape(port).contains("fence_watcher_requests_total"));
}

/// The metrics listener closes new connections while the fds in use reach the soft limit
/// minus the spool's reserve (32), so a fence still finds the descriptors it needs.
#[test]
fn the_metrics_listener_leaves_the_spool_its_reserve() {
    let spool = spool();
    let cfg = sleeping_backend(&spool, "0.1");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let cfg = cfg.to_str().expect("utf-8");
    let d = start(&spool, &["--config", cfg, "--metrics-listen", &listen]);
    assert!(scrape(port).contains("fence_watcher_in_flight"));
    // A soft limit just the reserve above the lowest free fd number: the next connection
    // would take the first fd of the reserve.
    // Fds numbered above the new limit (one inherited from the test's environment) take
    // nothing from below it.
    let reserve = 32;
    let (lowest_free, above) = fd_numbers(d.pid(), reserve);
    assert!(above < 8, "{above} fds open just above {lowest_free}");
    set_soft_nofile(d.pid(), lowest_free + reserve);
    let refused = (0..5).all(|_| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        std::io::Write::write_all(&mut s, b"GET /metrics HTTP/1.1\r\n\r\n").expect("send");
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut s, &mut out);
        out.is_empty()
    });
    assert!(
        refused,
        "the metrics endpoint answered inside the spool's reserve"
    );
    // The reserve is the spool's: a fence (a backend child and a response) still succeeds.
    fence_all(&spool, &d, 1, "cn-reserve");
    set_soft_nofile(d.pid(), hard_limit());
    assert!(scrape(port).contains("fence_watcher_requests_total"));
}
