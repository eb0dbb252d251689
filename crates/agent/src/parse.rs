//! Stage one of option handling: standard input or argv into raw `name -> text` pairs.
//!
//! Like fencing.py, the agent reads options from argv when it has arguments and from standard
//! input (Pacemaker's `key=value` lines) when it has none. Unknown options produce a warning and
//! are otherwise ignored; values are checked in stage two (`settings.rs`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;

use crate::options::{by_key, by_long, by_short, key, parse_bool, Kind, OptSpec};

/// Most bytes read from standard input: real option sets are a few hundred bytes.
const MAX_STDIN: u64 = 1024 * 1024;

/// Options as given, before their values are checked.
#[derive(Debug, Default)]
pub struct RawOptions {
    values: HashMap<&'static str, String>,
    /// How many times `-v` was given (fence-agents stack `-vv`).
    pub verbosity: u32,
    pub warnings: Vec<String>,
}

impl RawOptions {
    /// The text given for option `o` (see [`crate::options::key`]).
    pub fn get(&self, o: &OptSpec) -> Option<&str> {
        self.values.get(o.name).map(String::as_str)
    }

    /// Whether flag `o` (`quiet`, `help`, ...) is set: given, and true by [`parse_bool`]. Every
    /// stage asks this, so `quiet=TRUE` means the same to all of them.
    pub fn flag(&self, o: &OptSpec) -> bool {
        self.get(o).and_then(parse_bool).unwrap_or(false)
    }

    fn set(&mut self, o: &'static OptSpec, value: String) {
        if o.name == key::VERBOSE.name && parse_bool(&value) == Some(true) {
            self.verbosity += 1;
        }
        self.values.insert(o.name, value);
    }

    fn warn(&mut self, what: &str, raw: &str) {
        self.warnings.push(format!(
            "ignoring unknown option {}",
            crate::text::quoted(raw, what)
        ));
    }
}

/// Reads options from `args` (argv without the program name) if there are any, otherwise from
/// standard input.
pub fn from_process(args: &[OsString]) -> RawOptions {
    if !args.is_empty() {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return from_argv(&args);
    }
    let mut buf = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(MAX_STDIN)
        .read_to_end(&mut buf);
    let mut raw = from_stdin(&String::from_utf8_lossy(&buf));
    if let Err(e) = read {
        raw.warnings
            .push(format!("cannot read standard input: {e}"));
    }
    raw
}

/// Parses Pacemaker's `key=value` lines; `#` comments and blank lines are skipped, one pair of
/// surrounding double quotes is removed from a value.
pub fn from_stdin(text: &str) -> RawOptions {
    let mut raw = RawOptions::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        match by_key(key.trim()) {
            Some(o) => raw.set(o, value.to_owned()),
            // Only the key: the value may be a secret meant for another agent.
            None => raw.warn("stdin key", key.trim()),
        }
    }
    raw
}

/// Parses argv: `--opt=val`, `--opt val`, `-o val`, `-oval`, flags `-v`, `-vv`, `--verbose`.
pub fn from_argv(args: &[String]) -> RawOptions {
    let mut raw = RawOptions::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if let Some(long) = arg.strip_prefix("--") {
            long_option(&mut raw, long, &mut it);
        } else if arg.len() > 1 && arg.starts_with('-') {
            short_options(&mut raw, &arg[1..], &mut it);
        } else {
            raw.warn("argument", arg);
        }
    }
    raw
}

fn long_option<'a>(raw: &mut RawOptions, long: &str, rest: &mut impl Iterator<Item = &'a String>) {
    let (name, inline) = match long.split_once('=') {
        Some((n, v)) => (n, Some(v.to_owned())),
        None => (long, None),
    };
    let Some(o) = by_long(name) else {
        return raw.warn("argument", &format!("--{name}"));
    };
    let value = match (o.kind, inline) {
        (_, Some(v)) => v,
        (Kind::Bool, None) => "1".to_owned(),
        (_, None) => rest.next().cloned().unwrap_or_default(),
    };
    raw.set(o, value);
}

fn short_options<'a>(
    raw: &mut RawOptions,
    cluster: &str,
    rest: &mut impl Iterator<Item = &'a String>,
) {
    for (i, c) in cluster.char_indices() {
        let Some(o) = by_short(c) else {
            raw.warn("argument", &format!("-{c}"));
            continue;
        };
        if o.kind == Kind::Bool {
            raw.set(o, "1".to_owned());
            continue;
        }
        let attached = &cluster[i + c.len_utf8()..];
        let value = if attached.is_empty() {
            rest.next().cloned().unwrap_or_default()
        } else {
            attached.to_owned()
        };
        return raw.set(o, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> RawOptions {
        from_argv(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn stdin_like_pacemaker() {
        let r = from_stdin(
            "nodename=cn1\naction=reboot\nport=cn1\n# c\n\nfence-timeout=\"50\"\nbogus=1\n",
        );
        assert_eq!(r.get(key::PLUG), Some("cn1"));
        assert_eq!(r.get(key::NODENAME), Some("cn1"));
        assert_eq!(r.get(key::FENCE_TIMEOUT), Some("50"));
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn argv_every_spelling() {
        let r = argv(&[
            "-oreboot",
            "-n",
            "cn1",
            "--fence-timeout=5",
            "--delay",
            "2",
            "-vv",
            "--log_dir",
            "/l",
        ]);
        assert_eq!(r.get(key::ACTION), Some("reboot"));
        assert_eq!(r.get(key::PLUG), Some("cn1"));
        assert_eq!(r.get(key::FENCE_TIMEOUT), Some("5"));
        assert_eq!(r.get(key::DELAY), Some("2"));
        assert_eq!(r.get(key::LOG_DIR), Some("/l"));
        assert_eq!(r.verbosity, 2);
        let r = argv(&[
            "--action",
            "off",
            "--port=cn2",
            "--require-heartbeat=false",
            "-x",
            "stray",
        ]);
        assert_eq!(
            (r.get(key::ACTION), r.get(key::PLUG)),
            (Some("off"), Some("cn2"))
        );
        assert_eq!(r.get(key::REQUIRE_HEARTBEAT), Some("false"));
        assert_eq!(r.warnings.len(), 2);
    }
}
