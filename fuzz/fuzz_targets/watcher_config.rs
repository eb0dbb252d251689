//! Fuzzes the daemon's configuration: the TOML file into a validated `Config`
//! (`fence_watcher::config`, `crates/watcher/src/config/`), then every `[backends.NAME]` table
//! built into a backend (`fence_watcher::backend`), as `fence_watcher --check-config` does.
//!
//! Invariants: a configuration that loads has what the daemon needs to fence (a backend and a
//! route, distinct spool directories, sane daemon numbers, a loopback metrics address, routes
//! that name existing backends with valid patterns); every error is one line (it goes to the
//! journal and to `--check-config`'s output) without raw control characters.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use fence_watcher::config::{self, Cli};
use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for every input (load() reads a path).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::var_os("FUZZ_SCRATCH").map_or("/dev/shm".into(), PathBuf::from);
        dir.join(format!("gfs2-fuzz-config.{}.toml", std::process::id()))
    })
}

fn cli(path: PathBuf, simulate: bool) -> Cli {
    Cli {
        config: Some(path),
        request_dir: None,
        response_dir: None,
        simulate,
        simulate_delay: None,
        simulate_outcome: None,
        max_concurrent: None,
        heartbeat_interval: None,
        metrics_listen: None,
        log_format: None,
        check_config: true,
    }
}

fn one_clean_line(msg: &str) {
    assert!(
        !msg.chars().any(char::is_control),
        "error is not one clean line: {msg:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks --simulate, as a command line may add it to any file.
    let (simulate, text) = match data.split_first() {
        Some((b, rest)) => (b & 1 == 1, rest),
        None => (false, data),
    };
    let path = scratch();
    if std::fs::write(path, text).is_err() {
        return;
    }
    let loaded = config::load(&cli(path.clone(), simulate), &|_| None);
    let cfg = match loaded {
        Ok(c) => c,
        Err(e) => return one_clean_line(&e.to_string()),
    };
    assert!(!cfg.backends.is_empty() && !cfg.topology.is_empty());
    assert_ne!(cfg.request_dir, cfg.response_dir);
    let d = &cfg.daemon;
    assert!(d.max_concurrent >= 1);
    assert!((1..=3600).contains(&d.heartbeat_interval_secs));
    assert_ne!(d.response_retention_days, Some(0));
    assert!(d.metrics_listen.is_none_or(|a| a.ip().is_loopback()));
    if let Some(af) = &cfg.after_fence {
        assert!(af.command.first().is_some_and(|c| !c.is_empty()) && af.timeout_secs >= 1);
        // Validation parsed every argument's placeholders; the hook builds from them.
        assert!(fence_watcher::fencing::AfterFence::new(af).is_ok());
    }
    for entry in &cfg.topology {
        assert!(!entry.nodes.is_empty() && !entry.levels.is_empty());
        assert!(entry.nodes.iter().all(|p| glob::Pattern::new(p).is_ok()));
        assert!(entry.levels.iter().all(|l| cfg.backends.contains_key(l)));
    }
    if simulate {
        assert!(cfg.topology[0].nodes == ["*"] && cfg.topology[0].levels == ["simulate"]);
    }
    for (name, bc) in &cfg.backends {
        let _ = bc.timeout();
        if let Err(e) = bc.build(name) {
            one_clean_line(&e.to_string());
        }
    }
});
