//! The daemon under test, supervised as systemd supervises the unit (`Restart=always`,
//! `RestartSec`): when it dies or exits, it is started again after the restart delay.
//!
//! Signals go to it only while it is our unreaped child, so a PID is never reused under us.

use std::process::Child;
use std::time::{Duration, Instant};

use gfs2_fence_protocol::{Heartbeat, HEARTBEAT_FILE};
use rustix::process::Signal;

use crate::error::{ChaosError, Result};
use crate::procs;
use crate::world::World;

enum State {
    Down {
        restart_at: Instant,
    },
    Up {
        child: Child,
        instance: usize,
        asked: bool,
    },
}

/// The supervised daemon.
pub struct Supervisor {
    state: State,
    restart_delay: Duration,
    starts: usize,
    /// Wall-clock skew (seconds, libfaketime) of the next start: the daemon-skew fault.
    skew_s: Option<i64>,
}

impl Supervisor {
    pub fn new(restart_delay: Duration) -> Supervisor {
        Supervisor {
            state: State::Down {
                restart_at: Instant::now(),
            },
            restart_delay,
            starts: 0,
            skew_s: None,
        }
    }

    /// Starts, reaps and restarts as needed; call on every tick.
    pub fn poll(&mut self, w: &mut World) -> Result<()> {
        match &mut self.state {
            State::Down { restart_at } if Instant::now() >= *restart_at => self.start(w),
            State::Down { .. } => Ok(()),
            State::Up {
                child,
                instance,
                asked,
            } => {
                if let Some(status) = procs::exited(child) {
                    let (idx, asked) = (*instance, *asked);
                    w.end_instance(idx, status, asked);
                    // A restart we asked for is immediate (`systemctl restart`); a death waits.
                    let delay = if asked {
                        Duration::ZERO
                    } else {
                        self.restart_delay
                    };
                    self.state = State::Down {
                        restart_at: Instant::now() + delay,
                    };
                } else if !w.instances[*instance].ready {
                    let pid = child.id();
                    w.instances[*instance].ready = heartbeat_pid(w) == Some(pid);
                }
                Ok(())
            }
        }
    }

    fn start(&mut self, w: &mut World) -> Result<()> {
        self.starts += 1;
        let (log, _) = w.out_file(&format!("fence_watcher.{}.log", self.starts))?;
        let mut cmd = w.responder(&w.paths.main_config.clone());
        if let (Some(skew), Some(lib)) = (self.skew_s, crate::agents::libfaketime()) {
            // The wall clock only: tokio's timers run on the monotonic clock.
            cmd.env("LD_PRELOAD", lib)
                .env("FAKETIME", format!("{skew:+}s"))
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        let child = cmd
            .stderr(log)
            .spawn()
            .map_err(ChaosError::io("start fence_watcher"))?;
        let instance = w.add_instance(child.id(), "main");
        w.instances[instance].skew_s = self.skew_s;
        self.state = State::Up {
            child,
            instance,
            asked: false,
        };
        Ok(())
    }

    /// The daemon's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        match &self.state {
            State::Up { child, .. } => Some(child.id()),
            State::Down { .. } => None,
        }
    }

    /// Whether it runs and has written its own heartbeat.
    pub fn ready(&self, w: &World) -> bool {
        match &self.state {
            State::Up { instance, .. } => w.instances[*instance].ready,
            State::Down { .. } => false,
        }
    }

    /// Sends `sig` to the daemon if it runs; returns its PID.
    pub fn signal(&mut self, sig: Signal) -> Option<u32> {
        let pid = self.pid()?;
        procs::signal(pid, sig);
        Some(pid)
    }

    /// `systemctl restart`: SIGTERM (and SIGCONT, should it be stopped); started again at once
    /// when it has exited.
    pub fn restart(&mut self) -> Option<u32> {
        if let State::Up { child, asked, .. } = &mut self.state {
            *asked = true;
            procs::signal(child.id(), Signal::CONT);
            procs::signal(child.id(), Signal::TERM);
            return Some(child.id());
        }
        None
    }

    /// Skews (or, with `None`, unskews) the wall clock of the next start.
    pub fn set_skew(&mut self, skew_s: Option<i64>) {
        self.skew_s = skew_s;
    }

    /// How many times it was started.
    pub fn starts(&self) -> usize {
        self.starts
    }

    /// Stops it for good (SIGTERM, then SIGKILL after `grace`), at the end of the campaign.
    pub fn shutdown(&mut self, w: &mut World, grace: Duration) {
        if let State::Up {
            child, instance, ..
        } = &mut self.state
        {
            procs::signal(child.id(), Signal::CONT);
            system_tests::procs::stop_child(child, grace);
            if let Ok(Some(status)) = child.try_wait() {
                w.end_instance(*instance, status, true);
            }
        }
        self.state = State::Down {
            restart_at: Instant::now() + Duration::from_secs(3600),
        };
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let State::Up { child, .. } = &mut self.state {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn heartbeat_pid(w: &World) -> Option<u32> {
    let bytes = std::fs::read(w.paths.responses.join(HEARTBEAT_FILE)).ok()?;
    Heartbeat::from_json(&bytes).map(|h| h.pid)
}
