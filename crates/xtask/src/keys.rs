//! `fence-watcher.toml(5)`: the documented keys (`packaging/man/fence-watcher-keys.toml`), their
//! page, and the check of that file against the configuration's own types.
//!
//! The check walks the schema through the errors of `fence_watcher::config::parse_text`: every
//! table refuses unknown keys (`deny_unknown_fields`), so an unknown key's error lists the keys
//! serde expects there, an unknown backend `type` lists the backend types, and an unknown word
//! in an enumerated key lists its values. Each list must equal what the file documents, so a
//! key cannot be added to the daemon without its documentation, nor documented without
//! existing.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use serde::Deserialize;

use crate::roff::escape;

/// Where the documentation of the keys lives, relative to the repository root.
pub const KEYS_FILE: &str = "packaging/man/fence-watcher-keys.toml";
/// The word the probes write where a key or value is looked up: nothing may accept it.
const PROBE: &str = "zz_undocumented";

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doc {
    pub name: String,
    pub summary: String,
    pub description: String,
    pub table: Vec<Table>,
}

/// One `[[table]]`: a TOML table of the configuration (one backend type of `[backends.NAME]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub path: String,
    pub variant: Option<String>,
    #[serde(default)]
    pub array: bool,
    pub doc: String,
    #[serde(default)]
    pub key: Vec<Key>,
}

/// One key of a table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub doc: String,
    pub default: Option<String>,
    pub default_text: Option<String>,
    #[serde(default)]
    pub required: bool,
    pub example: Option<String>,
    pub values: Option<Vec<String>>,
}

/// Why the keys file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
}

/// Reads the keys file of the repository at `root`.
pub fn load(root: &Path) -> Result<Doc, KeysError> {
    let path = root.join(KEYS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| KeysError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| KeysError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

impl Table {
    /// How the table is written, for the page: `[backends.NAME] type = "redfish"`.
    pub fn title(&self) -> String {
        let header = if self.array {
            format!("[[{}]]", self.path)
        } else {
            format!("[{}]", self.path)
        };
        match &self.variant {
            Some(v) => format!("{header} type = \"{v}\""),
            None => header,
        }
    }

    /// The header with the names the admin chooses filled in, for a probe document.
    fn header(&self) -> String {
        let path: Vec<&str> = self
            .path
            .split('.')
            .map(|c| if is_placeholder(c) { "x" } else { c })
            .collect();
        if self.array {
            format!("[[{}]]", path.join("."))
        } else {
            format!("[{}]", path.join("."))
        }
    }
}

impl Key {
    /// The default as the page shows it.
    pub fn default_shown(&self) -> String {
        match (&self.default, &self.default_text, self.required) {
            (Some(d), _, _) => d.clone(),
            (None, Some(t), _) => t.clone(),
            (None, None, true) => "none (required)".to_owned(),
            (None, None, false) => "none".to_owned(),
        }
    }
}

/// A path component the admin names (`NAME`, `NODE`).
fn is_placeholder(component: &str) -> bool {
    !component.is_empty() && component.chars().all(|c| c.is_ascii_uppercase())
}

/// The man page (roff).
pub fn render(doc: &Doc, version: &str) -> String {
    let mut m = String::with_capacity(16 * 1024);
    let _ = writeln!(
        m,
        ".TH FENCE\\-WATCHER.TOML 5 \"\" \"gfs2-fencing {version}\" \"File Formats\""
    );
    let _ = writeln!(
        m,
        ".SH NAME\n{} \\- {}",
        escape(&doc.name),
        escape(&doc.summary)
    );
    let _ = writeln!(m, ".SH SYNOPSIS\n/etc/gfs2\\-fencing/fence\\-watcher.toml");
    m.push_str(".SH DESCRIPTION\n");
    for (i, para) in doc.description.split("\n\n").enumerate() {
        if i > 0 {
            m.push_str(".PP\n");
        }
        let _ = writeln!(m, "{}", escape(para.trim()));
    }
    m.push_str(".SH TABLES AND KEYS\n");
    for t in &doc.table {
        let _ = writeln!(m, ".SS {}\n{}", heading(t), escape(&t.doc));
        for k in &t.key {
            let values = k
                .values
                .as_ref()
                .map(|v| format!("; one of {}", v.join(", ")))
                .unwrap_or_default();
            let _ = writeln!(
                m,
                ".TP\n.B {}\n({}{}; default: {})\n{}",
                escape(&k.name),
                escape(&k.kind),
                escape(&values),
                escape(&k.default_shown()),
                escape(&k.doc)
            );
        }
    }
    m.push_str(
        ".SH FILES\n.TP\n/etc/gfs2\\-fencing/fence\\-watcher.toml\nThe configuration.\n\
         .TP\n/usr/share/doc/gfs2\\-fencing/fence\\-watcher.toml.example\nA complete example.\n\
         .SH SEE ALSO\nfence_watcher(8), fence_gfs2_recorder(8), gfs2\\-fencing(8)\n",
    );
    m
}

/// A table's title as the page's `.SS` line writes it.
pub fn heading(t: &Table) -> String {
    escape(&t.title()).replace('"', "\\(dq")
}

/// Everything in which the keys file and the configuration's types disagree; empty when they
/// agree.
pub fn check(doc: &Doc) -> Vec<String> {
    let mut problems = Vec::new();
    // The top level: its keys are the first components of the documented tables.
    let top: BTreeSet<String> = doc
        .table
        .iter()
        .filter_map(|t| t.path.split('.').next().map(str::to_owned))
        .collect();
    compare(
        &mut problems,
        "the top level",
        &top,
        expected_keys(&format!("{PROBE} = 1\n")),
    );
    let mut variants_seen = BTreeSet::new();
    for t in &doc.table {
        check_table(doc, t, &mut problems);
        let carries_type = t.variant.is_some() && parent(doc, t).is_none();
        if carries_type && variants_seen.insert(t.path.clone()) {
            check_variants(doc, &t.path, &mut problems);
        }
    }
    problems
}

fn check_table(doc: &Doc, t: &Table, problems: &mut Vec<String>) {
    let at = t.title();
    let mut documented: BTreeSet<String> = t.key.iter().map(|k| k.name.clone()).collect();
    for child in children(doc, t) {
        documented.insert(child);
    }
    let probe = skeleton(doc, t, None, &format!("{PROBE} = 1\n"));
    compare(problems, &at, &documented, expected_keys(&probe));
    for k in &t.key {
        check_key(doc, t, k, problems);
    }
}

fn check_key(doc: &Doc, t: &Table, k: &Key, problems: &mut Vec<String>) {
    let at = format!("{} {}", t.title(), k.name);
    let given = usize::from(k.default.is_some())
        + usize::from(k.default_text.is_some())
        + usize::from(k.required);
    if given != 1 {
        problems.push(format!(
            "{at}: give exactly one of default, default_text, required"
        ));
    }
    if (k.required || k.default_text.is_some()) && k.example.is_none() {
        problems.push(format!("{at}: needs an example"));
    }
    for (what, value) in [("example", &k.example), ("default", &k.default)] {
        if let Some(v) = value {
            let line = format!("{} = {v}\n", k.name);
            if let Err(e) = fence_watcher::config::parse_text(&skeleton(doc, t, Some(k), &line)) {
                problems.push(format!("{at}: the {what} {v} is refused: {e}"));
            }
        }
    }
    if let Some(d) = &k.default {
        let without = parsed(&skeleton(doc, t, Some(k), ""));
        let with = parsed(&skeleton(doc, t, Some(k), &format!("{} = {d}\n", k.name)));
        if without != with {
            problems.push(format!(
                "{at}: the documented default {d} is not the default (unset reads {without:?}, \
                 {d} reads {with:?})"
            ));
        }
    }
    let probe = skeleton(doc, t, Some(k), &format!("{} = \"{PROBE}\"\n", k.name));
    let values = listed_after(&error_of(&probe), &format!("unknown variant `{PROBE}`"));
    match (&k.values, values) {
        (None, None) => {}
        (documented, found) => {
            let documented: BTreeSet<String> = documented.iter().flatten().cloned().collect();
            compare(problems, &format!("{at} values"), &documented, found);
        }
    }
    // A key that is really a table (or a table of tables) of fixed keys must be documented as
    // a [[table]], so that its keys are checked too.
    for value in [
        format!("{{ {PROBE} = 1 }}"),
        format!("{{ n = {{ {PROBE} = 1 }} }}"),
    ] {
        let probe = skeleton(doc, t, Some(k), &format!("{} = {value}\n", k.name));
        if listed_after(&error_of(&probe), &format!("unknown field `{PROBE}`")).is_some() {
            problems.push(format!(
                "{at} holds keys of its own: document it as a [[table]] with path {}.{}",
                t.path, k.name
            ));
        }
    }
}

fn check_variants(doc: &Doc, path: &str, problems: &mut Vec<String>) {
    let documented: BTreeSet<String> = doc
        .table
        .iter()
        .filter(|t| t.path == path)
        .filter_map(|t| t.variant.clone())
        .collect();
    let probe_table = Table {
        path: path.to_owned(),
        variant: Some(PROBE.to_owned()),
        array: false,
        doc: String::new(),
        key: Vec::new(),
    };
    let probe = skeleton(doc, &probe_table, None, "");
    let found = listed_after(&error_of(&probe), &format!("unknown variant `{PROBE}`"));
    compare(problems, &format!("[{path}] type"), &documented, found);
}

/// The names of the child tables of `t` documented in the file.
fn children(doc: &Doc, t: &Table) -> Vec<String> {
    let prefix = format!("{}.", t.path);
    doc.table
        .iter()
        .filter(|c| c.variant == t.variant || t.variant.is_none())
        .filter_map(|c| c.path.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('.').next().map(str::to_owned))
        .collect()
}

/// The documented table that holds `t` (same backend type), if any.
fn parent<'a>(doc: &'a Doc, t: &Table) -> Option<&'a Table> {
    doc.table
        .iter()
        .filter(|p| p.variant == t.variant && t.path.starts_with(&format!("{}.", p.path)))
        .max_by_key(|p| p.path.len())
}

/// A document in which table `t` exists with its required keys (from their examples; `skip`
/// left out), its parents likewise, then `extra` inside `t`.
fn skeleton(doc: &Doc, t: &Table, skip: Option<&Key>, extra: &str) -> String {
    let up = parent(doc, t);
    let mut s = up.map(|p| skeleton(doc, p, None, "")).unwrap_or_default();
    if !t.path.is_empty() {
        let _ = writeln!(s, "{}", t.header());
    }
    // The backend type is written once, in the backend's own table.
    if let (Some(v), None) = (&t.variant, up) {
        let _ = writeln!(s, "type = \"{v}\"");
    }
    for k in &t.key {
        if k.required && skip.is_none_or(|s| s.name != k.name) {
            if let Some(e) = &k.example {
                let _ = writeln!(s, "{} = {e}", k.name);
            }
        }
    }
    s.push_str(extra);
    s
}

fn parsed(text: &str) -> String {
    match fence_watcher::config::parse_text(text) {
        Ok(c) => format!("{c:?}"),
        Err(e) => format!("error: {e}"),
    }
}

fn error_of(text: &str) -> String {
    match fence_watcher::config::parse_text(text) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// The keys serde expects where `text` wrote the unknown key, or `None` when it did not refuse
/// it as unknown.
fn expected_keys(text: &str) -> Option<BTreeSet<String>> {
    listed_after(&error_of(text), &format!("unknown field `{PROBE}`"))
}

/// The back-quoted names serde lists after `marker` ("..., expected one of `a`, `b`").
fn listed_after(message: &str, marker: &str) -> Option<BTreeSet<String>> {
    let rest = &message[message.find(marker)? + marker.len()..];
    if rest.trim_start().starts_with(", there are no") {
        return Some(BTreeSet::new());
    }
    let list = rest.split_once("expected")?.1;
    Some(
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect(),
    )
}

fn compare(
    problems: &mut Vec<String>,
    at: &str,
    documented: &BTreeSet<String>,
    found: Option<BTreeSet<String>>,
) {
    let Some(found) = found else {
        problems.push(format!(
            "{at}: the configuration did not list its keys or values (is it a table that \
             refuses unknown keys, or an enumerated key?)"
        ));
        return;
    };
    for missing in found.difference(documented) {
        problems.push(format!(
            "{at}: {missing} exists but is not documented in {KEYS_FILE}"
        ));
    }
    for extra in documented.difference(&found) {
        problems.push(format!(
            "{at}: {extra} is documented in {KEYS_FILE} but the configuration has no such key"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_names_serde_lists() {
        let m = "x: unknown field `zz_undocumented`, expected one of `a`, `b_c`, `d` |";
        let got = listed_after(m, "unknown field `zz_undocumented`").expect("a list");
        assert_eq!(got.into_iter().collect::<Vec<_>>(), ["a", "b_c", "d"]);
        let m = "unknown variant `zz_undocumented`, expected `text` or `json`";
        let got = listed_after(m, "unknown variant `zz_undocumented`").expect("a list");
        assert_eq!(got.len(), 2);
        assert!(listed_after("invalid type: integer", "unknown field").is_none());
    }
}
