//! A full disk under REQUEST_DIR, RESPONSE_DIR, LOG_DIR or any of them: their tmpfs mounts
//! filled to the last byte for a few seconds, then emptied again. Only the campaign's own
//! mounts are ever filled, and only an area no other disk fault holds.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{lasting, Ctx, Fault, Injection};
use crate::error::{ChaosError, Result};
use crate::rng::Rng;
use crate::world::Area;

/// Name of the filler files, at the mount's root (beside the spool directory, not in it).
const FILLER: &str = ".gfs2-chaos-fill";

/// The areas of `token` (their [`Area::bit`]s).
pub(super) fn areas(token: u64) -> Vec<Area> {
    Area::ALL
        .into_iter()
        .filter(|a| token & a.bit() != 0)
        .collect()
}

/// A random non-empty subset of the areas that no other fault holds, as a token; `None` when
/// every area is held.
pub(super) fn pick_free(cx: &Ctx<'_>, rng: &mut Rng) -> Option<u64> {
    let free: u64 = Area::ALL
        .into_iter()
        .filter(|a| !cx.w.busy.contains(a))
        .map(Area::bit)
        .sum();
    (free != 0).then(|| loop {
        let t = rng.range(1, 7) & free;
        if t != 0 {
            break t;
        }
    })
}

/// How long a disk fault on `token`'s areas lasts: 1-6 s, but 0.2-1 s when REQUEST_DIR is
/// among them (every agent then fails at once, and a long one would turn a whole stretch of
/// the campaign into instant failures).
pub(super) fn duration(rng: &mut Rng, token: u64) -> Option<std::time::Duration> {
    if token & Area::Requests.bit() != 0 {
        lasting(rng, 200, 1000)
    } else {
        lasting(rng, 1000, 6000)
    }
}

/// The tmpfs of `area`, or an error: a disk fault never touches anything else.
pub(super) fn mount(cx: &Ctx<'_>, area: Area) -> Result<PathBuf> {
    cx.w.mount_of(area).ok_or_else(|| {
        ChaosError::Setup(format!(
            "{} is not inside the campaign's tmpfs: refusing to fault it",
            area.dir(&cx.w.paths).display()
        ))
    })
}

/// Fills the request, response and/or log tmpfs.
pub struct FullDisk;

impl Fault for FullDisk {
    fn class(&self) -> &'static str {
        "full-disk"
    }

    fn needs_tmpfs(&self) -> bool {
        true
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let Some(token) = pick_free(cx, rng) else {
            return Ok(None);
        };
        let mut filled = Vec::new();
        for area in areas(token) {
            let m = mount(cx, area)?;
            cx.w.busy.insert(area);
            filled.push(format!("{} ({} KiB)", m.display(), fill(&m) / 1024));
        }
        Ok(Some(Injection {
            detail: format!("full disk: {}", filled.join(", ")),
            lasts: super::disk::duration(rng, token),
            token,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        for area in areas(token) {
            if let Some(m) = cx.w.mount_of(area) {
                empty(&m);
            }
            cx.w.busy.remove(&area);
        }
        Ok(())
    }
}

fn empty(m: &Path) {
    let _ = std::fs::remove_file(m.join(FILLER));
    for i in 0..1000 {
        if std::fs::remove_file(m.join(format!("{FILLER}.{i}"))).is_err() {
            break;
        }
    }
}

/// Writes until the file system refuses; returns the bytes written.
fn fill(dir: &Path) -> usize {
    let mut n = 0;
    if let Ok(mut f) = std::fs::File::create(dir.join(FILLER)) {
        let chunk = [0u8; 65536];
        while let Ok(k) = f.write(&chunk) {
            if k == 0 {
                break;
            }
            n += k;
        }
    }
    // Then the last partial page: tiny files until even that fails.
    for i in 0..1000 {
        if std::fs::write(dir.join(format!("{FILLER}.{i}")), b"x").is_err() {
            break;
        }
    }
    n
}
