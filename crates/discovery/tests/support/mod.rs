//! Shared helpers of the discovery integration tests: fixture paths, stand-in commands,
//! and a loud skip when a real tool is missing.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gfs2_discovery::{DiscoveryConfig, Source};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Whether `tool` runs here; prints a SKIPPED line when it does not.
pub fn have(tool: &str, test: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok();
    if !ok {
        eprintln!(
            "SKIPPED: {test} because {tool} is not installed (apt-get install pacemaker-cli-utils)"
        );
    }
    ok
}

/// Writes an executable shell script `name` into `dir`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A configuration with only `sources`, every path pointing at nothing usable.
pub fn config(sources: &[Source]) -> DiscoveryConfig {
    DiscoveryConfig {
        sources: sources.to_vec(),
        budget: Duration::from_secs(20),
        source_timeout: Duration::from_secs(20),
        crm_mon: "/nonexistent/crm_mon".into(),
        cibadmin: "/nonexistent/cibadmin".into(),
        dlm_tool: "/nonexistent/dlm_tool".into(),
        kubectl: "/nonexistent/kubectl".into(),
        corosync_conf: fixture("corosync/corosync.conf"),
        mountinfo: fixture("mounts/mountinfo"),
        gfs2_sysfs: fixture("mounts/sys-fs-gfs2"),
        ..DiscoveryConfig::default()
    }
}

/// Pacemaker's real tools on a fixture CIB.
pub fn with_cib(mut cfg: DiscoveryConfig, cib: &str) -> DiscoveryConfig {
    cfg.crm_mon = "crm_mon".into();
    cfg.cibadmin = "cibadmin".into();
    cfg.cib_file = Some(fixture(&format!("cib/{cib}")));
    cfg
}
