//! Deadlines of the requests waiting for a task slot (issue 10, #9 "Bounded work ahead").
//!
//! A name past the task window waits in `REQUEST_DIR`, unclaimed and unread, until a task is
//! free (`context.rs`). The tasks ahead of it may be slow fences with later deadlines, so a
//! waiting request could pass its deadline long before a task takes it up, and its agent's
//! answer would come late. So, while names wait, a pass every [`EVERY`] reads what it must of
//! each one: the file once per inode (a `statat` on later passes; a new inode, as when the
//! agent withdraws and re-publishes it cancelled, is read again), one file at a time, keeping
//! only its deadline and `cancelled`. The waiting work of every request past its deadline or
//! cancelled is taken out of the queue and answered here, one after the other, without a task
//! slot; these never need a backend, so the window's bound on memory holds. A file replaced
//! meanwhile by one still in time is still handled correctly, only here instead of in a task.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{SpoolName, Timestamp, MAX_SPOOL_FILE};
use serde::Deserialize;

use super::{handle, Context};

/// Time between two passes while names wait.
pub const EVERY: Duration = Duration::from_secs(1);

/// The fields a pass reads; the rest of the request is skipped unparsed.
#[derive(Deserialize)]
struct Due {
    deadline: Option<Timestamp>,
    #[serde(default)]
    cancelled: bool,
}

/// What a pass learnt of one waiting file: its inode, and whether it is cancelled or when its
/// deadline is (`None`: none, or unreadable here; a task will look at it properly).
#[derive(Debug, Clone, Copy)]
struct Seen {
    ino: u64,
    cancelled: bool,
    deadline: Option<SystemTime>,
}

/// Runs for the daemon's life: idle while no name waits.
pub async fn run(d: Arc<Context>) {
    let mut seen: HashMap<SpoolName, Seen> = HashMap::new();
    loop {
        d.until_queued().await;
        tokio::time::sleep(EVERY).await;
        let names = d.queued_names();
        let d2 = d.clone();
        let look = move || look(&d2, names, seen);
        let (kept, due) = match tokio::task::spawn_blocking(look).await {
            Ok(r) => r,
            // Cancelled: the runtime is shutting down.
            Err(_) => return,
        };
        seen = kept;
        for work in d.take_queued(&due) {
            handle::run_now(&d, work).await;
        }
    }
}

/// Reads the deadline of every waiting name not seen under the same inode before; returns
/// what it knows of the names still waiting, and those due now.
fn look(
    d: &Context,
    names: Vec<SpoolName>,
    mut seen: HashMap<SpoolName, Seen>,
) -> (HashMap<SpoolName, Seen>, HashSet<SpoolName>) {
    let waiting: HashSet<&SpoolName> = names.iter().collect();
    seen.retain(|n, _| waiting.contains(n));
    let now = SystemTime::now();
    let mut due = HashSet::new();
    for name in &names {
        let Some(ino) = inode(d, name) else {
            // Gone (withdrawn, or claimed by hand): the task that takes it up finds that out.
            continue;
        };
        let s = match seen.get(name) {
            Some(s) if s.ino == ino => *s,
            _ => {
                let s = read(d, name, ino);
                seen.insert(name.clone(), s);
                s
            }
        };
        if s.cancelled || s.deadline.is_some_and(|t| t <= now) {
            due.insert(name.clone());
        }
    }
    (seen, due)
}

fn inode(d: &Context, name: &SpoolName) -> Option<u64> {
    let flags = rustix::fs::AtFlags::SYMLINK_NOFOLLOW;
    rustix::fs::statat(d.spool.requests.fd(), name.as_str(), flags)
        .ok()
        .map(|st| st.st_ino)
}

fn read(d: &Context, name: &SpoolName, ino: u64) -> Seen {
    let due = d
        .spool
        .requests
        .read(name.as_str(), MAX_SPOOL_FILE)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Due>(&bytes).ok());
    Seen {
        ino,
        cancelled: due.as_ref().is_some_and(|d| d.cancelled),
        deadline: due.and_then(|d| d.deadline).map(|t| t.to_system_time()),
    }
}
