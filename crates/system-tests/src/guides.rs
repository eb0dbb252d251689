//! The guides in `docs/` as tests: their shell blocks, extracted and run as written, so that a
//! guide cannot rot (`tests/cluster/guides.rs` runs them against the real test cluster).
//!
//! The convention, stated at the top of each guide for its contributors:
//! - a ` ```sh ` block is executed, in order, in one `bash -euo pipefail` session per guide
//!   (variables set in one block carry to the next);
//! - ` ```console `, ` ```text `, ` ```toml `, ... blocks are shown, never executed;
//! - `<!-- guide: not run: REASON -->` on the line before a ` ```sh ` block keeps it from
//!   running (something the test host cannot do, such as `systemctl`); the reason is required;
//! - `<!-- guide: needs gfs2-fencing SUB -->` before a ` ```sh ` block runs it only where
//!   `gfs2-fencing help SUB` succeeds (a subcommand still being merged); the test says loudly
//!   which blocks it left out.
//!
//! ` ```bash ` and ` ```shell ` blocks are refused: a contributor must choose between run and
//! shown, so that no command escapes the test by the spelling of its fence.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{bins, procs};

/// How one shell block is treated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Executed.
    Run,
    /// Not executed, for this reason.
    NotRun(String),
    /// Executed only when `gfs2-fencing help <subcommand>` succeeds.
    Needs(String),
}

/// A ` ```sh ` block of a guide.
#[derive(Debug, Clone)]
pub struct Block {
    /// 1-based line of its opening fence.
    pub line: usize,
    pub kind: Kind,
    pub code: String,
}

const MARKER: &str = "<!-- guide:";
const REFUSED: [&str; 4] = ["bash", "shell", "zsh", "shell-session"];

/// The ` ```sh ` blocks of `markdown`, or what breaks the convention, with its line.
pub fn blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    let mut marker: Option<(usize, Kind)> = None;
    let mut lines = markdown.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, line)) = lines.next() {
        if let Some(kind) = parse_marker(line).transpose() {
            marker = Some((n, kind.map_err(|e| format!("line {n}: {e}"))?));
            continue;
        }
        let Some(info) = line.strip_prefix("```") else {
            match &marker {
                Some((m, _)) if !line.trim().is_empty() => {
                    return Err(format!(
                        "line {m}: a guide marker must precede a ```sh block"
                    ))
                }
                _ => continue,
            }
        };
        let lang = info.split_whitespace().next().unwrap_or("");
        if REFUSED.contains(&lang) {
            return Err(format!(
                "line {n}: ```{lang}: use ```sh (run) or ```console (shown)"
            ));
        }
        let code = body(&mut lines).ok_or(format!("line {n}: code block never closed"))?;
        match (lang, marker.take()) {
            ("sh", m) => out.push(Block {
                line: n,
                kind: m.map_or(Kind::Run, |(_, k)| k),
                code,
            }),
            (_, Some((m, _))) => return Err(format!("line {m}: a guide marker before ```{lang}")),
            (_, None) => {}
        }
    }
    Ok(out)
}

/// The lines up to the closing fence, or `None` when there is none.
fn body<'a>(lines: &mut impl Iterator<Item = (usize, &'a str)>) -> Option<String> {
    let mut code = String::new();
    for (_, line) in lines {
        if line.trim_end() == "```" {
            return Some(code);
        }
        code.push_str(line);
        code.push('\n');
    }
    None
}

/// `Some(kind)` for a marker line, `None` for any other line.
fn parse_marker(line: &str) -> Result<Option<Kind>, String> {
    let Some(rest) = line.trim().strip_prefix(MARKER) else {
        return Ok(None);
    };
    let rest = rest
        .strip_suffix("-->")
        .ok_or("a guide marker ends with -->")?
        .trim();
    if let Some(reason) = rest.strip_prefix("not run:") {
        return match reason.trim() {
            "" => Err("`not run:` needs a reason".to_owned()),
            r => Ok(Some(Kind::NotRun(r.to_owned()))),
        };
    }
    match rest.strip_prefix("needs gfs2-fencing ").map(str::trim) {
        Some(sub) if !sub.is_empty() => Ok(Some(Kind::Needs(sub.to_owned()))),
        _ => Err(format!("unknown guide marker {rest:?}")),
    }
}

/// Whether the `gfs2-fencing` under test has subcommand `sub` (`gfs2-fencing help SUB`).
pub fn has_subcommand(sub: &str) -> bool {
    Command::new(bins::bin("gfs2-fencing"))
        .args(["help", sub])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What one guide's session did.
pub struct Transcript {
    /// Whether the session ran to its end with status 0.
    pub success: bool,
    /// Its stdout and stderr interleaved, with a `### docs/x.md:LINE` line before each block.
    pub text: String,
    /// The blocks left out: not run (with the reason) or needing a missing subcommand.
    pub left_out: Vec<Block>,
}

impl Transcript {
    /// Panics with the transcript unless the session succeeded.
    pub fn assert_success(&self, guide: &str) {
        let last = self.text.lines().rev().find(|l| l.starts_with("### "));
        assert!(
            self.success,
            "{guide}: a command failed in block {}:\n{}",
            last.unwrap_or("(none)"),
            self.text
        );
    }
}

/// Runs the executable blocks of the guide at `path` in one `bash -euo pipefail` session, in
/// the directory `cwd`, with a clean environment (`PATH`: the binaries under test first, then
/// the system's), for at most `bound`.
pub fn run(path: &Path, cwd: &Path, bound: Duration) -> Transcript {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let all = blocks(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (run, left_out): (Vec<Block>, Vec<Block>) = all.into_iter().partition(|b| match &b.kind {
        Kind::Run => true,
        Kind::NotRun(_) => false,
        Kind::Needs(sub) => has_subcommand(sub),
    });
    let shown = path
        .file_name()
        .map_or(shown_path(path), |n| n.to_string_lossy().into());
    let script: String = run
        .iter()
        .map(|b| format!("echo '### {shown}:{}'\n{}", b.line, b.code))
        .collect();
    let (success, text) = session(&script, cwd, bound);
    Transcript {
        success,
        text,
        left_out,
    }
}

fn shown_path(path: &Path) -> String {
    path.display().to_string()
}

/// The anchor GitHub gives a heading: lower case, spaces to hyphens, punctuation other than
/// `-` and `_` dropped (`## A device FAILED in crm_mon` is `#a-device-failed-in-crm_mon`).
pub fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of the headings of `markdown` (outside code blocks).
pub fn anchors(markdown: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.push(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// `bash -euo pipefail` on `script`, output in one file so that it interleaves as on a terminal.
fn session(script: &str, cwd: &Path, bound: Duration) -> (bool, String) {
    let file = cwd.join(".guide-session.sh");
    let log = cwd.join(".guide-session.out");
    std::fs::write(&file, script).unwrap_or_else(|e| panic!("cannot write {file:?}: {e}"));
    let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("cannot create {log:?}: {e}"));
    let err = out.try_clone().expect("duplicate the session's log file");
    let mut child = Command::new("bash")
        .args(["--noprofile", "--norc", "-euo", "pipefail"])
        .arg(&file)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", search_path())
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start bash: {e}"));
    let ended = procs::wait_child(&mut child, bound);
    procs::stop_child(&mut child, Duration::from_secs(5));
    let status = child.wait().ok();
    let mut text = std::fs::read_to_string(&log).unwrap_or_default();
    if !ended {
        text.push_str(&format!("\n(session killed after {} s)\n", bound.as_secs()));
    }
    (ended && status.is_some_and(|s| s.success()), text)
}

fn search_path() -> String {
    let built: PathBuf = bins::profile_dir();
    format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", built.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_blocks_run_and_others_are_shown() {
        let md = "# G\n```sh\nA=1\n```\n```console\n$ ls\n```\n```toml\nx = 1\n```\n";
        let b = blocks(md).expect("valid");
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].line, b[0].kind.clone(), b[0].code.as_str()),
            (2, Kind::Run, "A=1\n")
        );
    }

    #[test]
    fn markers_set_the_kind_of_the_next_block() {
        let md = "<!-- guide: not run: needs systemd -->\n```sh\nsystemctl x\n```\n\
                  <!-- guide: needs gfs2-fencing status -->\n```sh\ngfs2-fencing status\n```\n";
        let kinds: Vec<Kind> = blocks(md)
            .expect("valid")
            .into_iter()
            .map(|b| b.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                Kind::NotRun("needs systemd".into()),
                Kind::Needs("status".into())
            ]
        );
    }

    /// The runner is the instrument of the guides' tests: it must carry variables from block
    /// to block, stop at the first failing command and name its block, and leave out what
    /// the markers say.
    #[test]
    fn session_carries_variables_and_stops_at_the_first_failure() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let md =
            "```sh\nX=carried\n```\n<!-- guide: not run: a test -->\n```sh\necho skipped\n```\n\
                  ```sh\necho \"$X\"\nfalse\necho after\n```\n```sh\necho never\n```\n";
        let guide = dir.path().join("g.md");
        std::fs::write(&guide, md).expect("write the guide");
        let t = run(&guide, dir.path(), Duration::from_secs(60));
        assert!(!t.success, "{}", t.text);
        assert!(t.text.contains("### g.md:8\ncarried\n"), "{}", t.text);
        for absent in ["skipped", "after", "never"] {
            assert!(!t.text.contains(absent), "{absent}: {}", t.text);
        }
        assert_eq!(t.left_out.len(), 1);
    }

    #[test]
    fn anchors_are_githubs() {
        let md = "# Runbooks\n```sh\n# not a heading\n```\n## A device FAILED in crm_mon\n";
        assert_eq!(anchors(md), ["runbooks", "a-device-failed-in-crm_mon"]);
    }

    #[test]
    fn ambiguous_or_broken_blocks_are_refused() {
        for (md, why) in [
            ("```bash\nls\n```\n", "```bash"),
            ("```sh\nls\n", "never closed"),
            (
                "<!-- guide: not run: -->\n```sh\nls\n```\n",
                "needs a reason",
            ),
            (
                "<!-- guide: skip -->\n```sh\nls\n```\n",
                "unknown guide marker",
            ),
            (
                "<!-- guide: not run: x -->\ntext\n```sh\nls\n```\n",
                "must precede",
            ),
            (
                "<!-- guide: not run: x -->\n```console\nls\n```\n",
                "before ```console",
            ),
        ] {
            let err = blocks(md).expect_err(md);
            assert!(err.contains(why), "{md:?}: {err}");
        }
    }
}
