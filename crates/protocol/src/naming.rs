//! Spool file names: what a request or response file may be called.
//!
//! Responses carry the request's basename unchanged, so a responder must accept any basename a
//! conforming writer may choose (the seed's `<uuid>.json`, nnf-sos's `<node>-<uuid>.json`), but
//! nothing that could leave the directory or hide from the protocol's readers.

use std::fmt;

use crate::node::{shown, NodeName};
use crate::request::RequestId;

/// Longest basename: Linux `NAME_MAX` (255) less the 8 bytes that the longest derived name adds,
/// the `.` + `.cancel` of [`SpoolName::cancelling`] (found by fuzz/fuzz_targets/names.rs: with 250
/// the cancelling rename of a 248..=250-byte name failed with `ENAMETOOLONG`).
pub const MAX_SPOOL_NAME: usize = 247;

/// A valid spool basename: `[A-Za-z0-9._-]+\.json`, not starting with `.`, at most 247 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpoolName(String);

/// Why a directory entry is not a spool file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSpoolName {
    #[error("file name {0} does not end in .json")]
    NotJson(String),
    #[error("file name {0} starts with '.' (temporary or private)")]
    Hidden(String),
    #[error("file name {0} is too long (at most {MAX_SPOOL_NAME} bytes)")]
    TooLong(String),
    #[error("file name {0} contains characters outside [A-Za-z0-9._-]")]
    BadCharacter(String),
    #[error("file name {0} is not valid UTF-8")]
    NotUtf8(String),
}

impl InvalidSpoolName {
    /// Whether a protocol reader should skip this name silently: temporary dot-files and other
    /// files that are not spool files at all. Everything else is a hostile or broken `*.json`.
    pub fn is_ignorable(&self) -> bool {
        matches!(
            self,
            InvalidSpoolName::NotJson(_) | InvalidSpoolName::Hidden(_)
        )
    }
}

/// How the agent names its request files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileNaming {
    /// `<request_id>.json`, the seed's layout.
    #[default]
    Seed,
    /// `<target_node>-<request_id>.json`, the layout of nnf-sos's later versions.
    Nnf,
}

impl std::str::FromStr for FileNaming {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "seed" | "uuid" => Ok(FileNaming::Seed),
            "nnf" | "node-uuid" => Ok(FileNaming::Nnf),
            _ => Err(format!("unknown file naming {s:?} (expected seed or nnf)")),
        }
    }
}

impl SpoolName {
    pub fn parse(raw: &str) -> Result<Self, InvalidSpoolName> {
        let show = || shown(raw);
        if !raw.ends_with(".json") {
            return Err(InvalidSpoolName::NotJson(show()));
        }
        if raw.starts_with('.') {
            return Err(InvalidSpoolName::Hidden(show()));
        }
        if raw.len() > MAX_SPOOL_NAME {
            return Err(InvalidSpoolName::TooLong(show()));
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if raw == ".json" || !raw.chars().all(ok) {
            return Err(InvalidSpoolName::BadCharacter(show()));
        }
        Ok(SpoolName(raw.to_owned()))
    }

    /// Parses a raw directory entry name.
    pub fn from_bytes(raw: &[u8]) -> Result<Self, InvalidSpoolName> {
        match std::str::from_utf8(raw) {
            Ok(s) => SpoolName::parse(s),
            Err(_) => Err(InvalidSpoolName::NotUtf8(shown(&String::from_utf8_lossy(
                raw,
            )))),
        }
    }

    /// The name of a new request file. Both parts are validated to `[A-Za-z0-9._-]`, so the
    /// result is valid; a node name too long for the nnf layout falls back to the seed layout
    /// (responders take basenames as they are, so both layouts work everywhere).
    pub fn for_request(id: &RequestId, node: &NodeName, naming: FileNaming) -> Self {
        let nnf = format!("{node}-{id}.json");
        match naming {
            FileNaming::Nnf if nnf.len() <= MAX_SPOOL_NAME => SpoolName(nnf),
            _ => SpoolName(format!("{id}.json")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The temporary name a writer uses before the atomic rename.
    pub fn temporary(&self) -> String {
        format!(".{}.tmp", self.0)
    }

    /// The name under which an agent holds its request while it marks it cancelled.
    pub fn cancelling(&self) -> String {
        format!(".{}.cancel", self.0)
    }
}

impl fmt::Display for SpoolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_layouts() {
        let id = RequestId::new();
        let node = NodeName::parse("cn-3").expect("valid");
        let seed = SpoolName::for_request(&id, &node, FileNaming::Seed);
        let nnf = SpoolName::for_request(&id, &node, FileNaming::Nnf);
        assert_eq!(SpoolName::parse(seed.as_str()).as_ref(), Ok(&seed));
        assert_eq!(SpoolName::parse(nnf.as_str()).as_ref(), Ok(&nnf));
        assert!(nnf.as_str().starts_with("cn-3-"));
        assert!(
            SpoolName::for_request(
                &id,
                &NodeName::parse(&"n".repeat(253)).expect("ok"),
                FileNaming::Nnf
            )
            .as_str()
            .len()
                <= MAX_SPOOL_NAME
        );
    }

    #[test]
    fn derived_names_fit_in_name_max() {
        let longest = SpoolName::parse(&format!("{}.json", "a".repeat(MAX_SPOOL_NAME - 5)))
            .expect("the longest valid name");
        assert!(longest.temporary().len() <= 255 && longest.cancelling().len() <= 255);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(longest.cancelling()), b"")
            .expect("a real file system takes it");
        assert!(SpoolName::parse(&format!("{}.json", "a".repeat(MAX_SPOOL_NAME - 4))).is_err());
    }

    #[test]
    fn sorts_names_into_ignorable_and_hostile() {
        assert!(SpoolName::parse(".x.json.tmp").is_err_and(|e| e.is_ignorable()));
        assert!(SpoolName::parse(".x.json").is_err_and(|e| e.is_ignorable()));
        assert!(SpoolName::parse("notes.txt").is_err_and(|e| e.is_ignorable()));
        for hostile in [
            "a b.json",
            "a\nb.json",
            "../x.json",
            "x\u{0}.json",
            "ü.json",
            ".json",
        ] {
            assert!(SpoolName::parse(hostile).is_err(), "{hostile:?}");
        }
        assert!(SpoolName::parse(&format!("{}.json", "a".repeat(300)))
            .is_err_and(|e| !e.is_ignorable()));
        assert!(SpoolName::from_bytes(b"\xff.json").is_err_and(|e| !e.is_ignorable()));
    }
}
