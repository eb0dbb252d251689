use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{Action, Outcome};

use super::{LevelEnd, Metrics};

fn has(text: &str, line: &str) {
    assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
}

#[test]
fn renders_counters_gauge_and_histogram() {
    let m = Metrics::default();
    m.answered(Outcome::Success, Some(Action::Off), "ipmi");
    m.answered(Outcome::Invalid, None, "");
    m.backend_run(
        "ipmi",
        "ipmitool",
        LevelEnd::Success,
        Duration::from_millis(700),
    );
    m.fence_duration(Duration::from_millis(700));
    let g = m.in_flight();
    let p = m.pending();
    m.inotify_fallback(true);
    assert!(m.render().contains("\nfence_watcher_can_publish 1\n"));
    m.can_publish(false);
    m.simulated_routes(2);
    let text = m.render();
    drop((g, p));
    for line in [
        "fence_watcher_requests_total{outcome=\"success\",action=\"off\",backend=\"ipmi\"} 1",
        "fence_watcher_requests_total{outcome=\"invalid\",action=\"none\",backend=\"none\"} 1",
        "fence_watcher_invalid_requests_total 1",
        "fence_watcher_backend_runs_total{backend=\"ipmi\",result=\"success\"} 1",
        "fence_watcher_in_flight 1",
        "fence_watcher_pending_requests 1",
        "fence_watcher_inotify_fallback 1",
        "fence_watcher_can_publish 0",
        "fence_watcher_simulated_routes 2",
        "fence_watcher_fence_duration_seconds_bucket{le=\"0.5\"} 0",
        "fence_watcher_fence_duration_seconds_bucket{le=\"1\"} 1",
        "fence_watcher_fence_duration_seconds_count 1",
        "fence_watcher_backend_fence_duration_seconds_bucket{backend=\"ipmi\",kind=\"ipmitool\",le=\"0.5\"} 0",
        "fence_watcher_backend_fence_duration_seconds_bucket{backend=\"ipmi\",kind=\"ipmitool\",le=\"1\"} 1",
        "fence_watcher_backend_fence_duration_seconds_count{backend=\"ipmi\",kind=\"ipmitool\"} 1",
    ] {
        has(&text, line);
    }
    assert!(m.render().contains("fence_watcher_in_flight 0"));
    assert!(m.render().contains("fence_watcher_pending_requests 0"));
}

/// Before anything happened, every counter an alert takes `increase()` of already exists at 0
/// for every action and every backend of the routes: the first failure then is an increase.
#[test]
fn labelled_counters_start_at_zero_for_every_known_label_value() {
    let m = Metrics::default();
    m.known_backends(vec![
        ("bmc".into(), "ipmitool"),
        ("pdu".into(), "fence-agent"),
    ]);
    let text = m.render();
    for action in ["on", "off", "reboot"] {
        for backend in ["bmc", "pdu"] {
            for outcome in ["success", "failed"] {
                has(&text, &format!("fence_watcher_requests_total{{outcome=\"{outcome}\",action=\"{action}\",backend=\"{backend}\"}} 0"));
            }
        }
        for outcome in ["success", "failed", "expired", "cancelled"] {
            has(&text, &format!("fence_watcher_requests_total{{outcome=\"{outcome}\",action=\"{action}\",backend=\"none\"}} 0"));
        }
    }
    has(
        &text,
        "fence_watcher_requests_total{outcome=\"invalid\",action=\"none\",backend=\"none\"} 0",
    );
    for backend in ["bmc", "pdu"] {
        for result in ["success", "failure", "timeout"] {
            has(&text, &format!("fence_watcher_backend_runs_total{{backend=\"{backend}\",result=\"{result}\"}} 0"));
        }
        has(
            &text,
            &format!("fence_watcher_fallback_successes_total{{backend=\"{backend}\"}} 0"),
        );
    }
    has(&text, "fence_watcher_backend_fence_duration_seconds_count{backend=\"pdu\",kind=\"fence-agent\"} 0");
    has(
        &text,
        "fence_watcher_config_reloads_total{result=\"refused\"} 0",
    );
}

/// A reload brings the series of a new backend at 0 and keeps what was counted for one that
/// went away.
#[test]
fn a_reload_initialises_the_new_backends() {
    let m = Metrics::default();
    m.known_backends(vec![("old".into(), "ipmitool")]);
    m.answered(Outcome::Failed, Some(Action::Reboot), "old");
    m.known_backends(vec![("new".into(), "redfish")]);
    let text = m.render();
    has(
        &text,
        "fence_watcher_requests_total{outcome=\"failed\",action=\"reboot\",backend=\"new\"} 0",
    );
    has(
        &text,
        "fence_watcher_requests_total{outcome=\"failed\",action=\"reboot\",backend=\"old\"} 1",
    );
    has(
        &text,
        "fence_watcher_backend_runs_total{backend=\"new\",result=\"timeout\"} 0",
    );
    assert!(
        !text.contains("backend=\"old\",result="),
        "a backend gone, never run, keeps no series\n{text}"
    );
}

#[test]
fn a_timeout_a_fallback_and_the_build_are_their_own_series() {
    let m = Metrics::default();
    m.backend_run(
        "bmc",
        "ipmitool",
        LevelEnd::Timeout,
        Duration::from_secs(20),
    );
    m.backend_run(
        "pdu",
        "fence-agent",
        LevelEnd::Success,
        Duration::from_secs(1),
    );
    m.fell_back("pdu");
    let text = m.render();
    has(
        &text,
        "fence_watcher_backend_runs_total{backend=\"bmc\",result=\"timeout\"} 1",
    );
    assert!(
        !text.contains("backend=\"bmc\",result=\"failure\"} 1"),
        "{text}"
    );
    has(
        &text,
        "fence_watcher_fallback_successes_total{backend=\"pdu\"} 1",
    );
    has(
        &text,
        "fence_watcher_backend_fence_duration_seconds_sum{backend=\"bmc\",kind=\"ipmitool\"} 20",
    );
    has(
        &text,
        &format!(
            "fence_watcher_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
    );
}

#[test]
fn pending_counts_ages_and_deadlines_against_the_render_time() {
    let m = Metrics::default();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let older = m.pending.hold(t0);
    older.deadline(Some(t0 + Duration::from_secs(20)));
    let newer = m.pending.hold(t0 + Duration::from_secs(10));
    newer.deadline(Some(t0 + Duration::from_secs(60)));
    let text = m.render_at(t0 + Duration::from_secs(30));
    has(&text, "fence_watcher_pending_requests 2");
    has(&text, "fence_watcher_oldest_pending_age_seconds 30");
    has(&text, "fence_watcher_pending_past_deadline 1");
    drop(older);
    let text = m.render_at(t0 + Duration::from_secs(30));
    has(&text, "fence_watcher_oldest_pending_age_seconds 20");
    has(&text, "fence_watcher_pending_past_deadline 0");
    drop(newer);
    let text = m.render_at(t0 + Duration::from_secs(30));
    has(&text, "fence_watcher_pending_requests 0");
    has(&text, "fence_watcher_oldest_pending_age_seconds 0");
}

#[test]
fn the_heartbeat_timestamp_is_zero_until_the_first_and_then_now() {
    let m = Metrics::default();
    has(&m.render(), "fence_watcher_heartbeat_timestamp_seconds 0");
    let before = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    m.heartbeat();
    let text = m.render();
    let value: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("fence_watcher_heartbeat_timestamp_seconds "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!(value >= before.floor(), "{value} < {before}");
}

/// Every sample belongs to a family declared by a `# TYPE` line before it, no series appears
/// twice, and a histogram's samples are its `_bucket`, `_sum` and `_count`: what Prometheus
/// needs to accept the scrape.
#[test]
fn the_exposition_is_well_formed() {
    let m = Metrics::default();
    m.known_backends(vec![("a\"b".into(), "ipmitool")]);
    m.answered(Outcome::Success, Some(Action::On), "a\"b");
    let text = m.render();
    let mut families = std::collections::BTreeMap::new();
    let mut series = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(
                families.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{name} twice"
            );
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (key, value) = line.rsplit_once(' ').unwrap_or((line, ""));
        assert!(value.parse::<f64>().is_ok(), "bad value in {line}");
        assert!(series.insert(key.to_owned()), "{key} twice");
        let name = key.split('{').next().unwrap_or(key);
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|s| name.strip_suffix(s))
            .find(|f| families.get(*f).is_some_and(|k| k == "histogram"))
            .unwrap_or(name);
        assert!(
            families.contains_key(family),
            "{name} has no TYPE before it"
        );
    }
    assert!(
        text.contains("backend=\"a\\\"b\""),
        "label values are escaped\n{text}"
    );
}

/// The README's metrics table names every family of the exposition with its type, so the
/// operator's reference cannot fall behind the code.
#[test]
fn the_readme_lists_every_family_with_its_type() {
    let readme = include_str!("../../../README.md");
    let m = Metrics::default();
    m.known_backends(vec![("b".into(), "ipmitool")]);
    let text = m.render();
    let families: Vec<_> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    assert!(families.len() >= 20, "{families:?}");
    for (name, kind) in families {
        let row = format!("| `{name}` | {kind} |");
        assert!(
            readme.contains(&row),
            "crates/watcher/README.md lacks the row {row}"
        );
    }
}

/// Every update method is called somewhere in the daemon: a metric nobody updates would
/// sit at zero and mislead whoever reads the dashboard.
#[test]
fn every_metric_is_updated_somewhere() {
    let sources = [
        include_str!("../../requests/context.rs"),
        include_str!("../../requests/handle.rs"),
        include_str!("../../requests/respond.rs"),
        include_str!("../../requests/recovery.rs"),
        include_str!("../../runtime/mod.rs"),
        include_str!("../../runtime/reload.rs"),
        include_str!("../../fencing/schedule.rs"),
        include_str!("../../fencing/topology.rs"),
        include_str!("../../fencing/after_fence.rs"),
        include_str!("../../health/round.rs"),
    ]
    .concat();
    for method in [
        ".answered(",
        ".backend_run(",
        ".fell_back(",
        ".known_backends(",
        ".in_flight()",
        ".pending()",
        ".deadline(",
        ".heartbeat()",
        ".inotify_fallback(",
        ".can_publish(",
        ".simulated_routes(",
        ".fence_duration(",
        ".rejected_file(",
        ".coalesced(",
        ".already_answered(",
        ".recovered(",
        ".after_fence_failed(",
        ".reload(",
        "probes.probed(",
        "probes.round(",
    ] {
        assert!(sources.contains(method), "no caller of Metrics{method}");
    }
}
