//! `discover` end to end: every source together, merging, and the failure paths with real
//! processes (slow, failing, garbage-printing, missing). `dlm_tool` and `kubectl` cannot run here
//! (no kernel DLM, no Kubernetes API server): small shell stand-ins print the fixture outputs
//! (tests/fixtures/README.md says where each format comes from) or misbehave on purpose.

use std::fs;
use std::time::{Duration, Instant};

use crate::support::{config, fixture, have, script, with_cib};
use gfs2_discovery::{discover, Source};
use gfs2_fence_protocol::NodeName;

fn node(n: &str) -> NodeName {
    NodeName::parse(n).unwrap()
}

fn cat(path: &std::path::Path) -> String {
    format!("cat '{}'", path.display())
}

#[test]
fn all_four_sources_merge_by_shared_identifiers() {
    if !have("crm_mon", "all_four_sources_merge_by_shared_identifiers") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = with_cib(config(&Source::ALL), "running.xml");
    cfg.dlm_tool = script(dir.path(), "dlm_tool", &cat(&fixture("dlm/ls.txt")));
    cfg.kubectl = script(
        dir.path(),
        "kubectl",
        &cat(&fixture("nnf/nnfstorages.json")),
    );
    let d = discover(&node("cn2"), &cfg);
    assert_eq!(d.errors, vec![], "{d:?}");
    let got: Vec<(&str, Vec<&str>)> = d
        .filesystems
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.sources.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            // Pacemaker's mount point, mountinfo's mount point + lock table, DLM's lockspace.
            (
                "shared",
                vec!["pacemaker:fs-shared", "dlm", "mounts:/mnt/shared"]
            ),
            ("data", vec!["pacemaker:fs-data", "mounts:/mnt/data"]),
            // Nothing ties a Pacemaker mount point to a lockspace unless the filesystem is
            // mounted on this node: two entries, by design.
            ("/mnt/scratch", vec!["pacemaker:fs-scratch"]),
            ("scratch", vec!["dlm"]),
            ("wf-gfs2-a-0", vec!["nnf:default/wf-gfs2-a-0"]),
            ("wf-gfs2-b-0", vec!["nnf:jobs/wf-gfs2-b-0"]),
        ]
    );
    assert_eq!(d.reason, None);
    assert!(d.enabled);
}

#[test]
fn dlm_lockspaces_of_the_target_node_id_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&[Source::Dlm]);
    cfg.dlm_tool = script(dir.path(), "dlm_tool", &cat(&fixture("dlm/ls.txt")));
    // cn1 is nodeid 1: member of `shared` (and of lvm_global, which is not GFS2).
    assert_eq!(discover(&node("cn1"), &cfg).names(), vec!["shared"]);
    assert_eq!(
        discover(&node("cn2"), &cfg).names(),
        vec!["shared", "scratch"]
    );
    assert!(discover(&node("cn4"), &cfg).names().is_empty());
    let unknown = discover(&node("cn9"), &cfg);
    assert_eq!(unknown.errors.len(), 1);
    assert!(
        unknown.errors[0]
            .reason
            .ends_with("no node named cn9 in nodelist"),
        "{unknown:?}"
    );
}

/// corosync has no quoting: the fixture's `name: "cn3"` names a node `"cn3"`, quotes included,
/// so `cn3` has no node id (as corosync and the after-fence `{nodeid}` see it) and DLM is not
/// asked. A corosync.conf that corosync would refuse is recorded with its line.
#[test]
fn dlm_reads_corosync_conf_with_corosyncs_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&[Source::Dlm]);
    cfg.dlm_tool = script(dir.path(), "dlm_tool", &cat(&fixture("dlm/ls.txt")));
    let quoted = discover(&node("cn3"), &cfg);
    assert!(quoted.names().is_empty());
    assert!(
        quoted.errors[0]
            .reason
            .ends_with("no node named cn3 in nodelist"),
        "{quoted:?}"
    );
    cfg.corosync_conf = dir.path().join("corosync.conf");
    fs::write(&cfg.corosync_conf, "nodelist {\n node { name: cn1\n }\n}\n").unwrap();
    let refused = discover(&node("cn1"), &cfg);
    assert_eq!(
        refused.errors[0].reason,
        format!(
            "{}: line 2: extra characters after opening bracket '{{'",
            cfg.corosync_conf.display()
        )
    );
}

#[test]
fn dlm_tool_printing_garbage_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&[Source::Dlm, Source::Mounts]);
    cfg.dlm_tool = script(dir.path(), "dlm_tool", "echo 'dlm_controld is not running'");
    let d = discover(&node("cn2"), &cfg);
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].source, "dlm");
    assert_eq!(
        d.errors[0].reason,
        "dlm_tool ls output has no 'dlm lockspaces' header"
    );
    assert_eq!(
        d.names(),
        vec!["shared", "data"],
        "the mounts source still counts"
    );
    assert_eq!(d.reason.as_deref(), Some("partial: 1 source problem(s)"));
}

#[test]
fn failing_and_missing_commands_are_recorded_with_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&[Source::Dlm, Source::Nnf]);
    cfg.dlm_tool = script(
        dir.path(),
        "dlm_tool",
        "echo 'dlm_tool: cannot connect to dlm_controld' >&2; exit 1",
    );
    let d = discover(&node("cn2"), &cfg);
    assert!(d.filesystems.is_empty());
    let reasons: Vec<(&str, &str)> = d
        .errors
        .iter()
        .map(|e| (e.source.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                "dlm",
                "dlm_tool exited with exit status: 1: dlm_tool: cannot connect to dlm_controld"
            ),
            ("nnf", "kubectl not found"),
        ]
    );
    assert_eq!(
        d.reason.as_deref(),
        Some("no gfs2 filesystem found for cn2; 2 source problem(s)")
    );
}

#[test]
fn kubectl_gets_namespace_kubeconfig_and_its_own_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let args = dir.path().join("args");
    let body = format!(
        "echo \"$@\" > '{}'\n{}",
        args.display(),
        cat(&fixture("nnf/nnfstorages.json"))
    );
    let mut cfg = config(&[Source::Nnf]);
    cfg.kubectl = script(dir.path(), "kubectl", &body);
    cfg.kubeconfig = Some("/etc/nnf/kubeconfig".into());
    cfg.nnf_namespace = Some("jobs".into());
    cfg.source_timeout = Duration::from_secs(5);
    let d = discover(&node("rabbit-node-2"), &cfg);
    assert_eq!(d.names(), vec!["wf-gfs2-a-0", "wf-gfs2-b-0"]);
    let got = fs::read_to_string(&args).unwrap();
    assert!(
        got.starts_with("get nnfstorages -o json --request-timeout="),
        "{got}"
    );
    assert!(
        got.trim_end()
            .ends_with("-n jobs --kubeconfig /etc/nnf/kubeconfig"),
        "{got}"
    );
}

#[test]
fn hung_kubectl_costs_only_the_budget_and_others_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&[Source::Nnf, Source::Mounts]);
    cfg.kubectl = script(dir.path(), "kubectl", "sleep 30");
    cfg.budget = Duration::from_millis(1500);
    let started = Instant::now();
    let d = discover(&node("cn2"), &cfg);
    let took = started.elapsed();
    // Generous bound (a busy 2-core machine); the tight numbers are in the benchmark.
    assert!(took < cfg.budget + Duration::from_secs(3), "took {took:?}");
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].source, "nnf");
    assert!(
        d.errors[0].reason.starts_with("kubectl timed out after"),
        "{:?}",
        d.errors
    );
    assert_eq!(d.names(), vec!["shared", "data"]);
    assert!(d.elapsed_ms >= 1000, "elapsed_ms {}", d.elapsed_ms);
}

#[test]
fn source_timeout_is_per_source_inside_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&[Source::Dlm, Source::Nnf]);
    cfg.dlm_tool = script(dir.path(), "dlm_tool", "sleep 30");
    cfg.kubectl = script(
        dir.path(),
        "kubectl",
        &format!("sleep 1; {}", cat(&fixture("nnf/nnfstorages.json"))),
    );
    cfg.budget = Duration::from_secs(20);
    cfg.source_timeout = Duration::from_secs(4);
    let started = Instant::now();
    let d = discover(&node("cn2"), &cfg);
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(d.errors.len(), 1, "{d:?}");
    // The time left of its 4 s slice when dlm_tool started (after reading corosync.conf).
    let ms: u64 = d.errors[0]
        .reason
        .strip_prefix("dlm_tool timed out after ")
        .and_then(|r| r.strip_suffix(" ms"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{:?}", d.errors));
    assert!((3000..=4000).contains(&ms), "{ms}");
    assert_eq!(
        d.names(),
        vec!["wf-gfs2-a-0", "wf-gfs2-b-0"],
        "slow but in time: kept"
    );
}

#[test]
fn a_source_stuck_outside_any_command_is_cut_at_the_budget() {
    // A FIFO nobody writes to: reading it blocks forever, with no child process to kill.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("mountinfo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let mut cfg = config(&[Source::Mounts]);
    cfg.mountinfo = fifo;
    cfg.budget = Duration::from_millis(800);
    let started = Instant::now();
    let d = discover(&node("cn2"), &cfg);
    assert!(started.elapsed() < cfg.budget + Duration::from_secs(3));
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].reason, "timed out (budget of 800 ms)");
}

#[test]
fn sources_in_configured_order_and_json_shape() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&[Source::Mounts, Source::Dlm]);
    cfg.dlm_tool = script(dir.path(), "dlm_tool", &cat(&fixture("dlm/ls.txt")));
    let d = discover(&node("cn2"), &cfg);
    assert_eq!(d.names(), vec!["shared", "data", "scratch"]);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["enabled"], true);
    assert_eq!(
        json["filesystems"][0],
        serde_json::json!({"name": "shared", "sources": ["mounts:/mnt/shared", "dlm"]})
    );
    assert_eq!(json["errors"], serde_json::json!([]));
    assert!(json["elapsed_ms"].is_u64());
}

#[test]
fn real_kubectl_against_a_silent_api_server_is_cut_in_time() {
    if !crate::support::have_kubectl("real_kubectl_against_a_silent_api_server_is_cut_in_time") {
        return;
    }
    // A loopback listener whose backlog accepts TCP connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             contexts:\n- name: t\n  context:\n    cluster: t\n    user: u\ncurrent-context: t\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let mut cfg = config(&[Source::Nnf, Source::Mounts]);
    cfg.kubectl = "kubectl".into();
    cfg.kubeconfig = Some(kubeconfig);
    cfg.budget = Duration::from_secs(2);
    cfg.source_timeout = Duration::from_millis(1500);
    let started = Instant::now();
    let d = discover(&node("cn2"), &cfg);
    assert!(
        started.elapsed() < cfg.budget + Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(d.errors.len(), 1, "{d:?}");
    assert_eq!(d.errors[0].source, "nnf");
    assert!(d.errors[0].reason.starts_with("kubectl "), "{:?}", d.errors);
    assert_eq!(d.names(), vec!["shared", "data"]);
    drop(listener);
}
