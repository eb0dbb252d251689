//! `fence_watcher --check-config`: everything the daemon would refuse or warn about at start,
//! without starting. The configuration is validated and every backend built, as at start (its
//! warnings printed: shadowed routes, relative paths, unverified certificates); then each
//! `fence-agent` backend's parameters are checked against its agent's own metadata, which only
//! this check runs (issue 12); and the nodes `[health]` would probe are read. Exit 0 valid, 1
//! invalid. [`problems`] is the check itself, for `gfs2-fencing doctor` (one implementation).

use std::process::ExitCode;

use crate::backend::BackendConfig;
use crate::{config, fencing, observe};

pub(crate) async fn check(cfg: &config::Config) -> ExitCode {
    observe::logging::init_check();
    let errors = problems(cfg).await;
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

/// Why a loaded configuration could not run, one line each (empty: it is valid): the nodes the
/// health probes would probe (a malformed corosync.conf), the backends built as at start, and
/// each `fence-agent` backend's parameters against its agent's metadata. The first two stop
/// at their first error, as the daemon's start does. Warnings are [`config::lint::warnings`].
pub async fn problems(cfg: &config::Config) -> Vec<String> {
    if let Err(e) = cfg.health.targets() {
        return vec![format!("health.corosync_conf: {e}")];
    }
    if let Err(e) = fencing::Routes::build(cfg) {
        return vec![e.to_string()];
    }
    let mut errors = Vec::new();
    for (name, backend) in &cfg.backends {
        if let BackendConfig::FenceAgent(fa) = backend {
            if let Err(e) = fa.check_parameters().await {
                errors.extend(e.into_iter().map(|e| format!("backend {name}: {e}")));
            }
        }
    }
    errors
}
