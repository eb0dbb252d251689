//! A hostile after-fence hook for a few seconds: the `[after_fence]` command (configured for
//! every campaign that selects this class) prints 100-300 MB, usually leaves a background
//! child in its process group, and sometimes hangs past its timeout (see [`crate::hook`]).
//! The daemon's memory must stay bounded, and no hook descendant may outlive the campaign.

use super::{lasting, Ctx, Fault, Injection};
use crate::error::{ChaosError, Result};
use crate::hook::{Mode, TIMEOUT_SECS};
use crate::rng::Rng;

/// Turns the hook hostile while active.
#[derive(Default)]
pub struct HostileHook {
    active: bool,
}

fn set(cx: &Ctx<'_>, mode: &Mode) -> Result<()> {
    let p = &cx.w.paths;
    let tmp = p.hook_mode.with_extension("tmp");
    let text = serde_json::to_vec(mode).map_err(|e| ChaosError::Setup(e.to_string()))?;
    std::fs::write(&tmp, text).map_err(ChaosError::io("write the hook's mode"))?;
    cx.w.give(&tmp, 0o644)?;
    std::fs::rename(&tmp, &p.hook_mode).map_err(ChaosError::io("set the hook's mode"))
}

impl Fault for HostileHook {
    fn class(&self) -> &'static str {
        "hostile-hook"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        if self.active {
            return Ok(None);
        }
        let hang = rng.chance(400);
        let mode = Mode {
            bytes: rng.range(100, 300) << 20,
            background: rng.chance(700),
            hang_ms: if hang {
                rng.range(TIMEOUT_SECS * 1000 + 1000, TIMEOUT_SECS * 1000 + 4000)
            } else {
                0
            },
        };
        set(cx, &mode)?;
        self.active = true;
        Ok(Some(Injection {
            detail: format!(
                "hostile hook: {} MB on stdout, background child {}, hang {} ms",
                mode.bytes >> 20,
                mode.background,
                mode.hang_ms
            ),
            lasts: lasting(rng, 2000, 6000),
            token: 0,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, _: u64) -> Result<()> {
        self.active = false;
        set(cx, &Mode::default())
    }
}
