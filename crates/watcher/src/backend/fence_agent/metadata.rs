//! What a fence agent says it accepts: its `metadata` (the XML Pacemaker reads when it
//! registers a device), and the check of a `fence-agent` table against it for
//! `--check-config` (issue 12): a parameter the agent does not declare (`ipadress`) is ignored
//! by fencing.py with a warning nobody reads, and a value of the wrong type (`lanplus =
//! "maybe"`) is dropped or fails the fence, so both only show at the worst moment.
//!
//! fence-agents' content types: `boolean` (fencing.py takes 1/yes/on/true and 0/no/off/false,
//! any case, and ignores anything else), `integer` and `second` (Python's `int()`: a whole
//! number), `select` (one of its `<option value>`, any case), `string`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use tokio::time::Instant;

use crate::backend::support::common::ParamValue;
use crate::backend::support::process;

/// How long an agent may take to print its metadata (fence_ipmilan: about 0.2 s).
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(20);

/// The declared parameters of an agent, by name.
#[derive(Debug, Default, PartialEq)]
pub struct Metadata {
    pub params: BTreeMap<String, Param>,
}

/// One `<parameter>`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Param {
    /// The `<content type>`.
    pub content: String,
    /// The `<option value>`s of a `select`.
    pub options: Vec<String>,
    pub deprecated: bool,
}

/// Runs `agent` for its metadata (`-o metadata`, and `action=metadata` on stdin as Pacemaker
/// sends it) through the one child runner, and parses it.
pub async fn fetch(agent: &Path, env: &[(String, String)]) -> Result<Metadata, String> {
    let args = ["-o".to_owned(), "metadata".to_owned()];
    let spec = process::Spec {
        program: agent,
        args: &args,
        env,
        stdin: Some(b"action=metadata\n"),
    };
    let run = process::run(spec, Instant::now() + METADATA_TIMEOUT).await;
    if run.code() != Some(0) {
        let how = run.describe(agent, METADATA_TIMEOUT);
        return Err(format!("{} -o metadata failed ({how})", agent.display()));
    }
    parse(&String::from_utf8_lossy(&run.stdout))
}

/// Reads the `<parameter>`s of a fence agent's metadata.
pub fn parse(xml: &str) -> Result<Metadata, String> {
    let bad = |e: &dyn std::fmt::Display| format!("metadata is not well-formed XML: {e}");
    let mut reader = Reader::from_str(xml);
    let mut meta = Metadata::default();
    let mut current: Option<String> = None;
    let mut agent = false;
    loop {
        let (e, empty) = match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) if e.name().as_ref() == "parameter" => {
                current = None;
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        match e.name().as_ref() {
            "resource-agent" => agent = true,
            "parameter" => {
                let name = attr(&e, "name").map_err(|e| bad(&e))?.unwrap_or_default();
                let param = Param {
                    deprecated: attr(&e, "deprecated").map_err(|e| bad(&e))?.as_deref()
                        == Some("1"),
                    ..Param::default()
                };
                meta.params.insert(name.clone(), param);
                current = (!empty).then_some(name);
            }
            "content" => {
                if let Some(p) = current.as_ref().and_then(|n| meta.params.get_mut(n)) {
                    p.content = attr(&e, "type").map_err(|e| bad(&e))?.unwrap_or_default();
                }
            }
            "option" => {
                if let Some(p) = current.as_ref().and_then(|n| meta.params.get_mut(n)) {
                    p.options.extend(attr(&e, "value").map_err(|e| bad(&e))?);
                }
            }
            _ => {}
        }
    }
    if !agent {
        return Err("metadata has no <resource-agent> element".to_owned());
    }
    Ok(meta)
}

fn attr(e: &BytesStart<'_>, key: &str) -> Result<Option<String>, String> {
    let Some(a) = e.try_get_attribute(key).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let v = a
        .normalized_value(XmlVersion::Implicit1_0)
        .map_err(|e| e.to_string())?;
    Ok(Some(v.into_owned()))
}

impl Metadata {
    /// The declared parameter `key` (fencing.py also takes `-` for `_`).
    pub fn get(&self, key: &str) -> Option<&Param> {
        self.params
            .get(key)
            .or_else(|| self.params.get(&key.replace('-', "_")))
    }
}

impl Param {
    /// Why `value` is not of this parameter's type, if it is not. A value with a placeholder
    /// is known only at fence time and passes.
    pub fn refuses(&self, value: &ParamValue) -> Option<String> {
        if matches!(value, ParamValue::Str(s) if s.contains('{')) {
            return None;
        }
        let text = value.to_string();
        let ok = match self.content.as_str() {
            "boolean" => {
                let flags = ["1", "yes", "on", "true", "0", "no", "off", "false"];
                flags.contains(&text.to_ascii_lowercase().as_str())
            }
            "integer" | "second" => {
                !matches!(value, ParamValue::Float(_) | ParamValue::Bool(_))
                    && text.trim().parse::<i64>().is_ok()
            }
            "select" => self.options.iter().any(|o| o.eq_ignore_ascii_case(&text)),
            _ => true,
        };
        (!ok).then(|| match self.content.as_str() {
            "boolean" => "a boolean (true or false; 1/0, yes/no, on/off)".to_owned(),
            "second" => "a whole number of seconds".to_owned(),
            "integer" => "an integer".to_owned(),
            _ => format!("one of {}", self.options.join(", ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0" ?>
<resource-agent name="fence_x" shortdesc="x">
<parameters>
	<parameter name="auth" unique="0" required="0">
		<content type="select"  >
			<option value="md5" />
			<option value="none" />
		</content>
	</parameter>
	<parameter name="ip" unique="0" required="0" obsoletes="ipaddr">
		<content type="string"  />
	</parameter>
	<parameter name="ipaddr" unique="0" required="0" deprecated="1">
		<content type="string"  />
	</parameter>
	<parameter name="lanplus" unique="0" required="0">
		<content type="boolean" default="0"  />
	</parameter>
	<parameter name="power_wait" unique="0" required="0">
		<content type="second" default="2"  />
	</parameter>
	<parameter name="hexadecimal_kg" unique="0" required="0">
		<content type="string"  />
	</parameter>
</parameters>
<actions><action name="on" automatic="0"/></actions>
</resource-agent>"#;

    #[test]
    fn parameters_types_and_options_are_read() {
        let m = parse(XML).expect("parse");
        assert_eq!(m.params.len(), 6);
        assert_eq!(m.params["auth"].options, ["md5", "none"]);
        assert_eq!(m.params["lanplus"].content, "boolean");
        assert!(m.params["ipaddr"].deprecated && !m.params["ip"].deprecated);
        assert!(
            m.get("hexadecimal-kg").is_some(),
            "fencing.py takes - for _"
        );
        assert!(parse("<nope/>").is_err());
        assert!(parse("<resource-agent><parameter name=\"a\"").is_err());
    }

    #[test]
    fn values_of_the_wrong_type_are_refused() {
        let m = parse(XML).expect("parse");
        let s = |v: &str| ParamValue::Str(v.to_owned());
        let refused = |k: &str, v: ParamValue| m.params[k].refuses(&v);
        assert_eq!(
            refused("lanplus", s("maybe")).as_deref(),
            Some("a boolean (true or false; 1/0, yes/no, on/off)")
        );
        for ok in [
            ParamValue::Bool(true),
            ParamValue::Int(1),
            s("Yes"),
            s("off"),
        ] {
            assert_eq!(refused("lanplus", ok.clone()), None, "{ok:?}");
        }
        assert!(refused("power_wait", ParamValue::Float(2.5)).is_some());
        assert!(refused("power_wait", s("2s")).is_some());
        assert_eq!(refused("power_wait", ParamValue::Int(4)), None);
        assert_eq!(refused("power_wait", s("4")), None);
        assert_eq!(refused("auth", s("MD5")), None);
        assert_eq!(
            refused("auth", s("sha1")).as_deref(),
            Some("one of md5, none")
        );
        assert_eq!(refused("ip", s("{node}-bmc")), None);
        assert_eq!(
            refused("lanplus", s("{node}")),
            None,
            "known at fence time only"
        );
    }
}
