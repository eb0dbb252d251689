//! NNF's `fence_nnf` through the `fence-agent` backend, with the configuration block of
//! docs/fencing-nnf.md as written: its option names checked against the real `fence_nnf -o
//! metadata` (run with Debian's fencing.py), `fence_watcher --check-config` on it, and an `off`
//! through the real agent and daemon up to fence_nnf's first Kubernetes API call.
//!
//! No Kubernetes API server can run on these machines, so the API call is made to a loopback
//! port where nothing listens: the fence must fail, and the response must name the host and
//! the port. fence_nnf is packaged nowhere CI installs from and this project ships no copy of
//! it: the tests need `FENCE_NNF` (NearNodeFlash fence-agents' `agents/nnf/fence_nnf.py`,
//! rendered here as its build renders it) or an installed `/usr/sbin/fence_nnf`, plus
//! `python3-kubernetes`; without them they skip loudly, under `CI=true` too.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use system_tests::{bins, peers, Agent, Daemon, Spool};

const CI_LACKS: &str = "fence_nnf has no Debian or PyPI package and is not vendored here";

/// The agent to run: `/usr/sbin/fence_nnf`, or `$FENCE_NNF` rendered into `dir` (`@PYTHON@`,
/// `@FENCEAGENTSLIBDIR@` replaced as fence-agents' build does).
fn agent(test: &str, dir: &Path) -> Option<PathBuf> {
    let installed = Path::new("/usr/sbin/fence_nnf");
    let source = std::env::var_os("FENCE_NNF").map(PathBuf::from);
    let found = installed.exists() || source.as_ref().is_some_and(|s| s.exists());
    let kubernetes = Command::new("/usr/bin/python3")
        .args(["-c", "import kubernetes"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let needs = [
        (
            found,
            "fence_nnf is not installed and FENCE_NNF names no file".to_owned(),
        ),
        peers::installed("/usr/share/fence/fencing.py"),
        (kubernetes, "python3-kubernetes is not installed".to_owned()),
    ];
    if !peers::require_or_skip_in_ci(test, &needs, CI_LACKS) {
        return None;
    }
    if installed.exists() {
        return Some(installed.to_owned());
    }
    let text = std::fs::read_to_string(source?).expect("read FENCE_NNF");
    let rendered = text
        .replace("@PYTHON@", "/usr/bin/python3")
        .replace("@FENCEAGENTSLIBDIR@", "/usr/share/fence");
    let path = dir.join("fence_nnf");
    std::fs::write(&path, rendered).expect("write fence_nnf");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Some(path)
}

/// The first ```toml block of docs/fencing-nnf.md.
fn documented() -> String {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/fencing-nnf.md");
    let text = std::fs::read_to_string(&page).expect("docs/fencing-nnf.md");
    let start = text.find("```toml\n").expect("a toml block") + 8;
    let len = text[start..].find("```").expect("its end");
    text[start..start + len].to_owned()
}

/// The documented block with `agent`, the API server's address and the two files replaced.
fn local(text: &str, agent: &Path, port: u16, dir: &Path) -> String {
    let token = dir.join("nnf-service-token");
    std::fs::write(&token, "tok3n-never-shown").expect("token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let cert = dir.join("nnf-ca.pem");
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=k8s",
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{out:?}");
    let swaps = [
        ("agent = ", format!("{:?}", agent.display().to_string())),
        ("kubernetes_service_host = ", "\"127.0.0.1\"".to_owned()),
        ("kubernetes_service_port = ", port.to_string()),
        (
            "service_token_file = ",
            format!("{:?}", token.display().to_string()),
        ),
        (
            "service_cert_file = ",
            format!("{:?}", cert.display().to_string()),
        ),
    ];
    let mut lines = Vec::new();
    for line in text.lines() {
        let swap = swaps.iter().find(|(k, _)| line.starts_with(k));
        lines.push(match swap {
            Some((k, v)) => format!("{k}{v}"),
            None => line.to_owned(),
        });
    }
    lines.join("\n") + "\n"
}

/// `(name, deprecated, required)` of every parameter, and the actions, of `-o metadata`.
fn metadata(agent: &Path) -> (Vec<(String, bool, bool)>, Vec<String>) {
    let out = Command::new(agent)
        .args(["-o", "metadata"])
        .output()
        .expect("run fence_nnf");
    assert!(out.status.success(), "{out:?}");
    let xml = String::from_utf8_lossy(&out.stdout).into_owned();
    let attr = |line: &str, key: &str| {
        let from = line.find(&format!("{key}=\""))? + key.len() + 2;
        Some(line[from..from + line[from..].find('"')?].to_owned())
    };
    let mut params = Vec::new();
    let mut actions = Vec::new();
    for line in xml.lines().map(str::trim) {
        if line.starts_with("<parameter ") {
            let name = attr(line, "name").expect("parameter name");
            let deprecated = attr(line, "deprecated").is_some_and(|v| v == "1");
            let required = attr(line, "required").is_some_and(|v| v == "1");
            params.push((name, deprecated, required));
        } else if line.starts_with("<action ") {
            actions.push(attr(line, "name").expect("action name"));
        }
    }
    (params, actions)
}

/// The keys of the `params` and `nodes.*` tables of the block.
fn documented_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut in_params = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_params = line == "[backends.nnf.params]" || line.starts_with("[backends.nnf.nodes.");
        } else if in_params && !line.starts_with('#') {
            if let Some((k, _)) = line.split_once(" = ") {
                keys.push(k.to_owned());
            }
        }
    }
    keys
}

/// Promise: every option of the documented configuration is a current (not deprecated) option
/// of the real fence_nnf, every option it requires is set, the actions the page describes are
/// the agent's, and `fence_watcher --check-config` accepts the block.
#[test]
fn fence_nnf_documented_configuration_matches_its_metadata() {
    let test = "fence_nnf_documented_configuration_matches_its_metadata";
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(agent) = agent(test, dir.path()) else {
        return;
    };
    let (params, actions) = metadata(&agent);
    let text = documented();
    let keys = documented_keys(&text);
    assert!(keys.contains(&"nnf_node_name".to_owned()), "{keys:?}");
    for key in &keys {
        let p = params.iter().find(|(n, _, _)| n == key);
        assert!(
            matches!(p, Some((_, false, _))),
            "{key}: {p:?} in {params:?}"
        );
    }
    for (name, deprecated, required) in &params {
        if *required && !deprecated && name != "action" {
            assert!(keys.contains(name), "required {name} is not configured");
        }
    }
    for a in ["off", "on", "reboot", "status", "monitor"] {
        assert!(actions.contains(&a.to_owned()), "{a} in {actions:?}");
    }
    let cfg = dir.path().join("fence-watcher.toml");
    std::fs::write(&cfg, local(&text, &agent, 6443, dir.path())).expect("config");
    let out = Command::new(bins::watcher())
        .arg("--config")
        .arg(&cfg)
        .arg("--check-config")
        .output()
        .expect("fence_watcher");
    assert!(out.status.success(), "--check-config: {out:?}");
}

/// Promise: an `off` through agent, daemon and fence_nnf with nothing listening at the API
/// server's address is a failure whose response names the host and the port (and never the
/// service token).
#[test]
fn fence_nnf_refused_api_server_fails_naming_host_and_port() {
    let test = "fence_nnf_refused_api_server_fails_naming_host_and_port";
    let spool = Spool::new();
    let Some(agent) = agent(test, spool.root()) else {
        return;
    };
    let port = system_tests::free_port();
    let text = local(&documented(), &agent, port, spool.root());
    let cfg = spool.write("fence-watcher.toml", &text, 0o640);
    let daemon = Daemon::start(&spool, &["--config", &cfg.display().to_string()]);
    Agent::new(&spool, "off", "compute-node-3", 90)
        .run()
        .assert_code(1, "off with the API server down");
    let (_, r) = spool.response_for("compute-node-3");
    assert!(!r.success, "{r:?}");
    let msg = &r.levels[0].message;
    assert!(
        msg.contains("host='127.0.0.1'") && msg.contains(&format!("port={port}")),
        "{r:?}\n{}",
        daemon.log_text()
    );
    assert!(
        msg.contains("/api/v1/nodes/rabbit-node-3"),
        "the node's NNF name from nodes.compute-node-3: {r:?}"
    );
    assert!(!daemon.log_text().contains("tok3n-never-shown"));
}
