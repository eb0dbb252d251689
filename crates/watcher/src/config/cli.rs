//! The command line of `fence_watcher`: a stable contract that the system tests and the systemd
//! unit rely on. Everything here only overrides the configuration file; see `config.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::backend::SimulateOutcome;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (journald adds the timestamps).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// fence_watcher: answers the fence requests of fence_gfs2_recorder by fencing through the
/// configured backends and publishing a response for each request.
#[derive(Debug, Clone, Parser)]
#[command(name = "fence_watcher", version)]
pub struct Cli {
    /// Configuration file (default /etc/gfs2-fencing/fence-watcher.toml)
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Request directory (overrides REQUEST_DIR and the configuration)
    #[arg(long, value_name = "DIR")]
    pub request_dir: Option<PathBuf>,
    /// Response directory (overrides RESPONSE_DIR and the configuration)
    #[arg(long, value_name = "DIR")]
    pub response_dir: Option<PathBuf>,
    /// Fence every node with the simulate backend (no real fencing: for demos and tests)
    #[arg(long)]
    pub simulate: bool,
    /// Seconds the simulated fence takes (implies --simulate)
    #[arg(long, value_name = "SECS")]
    pub simulate_delay: Option<f64>,
    /// What the simulated fence reports (implies --simulate)
    #[arg(long, value_name = "OUTCOME")]
    pub simulate_outcome: Option<SimulateOutcome>,
    /// Most fences run at once
    #[arg(long, value_name = "N")]
    pub max_concurrent: Option<usize>,
    /// Seconds between heartbeat touches
    #[arg(long, value_name = "SECS")]
    pub heartbeat_interval: Option<u64>,
    /// Serve Prometheus metrics on this loopback address (e.g. 127.0.0.1:9464)
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Log format
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Validate the configuration, print the result and exit (0 valid, 1 invalid)
    #[arg(long)]
    pub check_config: bool,
}

impl Cli {
    /// Whether any `--simulate*` flag was given.
    pub fn simulating(&self) -> bool {
        self.simulate_flag().is_some()
    }

    /// The first `--simulate*` flag given, as typed, for messages.
    pub fn simulate_flag(&self) -> Option<&'static str> {
        [
            (self.simulate, "--simulate"),
            (self.simulate_delay.is_some(), "--simulate-delay"),
            (self.simulate_outcome.is_some(), "--simulate-outcome"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }
}
