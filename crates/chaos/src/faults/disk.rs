//! A full disk under RESPONSE_DIR, LOG_DIR or both: their tmpfs mounts filled to the last
//! byte for a few seconds, then emptied again. Only the campaign's own mounts are ever filled.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{lasting, Ctx, Fault, Injection};
use crate::error::{ChaosError, Result};
use crate::rng::Rng;

/// Name of the filler files: a dot name, which every protocol reader ignores.
const FILLER: &str = ".gfs2-chaos-fill";

/// Fills the response and/or log tmpfs.
pub struct FullDisk;

fn targets(cx: &Ctx<'_>, token: u64) -> Vec<PathBuf> {
    let p = &cx.w.paths;
    [(1, &p.responses), (2, &p.logs)]
        .into_iter()
        .filter(|(bit, _)| token & bit != 0)
        .map(|(_, d)| d.clone())
        .collect()
}

impl Fault for FullDisk {
    fn class(&self) -> &'static str {
        "full-disk"
    }

    fn needs_tmpfs(&self) -> bool {
        true
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let token = rng.range(1, 3);
        let mut filled = Vec::new();
        for dir in targets(cx, token) {
            if !cx.w.mounted(&dir) {
                return Err(ChaosError::Setup(format!(
                    "{} is not the campaign's tmpfs: refusing to fill it",
                    dir.display()
                )));
            }
            filled.push(format!("{} ({} KiB)", dir.display(), fill(&dir) / 1024));
        }
        Ok(Some(Injection {
            detail: format!("full disk: {}", filled.join(", ")),
            lasts: lasting(rng, 1000, 6000),
            token,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        for dir in targets(cx, token) {
            let _ = std::fs::remove_file(dir.join(FILLER));
            for i in 0..1000 {
                if std::fs::remove_file(dir.join(format!("{FILLER}.{i}"))).is_err() {
                    break;
                }
            }
        }
        Ok(())
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
