//! The `nodelist` of `corosync.conf`: which corosync node id a node name has, for the
//! `{nodeid}` placeholder of the after-fence command (`dlm_tool fence_ack {nodeid}`).

use std::path::Path;

/// One `node { }` block of the nodelist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorosyncNode {
    pub name: Option<String>,
    pub nodeid: Option<u32>,
    pub ring0_addr: Option<String>,
}

/// Why no node id could be found.
#[derive(Debug, thiserror::Error)]
pub enum NodeIdError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("node {node} has no nodeid in the nodelist of {path}")]
    NotFound {
        node: String,
        path: std::path::PathBuf,
    },
}

/// Parses the `nodelist { node { ... } }` blocks; everything else is ignored.
pub fn parse_nodelist(text: &str) -> Vec<CorosyncNode> {
    let mut stack: Vec<String> = Vec::new();
    let mut nodes = Vec::new();
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if let Some(section) = line.strip_suffix('{') {
            stack.push(section.trim().to_owned());
            if in_node(&stack) {
                nodes.push(CorosyncNode::default());
            }
        } else if line == "}" {
            stack.pop();
        } else if let Some((key, value)) = line.split_once(':') {
            let Some(node) = nodes.last_mut().filter(|_| in_node(&stack)) else {
                continue;
            };
            let value = value.trim().to_owned();
            match key.trim() {
                "name" => node.name = Some(value),
                "nodeid" => node.nodeid = value.parse().ok(),
                "ring0_addr" => node.ring0_addr = Some(value),
                _ => {}
            }
        }
    }
    nodes
}

fn in_node(stack: &[String]) -> bool {
    stack.len() == 2 && stack[0] == "nodelist" && stack[1] == "node"
}

/// The node id of `node`: matched on `name`, then `ring0_addr`, then the short host name.
pub fn node_id(nodes: &[CorosyncNode], node: &str) -> Option<u32> {
    let short = |s: &str| s.split('.').next().unwrap_or(s).to_owned();
    let by = |f: &dyn Fn(&CorosyncNode) -> bool| nodes.iter().find(|n| f(n)).and_then(|n| n.nodeid);
    by(&|n| n.name.as_deref() == Some(node))
        .or_else(|| by(&|n| n.ring0_addr.as_deref() == Some(node)))
        .or_else(|| by(&|n| n.name.as_deref().map(short) == Some(short(node))))
}

/// Reads `path` and looks `node` up.
pub fn lookup(path: &Path, node: &str) -> Result<u32, NodeIdError> {
    let text = std::fs::read_to_string(path).map_err(|source| NodeIdError::Read {
        path: path.to_owned(),
        source,
    })?;
    node_id(&parse_nodelist(&text), node).ok_or_else(|| NodeIdError::NotFound {
        node: node.to_owned(),
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "
totem {
    version: 2
    cluster_name: gfs2
    interface {
        linknumber: 0
    }
}
# nodeid: 99 in a comment
nodelist {
    node {
        ring0_addr: 10.0.0.1
        name: rabbit-1.example.com
        nodeid: 1
    }
    node {
        name: cn-2   # trailing comment
        ring0_addr: 10.0.0.2
        nodeid: 2
    }
    node {
        ring0_addr: cn-3
        nodeid: 3
    }
}
quorum {
    provider: corosync_votequorum
}
";

    #[test]
    fn finds_node_ids_by_name_address_and_short_name() {
        let nodes = parse_nodelist(CONF);
        assert_eq!(nodes.len(), 3);
        assert_eq!(node_id(&nodes, "cn-2"), Some(2));
        assert_eq!(node_id(&nodes, "cn-3"), Some(3));
        assert_eq!(node_id(&nodes, "10.0.0.1"), Some(1));
        assert_eq!(node_id(&nodes, "rabbit-1"), Some(1));
        assert_eq!(node_id(&nodes, "cn-9"), None);
    }

    #[test]
    fn reads_the_installed_example_if_present() {
        let p = Path::new("/etc/corosync/corosync.conf");
        let installed = system_tests::peers::installed("/etc/corosync/corosync.conf");
        if !system_tests::peers::require("reads_the_installed_example_if_present", &[installed]) {
            return;
        }
        let text = std::fs::read_to_string(p).expect("readable");
        for n in parse_nodelist(&text) {
            assert!(n.nodeid.is_some() || n.name.is_some() || n.ring0_addr.is_some());
        }
    }
}
