//! Signals: SIGTERM/SIGINT stop taking new requests, let in-flight ones finish within the grace
//! period and end the daemon; SIGHUP reloads the configuration, keeping the old one when the new
//! one is invalid.

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::after_fence::AfterFence;
use crate::config::{self, Config};
use crate::daemon::Daemon;
use crate::notify;
use crate::topology::Routes;

/// The signals the daemon reacts to.
pub struct Signals {
    pub term: Signal,
    pub int: Signal,
    pub hup: Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}

/// Reloads the configuration (SIGHUP). Settings that need a restart are reported, not applied.
pub fn reload(d: &Daemon, current: &Config) -> Option<Config> {
    let env = |k: &str| std::env::var_os(k);
    let built = config::load(&d.cli, &env)
        .map_err(|e| e.to_string())
        .and_then(|c| Routes::build(&c).map(|r| (c, r)).map_err(|e| e.to_string()));
    match built {
        Ok((cfg, routes)) => {
            d.replace(routes, cfg.after_fence.clone().map(AfterFence::new));
            d.metrics.reload(true);
            let needs_restart = cfg.request_dir != current.request_dir
                || cfg.response_dir != current.response_dir
                || cfg.daemon.max_concurrent != current.daemon.max_concurrent
                || cfg.daemon.metrics_listen != current.daemon.metrics_listen
                || cfg.daemon.heartbeat_interval_secs != current.daemon.heartbeat_interval_secs;
            if needs_restart {
                tracing::warn!("configuration reloaded; changes to the spool directories, max_concurrent, metrics_listen and heartbeat_interval_secs take effect only after a restart");
            } else {
                tracing::info!(
                    "configuration reloaded: {} backends, {} topology entries",
                    cfg.backends.len(),
                    cfg.topology.len()
                );
            }
            notify::status("running (configuration reloaded)");
            Some(cfg)
        }
        Err(e) => {
            d.metrics.reload(false);
            tracing::error!("configuration reload refused, keeping the old configuration: {e}");
            notify::status("running (last reload refused: see the log)");
            None
        }
    }
}

/// Stops taking requests and waits up to `grace` for those in flight. True when all finished.
pub async fn drain(d: &Arc<Daemon>, grace: Duration) -> bool {
    d.stop();
    let n = d.tasks();
    tracing::info!(
        "stopping: no new requests; waiting up to {}s for {n} in flight",
        grace.as_secs()
    );
    notify::stopping(&format!("stopping: {n} requests in flight"));
    match tokio::time::timeout(grace, d.idle()).await {
        Ok(()) => {
            tracing::info!("stopped: every request in flight was answered");
            true
        }
        Err(_) => {
            tracing::warn!(
                "stopped with {} requests unfinished after the {}s grace period; they stay claimed and are handled again at the next start",
                d.tasks(),
                grace.as_secs()
            );
            false
        }
    }
}
