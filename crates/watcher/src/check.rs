//! `fence_watcher --check-config`: everything the daemon would refuse or warn about at start,
//! without starting. The configuration is validated and every backend built, as at start (its
//! warnings printed: shadowed routes, relative paths, unverified certificates); then each
//! `fence-agent` backend's parameters are checked against its agent's own metadata, which only
//! this check runs (issue 12). Exit 0 valid, 1 invalid.

use std::process::ExitCode;

use crate::backend::BackendConfig;
use crate::{config, fencing, observe};

pub(crate) async fn check(cfg: &config::Config) -> ExitCode {
    observe::logging::init_check();
    if let Err(e) = fencing::Routes::build(cfg) {
        eprintln!("fence_watcher: {e}");
        return ExitCode::FAILURE;
    }
    let mut errors = Vec::new();
    for (name, backend) in &cfg.backends {
        if let BackendConfig::FenceAgent(fa) = backend {
            if let Err(e) = fa.check_parameters().await {
                errors.extend(e.into_iter().map(|e| format!("backend {name}: {e}")));
            }
        }
    }
    if !errors.is_empty() {
        for e in errors {
            eprintln!("fence_watcher: {e}");
        }
        return ExitCode::FAILURE;
    }
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
