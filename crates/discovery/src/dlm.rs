//! The `dlm` source: lockspaces listed by `dlm_tool ls` whose members include the target's
//! corosync node id. A GFS2 filesystem's lockspace is named after the fsname part of its lock
//! table (`cluster:fsname`), so the lockspace name is the filesystem's name. The node id comes
//! from `gfs2_fence_protocol::corosync`, the reader the after-fence `{nodeid}` uses too.
//!
//! Format, from dlm's `dlm_tool/main.c` (`do_list` / `show_ls`): a `dlm lockspaces` header, then
//! per lockspace a block of `name`, `id`, `flags`, `change` lines padded to 14 columns and a
//! `members` line of node ids (each followed by a space; `members       error` when
//! dlm_controld could not list them), optionally `new change`, `new status`, `new members`, and
//! with `-n` an `all nodes` list; blocks are separated by a blank line.

use std::path::Path;
use std::time::Instant;

use crate::merge::{Finding, NameKind};
use crate::SourceOutcome;

/// One lockspace of `dlm_tool ls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockspace {
    pub name: String,
    /// `None` when dlm_tool printed `members       error`.
    pub members: Option<Vec<u32>>,
}

/// Output that is not `dlm_tool ls` output.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DlmError {
    #[error("dlm_tool ls output has no 'dlm lockspaces' header")]
    NoHeader,
    #[error("dlm_tool ls line {0} is not understood: {1}")]
    Garbage(usize, String),
}

/// Parses `dlm_tool ls` output. Unknown `key value` lines inside a block are ignored (newer
/// dlm versions add some); text that does not look like the format at all is an error.
pub fn parse_ls(text: &str) -> Result<Vec<Lockspace>, DlmError> {
    let mut lines = text
        .lines()
        .enumerate()
        .skip_while(|(_, l)| l.trim().is_empty());
    match lines.next() {
        Some((_, l)) if l.trim() == "dlm lockspaces" => {}
        None => return Ok(Vec::new()),
        Some(_) => return Err(DlmError::NoHeader),
    }
    let mut out: Vec<Lockspace> = Vec::new();
    let mut in_all_nodes = false;
    for (i, line) in lines {
        let t = line.trim_end();
        if t.trim().is_empty() {
            in_all_nodes = false;
            continue;
        }
        if let Some(name) = t.strip_prefix("name ") {
            out.push(Lockspace {
                name: name.trim().to_string(),
                members: Some(Vec::new()),
            });
            in_all_nodes = false;
            continue;
        }
        let Some(ls) = out.last_mut() else {
            return Err(DlmError::Garbage(i + 1, clip(t)));
        };
        if t == "all nodes" || t.starts_with("nodeid ") || in_all_nodes {
            in_all_nodes = true;
            continue;
        }
        if let Some(ids) = t.strip_prefix("members ") {
            ls.members = parse_ids(ids.trim()).map_err(|_| DlmError::Garbage(i + 1, clip(t)))?;
        } else if !t.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(DlmError::Garbage(i + 1, clip(t)));
        }
    }
    Ok(out)
}

fn parse_ids(s: &str) -> Result<Option<Vec<u32>>, std::num::ParseIntError> {
    if s == "error" {
        return Ok(None);
    }
    s.split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map(Some)
}

fn clip(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Lockspaces that other DLM users create and that are never GFS2 (lvmlockd, clvmd, rgmanager).
fn is_known_non_gfs2(lockspace: &str) -> bool {
    matches!(lockspace, "clvmd" | "lvm_global" | "rgmanager") || lockspace.starts_with("lvm_")
}

pub fn discover(
    target: &str,
    corosync_conf: &Path,
    dlm_tool: &Path,
    deadline: Instant,
) -> SourceOutcome {
    let node_id = match gfs2_fence_protocol::corosync::node_id(corosync_conf, target) {
        Ok(id) => id,
        Err(e) => return SourceOutcome::failed(e.to_string()),
    };
    let out = match crate::run::run(dlm_tool, &["ls"], &[], deadline) {
        Ok(out) => out,
        Err(e) => return SourceOutcome::failed(e.to_string()),
    };
    let lockspaces = match parse_ls(&String::from_utf8_lossy(&out)) {
        Ok(ls) => ls,
        Err(e) => return SourceOutcome::failed(e.to_string()),
    };
    let mut outcome = SourceOutcome::default();
    for ls in lockspaces
        .into_iter()
        .filter(|ls| !is_known_non_gfs2(&ls.name))
    {
        match ls.members {
            Some(m) if m.contains(&node_id) => {
                outcome
                    .found
                    .push(Finding::new(ls.name, NameKind::FsName, "dlm"));
            }
            Some(_) => {}
            None => outcome
                .problems
                .push(format!("lockspace {}: members unknown", ls.name)),
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two lockspaces as dlm_tool 4.x prints them (printf formats of show_ls in dlm_tool/main.c),
    // the second with `-n`'s "all nodes" block and a pending change.
    const LS: &str = "dlm lockspaces
name          shared
id            0x5f8a2b1c
flags         0x00000000 
change        member 3 joined 1 remove 0 failed 0 seq 1,1
members       1 2 3 

name          scratch
id            0x998ea520
flags         0x00000004 kern_stop
change        member 2 joined 1 remove 0 failed 0 seq 3,3
members       2 3 
new change    member 1 joined 0 remove 1 failed 1 seq 4,4
new status    wait_messages 0 wait_condition 1 fencing
new members   3 
all nodes
nodeid 2 member 1 failed 1 start 1 seq_add 3 seq_rem 4 check fence
nodeid 3 member 1 failed 0 start 1 seq_add 1 seq_rem 0 check none

name          clvmd
id            0x4104eefa
flags         0x00000000 
change        member 1 joined 1 remove 0 failed 0 seq 1,1
members       error
";

    #[test]
    fn blocks_with_members() {
        let got = parse_ls(LS).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            Lockspace {
                name: "shared".into(),
                members: Some(vec![1, 2, 3])
            }
        );
        // The current members, not the pending `new members`.
        assert_eq!(got[1].members, Some(vec![2, 3]));
        assert_eq!(got[2].members, None);
    }

    #[test]
    fn no_lockspaces_is_empty() {
        assert_eq!(parse_ls("dlm lockspaces\n").unwrap(), vec![]);
        assert_eq!(parse_ls("").unwrap(), vec![]);
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(parse_ls("<html>oops</html>\n"), Err(DlmError::NoHeader));
        let err = parse_ls("dlm lockspaces\nname x\nmembers 1 two\n").unwrap_err();
        assert!(matches!(err, DlmError::Garbage(3, _)), "{err}");
        let err = parse_ls("dlm lockspaces\n\u{1}\u{2}binary\n").unwrap_err();
        assert!(matches!(err, DlmError::Garbage(2, _)), "{err}");
    }
}
