//! Faults that are signals: `kill -9` and SIGSTOP/SIGCONT of the daemon and of agents, and
//! SIGHUP reloads of the daemon.

use rustix::process::Signal;

use super::{lasting, Ctx, Fault, Injection};
use crate::error::Result;
use crate::rng::Rng;

fn instant(detail: String) -> Option<Injection> {
    Some(Injection {
        detail,
        lasts: None,
        token: 0,
    })
}

/// `kill -9` of the daemon (the supervisor restarts it).
pub struct KillDaemon;

impl Fault for KillDaemon {
    fn class(&self) -> &'static str {
        "kill-daemon"
    }
    fn inject(&mut self, cx: &mut Ctx<'_>, _: &mut Rng) -> Result<Option<Injection>> {
        Ok(cx
            .daemon
            .signal(Signal::KILL)
            .and_then(|pid| instant(format!("kill -9 fence_watcher {pid}"))))
    }
}

/// SIGSTOP of the daemon for up to 5 s.
pub struct StopDaemon;

impl Fault for StopDaemon {
    fn class(&self) -> &'static str {
        "stop-daemon"
    }
    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let Some(pid) = cx.daemon.signal(Signal::STOP) else {
            return Ok(None);
        };
        cx.w.stopped.push(pid);
        Ok(Some(Injection {
            detail: format!("SIGSTOP fence_watcher {pid}"),
            lasts: lasting(rng, 300, 5000),
            token: u64::from(pid),
        }))
    }
    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        // Only the instance we stopped: after a kill and restart it is gone, and its PID too.
        if cx.daemon.pid().map(u64::from) == Some(token) {
            cx.daemon.signal(Signal::CONT);
        }
        cx.w.stopped.retain(|p| u64::from(*p) != token);
        Ok(())
    }
}

/// `kill -9` of an agent's process group, as Pacemaker does when it overruns.
pub struct KillAgent;

impl Fault for KillAgent {
    fn class(&self) -> &'static str {
        "kill-agent"
    }
    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let n = cx.agents.len() as u64;
        if n == 0 {
            return Ok(None);
        }
        let a = &mut cx.agents[usize::try_from(rng.range(0, n - 1)).unwrap_or(0)];
        a.kill();
        Ok(instant(format!(
            "kill -9 agent #{} (pid {})",
            a.rec.idx,
            a.pid()
        )))
    }
}

/// SIGSTOP of an agent for up to 6 s (it may outlast its timeout).
pub struct StopAgent;

impl Fault for StopAgent {
    fn class(&self) -> &'static str {
        "stop-agent"
    }
    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let n = cx.agents.len() as u64;
        if n == 0 {
            return Ok(None);
        }
        let a = &mut cx.agents[usize::try_from(rng.range(0, n - 1)).unwrap_or(0)];
        if !a.stop() {
            return Ok(None);
        }
        Ok(Some(Injection {
            detail: format!("SIGSTOP agent #{} (pid {})", a.rec.idx, a.pid()),
            lasts: lasting(rng, 500, 6000),
            token: u64::from(a.pid()),
        }))
    }
    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        if let Some(a) = cx.agents.iter_mut().find(|a| u64::from(a.pid()) == token) {
            a.cont();
        }
        Ok(())
    }
}

/// SIGHUP: the daemon reloads its configuration.
pub struct Sighup;

impl Fault for Sighup {
    fn class(&self) -> &'static str {
        "sighup"
    }
    fn inject(&mut self, cx: &mut Ctx<'_>, _: &mut Rng) -> Result<Option<Injection>> {
        Ok(cx
            .daemon
            .signal(Signal::HUP)
            .and_then(|pid| instant(format!("SIGHUP fence_watcher {pid}"))))
    }
}
