//! A FIFO in LOG_DIR: `fence-events.log` (and, half the time each, the readable and JSON
//! logs) replaced by a named pipe that nobody reads, as another local user could do in a
//! world-writable LOG_DIR, for a few seconds; then the pipes are removed and the real logs put
//! back. An agent that opens a log without `O_NONBLOCK` blocks on it for ever.

use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, CWD};

use super::{lasting, Ctx, Fault, Injection};
use crate::error::Result;
use crate::rng::Rng;
use crate::world::Area;

/// The agent's three event logs.
const LOGS: [&str; 3] = [
    "fence-events.log",
    "fence-events-readable.log",
    "fence-events-detailed.jsonl",
];

/// Where a real log waits while its FIFO is there.
fn saved(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.gfs2-chaos-saved"))
}

/// Puts FIFOs in place of the event logs.
pub struct FifoLogdir;

impl Fault for FifoLogdir {
    fn class(&self) -> &'static str {
        "fifo-logdir"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        if cx.w.busy.contains(&Area::Logs) {
            return Ok(None);
        }
        let dir = cx.w.paths.logs.clone();
        let mut token = 0;
        let mut made = Vec::new();
        for (i, name) in LOGS.into_iter().enumerate() {
            if i > 0 && !rng.chance(500) {
                continue;
            }
            let path = dir.join(name);
            let _ = std::fs::rename(&path, saved(&dir, name));
            let mode = Mode::from_raw_mode(0o666);
            if rustix::fs::mknodat(CWD, &path, FileType::Fifo, mode, 0).is_ok() {
                // mknod obeys the umask: the FIFO is writable by the agents' uid.
                let _ = std::fs::set_permissions(
                    &path,
                    std::os::unix::fs::PermissionsExt::from_mode(0o666),
                );
                token |= 1 << i;
                made.push(name);
            } else {
                let _ = std::fs::rename(saved(&dir, name), &path);
            }
        }
        if token == 0 {
            return Ok(None);
        }
        cx.w.busy.insert(Area::Logs);
        Ok(Some(Injection {
            detail: format!("FIFO in LOG_DIR at {}", made.join(", ")),
            lasts: lasting(rng, 1000, 5000),
            token,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        let dir = cx.w.paths.logs.clone();
        for (i, name) in LOGS.into_iter().enumerate() {
            if token & (1 << i) == 0 {
                continue;
            }
            let path = dir.join(name);
            let is_fifo = std::fs::symlink_metadata(&path)
                .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()));
            if is_fifo {
                let _ = std::fs::remove_file(&path);
            }
            // The saved log comes back unless an agent has made a new one meanwhile.
            if !path.exists() {
                let _ = std::fs::rename(saved(&dir, name), &path);
            }
        }
        cx.w.busy.remove(&Area::Logs);
        Ok(())
    }
}
