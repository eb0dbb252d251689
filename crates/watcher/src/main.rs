//! `fence_watcher`: the external fence component of gfs2-fencing. It answers the fence requests
//! that `fence_gfs2_recorder` publishes, fencing through the configured backends. See
//! `docs/DESIGN.md` for the protocol and `packaging/fence-watcher.toml.example` for the
//! configuration.

mod after_fence;
mod backend;
mod claim;
mod cli;
mod config;
mod corosync;
mod daemon;
mod handle;
mod heartbeat;
mod logging;
mod metrics;
mod metrics_http;
mod notify;
mod ratelimit;
mod recovery;
mod respond;
mod retention;
mod schedule;
mod service;
mod shutdown;
mod spool;
mod topology;
mod watch;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
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
        return runtime.block_on(check(&cfg));
    }
    logging::init(cfg.daemon.log_format);
    runtime.block_on(service::run(cfg, cli))
}

/// `--check-config`: validates the configuration and builds every backend, without starting.
async fn check(cfg: &config::Config) -> ExitCode {
    match topology::Routes::build(cfg) {
        Ok(_) => {
            let file = cfg
                .file
                .as_ref()
                .map_or("(no file)".into(), |p| p.display().to_string());
            println!(
                "configuration {file} is valid: {} backends, {} topology entries, requests in {}, responses in {}",
                cfg.backends.len(),
                cfg.topology.len(),
                cfg.request_dir.display(),
                cfg.response_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fence_watcher: {e}");
            ExitCode::FAILURE
        }
    }
}
