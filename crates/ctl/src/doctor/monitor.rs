//! A device's monitor on each node: the last result the CIB's status holds for it there, and
//! here the agent's own monitor, run as Pacemaker runs it, through the daemon's one child
//! runner (`fence_watcher::backend::support::process`).

use std::path::Path;
use std::time::{Duration, SystemTime};

use fence_gfs2_recorder::metadata::INSTALL_PATH;
use fence_watcher::backend::support::process::{self, Finish, Run, Spec};
use gfs2_fence_protocol::Timestamp;

use super::cib::{self, Cib, Device, Op};
use super::cluster::secs;
use super::Finding;
use crate::inspect::shown;

/// The device's last monitor on `node` from the CIB's status (a stonith device's start runs a
/// monitor too): rc 0 passed, a probe's 7 means not running there, anything else failed.
pub fn last_monitor(what: &str, d: &Device, cib: &Cib, node: &str, here: bool) -> Option<Finding> {
    let done = |o: &&Op| !matches!(o.op_status, Some(-1 | 1)) && o.rc != Some(193);
    let last = cib
        .ops
        .iter()
        .filter(|o| o.device == d.id && o.node == node)
        .filter(|o| o.operation == "monitor" || o.operation == "start")
        .filter(done)
        .max_by_key(|o| (o.last_rc_change, o.call_id));
    let elsewhere = format!("run gfs2-fencing doctor on {}", shown(node));
    let Some(op) = last else {
        return (!here).then(|| {
            Finding::warn(
                what,
                "no monitor result yet: its heartbeat there is not known",
                &elsewhere,
            )
        });
    };
    let when = op
        .last_rc_change
        .map(|s| Timestamp::from(SystemTime::UNIX_EPOCH + Duration::from_secs(s)).to_string())
        .unwrap_or_else(|| "an unknown time".into());
    let name = format!("{} {}", op.operation, interval(op.interval_ms));
    match (op.rc, op.op_status) {
        (Some(0), Some(0) | None) => {
            Some(Finding::ok(what, format!("last {name} passed at {when}")))
        }
        (Some(7), _) if op.operation == "monitor" && op.interval_ms == 0 => (!here).then(|| {
            Finding::warn(
                what,
                "not running there: its heartbeat there is not known",
                &elsewhere,
            )
        }),
        (rc, status) => {
            // Pacemaker 2.1 records no exit reason for a fence agent: its stderr is in the log.
            let reason = op.exit_reason.as_deref().map_or_else(
                || format!("the agent's message is in Pacemaker's log (grep '{}\\[' /var/log/pacemaker/pacemaker.log)", cib::AGENT),
                shown,
            );
            let msg = format!(
                "last {name} failed at {when} ({}, op-status {}): {reason}",
                rc.map_or("no rc-code".into(), rc_name),
                status.map_or("?".into(), |s| s.to_string()),
            );
            let fix = format!(
                "repair what it says ({elsewhere}), then pcs resource cleanup {}",
                shown(&d.id)
            );
            Some(Finding::fail(what, msg, &fix))
        }
    }
}

/// An OCF result code as `crm_mon` names it.
fn rc_name(rc: i32) -> String {
    let name = match rc {
        0 => "ok",
        1 => "error",
        2 => "invalid parameter",
        3 => "unimplemented feature",
        4 => "insufficient privileges",
        5 => "not installed",
        6 => "not configured",
        7 => "not running",
        _ => "",
    };
    match name {
        "" => format!("rc {rc}"),
        name => format!("rc {rc}: {name}"),
    }
}

fn interval(ms: u64) -> String {
    match ms {
        0 => "(probe)".to_owned(),
        ms => format!("every {} s", secs(Duration::from_millis(ms))),
    }
}

/// The device's monitor here, run as Pacemaker runs it: the installed agent, `action=monitor`
/// and the device's instance attributes on stdin (Pacemaker's own `pcmk_*` ones left out), a
/// clean environment. The agent's monitor checks the spool and the responder's heartbeat by
/// its own rules (age, a dead writer on this host, simulated routes, backend health).
pub fn local_monitor(d: &Device) -> Vec<Finding> {
    let mut input = String::from("action=monitor\n");
    for (k, v) in &d.instance {
        if !k.starts_with("pcmk_") && !k.contains(['\n', '=']) && !v.contains('\n') {
            input.push_str(&format!("{k}={v}\n"));
        }
    }
    let what = "monitor";
    let agent = Path::new(INSTALL_PATH);
    let run = match run_agent(agent, &input) {
        Ok(run) => run,
        Err(e) => {
            let msg = format!("cannot start the async runtime to run the agent: {e}");
            return vec![Finding::fail(what, msg, "run gfs2-fencing doctor again")];
        }
    };
    let shown_agent = agent.display();
    let err = String::from_utf8_lossy(&run.stderr);
    match run.finish {
        Finish::Exited(st) if st.success() => vec![Finding::ok(
            what,
            format!("{shown_agent} -o monitor passes with the device's attributes"),
        )],
        Finish::SpawnFailed(e) => vec![Finding::fail(
            what,
            format!("cannot run {shown_agent}: {e}"),
            "install the gfs2-fencing package",
        )],
        _ => {
            let msg = format!(
                "{shown_agent} -o monitor fails with the device's attributes ({}): {}",
                run.describe(agent, MONITOR_TIMEOUT),
                shown(err.trim())
            );
            let fix = format!(
                "repair what it says; then pcs resource cleanup {} (a failed device stays stopped until then)",
                shown(&d.id)
            );
            vec![Finding::fail(what, msg, &fix)]
        }
    }
}

/// Pacemaker's default timeout of an operation, which a monitor gets unless its op sets one.
const MONITOR_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs the agent with `input` on stdin the daemon's one way (clean environment, own process
/// group killed at the deadline, bounded output).
fn run_agent(program: &Path, input: &str) -> std::io::Result<Run> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let spec = Spec {
        program,
        args: &[],
        env: &[],
        stdin: Some(input.as_bytes()),
    };
    Ok(runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + MONITOR_TIMEOUT;
        process::run(spec, deadline).await
    }))
}
