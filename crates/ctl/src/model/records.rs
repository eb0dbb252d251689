//! The fence records: the live ones of `RESPONSE_DIR` through the agent's one reader
//! (`fence_gfs2_recorder::ledger::load`, which also says which nodes are fenced), and the
//! archived ones of `RESPONSE_DIR/.unfenced/` (named as in `RESPONSE_DIR`, or `<name>.<n>` when
//! that name was taken). A file that cannot be read or parsed, and a `*.json` name the
//! protocol cannot use, are kept as invalid entries with why, never skipped.

use fence_gfs2_recorder::ledger::{self, Records};
use gfs2_fence_protocol::text::escape;
use gfs2_fence_protocol::{
    Response, SpoolDir, SpoolError, SpoolName, Timestamp, MAX_SPOOL_FILE, UNFENCED_DIR,
};
use serde::Serialize;

/// Where a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Place {
    /// `RESPONSE_DIR`: it counts (a success there keeps its node fenced).
    Live,
    /// `RESPONSE_DIR/.unfenced/`: cleared by an unfence, kept for the audit trail.
    Archived,
}

/// A record file that is not a usable response.
#[derive(Debug, Clone)]
pub struct Invalid {
    /// Raw name (lossy): escape it to print it.
    pub name: String,
    pub place: Place,
    /// Why, escaped.
    pub error: String,
}

/// An archived response.
#[derive(Debug, Clone)]
pub struct Archived {
    pub name: String,
    pub response: Response,
    pub modified: Option<Timestamp>,
}

/// What the response directory and its archive hold.
#[derive(Debug, Default)]
pub struct RecordSet {
    /// The live records, as the agent reads them (oldest first).
    pub live: Records,
    /// The archived records, oldest first (mtime, then name).
    pub archived: Vec<Archived>,
    /// Unreadable or unparsable files and unusable names, live and archived.
    pub invalid: Vec<Invalid>,
}

/// Reads the live records and the archive of `dir`.
pub fn load(dir: &SpoolDir) -> Result<RecordSet, SpoolError> {
    let live = ledger::load(dir)?;
    let mut invalid: Vec<Invalid> = live
        .unreadable
        .iter()
        .map(|(name, why)| Invalid {
            name: name.clone(),
            place: Place::Live,
            error: why.clone(),
        })
        .collect();
    invalid.extend(live.unusable.iter().map(|raw| Invalid {
        name: raw.to_string_lossy().into_owned(),
        place: Place::Live,
        error: "the name is not [A-Za-z0-9._-]+.json of at most 247 bytes".into(),
    }));
    let archived = match dir.subdir(UNFENCED_DIR, None) {
        Ok(archive) => read_archive(&archive, &mut invalid)?,
        Err(SpoolError::OpenDir { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    Ok(RecordSet {
        live,
        archived,
        invalid,
    })
}

fn read_archive(dir: &SpoolDir, invalid: &mut Vec<Invalid>) -> Result<Vec<Archived>, SpoolError> {
    let mut out = Vec::new();
    for raw in dir.entries()? {
        let Some(name) = raw.to_str().filter(|n| archived_name(n)) else {
            continue;
        };
        let read = dir
            .read(name, MAX_SPOOL_FILE)
            .map_err(|e| e.to_string())
            .and_then(|b| Response::from_json(&b).map_err(|e| e.to_string()));
        match read {
            Ok(response) => out.push(Archived {
                name: name.to_owned(),
                response,
                modified: dir.modified(name).ok().flatten().map(Timestamp::from),
            }),
            Err(e) => invalid.push(Invalid {
                name: name.to_owned(),
                place: Place::Archived,
                error: escape(&e, 300),
            }),
        }
    }
    out.sort_by(|a, b| (a.modified, &a.name).cmp(&(b.modified, &b.name)));
    Ok(out)
}

/// A spool name, or one with the archive's `.<n>` suffix.
fn archived_name(name: &str) -> bool {
    let base = match name.rsplit_once('.') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    };
    SpoolName::parse(base).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn archived_names_are_spool_names_with_an_optional_counter() {
        for ok in ["a1.json", "a1.json.1", "cn1-x.json.12"] {
            assert!(super::archived_name(ok), "{ok}");
        }
        for not in [".a1.json.tmp", "a1.json.", "a1.json.x", "notes.txt", "a1.1"] {
            assert!(!super::archived_name(not), "{not}");
        }
    }
}
