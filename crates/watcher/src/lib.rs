//! `fence_watcher`: the external fence component of gfs2-fencing. It answers the fence requests
//! that `fence_gfs2_recorder` publishes, fencing through the configured backends. See
//! `docs/DESIGN.md` for the protocol and `packaging/fence-watcher.toml.example` for the
//! configuration.
//!
//! The layers, lowest first (each uses only those before it): `backend` (the ways to fence),
//! `config` (command line and file into a validated configuration), `observe` (metrics, logs),
//! `fencing` (scheduling, topology, after-fence), `health` (the backend probes), `requests` (the
//! claim protocol), `runtime` (start-up, event loop, signals).
//!
//! The binary (`src/main.rs`) only parses the command line and calls [`run`]; everything else,
//! `--check-config` included, is this library, so tests and fuzz targets use the same code.

pub mod backend;
pub mod config;
pub mod fencing;
pub mod health;
pub mod observe;
pub mod requests;
pub mod runtime;

pub mod check;

#[cfg(test)]
mod testing;

use std::process::ExitCode;

/// Runs `fence_watcher` for this command line: `--check-config`, or the daemon until a stop
/// signal. Errors are printed here, once; the exit code says how it ended.
pub fn run(cli: config::Cli) -> ExitCode {
    let cfg = match config::load(&cli, &|k| std::env::var_os(k)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fence_watcher: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(8)
        .build();
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fence_watcher: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.check_config {
        return runtime.block_on(check::check(&cfg));
    }
    observe::logging::init(cfg.daemon.log_format);
    runtime.block_on(runtime::run(cfg, cli))
}
