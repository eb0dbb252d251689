//! Placement from `crm_mon --output-as=xml`: which node each resource instance is active on.
//!
//! crm_mon lists `<resource id=.. role=..><node name=../></resource>` under `<resources>`, also
//! inside `<clone>` and `<group>` elements (a cloned group's instances are `<group id="g:0">`,
//! unique clone instances are `<resource id="fs:0">`). A node that failed and awaits fencing still
//! appears there (`Started NODE (UNCLEAN)` in the text output), which is what we want at fence time.

use std::collections::BTreeSet;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::xml::{attr, name, XmlError};

const WHAT: &str = "crm_mon --output-as=xml output";

/// Resource ids (clone instance suffix `:N` removed) active on the node.
pub fn active_on(xml: &str, node: &str) -> Result<BTreeSet<String>, XmlError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut out = BTreeSet::new();
    let mut saw_result = false;
    loop {
        let ev = reader.read_event().map_err(|e| XmlError::new(WHAT, e))?;
        match ev {
            Event::Start(e) => {
                saw_result |= e.name().as_ref() == "pacemaker-result";
                visit(&e, &stack, &mut current, &mut out, node)?;
                stack.push(name(&e));
            }
            Event::Empty(e) => visit(&e, &stack, &mut current, &mut out, node)?,
            Event::End(e) => {
                if e.name().as_ref() == "resource" {
                    current = None;
                }
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_result {
        return Err(XmlError::new(WHAT, "no <pacemaker-result> element"));
    }
    Ok(out)
}

fn visit(
    e: &BytesStart<'_>,
    stack: &[String],
    current: &mut Option<String>,
    out: &mut BTreeSet<String>,
    node: &str,
) -> Result<(), XmlError> {
    let in_resources = stack.iter().any(|s| s == "resources");
    match e.name().as_ref() {
        "resource" if in_resources => {
            *current = attr(e, "id", WHAT)?.map(|id| base_id(&id).to_string());
        }
        "node" if stack.last().is_some_and(|s| s == "resource") => {
            if let (Some(id), Some(n)) = (current.as_ref(), attr(e, "name", WHAT)?) {
                if n == node {
                    out.insert(id.clone());
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `fs:2` -> `fs`.
fn base_id(id: &str) -> &str {
    match id.rsplit_once(':') {
        Some((base, n)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => base,
        _ => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_instance_suffix_is_removed() {
        assert_eq!(base_id("fs-shared:12"), "fs-shared");
        assert_eq!(base_id("fs-shared"), "fs-shared");
        assert_eq!(base_id("a:b"), "a:b");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(active_on("not xml <<<", "cn1").is_err());
        assert!(active_on("<other/>", "cn1").is_err());
    }
}
