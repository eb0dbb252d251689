//! Shared helpers of the discovery integration tests: fixture paths, stand-in commands,
//! and a loud skip when a real tool is missing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gfs2_discovery::{DiscoveryConfig, Source};
use system_tests::peers;

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Whether Pacemaker's `tool` (`crm_mon`, `cibadmin`) runs here; a loud skip when it does not,
/// a failure under `CI=true` (`.ci/run` installs pacemaker-cli-utils).
pub fn have(tool: &str, test: &str) -> bool {
    let (ok, why) = peers::runs(tool);
    peers::require(
        test,
        &[(ok, format!("{why} (apt-get install pacemaker-cli-utils)"))],
    )
}

/// Whether the real `kubectl` runs here (`.ci/run` installs Debian's `kubernetes-client` when the
/// machine has none, so under `CI=true` its absence fails).
pub fn have_kubectl(test: &str) -> bool {
    peers::require(test, &[peers::runs("kubectl")])
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
