//! Resource exhaustion from another process: a flood of connections to the metrics port (fds),
//! and a hog of inotify instances up to the per-user limit (half the time with a daemon
//! restart while it holds them, as a crash or an upgrade would cause).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{lasting, Ctx, Fault, Injection};
use crate::error::{ChaosError, Result};
use crate::rng::Rng;

/// Helper processes by token, killed by PID at revert.
#[derive(Default)]
struct Helpers {
    running: Vec<(u64, Child)>,
    next: u64,
}

impl Helpers {
    fn add(&mut self, child: Child) -> u64 {
        self.next += 1;
        self.running.push((self.next, child));
        self.next
    }

    fn stop(&mut self, cx: &mut Ctx<'_>, token: u64) {
        if let Some(i) = self.running.iter().position(|(t, _)| *t == token) {
            let (_, child) = self.running.swap_remove(i);
            cx.w.retire(child, Duration::ZERO, None);
        }
    }
}

fn helper(cx: &Ctx<'_>, args: &[String]) -> Command {
    let mut cmd = Command::new(&cx.w.bins.chaos);
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cx.w.ids.apply(&mut cmd);
    cmd
}

/// Floods the daemon's metrics port with 3000 held connections.
#[derive(Default)]
pub struct FdFlood(Helpers);

impl Fault for FdFlood {
    fn class(&self) -> &'static str {
        "fd-exhaustion"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let lasts = lasting(rng, 2000, 8000);
        let secs = lasts.map_or(10, |d| d.as_secs() + 5);
        let addr = format!("127.0.0.1:{}", cx.w.metrics_port);
        let args = [
            "flood",
            "--addr",
            &addr,
            "--conns",
            "3000",
            "--secs",
            &secs.to_string(),
        ];
        let child = helper(cx, &args.map(str::to_owned))
            .spawn()
            .map_err(ChaosError::io("start the metrics flood"))?;
        let pid = child.id();
        Ok(Some(Injection {
            detail: format!("metrics flood (pid {pid}) of 3000 connections to {addr}"),
            lasts,
            token: self.0.add(child),
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        self.0.stop(cx, token);
        Ok(())
    }
}

/// Holds every inotify instance the campaign's user may have.
#[derive(Default)]
pub struct InotifyHog(Helpers);

impl Fault for InotifyHog {
    fn class(&self) -> &'static str {
        "inotify-exhaustion"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let lasts = lasting(rng, 2000, 8000);
        let secs = lasts.map_or(10, |d| d.as_secs() + 5);
        let args = [
            "inotify-hog".to_owned(),
            "--secs".to_owned(),
            secs.to_string(),
        ];
        let mut child = helper(cx, &args)
            .spawn()
            .map_err(ChaosError::io("start the inotify hog"))?;
        let held = child.stdout.take().and_then(|out| {
            let mut line = String::new();
            BufReader::new(out).read_line(&mut line).ok()?;
            Some(line.trim().to_owned())
        });
        let mut detail = format!(
            "inotify hog (pid {}): {}",
            child.id(),
            held.unwrap_or_else(|| "said nothing".to_owned())
        );
        if rng.chance(500) {
            if let Some(pid) = cx.daemon.restart() {
                detail.push_str(&format!("; restart of fence_watcher {pid} meanwhile"));
            }
        }
        Ok(Some(Injection {
            detail,
            lasts,
            token: self.0.add(child),
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        self.0.stop(cx, token);
        Ok(())
    }
}
