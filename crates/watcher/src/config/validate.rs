//! The checks a configuration must pass before anything runs: every message names the key.

use super::{Config, ConfigError, DEFAULT_CONFIG};

pub(super) fn validate(cfg: &Config) -> Result<(), ConfigError> {
    let bad = |m: String| Err(ConfigError::Invalid(m));
    if cfg.backends.is_empty() || cfg.topology.is_empty() {
        return bad(format!(
            "no fencing backend is configured, so fence_watcher refuses to start (it would answer \
             every request with a failure); configure a [backends.NAME] table and a [[topology]] \
             entry in {DEFAULT_CONFIG} (every key: man 5 fence-watcher.toml; an example: \
             /usr/share/doc/gfs2-fencing/fence-watcher.toml.example), or pass --simulate for a \
             demo that fences nothing"
        ));
    }
    if cfg.request_dir == cfg.response_dir {
        return bad("spool.request_dir and spool.response_dir must differ".into());
    }
    let d = &cfg.daemon;
    if d.max_concurrent == 0 {
        return bad("daemon.max_concurrent must be at least 1".into());
    }
    super::fds::check(
        d.max_concurrent,
        cfg.after_fence.is_some(),
        super::fds::hard_limit(),
    )?;
    if d.heartbeat_interval_secs == 0 || d.heartbeat_interval_secs > 3600 {
        return bad("daemon.heartbeat_interval_secs must be between 1 and 3600".into());
    }
    if d.response_retention_days == Some(0) {
        return bad(
            "daemon.response_retention_days must be at least 1 (omit it to keep every response)"
                .into(),
        );
    }
    if let Some(addr) = d.metrics_listen {
        if !addr.ip().is_loopback() {
            return bad(format!(
                "daemon.metrics_listen {addr} is not a loopback address (use 127.0.0.1 or ::1; \
                 metrics are not meant to be served to the network)"
            ));
        }
    }
    if let Some(af) = &cfg.after_fence {
        if af.command.first().is_none_or(|c| c.is_empty()) {
            return bad("after_fence.command must name a program".into());
        }
        if af.timeout_secs == 0 {
            return bad("after_fence.timeout_secs must be at least 1".into());
        }
        af.templates()?;
    }
    cfg.health.validate()?;
    validate_topology(cfg)
}

fn validate_topology(cfg: &Config) -> Result<(), ConfigError> {
    for (i, entry) in cfg.topology.iter().enumerate() {
        let at = format!("topology[{i}]");
        if entry.nodes.is_empty() {
            return Err(ConfigError::Invalid(format!("{at}.nodes is empty")));
        }
        if entry.levels.is_empty() {
            return Err(ConfigError::Invalid(format!("{at}.levels is empty")));
        }
        for p in &entry.nodes {
            glob::Pattern::new(p).map_err(|e| {
                ConfigError::Invalid(format!("{at}.nodes: {p:?} is not a valid pattern: {e}"))
            })?;
        }
        for l in &entry.levels {
            if !cfg.backends.contains_key(l) {
                return Err(ConfigError::Invalid(format!(
                    "{at}.levels names backend {l:?}, but there is no [backends.{l}] table"
                )));
            }
        }
    }
    Ok(())
}
