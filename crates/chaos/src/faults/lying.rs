//! A lying third-party responder on the spool for a few seconds: `gfs2-chaos liar` (this
//! executable), which answers a fifth of the requests it sees before `fence_watcher` does, with
//! self-contradictory successes (see [`crate::liar`]). Agents must refuse those answers.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{lasting, Ctx, Fault, Injection};
use crate::error::{ChaosError, Result};
use crate::rng::Rng;

/// The running liars, by token.
#[derive(Default)]
pub struct LyingResponder {
    running: Vec<(u64, Child)>,
    next: u64,
}

impl Fault for LyingResponder {
    fn class(&self) -> &'static str {
        "lying-responder"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        // Each forged answer costs its agent a whole fence_timeout (the real answer cannot
        // replace it), so the liar is brief and answers a fifth of what it sees.
        let lasts = lasting(rng, 1000, 3000);
        let secs = lasts.map_or(10, |d| d.as_secs() + 2);
        let p = &cx.w.paths;
        let mut cmd = Command::new(&cx.w.bins.chaos);
        cmd.arg("liar")
            .arg("--requests")
            .arg(&p.requests)
            .arg("--responses")
            .arg(&p.responses)
            .arg("--log")
            .arg(&p.liar_log)
            .args(["--secs", &secs.to_string(), "--permille", "200"])
            .args(["--seed", &rng.next_u64().to_string()])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cx.w.ids.apply(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(ChaosError::io("start the lying responder"))?;
        self.next += 1;
        let detail = format!("lying responder (pid {}) on the spool", child.id());
        self.running.push((self.next, child));
        Ok(Some(Injection {
            detail,
            lasts,
            token: self.next,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        if let Some(i) = self.running.iter().position(|(t, _)| *t == token) {
            let (_, child) = self.running.swap_remove(i);
            cx.w.retire(child, Duration::ZERO, None);
        }
        Ok(())
    }
}
