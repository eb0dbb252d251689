//! RESPONSE_DIR moved away and a new, empty one made in its place while the daemon runs, for
//! a few seconds; then the new one's files are merged into the old one and the old one put
//! back (a second move, which the daemon must notice too). A daemon that keeps writing
//! through a descriptor of the old directory answers where no agent and no nnf-sos looks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{lasting, Ctx, Fault, Injection};
use crate::error::{ChaosError, Result};
use crate::history::{now_ns, MoveRecord};
use crate::rng::Rng;
use crate::world::Area;

/// The move in effect: its history record and the old directory's names at the move.
#[derive(Default)]
pub struct MovedResponseDir {
    moved: Option<(usize, BTreeSet<String>)>,
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn aside(dir: &Path) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(".moved");
    PathBuf::from(s)
}

impl Fault for MovedResponseDir {
    fn class(&self) -> &'static str {
        "moved-response-dir"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        if self.moved.is_some() || cx.w.busy.contains(&Area::Responses) {
            return Ok(None);
        }
        let dir = cx.w.paths.responses.clone();
        let old = aside(&dir);
        let before = names(&dir);
        std::fs::rename(&dir, &old).map_err(ChaosError::io("move RESPONSE_DIR away"))?;
        if let Err(e) = std::fs::create_dir(&dir) {
            let _ = std::fs::rename(&old, &dir);
            return Err(ChaosError::io("make a new RESPONSE_DIR")(e));
        }
        cx.w.give(&dir, 0o750)?;
        cx.w.busy.insert(Area::Responses);
        let daemon_pid = cx.daemon.pid().filter(|p| !cx.w.stopped.contains(p));
        cx.history.moves.push(MoveRecord {
            start_ns: now_ns(),
            daemon_pid,
            ..MoveRecord::default()
        });
        self.moved = Some((cx.history.moves.len() - 1, before));
        Ok(Some(Injection {
            detail: format!(
                "RESPONSE_DIR moved to {} and made anew (daemon {daemon_pid:?})",
                old.display()
            ),
            lasts: lasting(rng, 4000, 8000),
            token: 0,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, _: u64) -> Result<()> {
        let Some((rec, before)) = self.moved.take() else {
            return Ok(());
        };
        let dir = cx.w.paths.responses.clone();
        let old = aside(&dir);
        let fresh = names(&dir);
        let only_in_old: Vec<String> = names(&old)
            .difference(&before)
            .filter(|n| n.ends_with(".json") && !n.starts_with('.') && !fresh.contains(*n))
            .cloned()
            .collect();
        for n in &fresh {
            if !old.join(n).exists() {
                let _ = std::fs::rename(dir.join(n), old.join(n));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&old, &dir).map_err(ChaosError::io("put RESPONSE_DIR back"))?;
        cx.w.busy.remove(&Area::Responses);
        if let Some(m) = cx.history.moves.get_mut(rec) {
            m.end_ns = now_ns();
            m.only_in_old = only_in_old;
        }
        Ok(())
    }
}
