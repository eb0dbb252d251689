//! `status`: does fencing work now? The responder (alive by its heartbeat and lock, pid, host,
//! simulate, backend health), the pending and claimed requests with age and deadline, the
//! fenced nodes, then the verdict and its reasons (`model/verdict.rs`); the exit status says it
//! (`exit.rs`): 0 it works, 3 it does not, 4 it works with warnings, 1 the state cannot be read
//! at all (a directory).

use serde_json::{json, Value};

use crate::inspect::shown;
use crate::model::verdict::{self, Problem};
use crate::model::{Lock, Model, State};
use crate::out::outln;
use crate::views::{emit, fenced_json, request_json};
use crate::{Error, Exit, Spool};

pub fn run(spool: &Spool) -> Result<Exit, Error> {
    let model = Model::load(spool)?;
    let problems = verdict::problems(&model);
    let exit = verdict::exit(&problems);
    if spool.json {
        emit("status", document(spool, &model, &problems, exit));
    } else {
        text(&model, &problems, exit);
    }
    Ok(exit)
}

fn verdict(exit: Exit) -> &'static str {
    match exit {
        Exit::Success => "works",
        Exit::Warnings => "warnings",
        _ => "not_working",
    }
}

fn document(spool: &Spool, m: &Model, problems: &[Problem], exit: Exit) -> Value {
    let problems: Vec<Value> = problems
        .iter()
        .map(|p| json!({ "severity": if p.fail { "fail" } else { "warn" }, "message": p.message }))
        .collect();
    let waiting = m
        .requests
        .iter()
        .filter(|f| matches!(f.state, State::Pending | State::Claimed | State::Expired));
    let fenced: Vec<Value> = m
        .fenced()
        .iter()
        .map(|(n, r)| fenced_json(n.as_str(), r))
        .collect();
    json!({
        "verdict": verdict(exit),
        "exit_code": exit.code(),
        "problems": problems,
        "request_dir": m.request_dir,
        "response_dir": m.response_dir,
        "log_dir": spool.logs(),
        "config": spool.config(),
        "responder": responder_json(m),
        "requests": waiting.map(request_json).collect::<Vec<_>>(),
        "fenced": fenced,
    })
}

fn responder_json(m: &Model) -> Value {
    let r = &m.responder;
    let beat = r.beat.as_ref().ok();
    let lock = match &r.lock {
        Lock::Held { holder, kernel_pid } => json!({
            "held": true,
            "pid": holder.as_ref().map(|h| h.pid).or(*kernel_pid),
            "host": holder.as_ref().map(|h| h.host.as_str()),
            "started": holder.as_ref().map(|h| h.started),
            "error": null,
        }),
        Lock::Free => {
            json!({ "held": false, "pid": null, "host": null, "started": null, "error": null })
        }
        Lock::Unknown(e) => {
            json!({ "held": null, "pid": null, "host": null, "started": null, "error": e })
        }
    };
    json!({
        "alive": r.alive(),
        "heartbeat_error": r.beat.as_ref().err(),
        "pid": beat.map(|b| b.heartbeat.pid),
        "host": beat.map(|b| b.heartbeat.host.as_str()),
        "started": beat.map(|b| b.heartbeat.started),
        "interval_secs": beat.map(|b| b.heartbeat.interval_secs),
        "heartbeat_age_secs": beat.map(|b| b.age.as_secs()),
        "heartbeat_max_age_secs": beat.map(|b| b.max_age.as_secs()),
        "simulated_routes": beat.map(|b| b.heartbeat.simulated_routes),
        "simulate": beat.map(|b| b.heartbeat.simulated_routes > 0),
        "health": beat.and_then(|b| b.heartbeat.health.as_ref()),
        "lock": lock,
    })
}

fn text(m: &Model, problems: &[Problem], exit: Exit) {
    let headline = match exit {
        Exit::Success => "fencing works",
        Exit::Warnings => "fencing works, with warnings",
        _ => "FENCING DOES NOT WORK NOW",
    };
    outln!("{headline}");
    outln!("");
    responder_text(m);
    outln!("");
    let waiting: Vec<_> = m
        .requests
        .iter()
        .filter(|f| matches!(f.state, State::Pending | State::Claimed | State::Expired))
        .collect();
    outln!("requests pending, claimed or expired: {}", waiting.len());
    if !waiting.is_empty() {
        crate::views::requests::table(waiting).print();
    }
    outln!("");
    let fenced = crate::views::fenced::table(m);
    outln!("fenced nodes: {}", fenced.len());
    if !fenced.is_empty() {
        fenced.print();
    }
    if !problems.is_empty() {
        outln!("");
    }
    for p in problems {
        outln!("{} {}", if p.fail { "FAIL" } else { "WARN" }, p.message);
    }
}

fn responder_text(m: &Model) {
    let r = &m.responder;
    match &r.beat {
        Ok(b) => {
            let hb = &b.heartbeat;
            outln!(
                "responder: {} (fence_watcher pid {} on {}, started {}, heartbeat {} s ago, limit {} s)",
                match (r.fresh(), r.alive()) {
                    (true, true) => "alive",
                    (true, false) if r.dead_writer().is_some() => "DEAD (its pid is not running)",
                    (true, false) => "STOPPED (fresh heartbeat, no lock)",
                    _ => "STALE",
                },
                hb.pid,
                shown(&hb.host),
                hb.started,
                b.age.as_secs(),
                b.max_age.as_secs()
            );
            outln!(
                "simulate: {}",
                match hb.simulated_routes {
                    0 => "no".to_owned(),
                    1 => "YES, 1 route fences nothing".to_owned(),
                    n => format!("YES, {n} routes fence nothing"),
                }
            );
            outln!("backend health: {}", health_line(hb));
        }
        Err(e) => outln!("responder: NONE ({})", shown(e)),
    }
    let lock = match &r.lock {
        Lock::Held {
            holder: Some(h), ..
        } => format!(
            "held by pid {} on {} since {}",
            h.pid,
            shown(&h.host),
            h.started
        ),
        Lock::Held { kernel_pid, .. } => format!(
            "held by pid {}",
            kernel_pid.map_or_else(|| "unknown".into(), |p| p.to_string())
        ),
        Lock::Free => "free (no responder holds it)".into(),
        Lock::Unknown(e) => shown(e),
    };
    outln!("lock: {lock}");
}

fn health_line(hb: &gfs2_fence_protocol::Heartbeat) -> String {
    let Some(h) = &hb.health else {
        return "not probed".into();
    };
    let levels: usize = h.nodes.iter().map(|n| n.levels.len()).sum();
    let down: usize = h.nodes.iter().map(|n| n.down().count()).sum();
    let n = h.nodes.len();
    let s = |k: usize| if k == 1 { "" } else { "s" };
    format!(
        "{n} node{}, {levels} level{} probed, {down} down",
        s(n),
        s(levels)
    )
}
