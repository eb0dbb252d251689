//! The installation on this host: the daemon's configuration (by the daemon's own loader and
//! `--check-config` checks), the spool and log directories (the protocol's trust rule, and a
//! persistent spool), the agent in `/usr/sbin`, and the responder's heartbeat and lock by
//! `check`'s rules. The directories are the daemon's: `--request-dir`/`--response-dir`, the
//! environment, the configuration's `[spool]`, the defaults, in that order.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use clap::Parser;
use fence_gfs2_recorder::metadata::INSTALL_PATH;
use fence_watcher::config::{self, Cli as WatcherCli, DEFAULT_CONFIG};

use super::{Args, Finding};
use crate::check;

/// The directories this host's responder and agent use, as resolved.
struct Dirs {
    pub requests: PathBuf,
    pub responses: PathBuf,
    pub logs: PathBuf,
}

/// Where the packages document how to move the spool to persistent disk.
const PERSISTENT_DOC: &str = "/usr/share/doc/gfs2-fencing/persistent-spool.conf";

/// Every installation finding.
pub fn findings(args: &Args) -> Vec<Finding> {
    let (mut out, dirs) = configuration(args);
    for (what, path) in [
        ("request directory", &dirs.requests),
        ("response directory", &dirs.responses),
    ] {
        out.push(Finding::from_check(
            what,
            check::check_dir(path),
            &mkdir(path),
        ));
        out.extend(group_writable(what, path));
    }
    out.push(log_dir(&dirs.logs));
    out.extend(persistent(&dirs.responses));
    out.push(agent_file(Path::new(INSTALL_PATH)));
    let reinstall = "reinstall the gfs2-fencing package";
    let agent = check::check_agent(Path::new(INSTALL_PATH));
    out.push(Finding::from_check("fence agent", agent, reinstall));
    out.extend(heartbeat(&dirs.responses));
    let lock = check::check_lock(&dirs.requests);
    out.push(Finding::from_check("responder lock", lock, START));
    out
}

/// The configuration, loaded and checked as the daemon does; its directories when it loads,
/// else those of the flags, the environment and the defaults.
fn configuration(args: &Args) -> (Vec<Finding>, Dirs) {
    let logs = args.spool.logs();
    let fallback = Dirs {
        requests: args.spool.requests(),
        responses: args.spool.responses(),
        logs: logs.clone(),
    };
    let what = "configuration";
    if args.spool.config.is_none() && !Path::new(DEFAULT_CONFIG).exists() {
        let f = Finding::warn(
            what,
            format!("no {DEFAULT_CONFIG}: fence_watcher cannot start here (fine where a third-party responder such as nnf-sos answers)"),
            "write it (man 5 fence-watcher.toml), then run fence_watcher --check-config",
        );
        return (vec![f], fallback);
    }
    let cfg = match load(args) {
        Ok(cfg) => cfg,
        Err(e) => {
            let fix = "fence_watcher --check-config shows each error at its line; man 5 fence-watcher.toml";
            return (vec![Finding::fail(what, e, fix)], fallback);
        }
    };
    let dirs = Dirs {
        requests: cfg.request_dir.clone(),
        responses: cfg.response_dir.clone(),
        logs,
    };
    (validate(&cfg), dirs)
}

/// The daemon's own loader, given the same `--config` and directory flags.
fn load(args: &Args) -> Result<config::Config, String> {
    let mut argv = vec![PathBuf::from("fence_watcher")];
    let flags = [
        ("--config", &args.spool.config),
        ("--request-dir", &args.spool.request_dir),
        ("--response-dir", &args.spool.response_dir),
    ];
    for (flag, value) in flags {
        if let Some(v) = value {
            argv.extend([PathBuf::from(flag), v.clone()]);
        }
    }
    let cli = WatcherCli::try_parse_from(argv).map_err(|e| e.to_string())?;
    config::load(&cli, &|k| std::env::var_os(k)).map_err(|e| e.to_string())
}

/// `fence_watcher --check-config`'s checks and warnings on a loaded configuration.
fn validate(cfg: &config::Config) -> Vec<Finding> {
    let what = "configuration";
    let file = cfg
        .file
        .as_ref()
        .map_or_else(|| "(no file)".to_owned(), |p| p.display().to_string());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let problems = match runtime {
        Ok(rt) => rt.block_on(fence_watcher::check::problems(cfg)),
        Err(e) => vec![format!("cannot start the async runtime to check it: {e}")],
    };
    let mut out: Vec<Finding> = config::lint::warnings(cfg)
        .into_iter()
        .map(|w| Finding::warn(what, w, "see fence_watcher --check-config"))
        .collect();
    if problems.is_empty() {
        let msg = format!(
            "{file} is valid: {} backends, {} topology entries",
            cfg.backends.len(),
            cfg.topology.len()
        );
        out.insert(0, Finding::ok(what, msg));
    } else {
        let fix = "correct it, then fence_watcher --check-config && systemctl reload fence-watcher";
        out.insert(
            0,
            Finding::fail(what, format!("{file}: {}", problems.join("; ")), fix),
        );
    }
    out
}

/// The protocol's rule lets a group write a spool directory; say what that means.
fn group_writable(what: &str, path: &Path) -> Option<Finding> {
    let meta = std::fs::metadata(path).ok()?;
    (meta.mode() & 0o020 != 0).then(|| {
        Finding::warn(
            what,
            format!(
                "{} is writable by its group (gid {}): any member can forge a request, or a record that a node was fenced",
                path.display(),
                meta.gid()
            ),
            &format!("chmod g-w {}", path.display()),
        )
    })
}

/// The agent's event logs: trusted as a spool directory (they are the audit trail). The agent
/// creates the directory at its first fence when it is missing.
fn log_dir(path: &Path) -> Finding {
    let what = "log directory";
    if !path.exists() {
        return Finding::warn(
            what,
            format!(
                "{} does not exist yet (the agent creates it at its first fence)",
                path.display()
            ),
            &format!(
                "install -d -m 0750 {} (tmpfiles.d creates it at boot)",
                path.display()
            ),
        );
    }
    Finding::from_check(what, check::check_dir(path), &mkdir(path))
}

/// How to create a directory the way the packages do.
fn mkdir(path: &Path) -> String {
    format!(
        "install -d -m 0750 -o root -g root {} (the packages' tmpfiles.d creates the defaults at boot)",
        path.display()
    )
}

/// How to get a responder running.
const START: &str =
    "systemctl start fence-watcher (journalctl -u fence-watcher says why it stopped)";

/// nnf-sos keeps its spool on persistent disk because `/run` is emptied at every boot, and with
/// it the records of which nodes are fenced.
fn persistent(responses: &Path) -> Option<Finding> {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    let st = rustix::fs::statfs(responses).ok()?;
    let kind = st.f_type as i64;
    let what = "persistent spool";
    if kind == TMPFS_MAGIC || kind == RAMFS_MAGIC {
        return Some(Finding::warn(
            what,
            format!(
                "{} is on a RAM file system: the records of which nodes are fenced are gone after a reboot (nnf-sos keeps them in /localdisk/fence-recorder)",
                responses.display()
            ),
            &format!("move both spool directories to persistent disk as {PERSISTENT_DOC} says"),
        ));
    }
    Some(Finding::ok(
        what,
        format!("{} is on persistent disk", responses.display()),
    ))
}

/// The agent runs as root: a file anyone but root can change is root for them.
fn agent_file(path: &Path) -> Finding {
    let what = "agent file";
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Finding::fail(
            what,
            format!("{}: {e}", path.display()),
            "install the gfs2-fencing package (Pacemaker looks for fence agents only in /usr/sbin)",
        ),
    };
    let mode = meta.permissions().mode() & 0o7777;
    let fix = format!("chown root:root {0} && chmod 0755 {0}", path.display());
    if !meta.is_file() || meta.uid() != 0 || mode & 0o022 != 0 || mode & 0o100 == 0 {
        let msg = format!(
            "{} must be a regular file owned by root, executable, writable by root only (owner uid {}, mode {mode:04o})",
            path.display(),
            meta.uid()
        );
        return Finding::fail(what, msg, &fix);
    }
    Finding::ok(
        what,
        format!("{} is root's, mode {mode:04o}", path.display()),
    )
}

/// The heartbeat in `responses` by `check`'s rules: fresh (3 beats), no simulated route (they
/// fence nothing), every node fenceable by some level.
fn heartbeat(responses: &Path) -> Vec<Finding> {
    let fresh = check::read_heartbeat(responses)
        .and_then(|(hb, modified)| check::check_age(&hb, modified, None).map(|d| (hb, d)));
    let (hb, detail) = match fresh {
        Ok(x) => x,
        Err(e) => return vec![Finding::from_check("responder heartbeat", Err(e), START)],
    };
    let mut out = vec![
        Finding::ok("responder heartbeat", detail),
        Finding::from_check(
            "simulated routes",
            check::check_simulated(&hb),
            "route every node through a real backend in the configuration, then systemctl reload fence-watcher",
        ),
    ];
    let (warnings, result) = check::judge_health(&hb);
    let fix = "gfs2-fencing test NODE probes each level of the node now";
    out.extend(
        warnings
            .into_iter()
            .map(|w| Finding::warn("backend health", w, fix)),
    );
    out.push(Finding::from_check("backend health", result, fix));
    out
}
