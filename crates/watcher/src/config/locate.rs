//! Where a configuration error is, as `FILE:LINE:COL: message` on one line (the journal's and
//! every editor's form), at the offending key.
//!
//! toml's span for an unknown field of a `[backends.X]` table is the whole table: its `type`
//! picks the struct, so serde sees the table's contents only after buffering them and the key's
//! own span is lost (issue 12: `unknown field verfy` reported at `[backends.ipmi]`). The key is
//! found again in the parsed document (toml's own `DeTable`, which keeps every key's span): the
//! first key of that name at or after the span's start.

use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::ConfigError;
use crate::backend::support::suggest;

/// The error of parsing `text` (the contents of `path`) as one line at its key.
pub(super) fn parse_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let start = err.span().map(|s| s.start);
    let (at, message) = match unknown_name(err.message()) {
        Some(Unknown::Field(key, expected)) => {
            let found = find_key(text, key, start.unwrap_or(0));
            let (at, table) = match found {
                Some((offset, table)) => (Some(offset), format!(" in {table}")),
                None => (start, String::new()),
            };
            let hint = match suggest::did_you_mean(key, &expected) {
                none if none.is_empty() && !expected.is_empty() => {
                    format!(" (known keys: {})", expected.join(", "))
                }
                hint => hint,
            };
            (at, format!("unknown key {key}{table}{hint}"))
        }
        Some(Unknown::Variant(value, expected)) => {
            let hint = suggest::did_you_mean(value, &expected);
            let known = expected.join(", ");
            (
                start,
                format!("unknown value {value:?}{hint} (known: {known})"),
            )
        }
        None => (start, with_excerpt(err.message(), text, start)),
    };
    ConfigError::Parse {
        path: path.to_owned(),
        at: at.map(|offset| line_col(text, offset)),
        message: super::one_line(&message),
    }
}

/// What serde could not place: a key (`unknown field`) or a value of an enum (`unknown
/// variant`), with the names it expected.
enum Unknown<'a> {
    Field(&'a str, Vec<&'a str>),
    Variant(&'a str, Vec<&'a str>),
}

/// Reads serde's ``unknown field `x`, expected one of `a`, `b` `` (or ``expected `a` or `b` ``).
fn unknown_name(message: &str) -> Option<Unknown<'_>> {
    let (kind, rest) = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|p| message.strip_prefix(p).map(|rest| (*p, rest)))?;
    // `x`, expected one of `a`, `b`: the name, then every other piece between backquotes.
    let parts: Vec<&str> = rest.split('`').collect();
    let name = *parts.first()?;
    let expected = parts.iter().skip(2).step_by(2).copied().collect();
    Some(if kind.contains("field") {
        Unknown::Field(name, expected)
    } else {
        Unknown::Variant(name, expected)
    })
}

/// The offset of the first key named `key` at or after `from`, and the table it is in.
fn find_key(text: &str, key: &str, from: usize) -> Option<(usize, String)> {
    let doc = DeTable::parse(text).ok()?;
    let mut found = Vec::new();
    walk(doc.get_ref(), &mut Vec::new(), key, &mut found);
    found
        .into_iter()
        .filter(|(offset, _)| *offset >= from)
        .min_by_key(|(offset, _)| *offset)
}

/// Collects every key named `key` under `table` (at `path`), with its offset and table name.
fn walk(table: &DeTable<'_>, path: &mut Vec<String>, key: &str, out: &mut Vec<(usize, String)>) {
    for (k, v) in table.iter() {
        if k.get_ref() == key {
            out.push((k.span().start, table_name(path)));
        }
        path.push(k.get_ref().to_string());
        descend(v, path, key, out);
        path.pop();
    }
}

fn descend(
    v: &Spanned<DeValue<'_>>,
    path: &mut Vec<String>,
    key: &str,
    out: &mut Vec<(usize, String)>,
) {
    match v.get_ref() {
        DeValue::Table(t) => walk(t, path, key, out),
        DeValue::Array(items) => {
            // An item is named by the array's key and its index: `topology[1]`.
            let name = path.pop().unwrap_or_default();
            for (i, item) in items.iter().enumerate() {
                path.push(format!("{name}[{i}]"));
                descend(item, path, key, out);
                path.pop();
            }
            path.push(name);
        }
        _ => {}
    }
}

/// `[backends.ipmi]`, `[topology[0]]`, or `the top level`.
fn table_name(path: &[String]) -> String {
    if path.is_empty() {
        "the top level".to_owned()
    } else {
        format!("[{}]", path.join("."))
    }
}

/// The 1-based line and column (in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// `message`, then the line it is about, quoted (shortened), so a bad value is seen at once.
fn with_excerpt(message: &str, text: &str, at: Option<usize>) -> String {
    let Some(line) = at
        .and_then(|o| text.get(..o))
        .map(|b| b.matches('\n').count())
    else {
        return message.to_owned();
    };
    let quoted: String = text
        .lines()
        .nth(line)
        .unwrap_or("")
        .trim()
        .chars()
        .take(120)
        .collect();
    format!("{message}: `{quoted}`")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The message of parsing `text` as the configuration file `f.toml`.
    fn error(text: &str) -> String {
        super::super::parse::<super::super::FileConfig>(Path::new("f.toml"), text)
            .expect_err("refused")
            .to_string()
    }

    /// Regression (issue 12): an unknown key of a backend was reported at the table's header
    /// (`[backends.ipmi]`, line 1), over several lines, without the key it should have been.
    #[test]
    fn an_unknown_key_is_reported_at_its_own_line_with_a_suggestion() {
        let text =
            "[backends.ipmi]\ntype = \"fence-agent\"\nagent = \"fence_ipmilan\"\n  verfy = true\n";
        assert_eq!(
            error(text),
            "f.toml:4:3: unknown key verfy in [backends.ipmi]; did you mean verify?"
        );
        let nested = "[backends.b]\ntype = \"ipmitool\"\nusername = \"u\"\n\
                      [backends.b.per_node.cn1]\nhots = \"x\"\n";
        assert_eq!(
            error(nested),
            "f.toml:5:1: unknown key hots in [backends.b.per_node.cn1]; did you mean host?"
        );
        let entry = "[[topology]]\nnodes = [\"a\"]\nlevels = [\"b\"]\n[[topology]]\nnodes = [\"c\"]\nlevls = [\"b\"]\n";
        assert_eq!(
            error(entry),
            "f.toml:6:1: unknown key levls in [topology[1]]; did you mean levels?"
        );
        // Not close to any key: the known ones are listed instead.
        let far = error("[spool]\ncolour = 1\n");
        assert_eq!(
            far,
            "f.toml:2:1: unknown key colour in [spool] (known keys: request_dir, response_dir)"
        );
    }

    #[test]
    fn other_errors_say_where_and_quote_the_line() {
        let msg = error("[daemon]\nmax_concurrent = \"x\"\n");
        assert!(msg.starts_with("f.toml:2:18: invalid type"), "{msg}");
        assert!(msg.ends_with(": `max_concurrent = \"x\"`"), "{msg}");
        let msg = error("[backends.a]\ntype = \"ipmitol\"\n");
        assert!(
            msg.contains("unknown value \"ipmitol\"; did you mean ipmitool?"),
            "{msg}"
        );
    }
}
