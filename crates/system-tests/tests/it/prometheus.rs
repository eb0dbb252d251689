//! The monitoring of issue 15 with the real programs: Debian's `prometheus` scrapes a running
//! `fence_watcher` (a configuration this test writes, a free port, started and stopped by
//! PID), its HTTP API returns the daemon's series, and the shipped alert rules, loaded by that
//! server, fire `FenceFailed` on the daemon's first failed fence (the counter exists at 0
//! before it, so `increase()` sees it). `promtool check rules` and `promtool test rules` run on
//! the shipped files. Nothing is mocked.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gfs2_fence_protocol::Action;
use system_tests::{free_port, peers, procs, wait_for, Daemon, Spool};

/// Generous: Prometheus starts, scrapes every second and evaluates the rules every second.
pub const PATIENCE: Duration = Duration::from_secs(60);
const MINUTE: Duration = Duration::from_secs(60);

pub fn packaging(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging")
        .join(rel)
}

/// The body of `GET path` on loopback `port`, or `None` while nothing answers 200 there.
pub fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let ok = head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200");
    ok.then(|| body.to_owned())
}

/// A daemon on `spool` with `cfg` and its metrics on a free port.
pub fn daemon_with_metrics(spool: &Spool, cfg: &str) -> (Daemon, u16) {
    let cfg = spool.config(cfg);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let cfg = cfg.to_str().expect("utf-8");
    let d = Daemon::start(spool, &["--config", cfg, "--metrics-listen", &listen]);
    (d, port)
}

/// A route whose only level fails (a real `command` backend running `/bin/false`).
pub const FAILING: &str = "[backends.bad]\ntype = \"command\"\nargv = [\"/bin/false\"]\n\
    [[topology]]\nnodes = [\"cn-*\"]\nlevels = [\"bad\"]\n";

fn have(program: &str) -> (bool, String) {
    let found = Path::new("/usr/bin").join(program).exists();
    (
        found,
        format!("/usr/bin/{program} is missing (Debian package prometheus)"),
    )
}

/// A Prometheus server of our own, stopped by PID when dropped.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    /// Scrapes `target` every second as job `fence_watcher`, with the shipped rules.
    fn start(dir: &Path, target: u16) -> Prometheus {
        let rules = packaging("prometheus/gfs2-fencing.rules.yml");
        let config = dir.join("prometheus.yml");
        let text = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: fence_watcher\n    static_configs:\n      \
             - targets: ['127.0.0.1:{target}']\n",
            rules.display()
        );
        std::fs::write(&config, text).expect("write prometheus.yml");
        let port = free_port();
        let child = Command::new("/usr/bin/prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("log file"))
            .spawn()
            .expect("start prometheus");
        let p = Prometheus { child, port };
        let ready = wait_for(PATIENCE, || get(port, "/-/ready"));
        assert!(ready.is_some(), "prometheus not ready:\n{}", p.log(dir));
        p
    }

    fn log(&self, dir: &Path) -> String {
        std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
    }

    /// `/api/v1/<what>` as JSON, once it answers.
    fn api(&self, what: &str) -> Option<serde_json::Value> {
        let body = get(self.port, &format!("/api/v1/{what}"))?;
        serde_json::from_str(&body).ok()
    }

    /// The result vector of an instant query.
    fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let v = self.api(&format!("query?query={}", encode(promql)));
        let result = v.as_ref().and_then(|v| v["data"]["result"].as_array());
        result.cloned().unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        procs::stop_child(&mut self.child, Duration::from_secs(10));
    }
}

/// Percent-encoding of a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Debian's Prometheus scrapes the real daemon; its API returns the daemon's build series,
/// the zeroed failure counter, and, after one real failed fence, the `FenceFailed` alert of
/// the shipped rules; every rule of them is healthy in the server.
#[test]
fn prometheus_scrapes_the_daemon_and_the_rules_fire_on_its_first_failed_fence() {
    let test = "prometheus_scrapes_the_daemon_and_the_rules_fire_on_its_first_failed_fence";
    if !peers::require(test, &[have("prometheus")]) {
        return;
    }
    let spool = Spool::new();
    let (_d, metrics) = daemon_with_metrics(&spool, FAILING);
    let dir = tempfile::tempdir().expect("temp dir");
    let prom = Prometheus::start(dir.path(), metrics);

    let build = wait_for(PATIENCE, || {
        let r = prom.query("fence_watcher_build_info");
        (!r.is_empty()).then_some(r)
    });
    let build = build.unwrap_or_else(|| panic!("no build_info scraped:\n{}", prom.log(dir.path())));
    assert_eq!(build.len(), 1, "{build:?}");
    assert_eq!(
        build[0]["metric"]["version"],
        env!("CARGO_PKG_VERSION"),
        "{build:?}"
    );
    assert_eq!(build[0]["metric"]["job"], "fence_watcher", "{build:?}");
    assert_eq!(build[0]["value"][1], "1", "{build:?}");
    let failed = r#"fence_watcher_requests_total{outcome="failed",action="off",backend="bad"}"#;
    let zero = prom.query(failed);
    assert_eq!(
        zero.len(),
        1,
        "the failure counter is scraped before any failure: {zero:?}"
    );
    assert_eq!(zero[0]["value"][1], "0", "{zero:?}");
    let up = prom.query(r#"up{job="fence_watcher"}"#);
    assert_eq!(
        up.first().map(|u| &u["value"][1]),
        Some(&"1".into()),
        "{up:?}"
    );

    let (name, _) = spool.request("cn-1", Action::Off, MINUTE);
    assert!(!spool.wait_response(name.as_str()).success);
    let fired = wait_for(PATIENCE, || {
        let alerts = prom.api("alerts")?;
        let alerts = alerts["data"]["alerts"].as_array()?.clone();
        alerts.into_iter().find(|a| {
            a["labels"]["alertname"] == "FenceFailed"
                && a["labels"]["backend"] == "bad"
                && a["labels"]["action"] == "off"
                && a["state"] == "firing"
        })
    });
    let fired = fired.unwrap_or_else(|| {
        panic!(
            "FenceFailed never fired: {:?}\n{}",
            prom.api("alerts"),
            prom.log(dir.path())
        )
    });
    assert_eq!(fired["labels"]["severity"], "critical", "{fired}");
    let description = fired["annotations"]["description"].as_str().unwrap_or("");
    assert!(description.contains("docs/runbooks.md#"), "{fired}");

    let rules = prom.api("rules").expect("rules");
    let groups = rules["data"]["groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let all: Vec<_> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(all.len(), 10, "every shipped rule is loaded: {rules}");
    for r in &all {
        assert_eq!(r["health"], "ok", "{r}");
    }
    let pid = prom.child.id();
    drop(prom);
    assert!(!procs::alive(pid), "prometheus {pid} still runs");
}

/// `promtool check rules` accepts the shipped rules, and `promtool test rules` passes their
/// unit tests (each alert firing where it must, silent where it must not).
#[test]
fn promtool_checks_the_rules_and_passes_their_unit_tests() {
    if !peers::require(
        "promtool_checks_the_rules_and_passes_their_unit_tests",
        &[have("promtool")],
    ) {
        return;
    }
    let dir = packaging("prometheus");
    for args in [
        ["check", "rules", "gfs2-fencing.rules.yml"],
        ["test", "rules", "tests.yml"],
    ] {
        let out = Command::new("/usr/bin/promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("run promtool");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool {args:?}:\n{text}");
        assert!(text.contains("SUCCESS"), "promtool {args:?}:\n{text}");
    }
}
