//! Warnings about a configuration that runs but probably does not do what was meant (issue 12):
//! a `[[topology]]` pattern that an earlier entry's pattern already covers (the first matching
//! entry is a node's route, so the later one never routes that node), the same pattern twice,
//! the same backend twice in one entry's levels, a relative spool path (resolved against the
//! working directory, `/` under systemd), a fence agent told not to verify its BMC's
//! certificate. Logged at WARN whenever the routes are built (start, reload, `--check-config`).
//!
//! Coverage is decided on the patterns themselves, in the syntax of the one matcher, `glob`
//! (`*`, `?`, `[...]`): it is sound (a pattern said to be covered is), not complete (some
//! covered patterns are not seen), so a warning is never wrong.

use std::path::Path;

use super::{Config, TopologyEntry};
use crate::backend::support::common::ParamValue;
use crate::backend::BackendConfig;

/// Every warning about `cfg`, one line each, naming the key.
pub fn warnings(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (key, dir) in [
        ("spool.request_dir", &cfg.request_dir),
        ("spool.response_dir", &cfg.response_dir),
    ] {
        out.extend(relative(key, dir));
    }
    out.extend(topology(&cfg.topology));
    for (name, backend) in &cfg.backends {
        if let BackendConfig::FenceAgent(fa) = backend {
            let on = |v: &ParamValue| {
                matches!(v, ParamValue::Bool(true) | ParamValue::Int(1))
                    || matches!(v, ParamValue::Str(s) if ["1", "yes", "on", "true"].contains(&s.to_ascii_lowercase().as_str()))
            };
            if fa.params.get("ssl_insecure").is_some_and(on) {
                out.push(format!(
                    "backends.{name}: params.ssl_insecure is set, so the agent does NOT verify the \
                     BMC's certificate: anyone on the network path can impersonate the BMC and \
                     read its password"
                ));
            }
        }
    }
    out
}

fn relative(key: &str, dir: &Path) -> Option<String> {
    dir.is_relative().then(|| {
        format!(
            "{key} {:?} is a relative path: it is resolved against the daemon's working \
             directory (/ under systemd), and the agent resolves it against its own; use an \
             absolute path",
            dir.display().to_string()
        )
    })
}

fn topology(entries: &[TopologyEntry]) -> Vec<String> {
    let mut out = Vec::new();
    for (j, entry) in entries.iter().enumerate() {
        for (k, level) in entry.levels.iter().enumerate() {
            if entry.levels[..k].contains(level) {
                out.push(format!(
                    "topology[{j}].levels names backend {level:?} twice: it is tried again only \
                     after every level between failed"
                ));
            }
        }
        for (k, p) in entry.nodes.iter().enumerate() {
            out.extend(first_cover(entries, j, k, p));
        }
    }
    out
}

/// The warning for pattern `k` (`p`) of entry `j`: the first earlier pattern, in this entry or
/// an earlier one, that is the same or covers it.
fn first_cover(entries: &[TopologyEntry], j: usize, k: usize, p: &str) -> Option<String> {
    let earlier = entries[..=j].iter().enumerate().flat_map(|(i, e)| {
        let upto = if i == j { k } else { e.nodes.len() };
        e.nodes[..upto].iter().map(move |q| (i, q))
    });
    for (i, q) in earlier {
        let at = format!("topology[{j}].nodes {p:?}");
        if q == p {
            return Some(format!(
                "{at}: the same pattern is in topology[{i}]: remove one"
            ));
        }
        if i < j && covers(q, p) {
            return Some(format!(
                "{at} is shadowed by topology[{i}]'s {q:?}, which matches every node it does and \
                 comes first (the first matching entry is a node's route): those nodes are never \
                 fenced by topology[{j}]'s levels"
            ));
        }
    }
    None
}

/// One piece of a glob pattern.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    /// `?`
    One,
    /// `*` (and `**`, the same for names without `/`)
    Any,
    /// `[...]`, as written
    Class(String),
}

fn tokens(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if out.last() != Some(&Token::Any) {
                    out.push(Token::Any);
                }
            }
            '?' => out.push(Token::One),
            '[' => {
                // `]` right after `[` or `[!` is a member, as in glob.
                let mut end = i + 1;
                if chars.get(end) == Some(&'!') {
                    end += 1;
                }
                end += 1;
                while end < chars.len() && chars[end] != ']' {
                    end += 1;
                }
                let class: String = chars[i..=end.min(chars.len() - 1)].iter().collect();
                out.push(Token::Class(class));
                i = end;
            }
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    out
}

/// Whether every name `p` matches is matched by `q` too (soundly: `true` only when it is so).
pub(super) fn covers(q: &str, p: &str) -> bool {
    let (q, p) = (tokens(q), tokens(p));
    // done[i][j]: q[i..] covers p[j..]; filled from the ends.
    let mut done = vec![vec![false; p.len() + 1]; q.len() + 1];
    done[q.len()][p.len()] = true;
    for i in (0..q.len()).rev() {
        for j in (0..=p.len()).rev() {
            done[i][j] = match (&q[i], p.get(j)) {
                (Token::Any, _) => done[i + 1][j] || (j < p.len() && done[i][j + 1]),
                (_, None) => false,
                (qt, Some(pt)) => one_covers(qt, pt) && done[i + 1][j + 1],
            };
        }
    }
    done[0][0]
}

/// Whether the single-character token `q` matches every character `p` can stand for.
fn one_covers(q: &Token, p: &Token) -> bool {
    match (q, p) {
        (_, Token::Any) | (Token::Any, _) => false,
        (Token::One, _) => true,
        (Token::Char(a), Token::Char(b)) => a == b,
        // The one matcher decides what a class matches.
        (Token::Class(class), Token::Char(c)) => {
            glob::Pattern::new(class).is_ok_and(|m| m.matches(&c.to_string()))
        }
        (Token::Class(a), Token::Class(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(nodes: &[&str], levels: &[&str]) -> TopologyEntry {
        TopologyEntry {
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            levels: levels.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn coverage_is_sound() {
        for (q, p) in [
            ("*", "cn-*"),
            ("*", "cn-1"),
            ("cn-*", "cn-1*"),
            ("cn-*", "cn-[0-9]"),
            ("cn-?", "cn-[0-9]"),
            ("cn-[0-9]*", "cn-1"),
            ("*-1", "cn-1"),
            ("c*n", "cn"),
        ] {
            assert!(covers(q, p), "{q} covers {p}");
        }
        for (q, p) in [
            ("cn-*", "*"),
            ("cn-?", "cn-*"),
            ("cn-1", "cn-*"),
            ("cn-[0-4]", "cn-[0-9]"),
            ("cn-[0-4]", "cn-7"),
            ("gpu-*", "cn-1"),
            ("cn-?", "cn-10"),
        ] {
            assert!(!covers(q, p), "{q} does not cover {p}");
        }
        // The cover agrees with the one matcher on names.
        assert!(glob::Pattern::new("cn-[0-9]*").is_ok_and(|m| m.matches("cn-1")));
    }

    #[test]
    fn shadowed_duplicate_and_repeated_entries_are_named() {
        let entries = [
            entry(&["*"], &["bmc"]),
            entry(&["cn-*", "gpu-1"], &["pdu", "bmc", "pdu"]),
            entry(&["cn-*"], &["bmc"]),
        ];
        let w = topology(&entries);
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(
            w[0].starts_with("topology[1].levels names backend \"pdu\" twice"),
            "{}",
            w[0]
        );
        assert!(
            w[1].starts_with("topology[1].nodes \"cn-*\" is shadowed by topology[0]'s \"*\""),
            "{}",
            w[1]
        );
        assert!(
            w[2].starts_with("topology[1].nodes \"gpu-1\" is shadowed"),
            "{}",
            w[2]
        );
        assert!(w[3].contains("topology[2].nodes \"cn-*\" is shadowed by topology[0]"));
        let dup = topology(&[entry(&["cn-1"], &["a"]), entry(&["cn-1"], &["b"])]);
        assert_eq!(
            dup,
            ["topology[1].nodes \"cn-1\": the same pattern is in topology[0]: remove one"]
        );
        assert!(topology(&[entry(&["cn-*"], &["a"]), entry(&["gpu-*"], &["b"])]).is_empty());
        assert!(topology(&[entry(&["cn-1"], &["a"]), entry(&["cn-*"], &["b"])]).is_empty());
    }

    #[test]
    fn relative_spool_paths_are_named() {
        let w = relative("spool.request_dir", Path::new("var/requests")).expect("warned");
        assert!(
            w.starts_with("spool.request_dir \"var/requests\" is a relative path"),
            "{w}"
        );
        assert_eq!(
            relative("spool.request_dir", Path::new("/var/requests")),
            None
        );
    }
}
