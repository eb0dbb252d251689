//! What a request says about the GFS2 filesystems the target node could reach, and how that
//! was found out.

use serde::{Deserialize, Serialize};

/// The result of GFS2 discovery as carried in a request and the detailed event log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gfs2Discovery {
    pub enabled: bool,
    /// Why the list is empty or partial, e.g. `disabled by gfs2_discovery=false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub filesystems: Vec<FoundFilesystem>,
    /// Sources that were missing, failed, timed out or printed garbage.
    #[serde(default)]
    pub errors: Vec<SourceFailure>,
    #[serde(default)]
    pub elapsed_ms: u64,
}

/// One filesystem and every source that reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundFilesystem {
    pub name: String,
    pub sources: Vec<String>,
}

/// A discovery source that did not answer usefully.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFailure {
    pub source: String,
    pub reason: String,
}

impl Gfs2Discovery {
    /// Discovery switched off by configuration: an empty list and a field that says why.
    pub fn disabled(reason: impl Into<String>) -> Self {
        Gfs2Discovery {
            enabled: false,
            reason: Some(reason.into()),
            ..Gfs2Discovery::default()
        }
    }

    /// The names, in discovery order, as the seed's `gfs2_filesystems` array.
    pub fn names(&self) -> Vec<String> {
        self.filesystems.iter().map(|f| f.name.clone()).collect()
    }
}
