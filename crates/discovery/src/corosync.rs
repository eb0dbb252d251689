//! The target's corosync node id, from the `nodelist` of `corosync.conf`.
//!
//! A small tolerant reader of corosync's configuration syntax (corosync.conf(5)): `#` comment
//! lines, `key: value` pairs, `name {` ... `}` sections nested to any depth, values optionally
//! quoted, braces also accepted on the same line as pairs. A node matches the target by its
//! `name`, or by `ring0_addr` (the node name when `name` is absent, as corosync itself does).

use std::fs;
use std::path::Path;

/// Why no node id could be found.
#[derive(Debug, thiserror::Error)]
pub enum CorosyncError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: unbalanced braces at line {1}")]
    Syntax(String, usize),
    #[error("{0}: no node named {1} in nodelist")]
    NoNode(String, String),
    #[error("{0}: node {1} has no valid nodeid")]
    NoNodeId(String, String),
}

/// The `key: value` pairs of each `nodelist { node { ... } }` section, in file order.
pub fn nodelist(text: &str, what: &str) -> Result<Vec<Vec<(String, String)>>, CorosyncError> {
    let mut stack: Vec<String> = Vec::new();
    let mut nodes = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        while !rest.is_empty() {
            let cut = rest.find(['{', '}']).unwrap_or(rest.len());
            let (head, tail) = rest.split_at(cut);
            let head = head.trim();
            match tail.chars().next() {
                Some('{') => {
                    stack.push(head.to_string());
                    current.clear();
                }
                Some('}') => {
                    pair(head, &mut current);
                    let closed = stack.pop().ok_or_else(|| syntax(what, n))?;
                    let in_nodelist = stack.last().is_some_and(|s| s == "nodelist");
                    if closed == "node" && in_nodelist {
                        nodes.push(std::mem::take(&mut current));
                    }
                }
                _ => pair(head, &mut current),
            }
            rest = tail.get(1..).unwrap_or("");
        }
    }
    if !stack.is_empty() {
        return Err(syntax(what, text.lines().count()));
    }
    Ok(nodes)
}

fn syntax(what: &str, line0: usize) -> CorosyncError {
    CorosyncError::Syntax(what.to_string(), line0 + 1)
}

fn pair(text: &str, into: &mut Vec<(String, String)>) {
    if let Some((k, v)) = text.split_once(':') {
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(v);
        into.push((k.trim().to_string(), v.to_string()));
    }
}

/// The node id of `target` in the configuration file `path`.
pub fn node_id(path: &Path, target: &str) -> Result<u32, CorosyncError> {
    let what = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|e| CorosyncError::Read(what.clone(), e))?;
    node_id_in(&text, &what, target)
}

pub fn node_id_in(text: &str, what: &str, target: &str) -> Result<u32, CorosyncError> {
    let get = |node: &[(String, String)], key: &str| {
        node.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let nodes = nodelist(text, what)?;
    let node = nodes
        .iter()
        .find(|n| get(n, "name").as_deref() == Some(target))
        .or_else(|| {
            nodes
                .iter()
                .find(|n| get(n, "ring0_addr").as_deref() == Some(target))
        })
        .ok_or_else(|| CorosyncError::NoNode(what.to_string(), target.to_string()))?;
    get(node, "nodeid")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| CorosyncError::NoNodeId(what.to_string(), target.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
# Please read the corosync.conf.5 manual page
totem {
    version: 2
    cluster_name: "rabbit-cluster"
    interface { linknumber: 0 }
}
nodelist {
    node {
        ring0_addr: 10.0.0.1
        name: rabbit-node-1
        nodeid: 1
    }
    node {
        # a comment inside a node
        name: "compute-node-3"
        ring0_addr: 10.0.0.13
        nodeid: 13
    }
    node { ring0_addr: cn9
           nodeid: 9 }
}
quorum {
    provider: corosync_votequorum
}
"#;

    #[test]
    fn finds_by_name_quoted_or_not() {
        assert_eq!(node_id_in(CONF, "c", "rabbit-node-1").unwrap(), 1);
        assert_eq!(node_id_in(CONF, "c", "compute-node-3").unwrap(), 13);
    }

    #[test]
    fn ring0_addr_names_a_node_without_name_and_inline_braces_work() {
        assert_eq!(node_id_in(CONF, "c", "cn9").unwrap(), 9);
    }

    #[test]
    fn unknown_node_and_bad_syntax_are_errors() {
        let err = node_id_in(CONF, "/etc/corosync/corosync.conf", "cn7").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/corosync/corosync.conf: no node named cn7 in nodelist"
        );
        let err = node_id_in("nodelist {\n node {\n", "c", "x").unwrap_err();
        assert!(matches!(err, CorosyncError::Syntax(..)), "{err}");
        let err = node_id_in("nodelist { node { name: a\nnodeid: x } }", "c", "a").unwrap_err();
        assert!(matches!(err, CorosyncError::NoNodeId(..)), "{err}");
    }

    #[test]
    fn debian_default_corosync_conf_parses() {
        // Debian's corosync package ships one with a single node `node1`, nodeid 1.
        match fs::read_to_string("/etc/corosync/corosync.conf") {
            Ok(text) => {
                nodelist(&text, "/etc/corosync/corosync.conf").unwrap();
            }
            Err(e) => eprintln!("SKIPPED: /etc/corosync/corosync.conf not readable: {e}"),
        }
    }
}
