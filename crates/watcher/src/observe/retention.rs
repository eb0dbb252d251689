//! Optional pruning of old responses. Responses are the record of who was fenced (nnf-sos reads
//! them), so nothing is pruned unless `daemon.response_retention_days` is set; then responses
//! older than that are removed at start and once a day.

use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{SpoolDir, SpoolError};

/// Removes responses whose mtime is older than `days`. Returns how many were removed.
pub fn prune(dir: &SpoolDir, days: u64) -> Result<usize, SpoolError> {
    let max_age = Duration::from_secs(days.saturating_mul(86_400));
    let now = SystemTime::now();
    let mut removed = 0;
    for name in dir.scan()?.files {
        let Some(mtime) = dir.modified(name.as_str())? else {
            continue;
        };
        if now.duration_since(mtime).unwrap_or_default() > max_age && dir.remove(name.as_str())? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Prunes now and then every 24 hours, forever (spawned only when retention is configured).
pub async fn run(dir: &SpoolDir, days: u64) {
    let mut day = tokio::time::interval(Duration::from_secs(86_400));
    loop {
        day.tick().await;
        match prune(dir, days) {
            Ok(0) => {}
            Ok(n) => tracing::info!("pruned {n} responses older than {days} days"),
            Err(e) => tracing::error!("cannot prune old responses: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prunes_only_old_response_files() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let p = tmp.path();
        for n in ["old.json", "new.json", ".hidden.json", "old.txt"] {
            std::fs::write(p.join(n), b"{}").expect("write");
        }
        let old = SystemTime::now() - Duration::from_secs(3 * 86_400);
        for n in ["old.json", ".hidden.json", "old.txt"] {
            let f = std::fs::File::options()
                .write(true)
                .open(p.join(n))
                .expect("open");
            f.set_modified(old).expect("set mtime");
        }
        let dir = SpoolDir::open(p).expect("open");
        assert_eq!(prune(&dir, 2).expect("prune"), 1);
        assert!(!p.join("old.json").exists());
        assert!(p.join("new.json").exists() && p.join(".hidden.json").exists());
    }
}
