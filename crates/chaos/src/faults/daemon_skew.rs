//! The daemon's own clock skewed by an hour (issue 11 #7): it is restarted under libfaketime
//! (+3600 s or -3600 s, wall clock only) for a few seconds, then restarted without. Agents
//! keep the real clock, so every deadline the daemon reads is an hour off its own time.

use super::{lasting, Ctx, Fault, Injection};
use crate::error::{ChaosError, Result};
use crate::rng::Rng;

/// Skews the supervised daemon while active.
#[derive(Default)]
pub struct DaemonSkew {
    active: bool,
}

impl DaemonSkew {
    /// Refuses to run without libfaketime rather than inject nothing.
    pub fn new() -> Result<DaemonSkew> {
        crate::agents::libfaketime()
            .map(|_| DaemonSkew::default())
            .ok_or_else(|| {
                ChaosError::Setup(
                    "the daemon-skew fault needs libfaketime: apt-get install -y faketime"
                        .to_owned(),
                )
            })
    }
}

impl Fault for DaemonSkew {
    fn class(&self) -> &'static str {
        "daemon-skew"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        if self.active {
            return Ok(None);
        }
        let skew = if rng.chance(500) { 3600 } else { -3600 };
        cx.daemon.set_skew(Some(skew));
        let pid = cx.daemon.restart();
        self.active = true;
        Ok(Some(Injection {
            detail: format!("fence_watcher restarted under faketime {skew:+} s (was {pid:?})"),
            lasts: lasting(rng, 3000, 10_000),
            token: 0,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, _: u64) -> Result<()> {
        self.active = false;
        cx.daemon.set_skew(None);
        cx.daemon.restart();
        Ok(())
    }
}
