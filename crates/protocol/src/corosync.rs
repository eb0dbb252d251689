//! The `nodelist` of `corosync.conf`, read with corosync's own rules, and the node lookups the
//! after-fence `{nodeid}` and discovery's DLM source both need.
//!
//! The grammar is that of `parse_section()` in corosync's `exec/coroparse.c` (3.1.10), so this
//! reader accepts exactly the files corosync accepts and sees the values corosync sees (a test
//! compares every rule with the installed `corosync -t`; 3.1.7 differs only in accepting an
//! empty key and in not counting byte 0xA0 as a blank):
//!
//! - one statement per line, at most [`MAX_LINE`] bytes; blanks are space, tab and byte `0xA0`;
//! - a line whose first non-blank character is `#` is a comment; a `#` anywhere else is data;
//! - `name {` opens a section (nothing may follow the brace), `}` alone closes one; sections
//!   nest to any depth, but a key path longer than 254 bytes is refused;
//! - `key: value` splits at the first `:` (so IPv6 addresses keep theirs); the value is taken
//!   verbatim after trimming blanks: corosync has no quoting, `"a"` is three characters;
//! - a key given twice keeps its last value; a second `nodelist { }` section refills the nodes
//!   from the first one on, as corosync's node counter restarts;
//! - `nodeid` must be a decimal number in `0..=u32::MAX`, or corosync refuses the file.
//!
//! Only `nodelist { node { } }` keys are kept: `nodeid`, `name`, `ringX_addr`.

use std::io::Read;
use std::path::{Path, PathBuf};

mod lookup;
mod parse;

pub use lookup::LookupError;

/// Longest line corosync reads (its buffer is 512 bytes with the newline and NUL).
pub const MAX_LINE: usize = 510;
/// Largest `corosync.conf` read: far above a 1000-node cluster, bounding a hostile file.
pub const MAX_CONF: u64 = 1024 * 1024;
/// corosync's `ICMAP_KEYNAME_MAXLEN`: a key path must be shorter.
const KEYNAME_MAXLEN: usize = 255;
/// corosync's `KNET_MAX_LINK`: `ring0_addr` .. `ring7_addr`.
const MAX_LINKS: u8 = 8;

/// Default location of the file.
pub const DEFAULT_COROSYNC_CONF: &str = "/etc/corosync/corosync.conf";

/// One `node { }` section of the nodelist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub nodeid: Option<u32>,
    pub name: Option<String>,
    /// `ringX_addr` values by link number, in link order.
    pub rings: Vec<(u8, String)>,
}

impl Node {
    /// The address of link `link` (`ring<link>_addr`).
    pub fn ring_addr(&self, link: u8) -> Option<&str> {
        let found = self.rings.iter().find(|(l, _)| *l == link);
        found.map(|(_, addr)| addr.as_str())
    }
}

/// The nodes of a `corosync.conf`, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nodelist {
    pub nodes: Vec<Node>,
}

/// Why corosync would refuse the file, with the line (1-based) and corosync's own reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct SyntaxError {
    pub line: usize,
    pub reason: Reason,
}

/// corosync's parser errors, in its words (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("line too long (more than {MAX_LINE} bytes)")]
    LineTooLong,
    #[error("missing section name before opening bracket '{{'")]
    MissingSectionName,
    #[error("extra characters after opening bracket '{{'")]
    AfterOpeningBrace,
    #[error("extra characters before or after closing bracket '}}'")]
    AroundClosingBrace,
    #[error("unexpected closing brace")]
    UnexpectedClosingBrace,
    #[error("missing closing brace")]
    MissingClosingBrace,
    #[error("key name can't be empty")]
    EmptyKey,
    #[error("key path longer than {} bytes", KEYNAME_MAXLEN - 1)]
    PathTooLong,
    #[error("line is not opening or closing section or key value")]
    NotAStatement,
    #[error("nodeid {0:?} is not an integer in 0..=4294967295")]
    BadNodeId(String),
}

/// Why the nodelist of a file could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CorosyncError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_CONF} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path}: {source}")]
    Syntax { path: PathBuf, source: SyntaxError },
    #[error("{path}: {source}")]
    Lookup { path: PathBuf, source: LookupError },
}

impl Nodelist {
    /// Reads and parses `path`, at most [`MAX_CONF`] bytes.
    pub fn read(path: &Path) -> Result<Nodelist, CorosyncError> {
        let read_err = |source| CorosyncError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let mut bytes = Vec::new();
        file.take(MAX_CONF + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_CONF {
            return Err(CorosyncError::TooLarge {
                path: path.to_owned(),
            });
        }
        Nodelist::parse(&bytes).map_err(|source| CorosyncError::Syntax {
            path: path.to_owned(),
            source,
        })
    }

    /// Parses the text of a `corosync.conf` (bytes: corosync does not require UTF-8).
    pub fn parse(text: &[u8]) -> Result<Nodelist, SyntaxError> {
        parse::parse(text).map(|nodes| Nodelist { nodes })
    }
}

/// The node id of `target` in the file `path` (see [`Nodelist::node_id`] for the matching).
pub fn node_id(path: &Path, target: &str) -> Result<u32, CorosyncError> {
    Nodelist::read(path)?
        .node_id(target)
        .map_err(|source| CorosyncError::Lookup {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests;
