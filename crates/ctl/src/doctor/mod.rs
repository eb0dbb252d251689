//! `gfs2-fencing doctor`: is this installation, and the Pacemaker cluster around it, set up to
//! fence? Every finding is one line, `OK`, `WARN` or `FAIL`, and each WARN or FAIL says how to
//! fix it on the line after (`  fix: ...`).
//!
//! - Installation (`install.rs`): the request, response and log directories by the protocol's
//!   trust rule, the spool on persistent disk, the agent installed in `/usr/sbin`, the daemon's
//!   configuration by the daemon's own checks (`fence_watcher::check`), and the heartbeat by
//!   `check`'s rules (age, simulated routes, backend health, responder lock).
//! - Pacemaker (`cluster.rs`), when `cibadmin --query` answers (otherwise one `SKIP` line says
//!   why): `stonith-enabled`, every `fence_gfs2_recorder` device's `fence_timeout` against the
//!   time Pacemaker gives it, its host list, whether it is disabled, and its monitor on each
//!   node that may run it (`monitor.rs`): the agent's monitor run here with the device's
//!   attributes, and the last monitor result on each node from the CIB's status section.
//!
//! Exit status as `check`: 0 when nothing FAILed, 1 otherwise. `--json` prints one document,
//! `{"schema": "gfs2-fencing.doctor", "version": 1, "ok": bool, "findings": [{"level",
//! "check", "message", "fix"}]}`, level one of `ok`, `warn`, `fail`, `skip`.

mod cib;
pub(crate) mod cluster;
mod duration;
mod install;
mod monitor;

use crate::out::outln;
use crate::{Error, Spool};

pub use cib::{parse as parse_cib, Cib, Device, Op};
pub use duration::parse as parse_duration;

/// The arguments of `doctor`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub spool: Spool,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
    /// Not checked (no cluster reachable): says why, fails nothing.
    Skip,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Ok => "OK  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
            Level::Skip => "SKIP",
        }
    }

    fn json(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
            Level::Skip => "skip",
        }
    }
}

/// One finding: what was checked, what was found, and for WARN and FAIL how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub check: String,
    pub message: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(check: impl Into<String>, message: impl Into<String>) -> Self {
        Finding::new(Level::Ok, check, message, None)
    }

    pub fn new(
        level: Level,
        check: impl Into<String>,
        message: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Finding {
            level,
            check: check.into(),
            message: message.into(),
            fix,
        }
    }

    pub fn warn(check: impl Into<String>, message: impl Into<String>, fix: &str) -> Self {
        Finding::new(Level::Warn, check, message, Some(fix.to_owned()))
    }

    pub fn fail(check: impl Into<String>, message: impl Into<String>, fix: &str) -> Self {
        Finding::new(Level::Fail, check, message, Some(fix.to_owned()))
    }

    /// OK or FAIL from one of `check`'s results; `fix` for a failure whose text does not give
    /// a command to run already.
    fn from_check(check: &str, result: Result<String, String>, fix: &str) -> Self {
        match result {
            Ok(m) => Finding::ok(check, m),
            Err(m) if m.contains("run: ") => Finding::new(Level::Fail, check, m, None),
            Err(m) => Finding::fail(check, m, fix),
        }
    }
}

/// Runs every check and prints the findings; `Ok(false)` when one FAILed.
pub fn run(args: &Args) -> Result<bool, Error> {
    let mut findings = install::findings(args);
    findings.extend(cluster::findings());
    if args.spool.json {
        print_json(&findings);
    } else {
        for f in &findings {
            outln!("{} {}: {}", f.level.label(), f.check, f.message);
            if let Some(fix) = &f.fix {
                outln!("     fix: {fix}");
            }
        }
    }
    Ok(!findings.iter().any(|f| f.level == Level::Fail))
}

fn print_json(findings: &[Finding]) {
    let list: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "level": f.level.json(),
                "check": f.check,
                "message": f.message,
                "fix": f.fix,
            })
        })
        .collect();
    let ok = !findings.iter().any(|f| f.level == Level::Fail);
    crate::views::emit("doctor", serde_json::json!({ "ok": ok, "findings": list }));
}
