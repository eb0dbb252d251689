//! SIGHUP: reload the configuration, keeping the old one when the new one is invalid; and the
//! warning about simulated routes that start-up and every reload give.

use crate::config::{self, Cli, Config};
use crate::fencing::{AfterFence, Routes};
use crate::requests::Context;

use super::notify;

/// Reloads the configuration (SIGHUP). Settings that need a restart are reported, not applied.
pub fn reload(d: &Context, cli: &Cli, current: &Config) -> Option<Config> {
    let env = |k: &str| std::env::var_os(k);
    let built = config::load(cli, &env)
        .map_err(|e| e.to_string())
        .and_then(|c| Routes::build(&c).map(|r| (c, r)).map_err(|e| e.to_string()))
        .and_then(|(c, r)| {
            let hook = c.after_fence.as_ref().map(AfterFence::new).transpose();
            hook.map(|h| (c, r, h)).map_err(|e| e.to_string())
        });
    match built {
        Ok((cfg, routes, hook)) => {
            announce_simulated(d, &routes);
            d.scheduler.routing().replace(routes, hook);
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

/// Logs at WARN the routes that fence through the `simulate` backend, if any, and sets the
/// `fence_watcher_simulated_routes` gauge: at start and at every reload, so that a simulation
/// is never silent (issue 12). Also gives the metrics the backends of the routes, whose
/// counters must exist at 0 before their first failure.
pub fn announce_simulated(d: &Context, routes: &Routes) {
    d.metrics.known_backends(routes.backends());
    let simulated = routes.simulated();
    d.metrics.simulated_routes(simulated.len());
    if !simulated.is_empty() {
        tracing::warn!(
            "{} simulated route{} (the simulate backend fences nothing): {}; agents refuse a \
             success from it and fail monitor unless the device sets allow_simulate=true",
            simulated.len(),
            if simulated.len() == 1 { "" } else { "s" },
            simulated.join("; ")
        );
    }
}
