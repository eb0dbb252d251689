//! Where the binaries under test are: beside the test executable's profile directory.
//!
//! A test executable lives in `target/<profile>/deps/`; `cargo test --workspace` builds every
//! workspace binary into `target/<profile>/`. There is no stable way to depend on another
//! package's binary, so a missing one is reported with the command that builds it.

use std::path::{Path, PathBuf};

/// Name of the fence agent binary.
pub const AGENT: &str = "fence_gfs2_recorder";
/// Name of the daemon binary.
pub const WATCHER: &str = "fence_watcher";

/// `target/<profile>` of the running test executable.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable has a directory");
    let dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().unwrap_or(deps)
    } else {
        deps
    };
    dir.to_path_buf()
}

/// The freshly built binary `name`, or a panic that says how to build it.
pub fn bin(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    assert!(
        is_executable(&path),
        "{} is missing: the system tests run the real binaries; build them first with \
         `cargo build --workspace` (same profile and CARGO_TARGET_DIR as the tests)",
        path.display()
    );
    path
}

/// The agent binary under test.
pub fn agent() -> PathBuf {
    bin(AGENT)
}

/// The daemon binary under test.
pub fn watcher() -> PathBuf {
    bin(WATCHER)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
