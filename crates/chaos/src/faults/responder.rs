//! A second responder on the same spool: another `fence_watcher`, half the time `--simulate`,
//! as a second unit or a forgotten demo would be, for a few seconds.

use std::process::Child;
use std::time::Duration;

use super::{lasting, Ctx, Fault, Injection};
use crate::error::{ChaosError, Result};
use crate::rng::Rng;

/// The running second responders, by token.
#[derive(Default)]
pub struct SecondResponder {
    running: Vec<(u64, Child, usize)>,
    next: u64,
}

impl Fault for SecondResponder {
    fn class(&self) -> &'static str {
        "second-responder"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let simulate = rng.chance(500);
        self.next += 1;
        let (log, _) = cx.w.out_file(&format!("second.{}.log", self.next))?;
        let mut cmd = cx.w.responder(&cx.w.paths.second_config.clone());
        if simulate {
            cmd.arg("--simulate");
        }
        let child = cmd
            .stderr(log)
            .spawn()
            .map_err(ChaosError::io("start a second fence_watcher"))?;
        let role = if simulate {
            "second-simulate"
        } else {
            "second"
        };
        let pid = child.id();
        let idx = cx.w.add_instance(pid, role);
        self.running.push((self.next, child, idx));
        Ok(Some(Injection {
            detail: format!("{role} fence_watcher {pid} on the same spool"),
            lasts: lasting(rng, 1000, 5000),
            token: self.next,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        if let Some(i) = self.running.iter().position(|(t, _, _)| *t == token) {
            let (_, child, idx) = self.running.swap_remove(i);
            cx.w.retire(child, Duration::from_secs(15), Some(idx));
        }
        Ok(())
    }
}
