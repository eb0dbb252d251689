//! The host-wide side of a test cluster: one cluster at a time (a process-wide mutex and a
//! lock file in `/run` against parallel test binaries), `corosync.conf` and Pacemaker's and
//! corosync's state directories set aside at start and put back at the end, and the agent
//! installed where Pacemaker looks for it.
//!
//! A run killed before it could restore leaves its backup behind; the next run restores it
//! first, so a crashed test never leaves its cluster's state to the next one.

use std::fs;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rustix::fs::{flock, FlockOperation};

/// Lock file shared by every test binary on the host.
const LOCK_FILE: &str = "/run/gfs2-fencing-systests.cluster.lock";
/// Where the host's own configuration and state wait while a test cluster runs.
const BACKUP: &str = "/var/lib/gfs2-fencing-systests/backup";
/// Pacemaker's configuration file.
pub const COROSYNC_CONF: &str = "/etc/corosync/corosync.conf";
/// State directories that a cluster fills: emptied for the test, refilled afterwards.
const STATE_DIRS: [&str; 3] = [
    "/var/lib/pacemaker/cib",
    "/var/lib/pacemaker/pengine",
    "/var/lib/corosync",
];
/// Where Pacemaker's fencer looks for agents.
pub const AGENT_PATH: &str = "/usr/sbin/fence_gfs2_recorder";

static IN_PROCESS: Mutex<()> = Mutex::new(());

/// Held while a cluster exists: released (in this order) when dropped.
pub struct Lock {
    _file: fs::File,
    _guard: MutexGuard<'static, ()>,
}

impl Lock {
    /// Blocks until no other test (thread or binary) has a cluster.
    pub fn acquire() -> Lock {
        // A test that panicked while holding the mutex already cleaned up in Drop.
        let guard = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK_FILE)
            .unwrap_or_else(|e| panic!("cannot open {LOCK_FILE}: {e}"));
        flock(file.as_fd(), FlockOperation::LockExclusive)
            .unwrap_or_else(|e| panic!("cannot lock {LOCK_FILE}: {e}"));
        Lock {
            _file: file,
            _guard: guard,
        }
    }
}

/// The host's configuration, set aside; put back on drop.
pub struct HostState {
    _private: (),
}

impl HostState {
    /// Restores what a crashed earlier run left, sets the host's state aside and writes
    /// `corosync_conf` in its place.
    pub fn take(corosync_conf: &str) -> HostState {
        restore();
        let backup = Path::new(BACKUP);
        fs::create_dir_all(backup).unwrap_or_else(|e| panic!("cannot create {BACKUP}: {e}"));
        let conf = Path::new(COROSYNC_CONF);
        if conf.exists() {
            move_path(conf, &backup.join("corosync.conf"));
        }
        for (i, dir) in STATE_DIRS.iter().enumerate() {
            let to = backup.join(format!("state{i}"));
            fs::create_dir_all(&to)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", to.display()));
            move_entries(Path::new(dir), &to);
        }
        fs::create_dir_all("/etc/corosync")
            .unwrap_or_else(|e| panic!("cannot create /etc/corosync: {e}"));
        fs::write(conf, corosync_conf)
            .unwrap_or_else(|e| panic!("cannot write {COROSYNC_CONF}: {e}"));
        HostState { _private: () }
    }
}

impl Drop for HostState {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts back a backup if there is one: removes what a test cluster created, moves the host's
/// entries back, and removes the backup.
fn restore() {
    let backup = Path::new(BACKUP);
    if !backup.exists() {
        return;
    }
    let _ = fs::remove_file(COROSYNC_CONF);
    let saved = backup.join("corosync.conf");
    if saved.exists() {
        move_path(&saved, Path::new(COROSYNC_CONF));
    }
    for (i, dir) in STATE_DIRS.iter().enumerate() {
        clear(Path::new(dir));
        move_entries(&backup.join(format!("state{i}")), Path::new(dir));
    }
    if let Err(e) = fs::remove_dir_all(backup) {
        eprintln!("warning: cannot remove {BACKUP}: {e}");
    }
    if let Some(parent) = backup.parent() {
        let _ = fs::remove_dir(parent);
    }
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

fn move_entries(from: &Path, to: &Path) {
    for path in entries(from) {
        if let Some(name) = path.file_name() {
            move_path(&path, &to.join(name));
        }
    }
}

fn move_path(from: &Path, to: &Path) {
    let moved = fs::rename(from, to).or_else(|e| {
        // /etc and /var/lib may be different file systems: copy a plain file across.
        if e.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error()) && from.is_file() {
            fs::copy(from, to).and_then(|_| fs::remove_file(from))
        } else {
            Err(e)
        }
    });
    moved.unwrap_or_else(|e| panic!("cannot move {} to {}: {e}", from.display(), to.display()));
}

fn clear(dir: &Path) {
    for path in entries(dir) {
        let res = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        if let Err(e) = res {
            eprintln!("warning: cannot remove {}: {e}", path.display());
        }
    }
}

/// Copies the freshly built agent to `/usr/sbin` (mode 0755, atomically: a running copy is
/// never overwritten in place). It stays installed after the test.
pub fn install_agent(built: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let tmp = Path::new("/usr/sbin/.fence_gfs2_recorder.systests.tmp");
    fs::copy(built, tmp)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", built.display(), tmp.display()));
    fs::set_permissions(tmp, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", tmp.display()));
    move_path(tmp, Path::new(AGENT_PATH));
}
