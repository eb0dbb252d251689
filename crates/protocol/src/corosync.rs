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

    fn set(&mut self, key: &str, value: &str, line: usize) -> Result<(), SyntaxError> {
        if key == "nodeid" {
            self.nodeid = Some(parse_nodeid(value).ok_or_else(|| SyntaxError {
                line,
                reason: Reason::BadNodeId(value.to_owned()),
            })?);
        } else if key == "name" {
            self.name = Some(value.to_owned());
        } else if let Some(link) = ring_link(key) {
            match self.rings.iter_mut().find(|(l, _)| *l == link) {
                Some(slot) => slot.1 = value.to_owned(),
                None => self.rings.push((link, value.to_owned())),
            }
            self.rings.sort_by_key(|(l, _)| *l);
        }
        Ok(())
    }
}

/// `ring<N>_addr` with `N` a link corosync knows.
fn ring_link(key: &str) -> Option<u8> {
    let n = key.strip_prefix("ring")?.strip_suffix("_addr")?;
    let link: u8 = n
        .parse()
        .ok()
        .filter(|_| n.bytes().all(|b| b.is_ascii_digit()))?;
    (link < MAX_LINKS).then_some(link)
}

/// corosync's `safe_atoq` for a `uint32`: `strtoll` base 10 over the whole value, then range.
fn parse_nodeid(value: &str) -> Option<u32> {
    value
        .parse::<i64>()
        .ok()
        .and_then(|v| u32::try_from(v).ok())
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
        let mut parser = Parser::default();
        let mut last = 0;
        for (i, raw) in lines(text).enumerate() {
            last = i + 1;
            parser.line(raw, last)?;
        }
        if !parser.path.is_empty() {
            return Err(SyntaxError {
                line: last,
                reason: Reason::MissingClosingBrace,
            });
        }
        Ok(Nodelist {
            nodes: parser.nodes,
        })
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

/// Lines as `fgets` sees them: split at `\n`, a final line without one still counts.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let empty = text.is_empty();
    text.split(|&b| b == b'\n').filter(move |_| !empty)
}

fn is_blank(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | 0xA0)
}

fn trim(s: &[u8]) -> &[u8] {
    remove_whitespace(s, false)
}

/// corosync's `remove_whitespace()`: leading blanks off, trailing blanks (and with `name`, `:`
/// and `{`) off, but never the first character left: `:` alone is a valid key to corosync.
fn remove_whitespace(s: &[u8], name: bool) -> &[u8] {
    let start = s.iter().position(|b| !is_blank(b)).unwrap_or(s.len());
    let s = &s[start..];
    let strip = |b: &u8| is_blank(b) || (name && matches!(b, b':' | b'{'));
    let mut end = s.len();
    while end > 1 && strip(&s[end - 1]) {
        end -= 1;
    }
    &s[..end]
}

/// corosync's split at a `{` or `:`: it cuts one byte before the first non-blank after it, so
/// the head keeps the separator when blanks follow it (and `remove_whitespace` then drops it).
fn split_at_separator(text: &[u8], at: usize) -> (&[u8], &[u8]) {
    let after = text[at + 1..].iter().position(|b| !is_blank(b));
    let next = after.map_or(text.len(), |n| at + 1 + n);
    (&text[..next - 1], &text[next..])
}

/// The state of one pass: where we are, and the nodes so far.
#[derive(Default)]
struct Parser {
    path: Vec<String>,
    nodes: Vec<Node>,
    /// Index of the next `node` section of the current `nodelist` (corosync's `node_number`).
    next_node: usize,
}

impl Parser {
    fn line(&mut self, raw: &[u8], line: usize) -> Result<(), SyntaxError> {
        let err = |reason| SyntaxError { line, reason };
        if raw.len() > MAX_LINE {
            return Err(err(Reason::LineTooLong));
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = trim(raw);
        if text.is_empty() || text[0] == b'#' {
            return Ok(());
        }
        if let Some(at) = text.iter().position(|&b| b == b'{') {
            let (head, tail) = split_at_separator(text, at);
            let name = remove_whitespace(head, true);
            if name.is_empty() {
                return Err(err(Reason::MissingSectionName));
            }
            if !trim(tail).is_empty() {
                return Err(err(Reason::AfterOpeningBrace));
            }
            return self.open(&String::from_utf8_lossy(name)).map_err(err);
        }
        if let Some(at) = text.iter().position(|&b| b == b':') {
            let (head, tail) = split_at_separator(text, at);
            let key = remove_whitespace(head, true);
            if key.is_empty() {
                return Err(err(Reason::EmptyKey));
            }
            let (key, value) = (String::from_utf8_lossy(key), trim(tail));
            self.check_len(&key).map_err(err)?;
            return self.item(&key, &String::from_utf8_lossy(value), line);
        }
        if text.contains(&b'}') {
            if text != b"}" {
                return Err(err(Reason::AroundClosingBrace));
            }
            return self.close().map_err(err);
        }
        Err(err(Reason::NotAStatement))
    }

    /// corosync's test: the dotted path, a dot and the new name must fit `ICMAP_KEYNAME_MAXLEN`.
    fn check_len(&self, name: &str) -> Result<(), Reason> {
        let dots = self.path.len().saturating_sub(1);
        let path: usize = self.path.iter().map(String::len).sum::<usize>() + dots;
        (path + name.len() + 1 < KEYNAME_MAXLEN)
            .then_some(())
            .ok_or(Reason::PathTooLong)
    }

    fn open(&mut self, name: &str) -> Result<(), Reason> {
        self.check_len(name)?;
        self.path.push(name.to_owned());
        if self.at(&["nodelist"]) {
            self.next_node = 0;
        } else if self.at(&["nodelist", "node"]) {
            if self.next_node == self.nodes.len() {
                self.nodes.push(Node::default());
            }
            self.next_node += 1;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), Reason> {
        self.path
            .pop()
            .map(drop)
            .ok_or(Reason::UnexpectedClosingBrace)
    }

    fn item(&mut self, key: &str, value: &str, line: usize) -> Result<(), SyntaxError> {
        if !self.at(&["nodelist", "node"]) {
            return Ok(());
        }
        let current = self.next_node.checked_sub(1);
        match current.and_then(|i| self.nodes.get_mut(i)) {
            Some(node) => node.set(key, value, line),
            None => Ok(()),
        }
    }

    fn at(&self, path: &[&str]) -> bool {
        self.path
            .iter()
            .map(String::as_str)
            .eq(path.iter().copied())
    }
}

#[cfg(test)]
mod tests;
