//! The Pacemaker side, from the CIB (`cibadmin --query`; `CIB_file` is honoured as by every
//! Pacemaker tool): fencing enabled, and for every `fence_gfs2_recorder` device its
//! `fence_timeout` against the time Pacemaker gives the agent (`pcmk_reboot_timeout` /
//! `pcmk_off_timeout`, else `stonith-timeout`), its host list, whether it is disabled, and its
//! monitor on each node that may run it (the configuration's nodes but those a `-INFINITY`
//! location bans): here, the agent's own monitor run with the device's attributes; everywhere,
//! the last monitor result the CIB's status section holds (the monitor checks the heartbeat
//! where it ran, and the spool is local to the node that runs the agent).

use std::process::{Command, Stdio};
use std::time::Duration;

use fence_gfs2_recorder::options::{key, parse_bool};
use fence_gfs2_recorder::settings::parse_seconds;

use super::cib::{self, Cib, Device};
use super::monitor::{last_monitor, local_monitor};
use super::{duration, Finding, Level};
use crate::inspect::shown;

/// Pacemaker's `stonith-timeout` when the CIB sets none.
const DEFAULT_STONITH_TIMEOUT: Duration = Duration::from_secs(60);
/// The least time the agent needs after `fence_timeout`, to withdraw its request and log: the
/// agent's own warning threshold under Pacemaker's default (60 s − 55 s).
const MARGIN: Duration = Duration::from_secs(5);
/// How long `cibadmin` may take to answer.
const CIBADMIN_TIMEOUT_SECS: &str = "10";

/// The Pacemaker findings, or one SKIP line saying why there are none.
pub fn findings() -> Vec<Finding> {
    let xml = match query() {
        Ok(xml) => xml,
        Err(why) => {
            let msg = format!("not checked: {why}");
            return vec![Finding::new(Level::Skip, "pacemaker", msg, None)];
        }
    };
    let cib = match cib::parse(&xml) {
        Ok(c) => c,
        Err(e) => {
            let fix = "cibadmin --query | xmllint --noout - shows where";
            return vec![Finding::fail("pacemaker", e.to_string(), fix)];
        }
    };
    let local = local_node();
    judge(&cib, local.as_deref(), &local_monitor)
}

/// `cibadmin --query`'s output, or why there is none.
fn query() -> Result<String, String> {
    let out = Command::new("cibadmin")
        .args(["--query", "--timeout", CIBADMIN_TIMEOUT_SECS])
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("cibadmin not found: Pacemaker's tools are not installed here".into())
        }
        Err(e) => return Err(format!("cannot run cibadmin: {e}")),
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!(
            "no cluster reachable (cibadmin --query: {}{}{})",
            out.status,
            if first.is_empty() { "" } else { ": " },
            shown(first.trim())
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// This node's name in the cluster (`crm_node -n`), else the host name.
fn local_node() -> Option<String> {
    let out = Command::new("crm_node")
        .arg("-n")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    out.filter(|n| !n.is_empty())
        .or_else(|| Some(gfs2_fence_protocol::hostname()))
}

/// Every finding about `cib`; `local` is this node's name and `beat` checks the heartbeat of a
/// device here.
pub fn judge(
    cib: &Cib,
    local: Option<&str>,
    beat: &dyn Fn(&Device) -> Vec<Finding>,
) -> Vec<Finding> {
    let mut out = vec![stonith_enabled(cib)];
    let (timeout, f) = stonith_timeout(cib);
    out.push(f);
    if cib.devices.is_empty() {
        let fix = format!(
            "pcs stonith create fence-gfs2 {} pcmk_host_list=\"{}\" fence_timeout=50 op monitor interval=60s",
            cib::AGENT,
            nodes(cib)
        );
        let msg = format!("no stonith device uses {}", cib::AGENT);
        out.push(Finding::fail("devices", msg, &fix));
    }
    for d in &cib.devices {
        out.extend(device(cib, d, timeout, local, beat));
    }
    if !cib.devices.is_empty() {
        out.push(coverage(cib));
    }
    out
}

/// The nodes of `pcmk_host_list` (blanks, commas, semicolons between them) or of
/// `pcmk_host_map` (`node:port` pairs); `None` when the device names none.
fn listed(d: &Device) -> Option<Vec<String>> {
    let split = |v: &str| -> Vec<String> {
        v.split([' ', '\t', ',', ';'])
            .filter(|n| !n.is_empty())
            .map(|n| n.split([':', '=']).next().unwrap_or(n).to_owned())
            .collect()
    };
    let names = d
        .instance
        .get("pcmk_host_list")
        .or(d.instance.get("pcmk_host_map"))
        .map(|v| split(v))?;
    (!names.is_empty()).then_some(names)
}

/// Every node of the cluster should be fenceable through gfs2-fencing: a node in no device's
/// list is fenced by another agent, or by none.
fn coverage(cib: &Cib) -> Finding {
    let what = "host lists";
    let every = cib.devices.iter().any(|d| {
        d.instance
            .get("pcmk_host_check")
            .map(|c| c.to_ascii_lowercase())
            .as_deref()
            == Some("none")
    });
    let lists: Vec<String> = cib.devices.iter().filter_map(listed).flatten().collect();
    let missing: Vec<String> = cib
        .nodes
        .iter()
        .filter(|n| !every && !lists.contains(n))
        .map(|n| shown(n))
        .collect();
    if missing.is_empty() {
        let msg = format!(
            "every node of the cluster is in a {} device's host list",
            cib::AGENT
        );
        return Finding::ok(what, msg);
    }
    Finding::warn(
        what,
        format!(
            "{} in no {} device's host list: Pacemaker fences {} through another agent, or not at all",
            missing.join(", "),
            cib::AGENT,
            if missing.len() == 1 { "it" } else { "them" }
        ),
        "add them to a device's pcmk_host_list (pcs stonith update DEVICE pcmk_host_list=\"...\")",
    )
}

/// The configuration's node names, escaped, for a `pcmk_host_list` in a fix.
fn nodes(cib: &Cib) -> String {
    let names: Vec<String> = cib.nodes.iter().map(|n| shown(n)).collect();
    names.join(" ")
}

/// A Pacemaker boolean (`crm_is_true` and its false forms); `None` when it is neither.
fn pacemaker_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "y" => Some(true),
        "n" => Some(false),
        other => parse_bool(other),
    }
}

fn stonith_enabled(cib: &Cib) -> Finding {
    let what = "stonith-enabled";
    let fix = "pcs property set stonith-enabled=true";
    match cib.properties.get(what).map(|v| (v, pacemaker_bool(v))) {
        None => Finding::ok(what, "unset: true by default, Pacemaker fences"),
        Some((_, Some(true))) => Finding::ok(what, "true: Pacemaker fences"),
        Some((_, Some(false))) => Finding::fail(
            what,
            "false: Pacemaker never fences a failed node, and GFS2 blocks on every node until it is fenced",
            fix,
        ),
        Some((v, None)) => Finding::warn(
            what,
            format!("{} is not a boolean: Pacemaker takes true", shown(v)),
            fix,
        ),
    }
}

/// The cluster's fencing timeout and its finding.
fn stonith_timeout(cib: &Cib) -> (Duration, Finding) {
    let what = "stonith-timeout";
    let Some(v) = cib.properties.get(what) else {
        let msg = "unset: 60 s by default";
        return (DEFAULT_STONITH_TIMEOUT, Finding::ok(what, msg));
    };
    match duration::parse(v) {
        Some(d) => (
            d,
            Finding::ok(what, format!("{} ({} s)", shown(v), secs(d))),
        ),
        None => {
            let msg = format!("{} is not a duration: Pacemaker takes 60 s", shown(v));
            let f = Finding::warn(what, msg, "pcs property set stonith-timeout=60s");
            (DEFAULT_STONITH_TIMEOUT, f)
        }
    }
}

/// Seconds as printed: whole, or to the millisecond.
pub(super) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.3}")
    }
}

/// One device's findings: enabled, host list, timeout, and its monitor on each candidate node.
fn device(
    cib: &Cib,
    d: &Device,
    timeout: Duration,
    local: Option<&str>,
    beat: &dyn Fn(&Device) -> Vec<Finding>,
) -> Vec<Finding> {
    let what = format!("device {}", shown(&d.id));
    let mut out = vec![
        enabled(&what, d),
        host_list(&what, cib, d),
        fence_timeout(&what, d, timeout),
    ];
    for node in candidates(cib, d) {
        let at = format!("{what} on {}", shown(&node));
        if Some(node.as_str()) == local {
            out.extend(beat(d).into_iter().map(|mut f| {
                f.check = format!("{} ({at}, here)", f.check);
                f
            }));
        }
        out.extend(last_monitor(
            &at,
            d,
            cib,
            &node,
            Some(node.as_str()) == local,
        ));
    }
    out
}

fn enabled(what: &str, d: &Device) -> Finding {
    let role = d.meta.get("target-role").map(|r| r.to_ascii_lowercase());
    if role.as_deref() == Some("stopped") {
        return Finding::fail(
            what,
            "disabled (target-role=Stopped): Pacemaker does not fence through it",
            &format!("pcs stonith enable {}", shown(&d.id)),
        );
    }
    Finding::ok(what, "enabled")
}

/// The agent's `list` names only nodes that already have records, so only a static list (or a
/// map) lets Pacemaker pick the device for a node never fenced before.
fn host_list(what: &str, cib: &Cib, d: &Device) -> Finding {
    let check = d
        .instance
        .get("pcmk_host_check")
        .map(|c| c.to_ascii_lowercase());
    let list = d
        .instance
        .get("pcmk_host_list")
        .or(d.instance.get("pcmk_host_map"))
        .filter(|l| !l.trim().is_empty());
    let fix = format!(
        "pcs stonith update {} pcmk_host_list=\"{}\" pcmk_host_check=static-list",
        shown(&d.id),
        nodes(cib)
    );
    let why = "the agent's list names only nodes that were already fenced, so a node never fenced before could not be fenced";
    match (list, check.as_deref()) {
        (_, Some(c @ ("dynamic-list" | "status"))) => {
            Finding::fail(what, format!("pcmk_host_check={c}: {why}"), &fix)
        }
        (None, Some("none")) => Finding::warn(
            what,
            "pcmk_host_check=none and no pcmk_host_list: Pacemaker assumes it fences every node",
            &fix,
        ),
        (None, _) => Finding::fail(
            what,
            format!("no pcmk_host_list: Pacemaker asks the agent (dynamic-list), and {why}"),
            &fix,
        ),
        (Some(l), _) => Finding::ok(what, format!("fences {} (static list)", shown(l.trim()))),
    }
}

/// `fence_timeout` must end before Pacemaker kills the agent, with room to withdraw the request.
fn fence_timeout(what: &str, d: &Device, stonith: Duration) -> Finding {
    let name = key::FENCE_TIMEOUT.name;
    let (text, origin) = match d.instance.get(name) {
        Some(v) => (v.as_str(), ""),
        None => (
            key::FENCE_TIMEOUT.default.unwrap_or("60"),
            " (the agent's default)",
        ),
    };
    let id = shown(&d.id);
    let ft = match parse_seconds(text.trim()) {
        Ok(ft) => ft,
        Err(e) => {
            let fix = format!("pcs stonith update {id} {name}=50");
            return Finding::fail(what, format!("{name}: {e}; the agent refuses to run"), &fix);
        }
    };
    let (limit, by) = ["reboot", "off"]
        .iter()
        .map(|a| action_timeout(d, a, stonith))
        .min_by_key(|(l, _)| *l)
        .unwrap_or((stonith, "stonith-timeout".to_owned()));
    let shown_ft = format!("{name} {} s{origin}", secs(ft));
    let good = limit.saturating_sub(MARGIN * 2).max(Duration::from_secs(1));
    let fix = format!("pcs stonith update {id} {name}={} (or give Pacemaker more time: pcs property set stonith-timeout=...)", secs(good));
    if ft >= limit {
        let msg = format!("{shown_ft} is not below {by} {} s: Pacemaker kills the agent before it gives up, and its request stays behind for the responder", secs(limit));
        return Finding::fail(what, msg, &fix);
    }
    if limit - ft < MARGIN {
        let msg = format!("{shown_ft} leaves {} s under {by} {} s: the agent may be killed while it withdraws its request", secs(limit - ft), secs(limit));
        return Finding::warn(what, msg, &fix);
    }
    Finding::ok(what, format!("{shown_ft} is below {by} {} s", secs(limit)))
}

/// The time Pacemaker gives the agent for `action`: `pcmk_<action>_timeout`, else the cluster's.
fn action_timeout(d: &Device, action: &str, stonith: Duration) -> (Duration, String) {
    let attr = format!("pcmk_{action}_timeout");
    match d.instance.get(&attr).and_then(|v| duration::parse(v)) {
        Some(t) => (t, attr),
        None => (stonith, "stonith-timeout".to_owned()),
    }
}

/// The nodes that may run the device: the configuration's, without those it is banned from.
fn candidates(cib: &Cib, d: &Device) -> Vec<String> {
    let mut nodes = cib.nodes.clone();
    if nodes.is_empty() {
        nodes = cib.ops.iter().map(|o| o.node.clone()).collect();
        nodes.dedup();
    }
    nodes.retain(|n| !d.banned.contains(n));
    nodes
}
