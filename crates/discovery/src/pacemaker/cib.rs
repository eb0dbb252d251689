//! The configuration part of a CIB (`cibadmin --query`): every `ocf:heartbeat:Filesystem`
//! primitive with its `device`, `directory` and `fstype`, whether it is cloned (inside `clone`,
//! or the Pacemaker 1 `master` element for promotable clones) and its enclosing group, and the
//! simple `rsc_location` constraints (`rsc`, `node`, `score`).

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::xml::{attr, name, XmlError};

const WHAT: &str = "cibadmin --query output";

/// One `Filesystem` resource of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsResource {
    pub id: String,
    pub device: Option<String>,
    pub directory: Option<String>,
    pub fstype: Option<String>,
    /// Ids of the enclosing group and clone, innermost first.
    pub parents: Vec<String>,
    pub cloned: bool,
}

impl FsResource {
    pub fn is_gfs2(&self) -> bool {
        self.fstype
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("gfs2"))
    }
}

/// A `rsc_location` with a `node` attribute (rule-based ones are not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub rsc: String,
    pub node: String,
    pub positive: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct CibConfig {
    pub filesystems: Vec<FsResource>,
    pub locations: Vec<Location>,
}

enum Frame {
    Configuration,
    Container { id: String, clone: bool },
    Primitive(Option<usize>),
    InstanceAttributes(Option<usize>),
    Other,
}

/// Reads the configuration section of a CIB.
pub fn parse(xml: &str) -> Result<CibConfig, XmlError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Frame> = Vec::new();
    let mut cfg = CibConfig::default();
    let mut saw_cib = false;
    loop {
        let ev = reader.read_event().map_err(|e| XmlError::new(WHAT, e))?;
        match ev {
            Event::Start(e) => {
                saw_cib |= e.name().as_ref() == "cib";
                let frame = open(&e, &stack, &mut cfg)?;
                stack.push(frame);
            }
            Event::Empty(e) => {
                saw_cib |= e.name().as_ref() == "cib";
                open(&e, &stack, &mut cfg)?;
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_cib {
        return Err(XmlError::new(WHAT, "no <cib> element"));
    }
    Ok(cfg)
}

/// Handles one opening element; returns the frame it pushes if it has children.
fn open(e: &BytesStart<'_>, stack: &[Frame], cfg: &mut CibConfig) -> Result<Frame, XmlError> {
    let in_config = stack.iter().any(|f| matches!(f, Frame::Configuration));
    let tag = name(e);
    if !in_config {
        return Ok(if tag == "configuration" {
            Frame::Configuration
        } else {
            Frame::Other
        });
    }
    let get = |k: &str| attr(e, k, WHAT);
    Ok(match tag.as_str() {
        "clone" | "master" | "group" => Frame::Container {
            id: get("id")?.unwrap_or_default(),
            clone: tag != "group",
        },
        "primitive" => {
            let is_fs = get("class")?.as_deref() == Some("ocf")
                && get("provider")?.as_deref() == Some("heartbeat")
                && get("type")?.as_deref() == Some("Filesystem");
            if !is_fs {
                return Ok(Frame::Primitive(None));
            }
            let mut fs = FsResource {
                id: get("id")?.unwrap_or_default(),
                ..FsResource::default()
            };
            for f in stack.iter().rev() {
                if let Frame::Container { id, clone } = f {
                    fs.parents.push(id.clone());
                    fs.cloned |= *clone;
                }
            }
            cfg.filesystems.push(fs);
            Frame::Primitive(Some(cfg.filesystems.len() - 1))
        }
        "instance_attributes" => match stack.last() {
            Some(Frame::Primitive(idx)) => Frame::InstanceAttributes(*idx),
            _ => Frame::Other,
        },
        "nvpair" => {
            if let Some(Frame::InstanceAttributes(Some(idx))) = stack.last() {
                let (key, value) = (get("name")?, get("value")?);
                if let (Some(fs), Some(key), Some(value)) =
                    (cfg.filesystems.get_mut(*idx), key, value)
                {
                    match key.as_str() {
                        "device" => fs.device = Some(value),
                        "directory" => fs.directory = Some(value),
                        "fstype" => fs.fstype = Some(value),
                        _ => {}
                    }
                }
            }
            Frame::Other
        }
        "rsc_location" => {
            if let (Some(rsc), Some(node)) = (get("rsc")?, get("node")?) {
                let score = get("score")?.unwrap_or_default();
                let positive = !score.starts_with('-') && score != "0";
                cfg.locations.push(Location {
                    rsc,
                    node,
                    positive,
                });
            }
            Frame::Other
        }
        _ => Frame::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_configuration() {
        let xml = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/cib/config.xml"
        ))
        .unwrap();
        let cfg = parse(&xml).unwrap();
        let ids: Vec<&str> = cfg.filesystems.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            ["fs-shared", "fs-data", "fs-scratch", "fs-home", "fs-nfs"]
        );
        let data = &cfg.filesystems[1];
        assert_eq!(data.parents, ["data-group", "data-clone"]);
        assert!(
            data.cloned && data.is_gfs2(),
            "fstype GFS2 in capitals counts"
        );
        assert_eq!(data.directory.as_deref(), Some("/mnt/data"));
        assert!(!cfg.filesystems[2].cloned);
        assert!(!cfg.filesystems[3].is_gfs2());
        assert!(cfg.locations.contains(&Location {
            rsc: "data-clone".into(),
            node: "cn3".into(),
            positive: false
        }));
    }

    #[test]
    fn promotable_master_element_counts_as_clone_and_status_is_ignored() {
        let xml = r#"<cib><configuration><resources>
          <master id="ms"><primitive id="fs-ms" class="ocf" provider="heartbeat" type="Filesystem">
            <instance_attributes id="a"><nvpair id="n" name="fstype" value="gfs2"/></instance_attributes>
          </primitive></master>
          <primitive id="not-fs" class="ocf" provider="heartbeat" type="Dummy">
            <instance_attributes id="b"><nvpair id="m" name="fstype" value="gfs2"/></instance_attributes>
          </primitive>
        </resources></configuration>
        <status><lrm_resource id="ghost" class="ocf" provider="heartbeat" type="Filesystem"/></status></cib>"#;
        let cfg = parse(xml).unwrap();
        assert_eq!(cfg.filesystems.len(), 1);
        assert!(cfg.filesystems[0].cloned && cfg.filesystems[0].is_gfs2());
        assert_eq!(cfg.filesystems[0].parents, ["ms"]);
    }

    #[test]
    fn not_a_cib_is_an_error() {
        assert!(parse("<pacemaker-result/>").is_err());
        assert!(parse("<cib><configuration></cib>").is_err());
    }
}
