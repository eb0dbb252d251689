//! The discovery sources and how a configuration names them (`gfs2_sources=pacemaker,dlm`).

use std::fmt;
use std::str::FromStr;

/// A discovery source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Pacemaker's `ocf:heartbeat:Filesystem` resources with `fstype=gfs2` placed on the target.
    Pacemaker,
    /// `dlm_tool ls` lockspaces whose members include the target's corosync node id.
    Dlm,
    /// `kubectl get nnfstorage -A -o json`: GFS2 storages the target can access.
    Nnf,
    /// GFS2 entries of the recorder node's own `/proc/self/mountinfo`.
    Mounts,
}

/// A name in a source list that is not a source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceListError {
    #[error("'{0}' is not a discovery source (pacemaker, dlm, nnf, mounts)")]
    Unknown(String),
    #[error("no discovery source given")]
    Empty,
}

impl Source {
    /// Every source, in the default order.
    pub const ALL: [Source; 4] = [Source::Pacemaker, Source::Dlm, Source::Nnf, Source::Mounts];

    /// The name used in configuration, logs and requests.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Pacemaker => "pacemaker",
            Source::Dlm => "dlm",
            Source::Nnf => "nnf",
            Source::Mounts => "mounts",
        }
    }

    /// Parses a comma-separated list such as `pacemaker, dlm,mounts`: order kept, blanks and
    /// repeats ignored, `mountinfo` accepted for `mounts`, case-insensitive.
    pub fn parse_list(list: &str) -> Result<Vec<Source>, SourceListError> {
        let mut out = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let source: Source = part.parse()?;
            if !out.contains(&source) {
                out.push(source);
            }
        }
        if out.is_empty() {
            return Err(SourceListError::Empty);
        }
        Ok(out)
    }
}

impl FromStr for Source {
    type Err = SourceListError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pacemaker" => Ok(Source::Pacemaker),
            "dlm" => Ok(Source::Dlm),
            "nnf" => Ok(Source::Nnf),
            "mounts" | "mountinfo" => Ok(Source::Mounts),
            _ => Err(SourceListError::Unknown(s.to_string())),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_list_keeps_order_and_drops_repeats() {
        let got = Source::parse_list(" dlm,pacemaker,,DLM, mountinfo ").unwrap();
        assert_eq!(got, vec![Source::Dlm, Source::Pacemaker, Source::Mounts]);
    }

    #[test]
    fn parse_list_rejects_unknown_and_empty() {
        assert_eq!(
            Source::parse_list("dlm,crm").unwrap_err(),
            SourceListError::Unknown("crm".into())
        );
        assert_eq!(
            Source::parse_list(" , ").unwrap_err(),
            SourceListError::Empty
        );
        assert_eq!(
            Source::parse_list("x").unwrap_err().to_string(),
            "'x' is not a discovery source (pacemaker, dlm, nnf, mounts)"
        );
    }
}
