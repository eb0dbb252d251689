//! Fault classes: each a module with the same small interface, chosen by `--faults`.
//!
//! A class injects one fault when the campaign asks ([`Fault::inject`]) and says how long it
//! lasts; the campaign reverts it then ([`Fault::revert`]) and at the end, whatever happened.
//! To add a class, write a module with a type implementing [`Fault`] and add its
//! name to [`CLASSES`] and [`make`].

mod backlog;
mod daemon_skew;
mod disk;
mod exhaust;
mod fifo;
mod hostile_hook;
mod lying;
mod lying_bmc;
mod moved;
mod readonly;
mod responder;
mod signals;
mod skew;

use std::time::Duration;

use crate::agents::Running;
use crate::error::{ChaosError, Result};
use crate::history::History;
use crate::rng::Rng;
use crate::supervisor::Supervisor;
use crate::world::World;

/// What a fault may act on.
pub struct Ctx<'a> {
    pub w: &'a mut World,
    pub daemon: &'a mut Supervisor,
    pub agents: &'a mut Vec<Running>,
    /// Clock skews (seconds) the next agents start with.
    pub skews: &'a mut Vec<i64>,
    /// What a fault records for the oracle beyond its own record (moves, backlogs).
    pub history: &'a mut History,
}

/// One injection: what was done, how long it lasts (`None`: instantaneous), and a token that
/// [`Fault::revert`] gets back.
#[derive(Debug, Clone)]
pub struct Injection {
    pub detail: String,
    pub lasts: Option<Duration>,
    pub token: u64,
}

/// A fault class.
pub trait Fault {
    /// Its `--faults` name.
    fn class(&self) -> &'static str;
    /// Injects one fault now; `None` when there is nothing to act on (no agent in flight).
    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>>;
    /// Undoes the injection `token`; must be harmless when what it acted on is gone.
    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        let _ = (cx, token);
        Ok(())
    }
    /// Whether the spool directories must be inside tmpfs mounts of their own.
    fn needs_tmpfs(&self) -> bool {
        false
    }
}

/// Every class, in the order `--faults all` lists them.
pub const CLASSES: [&str; 18] = [
    "kill-daemon",
    "stop-daemon",
    "kill-agent",
    "stop-agent",
    "sighup",
    "second-responder",
    "full-disk",
    "fd-exhaustion",
    "inotify-exhaustion",
    "clock-skew",
    "hostile-hook",
    "fifo-logdir",
    "lying-responder",
    "backlog",
    "moved-response-dir",
    "read-only",
    "daemon-skew",
    "lying-bmc",
];

/// The class called `name`.
pub fn make(name: &str) -> Result<Box<dyn Fault>> {
    Ok(match name {
        "kill-daemon" => Box::new(signals::KillDaemon),
        "stop-daemon" => Box::new(signals::StopDaemon),
        "kill-agent" => Box::new(signals::KillAgent),
        "stop-agent" => Box::new(signals::StopAgent),
        "sighup" => Box::new(signals::Sighup),
        "second-responder" => Box::new(responder::SecondResponder::default()),
        "full-disk" => Box::new(disk::FullDisk),
        "fd-exhaustion" => Box::new(exhaust::FdFlood::default()),
        "inotify-exhaustion" => Box::new(exhaust::InotifyHog::default()),
        "clock-skew" => Box::new(skew::ClockSkew::new()?),
        "hostile-hook" => Box::new(hostile_hook::HostileHook::default()),
        "fifo-logdir" => Box::new(fifo::FifoLogdir),
        "lying-responder" => Box::new(lying::LyingResponder::default()),
        "backlog" => Box::new(backlog::Backlog::default()),
        "moved-response-dir" => Box::new(moved::MovedResponseDir::default()),
        "read-only" => Box::new(readonly::ReadOnly),
        "daemon-skew" => Box::new(daemon_skew::DaemonSkew::new()?),
        "lying-bmc" => Box::new(lying_bmc::LyingBmc::default()),
        other => {
            return Err(ChaosError::Setup(format!(
                "unknown fault class {other:?}; known: all, none, {}",
                CLASSES.join(", ")
            )))
        }
    })
}

/// `all`, `none`, or a comma-separated list of class names.
pub fn parse_list(list: &str) -> Result<Vec<Box<dyn Fault>>> {
    let names: Vec<&str> = match list.trim() {
        "all" => CLASSES.to_vec(),
        "none" | "" => Vec::new(),
        l => l.split(',').map(str::trim).collect(),
    };
    names.into_iter().map(make).collect()
}

/// A random duration in `lo_ms..=hi_ms`.
fn lasting(rng: &mut Rng, lo_ms: u64, hi_ms: u64) -> Option<Duration> {
    Some(Duration::from_millis(rng.range(lo_ms, hi_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_class_can_be_made_and_unknown_ones_are_named() {
        for name in CLASSES {
            let faketime = ["clock-skew", "daemon-skew"].contains(&name);
            if faketime && crate::agents::libfaketime().is_none() {
                // Without libfaketime the class refuses to run, and says how to install it.
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI must have libfaketime: apt-get install -y faketime"
                );
                assert!(make(name).is_err());
                continue;
            }
            assert_eq!(make(name).map(|f| f.class()).ok(), Some(name));
        }
        let err = parse_list("kill-daemon,bogus").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("\"bogus\"")));
        assert!(parse_list("none").is_ok_and(|l| l.is_empty()));
    }
}
