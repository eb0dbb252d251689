//! The two EC2 Query API answers the backend reads, parsed with quick-xml: the instances of
//! `DescribeInstances` (id and state, and the page token) and the `<Errors>` of a refusal.
//! Elements are matched by their path under the root, so a tag's `<item>` deep inside an
//! instance is never taken for an instance.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One instance of a `DescribeInstances` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`.
    pub state: String,
}

/// A `DescribeInstances` page.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Described {
    pub instances: Vec<Instance>,
    pub next_token: Option<String>,
}

const ITEM: [&str; 4] = ["reservationSet", "item", "instancesSet", "item"];

/// Parses a `DescribeInstances` answer.
pub fn described(xml: &str) -> Result<Described, String> {
    let mut out = Described::default();
    walk(xml, |path, event| {
        let under_root = path.get(1..).unwrap_or(&[]);
        match (under_root, event) {
            (p, Walk::Open) if p == ITEM => out.instances.push(Instance::default()),
            (p, Walk::Text(t)) if p.len() == 5 && p[..4] == ITEM && p[4] == "instanceId" => {
                if let Some(i) = out.instances.last_mut() {
                    i.id = t.to_owned();
                }
            }
            (p, Walk::Text(t))
                if p.len() == 6 && p[..4] == ITEM && p[4] == "instanceState" && p[5] == "name" =>
            {
                if let Some(i) = out.instances.last_mut() {
                    i.state = t.to_owned();
                }
            }
            ([n], Walk::Text(t)) if n == "nextToken" && !t.is_empty() => {
                out.next_token = Some(t.to_owned());
            }
            _ => {}
        }
    })?;
    if let Some(bad) = out
        .instances
        .iter()
        .find(|i| i.id.is_empty() || i.state.is_empty())
    {
        return Err(format!("an instance without id or state ({bad:?})"));
    }
    Ok(out)
}

/// The first `Code` and `Message` of an error answer (`<Response><Errors><Error>`).
pub fn error(xml: &str) -> Option<(String, String)> {
    let (mut code, mut message) = (None, None);
    walk(xml, |path, event| {
        if let Walk::Text(t) = event {
            let tail = &path[path.len().saturating_sub(2)..];
            match tail {
                [e, c] if e == "Error" && c == "Code" && code.is_none() => {
                    code = Some(t.to_owned())
                }
                [e, m] if e == "Error" && m == "Message" && message.is_none() => {
                    message = Some(t.to_owned())
                }
                _ => {}
            }
        }
    })
    .ok()?;
    Some((code?, message.unwrap_or_default()))
}

enum Walk<'t> {
    Open,
    Text(&'t str),
}

/// Calls `f` with the element path at every opening tag, and with the text of every element
/// (entity references resolved) at its end.
fn walk(xml: &str, mut f: impl FnMut(&[String], Walk<'_>)) -> Result<(), String> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                path.push(e.local_name().as_ref().to_owned());
                text.clear();
                f(&path, Walk::Open);
            }
            Event::End(_) => {
                if !text.trim().is_empty() {
                    f(&path, Walk::Text(text.trim()));
                }
                text.clear();
                path.pop();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => match r.resolve_char_ref().map_err(|e| e.to_string())? {
                Some(c) => text.push(c),
                None => {
                    let name = r.xml10_content();
                    let resolved = quick_xml::escape::resolve_xml_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    text.push_str(resolved);
                }
            },
            Event::Eof if path.is_empty() => return Ok(()),
            Event::Eof => return Err("the answer ends inside an element".to_owned()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESCRIBED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r1</requestId>
  <reservationSet><item><reservationId>r-1</reservationId>
    <instancesSet>
      <item><instanceId>i-0aaa</instanceId>
        <instanceState><code>16</code><name>running</name></instanceState>
        <tagSet><item><key>Name</key><value>node1</value></item></tagSet>
        <stateReason><code>x</code></stateReason>
      </item>
      <item><instanceId>i-0bbb</instanceId>
        <instanceState><code>80</code><name>stopped</name></instanceState>
      </item>
    </instancesSet></item>
  </reservationSet>
  <nextToken>page2</nextToken>
</DescribeInstancesResponse>"#;

    #[test]
    fn instances_and_their_states() {
        let d = described(DESCRIBED).expect("parses");
        let got: Vec<(&str, &str)> = d
            .instances
            .iter()
            .map(|i| (i.id.as_str(), i.state.as_str()))
            .collect();
        assert_eq!(got, [("i-0aaa", "running"), ("i-0bbb", "stopped")]);
        assert_eq!(d.next_token.as_deref(), Some("page2"));
        let empty =
            described("<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>");
        assert_eq!(empty.expect("empty").instances, []);
        assert!(described("<a><b></a>").is_err());
        let stateless = "<R><reservationSet><item><instancesSet><item><instanceId>i-1</instanceId>\
                         </item></instancesSet></item></reservationSet></R>";
        assert!(described(stateless).is_err());
    }

    #[test]
    fn error_code_and_message() {
        let xml = "<?xml version=\"1.0\"?><Response><Errors><Error><Code>RequestLimitExceeded\
                   </Code><Message>Request &quot;limit&quot; exceeded&#46;</Message></Error></Errors>\
                   <RequestID>x</RequestID></Response>";
        assert_eq!(
            error(xml),
            Some((
                "RequestLimitExceeded".into(),
                "Request \"limit\" exceeded.".into()
            ))
        );
        assert_eq!(error("<html>busy</html>"), None);
    }
}
