//! The four man pages and where they go: `fence_watcher(8)` and `gfs2-fencing(8)` from their
//! clap definitions (clap_mangen, with the sections clap cannot know appended),
//! `fence_gfs2_recorder(8)` from the agent's option table (`-o manpage`, as fence-agents build
//! theirs from the metadata), `fence-watcher.toml(5)` from the documented keys.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::keys;
use crate::roff::escape;

/// Why the pages could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ManError {
    #[error(transparent)]
    Keys(#[from] keys::KeysError),
    #[error("{KEYS} disagrees with the configuration's types:\n{0}", KEYS = keys::KEYS_FILE)]
    Undocumented(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The pages: file name and roff text.
pub fn pages() -> Result<Vec<(&'static str, String)>, ManError> {
    let doc = keys::load(&crate::repo_root())?;
    let problems = keys::check(&doc);
    if !problems.is_empty() {
        return Err(ManError::Undocumented(problems.join("\n")));
    }
    Ok(vec![
        ("fence_watcher.8", watcher()),
        ("gfs2-fencing.8", ctl()),
        (
            "fence_gfs2_recorder.8",
            fence_gfs2_recorder::metadata::manpage(),
        ),
        (
            "fence-watcher.toml.5",
            keys::render(&doc, env!("CARGO_PKG_VERSION")),
        ),
    ])
}

/// Writes every page into `dir` (created if needed); returns the files written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, ManError> {
    let write_err = |path: &Path, source| ManError::Write {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
    let mut written = Vec::new();
    for (name, text) in pages()? {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| write_err(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// `fence_watcher(8)`.
pub fn watcher() -> String {
    let cmd = fence_watcher::config::Cli::command()
        .about("the fence daemon of gfs2-fencing")
        .long_about(WATCHER_DESCRIPTION);
    let mut page = clap_page(&cmd, "System Administration");
    page.push_str(WATCHER_EXTRA);
    page
}

const WATCHER_DESCRIPTION: &str = "fence_watcher is the external fence component of \
gfs2-fencing: it watches the request directory that fence_gfs2_recorder(8) writes, fences each \
requested node through the ordered levels of its topology (fence agents, ipmitool, Redfish, a \
command), and publishes one response per request. It keeps a heartbeat in the response \
directory for the agent's monitor action. It runs as the systemd unit fence-watcher.service, \
which the packages install but do not enable: configure a backend first \
(fence-watcher.toml(5)), check it with fence_watcher --check-config, then systemctl enable \
--now fence-watcher.";

const WATCHER_EXTRA: &str = r#".SH SIGNALS
.TP
.B SIGHUP
Re\-read the configuration; a bad one is refused and the running one kept.
\fBsystemctl reload fence\-watcher\fR checks the file first and fails if it is bad.
.TP
.B SIGTERM
Stop: fences in flight get daemon.grace_period_secs to finish.
.SH EXIT STATUS
0 on a clean stop or a valid \-\-check\-config, 1 when the configuration is invalid or the
daemon cannot run, 2 for a usage error.
.SH FILES
.TP
/etc/gfs2\-fencing/fence\-watcher.toml
The configuration, see fence\-watcher.toml(5).
.TP
/var/run/gfs2\-fencing/requests, /var/run/gfs2\-fencing/responses
The default spool directories.
.TP
/usr/share/doc/gfs2\-fencing/
The README, the example configuration and the design documents.
.SH SEE ALSO
fence_gfs2_recorder(8), gfs2\-fencing(8), fence\-watcher.toml(5), systemctl(1)
"#;

/// `gfs2-fencing(8)`: the top page, then one section per subcommand with its own options
/// (clap_mangen renders only the top level's).
pub fn ctl() -> String {
    let cmd = gfs2_fencing_ctl::Cli::command();
    let mut page = clap_page(&cmd, "System Administration");
    for sub in cmd.get_subcommands() {
        page.push_str(&subcommand_section(cmd.get_name(), sub));
    }
    page.push_str(
        ".SH EXIT STATUS\n0 success, 1 a check failed or an operation could not be done, \
         2 usage error.\n.SH SEE ALSO\nfence_watcher(8), fence_gfs2_recorder(8), \
         fence\\-watcher.toml(5)\n",
    );
    page
}

fn clap_page(cmd: &clap::Command, manual: &str) -> String {
    let mut buf = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .manual(manual)
        .source(format!("gfs2-fencing {}", env!("CARGO_PKG_VERSION")));
    // Writing to a Vec cannot fail.
    let _ = man.render(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn subcommand_section(parent: &str, sub: &clap::Command) -> String {
    let mut s = format!(
        ".SH \"COMMAND: {}\"\n.B {} {}",
        escape(sub.get_name()),
        escape(parent),
        escape(sub.get_name())
    );
    for a in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        if a.get_long().is_none() && a.get_short().is_none() {
            let name = escape(&a.get_id().as_str().to_uppercase());
            if a.is_required_set() {
                s.push_str(&format!(" {name}"));
            } else {
                s.push_str(&format!(" [{name}]"));
            }
        }
    }
    s.push('\n');
    if let Some(about) = sub.get_about() {
        s.push_str(&format!(".PP\n{}\n", escape(&about.to_string())));
    }
    for a in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        let mut names = Vec::new();
        if let Some(c) = a.get_short() {
            names.push(format!("-{c}"));
        }
        if let Some(l) = a.get_long() {
            names.push(format!("--{l}"));
        }
        if names.is_empty() {
            names.push(a.get_id().as_str().to_uppercase());
        }
        let value = a
            .get_value_names()
            .and_then(|v| v.first())
            .map(|v| format!(" {v}"))
            .filter(|_| a.get_action().takes_values() && a.get_long().is_some())
            .unwrap_or_default();
        let default: Vec<String> = a
            .get_default_values()
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        let default = if default.is_empty() {
            String::new()
        } else {
            format!(" [default: {}]", default.join(", "))
        };
        let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
        s.push_str(&format!(
            ".TP\n\\fB{}\\fR{}\n{}{}\n",
            escape(&names.join(", ")),
            escape(&value),
            escape(&help),
            escape(&default)
        ));
    }
    s
}

/// Every long flag of `cmd` and its subcommands, as `--name`, and the subcommand names (for
/// the test that the pages mention them all).
pub fn flags(cmd: &clap::Command) -> Vec<String> {
    let mut out: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    for sub in cmd.get_subcommands() {
        out.push(sub.get_name().to_owned());
        out.extend(flags(sub));
    }
    out
}
