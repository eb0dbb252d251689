//! The shipped Grafana dashboard and alert rules name only series a real `fence_watcher`
//! exports: every `fence_watcher_*` name in their expressions is a sample name of the
//! exposition of a running daemon that has answered a fence (issue 15). A renamed metric would
//! otherwise leave an empty panel or an alert that can never fire.

use std::collections::BTreeSet;

use gfs2_fence_protocol::Action;
use system_tests::Spool;

use system_tests::wait_for;

use crate::prometheus::{daemon_with_metrics, get, packaging, PATIENCE};

/// The failing route, probed too (its `status_argv` fails: the level is down), so that the
/// exposition has the probe series the rules and the dashboard use.
const PROBED: &str = "[health]\ninterval_secs = 1\nnodes = [\"cn-1\"]\n\
    [backends.bad]\ntype = \"command\"\nargv = [\"/bin/false\"]\nstatus_argv = [\"/bin/false\"]\n\
    [[topology]]\nnodes = [\"cn-*\"]\nlevels = [\"bad\"]\n";

/// Every `fence_watcher_*` identifier in `expr`.
fn names(expr: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("fence_watcher_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        found.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    found
}

/// Every string under a key `expr` or `query`, anywhere in the dashboard.
fn expressions(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v.as_str()) {
                    ("expr" | "query" | "definition", Some(s)) => out.push(s.to_owned()),
                    _ => expressions(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| expressions(v, out)),
        _ => {}
    }
}

/// The sample names of a real daemon's exposition, after one answered fence and a probe round.
fn exported() -> BTreeSet<String> {
    let spool = Spool::new();
    let (_d, port) = daemon_with_metrics(&spool, PROBED);
    let (name, _) = spool.request("cn-1", Action::Off, std::time::Duration::from_secs(60));
    spool.wait_response(name.as_str());
    let text = wait_for(PATIENCE, || {
        get(port, "/metrics").filter(|t| t.contains("fence_watcher_backend_up{"))
    })
    .expect("the probe series in the metrics");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_dashboard_and_the_rules_name_only_series_the_daemon_exports() {
    let exported = exported();
    let text = std::fs::read_to_string(packaging("grafana/gfs2-fencing.json")).expect("read");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    expressions(&dashboard, &mut exprs);
    let panels = dashboard["panels"].as_array().cloned().unwrap_or_default();
    assert!(panels.len() >= 10, "a dashboard of {} panels", panels.len());
    for p in &panels {
        let targets = p["targets"].as_array().map_or(0, Vec::len);
        assert!(targets > 0, "panel {} queries nothing", p["title"]);
    }
    let rules = std::fs::read_to_string(packaging("prometheus/gfs2-fencing.rules.yml"))
        .expect("read the rules");
    let rule_exprs: Vec<String> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .map(str::to_owned)
        .collect();
    assert_eq!(rule_exprs.len(), 10, "one expression per alert");
    for (what, exprs) in [("dashboard", &exprs), ("rules", &rule_exprs)] {
        let used: BTreeSet<String> = exprs.iter().flat_map(|e| names(e)).collect();
        assert!(used.len() >= 8, "the {what} use only {used:?}");
        let unknown: Vec<_> = used.iter().filter(|n| !exported.contains(*n)).collect();
        assert!(
            unknown.is_empty(),
            "the {what} use {unknown:?}, which the daemon does not export:\n{exported:?}"
        );
    }
}

#[test]
fn names_finds_every_series_of_an_expression() {
    let e = "sum(rate(fence_watcher_a_bucket{x=\"fence_watcher_no\"}[5m])) / fence_watcher_b";
    let found: Vec<_> = names(e).into_iter().collect();
    assert_eq!(
        found,
        [
            "fence_watcher_a_bucket",
            "fence_watcher_b",
            "fence_watcher_no"
        ]
    );
}
