//! Support for the hostile-input and fault-injection suites: raw request files, command
//! backends a test controls, small tmpfs mounts cleaned up on drop, and the suite counters.
//!
//! Everything here is for tests: it panics with a message naming what went wrong.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Spool;

/// Inputs tried and faults injected by one suite; each test adds its own and prints the running
/// total, so the last line printed is the suite's total.
pub struct Counter {
    suite: &'static str,
    n: AtomicUsize,
}

impl Counter {
    pub const fn new(suite: &'static str) -> Counter {
        Counter {
            suite,
            n: AtomicUsize::new(0),
        }
    }

    /// Adds `n` for `test` and prints `SUMMARY <suite>: ...`.
    pub fn add(&self, test: &str, n: usize) {
        let total = self.n.fetch_add(n, Ordering::Relaxed) + n;
        eprintln!(
            "SUMMARY {}: {test} tried {n}; suite total so far {total}",
            self.suite
        );
    }
}

/// A schema-1 request for `node` as a third-party writer would write it, with the deadline
/// `deadline_secs` from now (negative: in the past) and the timestamp `skew_secs` from now.
pub fn request_json(
    id: &str,
    node: &str,
    action: &str,
    deadline_secs: i64,
    skew_secs: i64,
) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    format!(
        "{{\"schema_version\":1,\"request_id\":\"{id}\",\"timestamp\":\"{}\",\"action\":\"{action}\",\
         \"target_node\":\"{node}\",\"gfs2_filesystems\":[],\"recorder_node\":\"hostile-test\",\
         \"deadline\":\"{}\"}}",
        rfc3339(now + skew_secs),
        rfc3339(now + deadline_secs)
    )
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, no dependency).
pub fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Publishes `bytes` as `name` in `dir` the conforming way (temporary file, rename).
pub fn drop_file(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).expect("write a temporary request");
    std::fs::rename(&tmp, dir.join(name)).expect("rename a request into place");
}

/// Writes a `command` backend routed for every node: `script` is a shell script run as
/// `script ACTION NODE`. Returns the `--config` path.
pub fn command_backend(spool: &Spool, script: &str, timeout_secs: u64) -> String {
    let argv = spool.write("backend.sh", script, 0o755);
    let cfg = format!(
        "[backends.cmd]\ntype = \"command\"\nargv = [\"{}\", \"{{action}}\", \"{{node}}\"]\n\
         timeout_secs = {timeout_secs}\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"cmd\"]\n",
        argv.display()
    );
    spool
        .write("fence-watcher.toml", &cfg, 0o640)
        .display()
        .to_string()
}

/// The names of temporary files (`.*.tmp`) in `dir`: what a failed publication must not leave.
pub fn temp_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with('.') && n.ends_with(".tmp"))
        .collect()
}

/// A tmpfs mounted by the test, unmounted on drop (lazily if busy).
pub struct Mount {
    pub dir: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs of `size` (e.g. `64k`) with mode 0750 on `dir` (created if missing).
    pub fn tmpfs(dir: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(dir).expect("create a mount point");
        let opts = format!("size={size},mode=0750");
        run(
            "mount",
            &["-t", "tmpfs", "-o", &opts, "tmpfs", &dir.to_string_lossy()],
        );
        Mount {
            dir: dir.to_path_buf(),
        }
    }

    /// Remounts read-only (`ro`) or read-write.
    pub fn remount(&self, read_only: bool) {
        let opts = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        run("mount", &["-o", opts, &self.dir.to_string_lossy()]);
    }

    /// Writes `dir/name` until the file system is full; returns the bytes written.
    pub fn fill(&self, name: &str) -> usize {
        use std::io::Write;
        let mut f = std::fs::File::create(self.dir.join(name)).expect("create the filler");
        let chunk = [0u8; 4096];
        let mut n = 0;
        while let Ok(k) = f.write(&chunk) {
            if k == 0 {
                break;
            }
            n += k;
        }
        // Also use up the inodes' slack: tiny files until even that fails.
        for i in 0..10_000 {
            if std::fs::write(self.dir.join(format!("{name}.{i}")), b"x").is_err() {
                break;
            }
        }
        n
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let d = self.dir.to_string_lossy().into_owned();
        let ok = Command::new("umount")
            .arg(&d)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").args(["-l", &d]).status();
        }
    }
}

fn run(prog: &str, args: &[&str]) {
    let out = Command::new(prog)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The uid and gid of `nobody`, from /etc/passwd.
pub fn nobody() -> Option<(u32, u32)> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = text.lines().find(|l| l.starts_with("nobody:"))?;
    let mut f = line.split(':').skip(2);
    Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}
