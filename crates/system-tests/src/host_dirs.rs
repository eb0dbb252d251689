//! The host's own gfs2-fencing directories (`/etc`, `/run`, `/var/lib`, `/var/log`), set aside
//! while a test uses the installed default paths, as a guide run as written does, and put back
//! on drop.
//!
//! A run killed before it could restore leaves `<dir>.systests-saved` behind; the next
//! [`HostDirs::take`] restores it first, so a crashed run never leaves its files to the host.

use std::fs;
use std::path::{Path, PathBuf};

/// The directories a default installation uses.
pub const DEFAULT_DIRS: [&str; 4] = [
    "/etc/gfs2-fencing",
    "/run/gfs2-fencing",
    "/var/lib/gfs2-fencing",
    "/var/log/gfs2-fencing",
];

/// Held while the test owns the directories; dropping it removes what the test left there and
/// puts the host's back.
pub struct HostDirs {
    dirs: Vec<PathBuf>,
}

impl HostDirs {
    /// Sets the host's `dirs` aside (each may be absent) and leaves them absent.
    pub fn take(dirs: &[&str]) -> HostDirs {
        let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
        for dir in &dirs {
            // A crashed run's leftovers first; the host's own directory is never removed.
            if saved(dir).exists() {
                restore(dir);
            }
            if dir.exists() {
                rename(dir, &saved(dir));
            }
        }
        HostDirs { dirs }
    }
}

impl Drop for HostDirs {
    fn drop(&mut self) {
        for dir in &self.dirs {
            restore(dir);
        }
    }
}

fn saved(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_owned();
    name.push(".systests-saved");
    PathBuf::from(name)
}

/// Removes the test's `dir` and moves the host's back when there is a saved one. Never
/// panics: it runs in `Drop`, possibly while a failed test unwinds.
fn restore(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    let from = saved(dir);
    if !from.exists() {
        return;
    }
    if let Err(e) = fs::rename(&from, dir) {
        eprintln!(
            "warning: cannot restore {} from {}: {e}",
            dir.display(),
            from.display()
        );
    }
}

fn rename(from: &Path, to: &Path) {
    fs::rename(from, to)
        .unwrap_or_else(|e| panic!("cannot move {} to {}: {e}", from.display(), to.display()));
}
