//! Which node of a nodelist a cluster node name means, the same way for the after-fence
//! `{nodeid}` and for discovery: a wrong id would acknowledge the fence of another node to DLM.

use std::net::IpAddr;

use super::{Node, Nodelist};

/// Why a node name gives no node id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("no node named {node} in nodelist")]
    NoNode { node: String },
    #[error("node {node} has no nodeid in nodelist")]
    NoNodeId { node: String },
    #[error("{node} names several nodes with different nodeids in nodelist: {ids:?}")]
    Ambiguous { node: String, ids: Vec<Option<u32>> },
}

impl Nodelist {
    /// The node `target` names. Each rule is tried over the whole list before the next:
    ///
    /// 1. its `name` is `target`;
    /// 2. its `ring0_addr` is `target`: corosync and Pacemaker call a node without `name` by
    ///    its `ring0_addr`, and an address names its node too;
    /// 3. its host name without the domain is `target`'s (`cn1` for `cn1.example.com` and the
    ///    other way round; corosync's third rule for finding the local node). The host name is
    ///    `name`, else a `ring0_addr` that is not an IP address; an IP `target` skips this rule.
    ///
    /// Nodes matched by the same rule with different nodeids are [`LookupError::Ambiguous`]:
    /// guessing would fence-acknowledge the wrong node.
    pub fn find(&self, target: &str) -> Result<&Node, LookupError> {
        let short_target = short(target).filter(|_| !is_ip(target));
        let rules: [&dyn Fn(&Node) -> bool; 3] = [
            &|n| n.name.as_deref() == Some(target),
            &|n| n.ring_addr(0) == Some(target),
            &|n| short_target.is_some() && host_name(n).and_then(short) == short_target,
        ];
        for rule in rules {
            let found: Vec<&Node> = self.nodes.iter().filter(|n| rule(n)).collect();
            let Some(first) = found.first() else {
                continue;
            };
            if found.iter().any(|n| n.nodeid != first.nodeid) {
                let ids = found.iter().map(|n| n.nodeid).collect();
                let node = target.to_owned();
                return Err(LookupError::Ambiguous { node, ids });
            }
            return Ok(first);
        }
        Err(LookupError::NoNode {
            node: target.to_owned(),
        })
    }

    /// The `nodeid` of the node `target` names (see [`Nodelist::find`]).
    pub fn node_id(&self, target: &str) -> Result<u32, LookupError> {
        self.find(target)?
            .nodeid
            .ok_or_else(|| LookupError::NoNodeId {
                node: target.to_owned(),
            })
    }
}

/// The node's host name: `name`, else `ring0_addr` unless it is an address.
fn host_name(node: &Node) -> Option<&str> {
    node.name
        .as_deref()
        .or_else(|| node.ring_addr(0).filter(|a| !is_ip(a)))
}

fn short(name: &str) -> Option<&str> {
    name.split('.').next().filter(|s| !s.is_empty())
}

fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}
