//! `gfs2-fencing test NODE [--level N] [--config FILE]`: probes the levels of one node now, with
//! the daemon's own configuration, credentials and probe code (`fence_watcher::health`), and
//! prints one row a level: level, backend, type, result, latency, message (or, with `--json`,
//! one `gfs2-fencing.test` document: docs/cli.md).
//!
//! It reads state only and never writes a request file: a third-party responder (nnf-sos)
//! fences on any request, whatever its action. Exit 0 only when the first level (with
//! `--level N`, level N) is `up`; 1 when it is not (down, unprobed, simulated) or the test could
//! not run (configuration, unknown node, no route).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use fence_watcher::config::{self, Cli as WatcherCli};
use fence_watcher::fencing::Routes;
use fence_watcher::health::probe_levels;
use gfs2_fence_protocol::{LevelHealth, NodeName, ProbeStatus};

use crate::out::outln;
use crate::Error;

/// The arguments of `test`.
#[derive(clap::Args)]
pub struct Args {
    /// The node whose fencing levels are probed
    pub node: String,
    /// Probe only this level (1-based, as in the topology)
    #[arg(long)]
    pub level: Option<u32>,
    /// The daemon's configuration [default: /etc/gfs2-fencing/fence-watcher.toml]
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print one JSON document (`gfs2-fencing.test`, docs/cli.md) instead of the table
    #[arg(long)]
    pub json: bool,
}

/// Runs the probes and prints the table; `Ok(true)` when the first level probed is up.
pub fn run(args: &Args) -> Result<bool, Error> {
    let node = NodeName::parse(&args.node)?;
    let mut argv = vec![PathBuf::from("fence_watcher")];
    if let Some(c) = &args.config {
        argv.extend([PathBuf::from("--config"), c.clone()]);
    }
    let cli = WatcherCli::try_parse_from(argv).map_err(|e| Error::Config(e.to_string()))?;
    let cfg =
        config::load(&cli, &|k| std::env::var_os(k)).map_err(|e| Error::Config(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let levels = runtime.block_on(probe(&cfg, &node, args.level))?;
    let ok = levels.first().is_some_and(|l| l.status == ProbeStatus::Up);
    if args.json {
        crate::views::emit(
            "test",
            serde_json::json!({ "node": node.as_str(), "ok": ok, "levels": levels }),
        );
    } else {
        table(&levels);
    }
    Ok(ok)
}

async fn probe(
    cfg: &config::Config,
    node: &NodeName,
    only: Option<u32>,
) -> Result<Vec<LevelHealth>, Error> {
    let routes = Routes::build(cfg).map_err(|e| Error::Config(e.to_string()))?;
    let Some(levels) = routes.route(node) else {
        return Err(Error::NoRoute(node.to_string()));
    };
    let timeout = Duration::from_secs(cfg.health.timeout_secs);
    let Some(n) = only else {
        return Ok(probe_levels(levels, node, timeout).await);
    };
    let index = (n as usize).checked_sub(1).filter(|i| *i < levels.len());
    let Some(i) = index else {
        return Err(Error::NoLevel {
            node: node.to_string(),
            level: n,
            levels: levels.len(),
        });
    };
    let level = fence_watcher::health::probe_level(&levels[i], i, node, timeout).await;
    Ok(vec![level])
}

fn table(levels: &[LevelHealth]) {
    let width =
        |f: fn(&LevelHealth) -> usize, min: usize| levels.iter().map(f).max().unwrap_or(0).max(min);
    let (b, k) = (width(|l| l.backend.len(), 7), width(|l| l.kind.len(), 4));
    outln!(
        "{:<5}  {:<b$}  {:<k$}  {:<9}  {:>8}  MESSAGE",
        "LEVEL",
        "BACKEND",
        "TYPE",
        "RESULT",
        "LATENCY"
    );
    for l in levels {
        let result = match l.status {
            ProbeStatus::Up => "up",
            ProbeStatus::Down => "DOWN",
            ProbeStatus::Unprobed => "unprobed",
            ProbeStatus::Simulated => "simulated",
        };
        let latency = format!("{} ms", l.latency_ms);
        outln!(
            "{:<5}  {:<b$}  {:<k$}  {result:<9}  {latency:>8}  {}",
            l.level,
            l.backend,
            l.kind,
            l.message
        );
    }
}
