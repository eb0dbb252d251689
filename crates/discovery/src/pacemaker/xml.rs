//! Small helpers over quick-xml shared by the CIB and crm_mon readers.

use quick_xml::events::BytesStart;
use quick_xml::XmlVersion;

/// XML that could not be read; the message names what was being read.
#[derive(Debug, thiserror::Error)]
#[error("{what} is not well-formed XML: {detail}")]
pub struct XmlError {
    pub what: &'static str,
    pub detail: String,
}

impl XmlError {
    pub fn new(what: &'static str, detail: impl ToString) -> Self {
        XmlError {
            what,
            detail: detail.to_string(),
        }
    }
}

/// The unescaped value of attribute `key`, if present.
pub fn attr(e: &BytesStart<'_>, key: &str, what: &'static str) -> Result<Option<String>, XmlError> {
    let Some(a) = e
        .try_get_attribute(key)
        .map_err(|err| XmlError::new(what, err))?
    else {
        return Ok(None);
    };
    let v = a
        .normalized_value(XmlVersion::Implicit1_0)
        .map_err(|err| XmlError::new(what, err))?;
    Ok(Some(v.into_owned()))
}

/// The element's name as text (quick-xml gives names as text).
pub fn name(e: &BytesStart<'_>) -> String {
    e.name().as_ref().to_string()
}
