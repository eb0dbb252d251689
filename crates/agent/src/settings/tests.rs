//! Tests of the typed stage: precedence, messages naming the option, target rules.

use super::*;
use crate::options::by_key;
use crate::parse::from_stdin;

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

fn inv(
    stdin: &str,
    env: &'static [(&'static str, &'static str)],
) -> Result<Invocation, UsageError> {
    let raw = from_stdin(stdin);
    Invocation::new(action(&raw)?, &raw, &env_of(env))
}

#[test]
fn every_resolved_name_is_in_the_table() {
    for n in [
        "request_dir",
        "response_dir",
        "log_dir",
        "fence_timeout",
        "delay",
        "require_heartbeat",
        "heartbeat_max_age",
        "backend_health",
        "allow_simulate",
        "file_naming",
        "gfs2_discovery",
        "gfs2_sources",
        "gfs2_timeout",
        "kubeconfig",
        "nnf_namespace",
        "corosync_conf",
        "plug",
        "nodename",
    ] {
        assert_eq!(by_key(n).map(|o| o.name), Some(n));
    }
}

#[test]
fn parameters_win_over_environment_over_defaults() {
    let i = inv("action=reboot\nport=cn1\n", &[]).expect("defaults");
    assert_eq!(i.settings.fence_timeout, Duration::from_secs(60));
    assert_eq!(
        i.settings.request_dir,
        PathBuf::from(gfs2_fence_protocol::DEFAULT_REQUEST_DIR)
    );
    let env = &[
        ("FENCE_TIMEOUT", "40"),
        ("NNF_FENCE_REQUEST_DIR", "/nnf"),
        ("GFS2_DISCOVERY_ENABLED", "false"),
    ];
    let i = inv("port=cn1\n", env).expect("env");
    assert_eq!(i.settings.fence_timeout, Duration::from_secs(40));
    assert_eq!(i.settings.request_dir, PathBuf::from("/nnf"));
    assert!(i.settings.discovery.is_none());
    let i = inv("port=cn1\nfence_timeout=50\nrequest_dir=/p\n", env).expect("param");
    assert_eq!(i.settings.fence_timeout, Duration::from_secs(50));
    assert_eq!(i.settings.request_dir, PathBuf::from("/p"));
}

#[test]
fn bad_values_name_the_option() {
    let e = inv("port=cn1\nfence_timeout=abc\n", &[])
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
    assert_eq!(e, "fence_timeout: value \"abc\" is not a number of seconds");
    let e = inv("port=cn1\n", &[("FENCE_TIMEOUT", "-1")])
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
    assert!(
        e.starts_with("fence_timeout (from environment FENCE_TIMEOUT):"),
        "{e}"
    );
    let e = inv("port=cn1\ngfs2_sources=dlm,cib\n", &[])
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
    assert!(e.starts_with("gfs2_sources:") && e.contains("cib"), "{e}");
    let e = inv("port=cn1\nfile_naming=x\n", &[])
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
    assert!(e.starts_with("file_naming:"), "{e}");
    let e = inv("action=dance\n", &[])
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
    assert!(e.starts_with("action:"), "{e}");
}

#[test]
fn target_rules() {
    assert!(inv("action=off\n", &[]).is_err());
    assert!(inv("action=monitor\n", &[]).is_ok());
    let i = inv("nodename=cn1\nport=cn1-mapped\n", &[]).expect("plug wins");
    assert_eq!(
        i.settings.target.map(|t| t.to_string()),
        Some("cn1-mapped".into())
    );
    let e = inv("port=../x\n", &[])
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
    assert!(e.starts_with("plug: node name"), "{e}");
}

#[test]
fn seconds_forms() {
    assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
    assert_eq!(parse_seconds("50s"), Ok(Duration::from_secs(50)));
    for bad in ["", "abc", "-1", "nan", "inf", "1e9"] {
        assert!(parse_seconds(bad).is_err(), "{bad}");
    }
}

/// Issue 12: unset, `heartbeat_max_age` is left to the heartbeat's own interval; set (stdin or
/// environment), it overrides. `backend_health` is one of three words, `fail` by default.
#[test]
fn heartbeat_max_age_is_unset_by_default_and_backend_health_fails() {
    let i = inv("action=monitor\n", &[]).expect("defaults");
    assert_eq!(i.settings.heartbeat_max_age, None);
    assert_eq!(i.settings.backend_health, BackendHealth::Fail);
    let i = inv(
        "action=monitor\n",
        &[("HEARTBEAT_MAX_AGE", "90"), ("BACKEND_HEALTH", "warn")],
    )
    .expect("env");
    assert_eq!(i.settings.heartbeat_max_age, Some(Duration::from_secs(90)));
    assert_eq!(i.settings.backend_health, BackendHealth::Warn);
    let i = inv(
        "action=monitor\nheartbeat_max_age=5\nbackend_health=IGNORE\n",
        &[("HEARTBEAT_MAX_AGE", "90")],
    )
    .expect("param");
    assert_eq!(i.settings.heartbeat_max_age, Some(Duration::from_secs(5)));
    assert_eq!(i.settings.backend_health, BackendHealth::Ignore);
    let e = inv("action=monitor\n", &[("BACKEND_HEALTH", "loud\u{1b}")])
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
    assert!(
        e.starts_with("backend_health (from environment BACKEND_HEALTH): ")
            && e.contains("fail, warn or ignore")
            && !e.contains('\u{1b}'),
        "{e}"
    );
}
