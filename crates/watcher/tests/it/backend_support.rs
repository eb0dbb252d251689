//! Helpers shared by the `backend_*` tests: building a backend from a TOML table, making jobs,
//! and looking at processes. The BMCs are system_tests::bmc's. The backends come from the library
//! (`fence_watcher::backend`), so these tests run without the daemon around them.

use std::path::Path;
use std::sync::Arc;

use gfs2_fence_protocol::{Action, NodeName, RequestId};

use fence_watcher::backend::{Backend, BackendConfig, FenceJob};

/// Parses one `[backends.<name>]` table and builds it.
pub fn build(toml_table: &str) -> Result<Arc<dyn Backend>, String> {
    let cfg = parse(toml_table)?;
    cfg.build("test").map_err(|e| e.to_string())
}

/// Parses one `[backends.<name>]` table.
pub fn parse(toml_table: &str) -> Result<BackendConfig, String> {
    toml::from_str::<BackendConfig>(toml_table).map_err(|e| e.to_string())
}

pub fn job(node: &str, action: Action) -> FenceJob {
    FenceJob {
        request_id: RequestId::parse("req-1").expect("request id"),
        node: NodeName::parse(node).expect("node name"),
        action,
        gfs2_filesystems: vec![],
        deadline: None,
    }
}

/// Writes an executable script.
pub fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Writes a file with the given mode.
pub fn file(path: &Path, body: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).expect("write file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

pub use system_tests::procs::alive;

/// The command lines of every process, NUL separators turned into spaces.
pub fn all_cmdlines() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .collect()
}

/// Waits (bounded) until `f` is true; returns whether it became true.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    f()
}
