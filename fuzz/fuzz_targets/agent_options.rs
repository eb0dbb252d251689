//! Fuzzes the agent's option parsing, both stages, through the agent library: Pacemaker's
//! `key=value` lines on standard input (and argv) into raw options (`parse`), then the checked
//! settings (`settings`).
//!
//! Invariants: every warning and error the agent would print or log is one line without raw
//! control characters (the input may try to forge a log line); an accepted invocation has a
//! valid target node, a positive bounded fence timeout, and usable paths.

#![no_main]

use std::time::Duration;

use fence_gfs2_recorder::{parse, settings};
use gfs2_fence_protocol::NodeName;
use libfuzzer_sys::fuzz_target;
use settings::{AgentAction, Invocation};

/// `settings.rs`'s upper bound for any number of seconds (a week).
const MAX_SECONDS: Duration = Duration::from_secs(7 * 86400);

fn one_clean_line(what: &str, msg: &str) {
    assert!(
        !msg.chars().any(char::is_control),
        "{what} has a raw control character: {msg:?}"
    );
}

fn check(raw: &parse::RawOptions) {
    for w in &raw.warnings {
        one_clean_line("warning", w);
    }
    let action = match settings::action(raw) {
        Ok(a) => a,
        Err(e) => return one_clean_line("action error", &e.0),
    };
    let no_env = |_: &str| None;
    match Invocation::new(action, raw, &no_env) {
        Err(e) => one_clean_line("usage error", &e.0),
        Ok(inv) => {
            let s = &inv.settings;
            if let Some(t) = &s.target {
                assert_eq!(NodeName::parse(t.as_str()).as_ref(), Ok(t));
            }
            let fences = matches!(inv.action.action, AgentAction::Fence(_) | AgentAction::Status);
            if fences || inv.action.needs_target {
                assert!(s.target.is_some(), "{} without a target", inv.action.name);
            }
            assert!(!s.fence_timeout.is_zero() && s.fence_timeout <= MAX_SECONDS);
            assert!(s.delay <= MAX_SECONDS);
            assert!(s.heartbeat_max_age.is_none_or(|d| d <= MAX_SECONDS));
            for p in [&s.request_dir, &s.response_dir, &s.log_dir] {
                assert!(!p.as_os_str().is_empty());
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(&parse::from_stdin(&text));
    let args: Vec<String> = text.split('\0').map(str::to_owned).collect();
    check(&parse::from_argv(&args));
});
