//! Backend health: every level of every node the daemon may have to fence is probed in rounds
//! (`[health]`), so a BMC whose password changed is found weeks before the fence that needs it.
//!
//! A probe reads state and never changes it (`Backend::probe`). Probes never delay a fence:
//! they have their own limit (`health.max_concurrent`), separate from the fence slots, and take
//! nothing a fence waits for (the redfish backend's per-BMC slots included). Results go to the
//! [`Board`] (which the heartbeat writes into its file), to the metrics and, on a change of
//! state, to the log (WARN down, INFO up again). `probe.rs` probes one node's levels, the one
//! way both the rounds and `gfs2-fencing test` do it; `round.rs` is one round.
//!
//! Uses `fencing` (the routes a fence would take), `backend`, `config` and `observe`; started
//! by `runtime`, which hands it each reloaded `[health]`.

mod board;
mod probe;
mod round;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

pub use board::Board;
pub use probe::{probe_level, probe_levels};

use crate::config::HealthConfig;
use crate::fencing::Routing;
use crate::observe::Metrics;

/// The running probe loop; dropping it (or the runtime ending) stops it.
#[derive(Debug)]
pub struct Prober {
    settings: watch::Sender<HealthConfig>,
}

impl Prober {
    /// Starts the rounds: the first at once, then one every `interval_secs` from the start of
    /// the previous one (a round that takes longer delays the next, never overlaps it).
    pub fn start(
        cfg: HealthConfig,
        routing: Arc<Routing>,
        metrics: Arc<Metrics>,
        board: Arc<Board>,
    ) -> Prober {
        let (settings, rx) = watch::channel(cfg);
        tokio::spawn(rounds(rx, routing, metrics, board));
        Prober { settings }
    }

    /// Installs a reloaded `[health]` and starts a round at once, on the reloaded routes too
    /// (those come from the shared [`Routing`]).
    pub fn reconfigure(&self, cfg: HealthConfig) {
        self.settings.send_replace(cfg);
    }
}

async fn rounds(
    mut rx: watch::Receiver<HealthConfig>,
    routing: Arc<Routing>,
    metrics: Arc<Metrics>,
    board: Arc<Board>,
) {
    let mut memory = round::Memory::default();
    loop {
        let cfg = rx.borrow_and_update().clone();
        let Some(every) = cfg.interval() else {
            board.publish(None);
            if rx.changed().await.is_err() {
                return;
            }
            continue;
        };
        let started = Instant::now();
        let health = round::run(&cfg, &routing, &metrics, &mut memory).await;
        tracing::debug!(
            nodes = health.nodes.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "health: probe round done"
        );
        board.publish(Some(health));
        tokio::select! {
            _ = tokio::time::sleep_until(started + every) => {}
            changed = rx.changed() => if changed.is_err() { return },
        }
    }
}
