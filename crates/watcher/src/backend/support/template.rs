//! The one placeholder engine: `{node}`, `{action}`, `{request_id}` in backend settings, and
//! `{node}`, `{nodeid}`, `{action}` in the after-fence command. Each user says which it allows.
//!
//! A template is checked once when the backend is built (unknown placeholders and stray braces are
//! configuration errors), then rendered for every fence. `{{` and `}}` stand for literal braces.
//! The values substituted are validated protocol types (node names, actions, request ids), so a
//! rendered value can never contain a newline, a shell character or a path separator it did not
//! already have in the configuration.

use std::fmt;

/// A placeholder a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    Node,
    Action,
    RequestId,
    /// The corosync node id of the node (after-fence command only).
    NodeId,
}

impl Var {
    fn name(self) -> &'static str {
        match self {
            Var::Node => "node",
            Var::Action => "action",
            Var::RequestId => "request_id",
            Var::NodeId => "nodeid",
        }
    }
}

/// The values of the placeholders for one fence.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    pub node: &'a str,
    pub action: &'a str,
    pub request_id: &'a str,
    /// Empty where [`Var::NodeId`] is not allowed.
    pub nodeid: &'a str,
}

impl Vars<'_> {
    fn get(&self, var: Var) -> &str {
        match var {
            Var::Node => self.node,
            Var::Action => self.action,
            Var::RequestId => self.request_id,
            Var::NodeId => self.nodeid,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Var),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `raw`, accepting only the placeholders in `allowed`.
    pub fn parse(raw: &str, allowed: &[Var]) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            rest = &rest[c.len_utf8()..];
            match c {
                '{' if rest.starts_with('{') => {
                    text.push('{');
                    rest = &rest[1..];
                }
                '}' if rest.starts_with('}') => {
                    text.push('}');
                    rest = &rest[1..];
                }
                '{' => {
                    let end = rest.find('}').ok_or_else(|| unclosed(raw))?;
                    let var = lookup(&rest[..end], allowed, raw)?;
                    rest = &rest[end + 1..];
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Var(var));
                }
                '}' => return Err(format!("{raw:?} has a '}}' without '{{' (write '}}}}')")),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template { pieces })
    }

    /// Whether the template uses `var`.
    pub fn uses(&self, var: Var) -> bool {
        self.pieces.contains(&Piece::Var(var))
    }

    /// The text with every placeholder replaced.
    pub fn render(&self, vars: &Vars<'_>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => out.push_str(vars.get(*v)),
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => f.write_str(&t.replace('{', "{{").replace('}', "}}"))?,
                Piece::Var(v) => write!(f, "{{{}}}", v.name())?,
            }
        }
        Ok(())
    }
}

fn unclosed(raw: &str) -> String {
    format!("{raw:?} has a '{{' without '}}' (write '{{{{' for a literal brace)")
}

fn lookup(name: &str, allowed: &[Var], raw: &str) -> Result<Var, String> {
    let names: Vec<String> = allowed
        .iter()
        .map(|v| format!("{{{}}}", v.name()))
        .collect();
    allowed
        .iter()
        .copied()
        .find(|v| v.name() == name)
        .ok_or_else(|| {
            let shown: String = name.chars().take(40).collect();
            format!(
                "{raw:?} uses unknown placeholder {{{shown}}} (allowed here: {})",
                names.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Var] = &[Var::Node, Var::Action, Var::RequestId];

    fn vars() -> Vars<'static> {
        Vars {
            node: "cn1",
            action: "off",
            request_id: "r-1",
            nodeid: "7",
        }
    }

    #[test]
    fn expands_every_placeholder() {
        let t = Template::parse("/Systems/{node}/{action}-{request_id}", ALL).expect("parse");
        assert_eq!(t.render(&vars()), "/Systems/cn1/off-r-1");
    }

    #[test]
    fn literal_braces_and_plain_text() {
        let t = Template::parse("a{{b}}c", ALL).expect("parse");
        assert_eq!(t.render(&vars()), "a{b}c");
        assert_eq!(t.to_string(), "a{{b}}c");
    }

    #[test]
    fn rejects_unknown_unclosed_and_disallowed() {
        assert!(Template::parse("{nod}", ALL)
            .expect_err("unknown")
            .contains("{nod}"));
        assert!(Template::parse("x{node", ALL).is_err());
        assert!(Template::parse("x}y", ALL).is_err());
        let e = Template::parse("{action}", &[Var::Node]).expect_err("not allowed");
        assert!(e.contains("allowed here: {node}"), "{e}");
    }
}
