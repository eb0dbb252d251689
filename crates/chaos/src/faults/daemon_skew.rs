//! The daemon's own clock skewed by an hour (issue 11 #7): it is restarted under libfaketime
//! (+3600 s or -3600 s, wall clock only) for a few seconds, then restarted without. Agents
//! keep the real clock, so every deadline the daemon reads is an hour off its own time.
//!
//! An hour ahead, the daemon answers every request expired at once (its deadline passed by the
//! daemon's clock, as the design says), and agents fail in milliseconds: like a full
//! REQUEST_DIR, that would use up a campaign's exchanges (a 500-exchange campaign with it at
//! 3-10 s half the time lost 200 of its 270 successes), so it is chosen a quarter of the time
//! and lasts 0.5-1 s (measured from the restart asked for; the skewed daemon starts once the
//! old one has stopped); an hour behind (requests dated in its future, held to their local
//! window) 3-10 s.

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
        let skew = if rng.chance(250) { 3600 } else { -3600 };
        cx.daemon.set_skew(Some(skew));
        let pid = cx.daemon.restart();
        self.active = true;
        let lasts = if skew > 0 {
            lasting(rng, 500, 1000)
        } else {
            lasting(rng, 3000, 10_000)
        };
        Ok(Some(Injection {
            detail: format!("fence_watcher restarted under faketime {skew:+} s (was {pid:?})"),
            lasts,
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
