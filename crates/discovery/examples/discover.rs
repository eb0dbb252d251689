//! Runs GFS2 discovery once and prints the result as JSON: a manual check on a cluster node and
//! the unit of the benchmark (`bench.sh`).
//!
//! `discover TARGET [key=value ...]` with keys `sources` (e.g. `pacemaker,dlm`), `budget_ms`,
//! `cib_file`, `crm_mon`, `cibadmin`, `dlm_tool`, `kubectl`, `kubeconfig`, `nnf_namespace`,
//! `corosync_conf`, `mountinfo`, `gfs2_sysfs`.

use std::process::ExitCode;
use std::time::Duration;

use gfs2_discovery::{discover, DiscoveryConfig, Source};
use gfs2_fence_protocol::NodeName;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("discover: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let target = args
        .next()
        .ok_or("usage: discover TARGET [key=value ...]")?;
    let target = NodeName::parse(&target).map_err(|e| format!("target: {e}"))?;
    let mut cfg = DiscoveryConfig::default();
    for arg in args {
        let (k, v) = arg
            .split_once('=')
            .ok_or(format!("'{arg}' is not key=value"))?;
        match k {
            "sources" => cfg.sources = Source::parse_list(v).map_err(|e| e.to_string())?,
            "budget_ms" => {
                let ms = v
                    .parse()
                    .map_err(|_| format!("budget_ms: '{v}' is not a number"))?;
                cfg.budget = Duration::from_millis(ms);
            }
            "cib_file" => cfg.cib_file = Some(v.into()),
            "crm_mon" => cfg.crm_mon = v.into(),
            "cibadmin" => cfg.cibadmin = v.into(),
            "dlm_tool" => cfg.dlm_tool = v.into(),
            "kubectl" => cfg.kubectl = v.into(),
            "kubeconfig" => cfg.kubeconfig = Some(v.into()),
            "nnf_namespace" => cfg.nnf_namespace = Some(v.into()),
            "corosync_conf" => cfg.corosync_conf = v.into(),
            "mountinfo" => cfg.mountinfo = v.into(),
            "gfs2_sysfs" => cfg.gfs2_sysfs = v.into(),
            _ => return Err(format!("unknown key '{k}'")),
        }
    }
    let result = discover(&target, &cfg);
    let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
