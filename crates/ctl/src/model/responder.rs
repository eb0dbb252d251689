//! The responder as the spool shows it: its heartbeat in `RESPONSE_DIR` (judged by the agent's
//! rules, `fence_gfs2_recorder::heartbeat`, as `monitor` and `check` judge it) and who holds the
//! one-responder lock in `REQUEST_DIR` (asked of the kernel, never taken).

use std::time::{Duration, SystemTime};

use fence_gfs2_recorder::heartbeat::{self, BackendHealth, HEARTBEAT_MAX_BYTES};
use gfs2_fence_protocol::lock::{probe, LockState};
use gfs2_fence_protocol::{Heartbeat, LockHolder, SpoolDir, HEARTBEAT_FILE};

/// The heartbeat, read and judged.
#[derive(Debug, Clone)]
pub struct Beat {
    pub heartbeat: Heartbeat,
    /// Since its mtime.
    pub age: Duration,
    /// The agent's limit for it (3 × its interval), and what set it.
    pub max_age: Duration,
    pub why_max_age: String,
}

/// Who holds the responder lock.
#[derive(Debug, Clone)]
pub enum Lock {
    Held {
        holder: Option<LockHolder>,
        kernel_pid: Option<u32>,
    },
    Free,
    /// The lock file is unsafe or unreadable: why.
    Unknown(String),
}

/// The responder.
#[derive(Debug, Clone)]
pub struct Responder {
    /// The heartbeat, or why there is none.
    pub beat: Result<Beat, String>,
    pub lock: Lock,
}

impl Responder {
    /// Alive: a heartbeat younger than its limit, its writer running when it is of this host,
    /// and the lock not free. A daemon that just stopped leaves a fresh heartbeat behind, but
    /// the kernel released its lock at its exit.
    pub fn alive(&self) -> bool {
        self.fresh() && self.dead_writer().is_none() && !matches!(self.lock, Lock::Free)
    }

    /// A heartbeat younger than its limit.
    pub fn fresh(&self) -> bool {
        self.beat.as_ref().is_ok_and(|b| b.age <= b.max_age)
    }

    /// The heartbeat's pid when it names this host and that pid is not running (the agent's
    /// `monitor` rule, `heartbeat::dead_local_writer`).
    pub fn dead_writer(&self) -> Option<u32> {
        self.heartbeat().and_then(heartbeat::dead_local_writer)
    }

    pub fn heartbeat(&self) -> Option<&Heartbeat> {
        self.beat.as_ref().ok().map(|b| &b.heartbeat)
    }

    /// The backend health by the agent's rule for `backend_health=fail`.
    pub fn health(&self) -> heartbeat::Verdict {
        let health = self.heartbeat().and_then(|h| h.health.as_ref());
        heartbeat::judge(health, BackendHealth::Fail)
    }
}

/// Reads the heartbeat of `responses` and the lock of `requests`.
pub fn load(requests: &SpoolDir, responses: &SpoolDir) -> Responder {
    Responder {
        beat: read_beat(responses),
        lock: match probe(requests) {
            Ok(LockState::Held { holder, kernel_pid }) => Lock::Held { holder, kernel_pid },
            Ok(LockState::Free) => Lock::Free,
            Err(e) => Lock::Unknown(e.to_string()),
        },
    }
}

fn read_beat(dir: &SpoolDir) -> Result<Beat, String> {
    let (hb, modified) = read_heartbeat(dir)?;
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    let (max_age, why_max_age) = heartbeat::max_age(None, Some(&hb));
    Ok(Beat {
        heartbeat: hb,
        age,
        max_age,
        why_max_age,
    })
}

/// The heartbeat of the response directory `dir` and its mtime: the tool's one reader of it
/// (`status` through the model, `check`, `doctor`). The error names the problem, no hint.
pub fn read_heartbeat(dir: &SpoolDir) -> Result<(Heartbeat, SystemTime), String> {
    let bytes = dir
        .read(HEARTBEAT_FILE, HEARTBEAT_MAX_BYTES)
        .map_err(|e| e.to_string())?;
    let hb = Heartbeat::from_json(&bytes)
        .ok_or_else(|| format!("{} is not valid JSON", dir.join(HEARTBEAT_FILE).display()))?;
    let modified = dir
        .modified(HEARTBEAT_FILE)
        .map_err(|e| e.to_string())?
        .ok_or("the heartbeat vanished")?;
    Ok((hb, modified))
}
