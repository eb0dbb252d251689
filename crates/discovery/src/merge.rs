//! What a source found, and how the findings of all sources become one de-duplicated list.
//!
//! Merge rule: every finding carries a name and the other identifiers it knows (mount point,
//! device, lock table `cluster:fsname`, fsname). Two findings are the same filesystem when they
//! share any identifier; the merged entry keeps the position of its first finding (sources in
//! configured order, findings in each source's order), and its name is the best one any finding
//! gave: a GFS2 lock-table fsname (what DLM calls the lockspace) beats a mount point or an NNF
//! object name. Findings that share nothing stay separate entries (e.g. an NNF storage name and
//! a DLM lockspace: nnf-sos derives the lock table from the NnfNodeStorage UID, which the
//! NnfStorage object does not carry).

use gfs2_fence_protocol::FoundFilesystem;

/// How good a name is for a person and for nnf-sos; higher wins when findings merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameKind {
    /// An NNF object `name`.
    Object,
    /// A mount point (or device when no mount point is known).
    MountPoint,
    /// The fsname part of a GFS2 lock table, the DLM lockspace name.
    FsName,
}

/// One filesystem as one source saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub name: String,
    pub kind: NameKind,
    /// Where it came from, e.g. `pacemaker:fs-shared`, `dlm`, `mounts:/mnt/shared`.
    pub tag: String,
    /// Other identifiers of the same filesystem, used only to match findings.
    pub aliases: Vec<String>,
}

impl Finding {
    pub fn new(name: impl Into<String>, kind: NameKind, tag: impl Into<String>) -> Self {
        Finding {
            name: name.into(),
            kind,
            tag: tag.into(),
            aliases: Vec::new(),
        }
    }

    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        let alias = alias.into();
        if !alias.is_empty() {
            self.aliases.push(alias);
        }
        self
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

struct Entry {
    name: String,
    kind: NameKind,
    keys: Vec<String>,
    sources: Vec<String>,
}

/// Merges findings given in order; stable: the same input gives the same output. A finding that
/// matches several entries joins them into the first one (identity is transitive).
pub fn merge(findings: impl IntoIterator<Item = Finding>) -> Vec<FoundFilesystem> {
    let mut entries: Vec<Entry> = Vec::new();
    for f in findings {
        let hits: Vec<usize> = (0..entries.len())
            .filter(|&i| f.keys().any(|k| entries[i].keys.iter().any(|ek| ek == k)))
            .collect();
        let Some((&first, rest)) = hits.split_first() else {
            entries.push(Entry {
                keys: f.keys().map(str::to_string).collect(),
                name: f.name,
                kind: f.kind,
                sources: vec![f.tag],
            });
            continue;
        };
        // Later entries fold into the first; remove from the back so indexes stay valid.
        for &i in rest.iter().rev() {
            let other = entries.remove(i);
            absorb(&mut entries[first], other);
        }
        let single = Entry {
            keys: f.keys().map(str::to_string).collect(),
            name: f.name,
            kind: f.kind,
            sources: vec![f.tag],
        };
        absorb(&mut entries[first], single);
    }
    entries
        .into_iter()
        .map(|e| FoundFilesystem {
            name: e.name,
            sources: e.sources,
        })
        .collect()
}

fn absorb(into: &mut Entry, from: Entry) {
    if from.kind > into.kind {
        into.name = from.name;
        into.kind = from.kind;
    }
    for k in from.keys {
        if !into.keys.contains(&k) {
            into.keys.push(k);
        }
    }
    for s in from.sources {
        if !into.sources.contains(&s) {
            into.sources.push(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[FoundFilesystem]) -> Vec<(&str, Vec<&str>)> {
        v.iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.sources.iter().map(String::as_str).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn shared_identifier_merges_and_fsname_wins() {
        let got = merge([
            Finding::new("/mnt/shared", NameKind::MountPoint, "pacemaker:fs-shared")
                .alias("/dev/vg/lv"),
            Finding::new("/mnt/other", NameKind::MountPoint, "pacemaker:fs-other"),
            Finding::new("shared", NameKind::FsName, "dlm"),
            Finding::new("shared", NameKind::FsName, "mounts:/mnt/shared")
                .alias("/mnt/shared")
                .alias("c1:shared"),
            Finding::new("wf-0", NameKind::Object, "nnf:default/wf-0"),
        ]);
        assert_eq!(
            names(&got),
            vec![
                (
                    "shared",
                    vec!["pacemaker:fs-shared", "dlm", "mounts:/mnt/shared"]
                ),
                ("/mnt/other", vec!["pacemaker:fs-other"]),
                ("wf-0", vec!["nnf:default/wf-0"]),
            ]
        );
    }

    #[test]
    fn repeated_tag_is_kept_once() {
        let got = merge([
            Finding::new("a", NameKind::FsName, "dlm"),
            Finding::new("a", NameKind::FsName, "dlm"),
        ]);
        assert_eq!(names(&got), vec![("a", vec!["dlm"])]);
    }
}
