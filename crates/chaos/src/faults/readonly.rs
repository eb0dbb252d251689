//! A read-only disk under REQUEST_DIR, RESPONSE_DIR and/or LOG_DIR (issue 11: the tmpfs
//! remounted `ro`), for a few seconds, then writable again. Only the campaign's own mounts,
//! and only areas no other disk fault holds.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::disk::{areas, mount, pick_free};
use super::{Ctx, Fault, Injection};
use crate::error::Result;
use crate::rng::Rng;

/// Remounts the chosen tmpfs mounts read-only.
pub struct ReadOnly;

/// `mount -o remount,{how}`; the kernel refuses `ro` while a file is open for writing on it
/// (an agent appending to its log), so it is tried a few times.
fn remount(m: &Path, how: &str) -> bool {
    for _ in 0..20 {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{how}")])
            .arg(m)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

impl Fault for ReadOnly {
    fn class(&self) -> &'static str {
        "read-only"
    }

    fn needs_tmpfs(&self) -> bool {
        true
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let Some(want) = pick_free(cx, rng) else {
            return Ok(None);
        };
        let mut token = 0;
        let mut done = Vec::new();
        for area in areas(want) {
            let m = mount(cx, area)?;
            if remount(&m, "ro") {
                cx.w.busy.insert(area);
                token |= area.bit();
                done.push(m.display().to_string());
            }
        }
        if token == 0 {
            return Ok(None);
        }
        Ok(Some(Injection {
            detail: format!("read-only: {}", done.join(", ")),
            lasts: super::disk::duration(rng, token),
            token,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        for area in areas(token) {
            if let Some(m) = cx.w.mount_of(area) {
                // `rw` never meets a writer; the world's cleanup tries again whatever happens.
                remount(&m, "rw");
            }
            cx.w.busy.remove(&area);
        }
        Ok(())
    }
}
