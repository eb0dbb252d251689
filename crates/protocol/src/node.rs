//! Cluster node names, checked once at the edge.
//!
//! A node name ends up in file names, log lines and child processes' stdin, so anything that could
//! escape a directory, forge a log line or smuggle an option is refused here, and every later
//! stage takes a [`NodeName`] rather than a string.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Longest accepted node name: the DNS limit for a full host name.
pub const MAX_NODE_NAME: usize = 253;

/// A validated cluster node name: 1..=253 bytes of `[A-Za-z0-9._-]`, starting with an ASCII letter
/// or digit, without `..`. Every corosync/Pacemaker node name in use (host names, FQDNs) fits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NodeName(String);

/// Why a node name was refused. The offending text is never echoed raw: it is escaped and cut.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNodeName {
    #[error("node name is empty")]
    Empty,
    #[error("node name is {0} bytes long (at most {MAX_NODE_NAME})")]
    TooLong(usize),
    #[error("node name {shown} contains {what}")]
    BadCharacter { shown: String, what: String },
    #[error("node name {0} must start with a letter or digit")]
    BadStart(String),
    #[error("node name {0} contains \"..\"")]
    DotDot(String),
}

impl NodeName {
    pub fn parse(raw: &str) -> Result<Self, InvalidNodeName> {
        if raw.is_empty() {
            return Err(InvalidNodeName::Empty);
        }
        if raw.len() > MAX_NODE_NAME {
            return Err(InvalidNodeName::TooLong(raw.len()));
        }
        if let Some(c) = raw.chars().find(|c| !is_node_char(*c)) {
            return Err(InvalidNodeName::BadCharacter {
                shown: shown(raw),
                what: describe_char(c),
            });
        }
        if !raw.as_bytes()[0].is_ascii_alphanumeric() {
            return Err(InvalidNodeName::BadStart(shown(raw)));
        }
        if raw.contains("..") {
            return Err(InvalidNodeName::DotDot(shown(raw)));
        }
        Ok(NodeName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_node_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

fn describe_char(c: char) -> String {
    match c {
        '/' => "a '/'".to_owned(),
        '\0' => "a NUL byte".to_owned(),
        c if c.is_control() => format!("a control character (U+{:04X})", c as u32),
        c if c.is_whitespace() => format!("white space (U+{:04X})", c as u32),
        c if !c.is_ascii() => format!("a non-ASCII character (U+{:04X})", c as u32),
        c => format!("the character {c:?}"),
    }
}

/// The name escaped for a message: no control characters reach a terminal or a log, at most 64
/// characters are shown.
pub(crate) fn shown(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .take(64)
        .collect::<String>()
        .escape_debug()
        .collect();
    if raw.chars().count() > 64 {
        s.push_str("...");
    }
    format!("\"{s}\"")
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for NodeName {
    type Err = InvalidNodeName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeName::parse(s)
    }
}

impl AsRef<str> for NodeName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        NodeName::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_node_names() {
        for ok in [
            "cn1",
            "compute-node-3",
            "rabbit-node-1.cluster.local",
            "node_7",
            "A1",
            "1node",
        ] {
            assert_eq!(
                NodeName::parse(ok).map(|n| n.to_string()),
                Ok(ok.to_owned())
            );
        }
        assert!(NodeName::parse(&"a".repeat(MAX_NODE_NAME)).is_ok());
    }

    #[test]
    fn refuses_hostile_names() {
        let hostile = [
            "",
            "../etc",
            "a/b",
            "/abs",
            "a\0b",
            "a\nSTATUS=completed",
            "a b",
            "a;rm",
            "$(id)",
            "-o",
            ".hidden",
            "a..b",
            "%s%n",
            "cn1\r",
            "сn1",
            "cn1\u{200b}",
            "`x`",
            "a'b",
            "a\"b",
            "*",
            "a\\b",
        ];
        for bad in hostile {
            assert!(NodeName::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(
            NodeName::parse(&"a".repeat(10_000)),
            Err(InvalidNodeName::TooLong(10_000))
        );
    }

    #[test]
    fn messages_never_carry_raw_control_characters() {
        let err = NodeName::parse("x\nFAKE LOG LINE")
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.contains("control character"), "{msg}");
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<NodeName>("\"../x\"").is_err());
        assert!(serde_json::from_str::<NodeName>("\"cn1\"").is_ok());
    }
}
