//! The lying BMC (issue 11): for 2-6 s the Redfish BMC of the `bmc-*` nodes tells one lie of
//! [`crate::bmc::Lie::LIES`], chosen at random, so the lies vary over the campaign; honest
//! again at the revert. The oracle judges the agents of those nodes by the BMC's truth log and
//! looks for its secret everywhere the daemon and the agents write.

use super::{lasting, Ctx, Fault, Injection};
use crate::bmc::Lie;
use crate::error::Result;
use crate::rng::Rng;

/// Switches the lying BMC's lie while active.
#[derive(Default)]
pub struct LyingBmc {
    active: bool,
}

impl Fault for LyingBmc {
    fn class(&self) -> &'static str {
        "lying-bmc"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let (Some(bmc), false) = (&cx.w.bmc, self.active) else {
            return Ok(None);
        };
        let lie = *rng.pick(&Lie::LIES).unwrap_or(&Lie::AcceptNoop);
        bmc.set_lie(lie);
        self.active = true;
        Ok(Some(Injection {
            detail: format!("the BMC of the bmc-* nodes tells {}", lie.name()),
            lasts: lasting(rng, 2000, 6000),
            token: 0,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, _: u64) -> Result<()> {
        self.active = false;
        if let Some(bmc) = &cx.w.bmc {
            bmc.set_lie(Lie::Honest);
        }
        Ok(())
    }
}
