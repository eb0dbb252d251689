//! corosync's `parse_section()`, line by line: the grammar described on the parent module.

use super::{Node, Reason, SyntaxError, KEYNAME_MAXLEN, MAX_LINE, MAX_LINKS};

/// The nodes of `text`, or the first line corosync would refuse.
pub(super) fn parse(text: &[u8]) -> Result<Vec<Node>, SyntaxError> {
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
    Ok(parser.nodes)
}

impl Node {
    /// Stores one `key: value` of the node section, as corosync would.
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
