//! What `doctor` reads in a CIB (`cibadmin --query`): the cluster properties (`crm_config`), the
//! nodes, every stonith primitive of type `fence_gfs2_recorder` with its instance and meta
//! attributes and the nodes a `-INFINITY` location bans it from, and from the status section
//! each node's operation history of those devices (`lrm_rsc_op`).
//!
//! Rules (`<rule>`) on attribute sets are not evaluated: every set counts, the first value of
//! a name wins, as for a CIB without rules.

use std::collections::BTreeMap;

use gfs2_discovery::parse::xml::{self, name};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// The agent whose devices are read.
pub const AGENT: &str = fence_gfs2_recorder::metadata::AGENT;

/// A CIB that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the CIB is not readable XML: {0}")]
pub struct CibError(String);

/// What the helpers' errors name.
const WHAT: &str = "cibadmin --query output";

/// The parts of a CIB that `doctor` judges.
#[derive(Debug, Default)]
pub struct Cib {
    /// `crm_config` properties, e.g. `stonith-enabled`.
    pub properties: BTreeMap<String, String>,
    /// Node names (`uname`) of the configuration.
    pub nodes: Vec<String>,
    pub devices: Vec<Device>,
    /// The devices' operations, from every node's history.
    pub ops: Vec<Op>,
}

/// One `fence_gfs2_recorder` stonith primitive.
#[derive(Debug, Default, Clone)]
pub struct Device {
    pub id: String,
    pub instance: BTreeMap<String, String>,
    pub meta: BTreeMap<String, String>,
    /// Nodes a `-INFINITY` `rsc_location` keeps it from.
    pub banned: Vec<String>,
}

/// One `lrm_rsc_op` of a device on a node.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Op {
    pub node: String,
    pub device: String,
    /// `monitor`, `start`, `stop`.
    pub operation: String,
    pub interval_ms: u64,
    /// The agent's result (`rc-code`); `None` when absent or not a number.
    pub rc: Option<i32>,
    /// Pacemaker's execution status (`op-status`): 0 done, others pending, cancelled, error...
    pub op_status: Option<i32>,
    pub exit_reason: Option<String>,
    /// Seconds since the epoch.
    pub last_rc_change: Option<u64>,
    pub call_id: Option<i64>,
}

/// Where the reader is: the element names from the root, and the device (index) and node whose
/// elements are open.
#[derive(Default)]
struct Cursor {
    path: Vec<String>,
    device: Option<usize>,
    node_state: Option<String>,
    lrm_resource: Option<String>,
    bans: Vec<(String, String)>,
}

/// Reads a CIB.
pub fn parse(xml: &str) -> Result<Cib, CibError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let (mut cib, mut at) = (Cib::default(), Cursor::default());
    let mut saw_cib = false;
    loop {
        match reader.read_event().map_err(|e| CibError(e.to_string()))? {
            Event::Start(e) => {
                saw_cib |= at.path.is_empty() && e.name().as_ref() == "cib";
                open(&e, &mut at, &mut cib)?;
                at.path.push(name(&e));
            }
            Event::Empty(e) => {
                saw_cib |= at.path.is_empty() && e.name().as_ref() == "cib";
                open(&e, &mut at, &mut cib)?;
                close(&name(&e), &mut at);
            }
            Event::End(e) => {
                at.path.pop();
                close(e.name().as_ref(), &mut at);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_cib || !at.path.is_empty() {
        return Err(CibError("no complete <cib> element".into()));
    }
    for (rsc, node) in at.bans {
        if let Some(d) = cib.devices.iter_mut().find(|d| d.id == rsc) {
            d.banned.push(node);
        }
    }
    Ok(cib)
}

/// The unescaped value of attribute `key` (the discovery readers' helper).
fn attr(e: &BytesStart<'_>, key: &str) -> Result<Option<String>, CibError> {
    xml::attr(e, key, WHAT).map_err(|x| CibError(format!("attribute {key}: {}", x.detail)))
}

/// Whether the open elements end with `suffix` (innermost last).
fn under(at: &Cursor, suffix: &[&str]) -> bool {
    at.path.len() >= suffix.len()
        && at.path[at.path.len() - suffix.len()..]
            .iter()
            .zip(suffix)
            .all(|(a, b)| a == b)
}

fn open(e: &BytesStart<'_>, at: &mut Cursor, cib: &mut Cib) -> Result<(), CibError> {
    let in_config = at.path.get(1).is_some_and(|p| p == "configuration");
    let in_status = at.path.get(1).is_some_and(|p| p == "status");
    match name(e).as_str() {
        "nvpair" if in_config => nvpair(e, at, cib)?,
        "node" if under(at, &["configuration", "nodes"]) => {
            if let Some(uname) = attr(e, "uname")? {
                cib.nodes.push(uname);
            }
        }
        "primitive" if in_config => {
            let ours = attr(e, "class")?.as_deref() == Some("stonith")
                && attr(e, "type")?.as_deref() == Some(AGENT);
            if ours {
                let id = attr(e, "id")?.unwrap_or_default();
                cib.devices.push(Device {
                    id,
                    ..Device::default()
                });
                at.device = Some(cib.devices.len() - 1);
            }
        }
        "rsc_location" if in_config => {
            let (rsc, node, score) = (attr(e, "rsc")?, attr(e, "node")?, attr(e, "score")?);
            if let (Some(rsc), Some(node), Some("-INFINITY" | "-infinity")) =
                (rsc, node, score.as_deref())
            {
                at.bans.push((rsc, node));
            }
        }
        "node_state" if in_status => at.node_state = attr(e, "uname")?,
        "lrm_resource" if in_status => at.lrm_resource = attr(e, "id")?,
        "lrm_rsc_op" if in_status => op(e, at, cib)?,
        _ => {}
    }
    Ok(())
}

fn close(element: &str, at: &mut Cursor) {
    match element {
        "primitive" => at.device = None,
        "node_state" => at.node_state = None,
        "lrm_resource" => at.lrm_resource = None,
        _ => {}
    }
}

/// A `name=value` of the cluster properties or of a device's attributes (first one wins).
fn nvpair(e: &BytesStart<'_>, at: &Cursor, cib: &mut Cib) -> Result<(), CibError> {
    let (Some(key), Some(value)) = (attr(e, "name")?, attr(e, "value")?) else {
        return Ok(());
    };
    let map = if under(at, &["crm_config", "cluster_property_set"]) {
        Some(&mut cib.properties)
    } else if let Some(d) = at.device.and_then(|i| cib.devices.get_mut(i)) {
        if under(at, &["primitive", "instance_attributes"]) {
            Some(&mut d.instance)
        } else if under(at, &["primitive", "meta_attributes"]) {
            Some(&mut d.meta)
        } else {
            None
        }
    } else {
        None
    };
    if let Some(map) = map {
        map.entry(key).or_insert(value);
    }
    Ok(())
}

/// One operation of a device we read, on the node whose history is open.
fn op(e: &BytesStart<'_>, at: &Cursor, cib: &mut Cib) -> Result<(), CibError> {
    let (Some(node), Some(device)) = (&at.node_state, &at.lrm_resource) else {
        return Ok(());
    };
    if !cib.devices.iter().any(|d| &d.id == device) {
        return Ok(());
    }
    let number = |k: &str| attr(e, k);
    cib.ops.push(Op {
        node: node.clone(),
        device: device.clone(),
        operation: attr(e, "operation")?.unwrap_or_default(),
        interval_ms: number("interval")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        rc: number("rc-code")?.and_then(|v| v.parse().ok()),
        op_status: number("op-status")?.and_then(|v| v.parse().ok()),
        exit_reason: attr(e, "exit-reason")?.filter(|r| !r.is_empty()),
        last_rc_change: number("last-rc-change")?.and_then(|v| v.parse().ok()),
        call_id: number("call-id")?.and_then(|v| v.parse().ok()),
    });
    Ok(())
}

#[cfg(test)]
mod tests;
