//! `gfs2-fencing`: the operator's tool for a gfs2-fencing installation, as a library; the binary
//! (`main.rs`) parses the command line with [`Cli`] and calls [`run`]. The clap definition lives
//! here so that other tools (a man-page generator) can read it.
//!
//! - `demo`: the whole flow (agent, daemon, simulated backends) in a temporary directory, with no
//!   cluster and no root: the README's first command.
//! - `check`: is this host ready to fence (directories, responder heartbeat, simulated routes
//!   and backend health from the heartbeat, who holds the responder lock, agent installed)?
//! - `status`, `fenced`, `requests`, `records`, `history`, `show`: views of one model of the
//!   state (`model/`: the request directory, the records live and archived, the heartbeat and
//!   lock, the detailed event log), so no two views can disagree; each prints a table with a
//!   header, or with `--json` one versioned document (`views/`, shapes in docs/cli.md).
//! - `unfence`: clear a repaired node's records, keeping them in an archive, with an audit
//!   record (event logs and journal).
//! - `test`: probe every fencing level of one node now, as the daemon's health probes do
//!   (never a request file, never a power change).
//! - `doctor`: `check`'s installation checks and more (the daemon's configuration, the log
//!   directory, a persistent spool), then the Pacemaker side from the CIB: `stonith-enabled`,
//!   each `fence_gfs2_recorder` device's `fence_timeout` under Pacemaker's timeout, its host
//!   list, and its monitor on each node that may run it. Each WARN or FAIL says how to fix it.
//!
//! Every subcommand that reads the spool takes the common flags of [`Spool`]: the directories
//! resolve as the daemon's do (flag, environment, the configuration's `[spool]`, default).
//!
//! Exit codes (`exit.rs`): 0 success (`status`: fencing works now), 1 a check failed or the
//! operation could not be done (`status`: the state cannot be read), 2 usage error, 3 `status`:
//! fencing does not work now, 4 `status`: it works, with warnings.

pub mod check;
pub mod demo;
pub mod doctor;
mod error;
mod exit;
pub mod inspect;
mod journal;
pub mod model;
mod out;
pub mod probe;
pub mod unfence;
pub mod views;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use fence_watcher::config::{spool_dirs, DirFlags};
use gfs2_fence_protocol::env;

pub use error::Error;
pub use exit::Exit;

#[derive(Parser)]
#[command(
    name = "gfs2-fencing",
    version,
    about = "Operate gfs2-fencing: status, history, fenced nodes, check, unfence, demo",
    after_help = "Exit status: 0 success (status: fencing works now); 1 a check failed or the \
                  operation could not be done (status: the state cannot be read); 2 usage error; \
                  3 status: fencing does not work now; 4 status: it works, with warnings."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The common flags of every subcommand that reads the spool. The directories resolve as the
/// daemon's do: the flag, then the environment, then the configuration's `[spool]`, then the
/// default ([`Spool::resolve`]).
#[derive(clap::Args, Clone, Default)]
pub struct Spool {
    /// The daemon's configuration, read for its [spool] directories only [default:
    /// /etc/gfs2-fencing/fence-watcher.toml, if it exists]
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Request directory [env: REQUEST_DIR, NNF_FENCE_REQUEST_DIR]
    #[arg(long, value_name = "DIR")]
    request_dir: Option<PathBuf>,
    /// Response directory [env: RESPONSE_DIR, NNF_FENCE_RESPONSE_DIR]
    #[arg(long, value_name = "DIR")]
    response_dir: Option<PathBuf>,
    /// The agent's event log directory [env: LOG_DIR]
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// Print one JSON document (its shape is in docs/cli.md) instead of the table
    #[arg(long)]
    pub json: bool,
}

impl Spool {
    /// Fills in every directory by the daemon's precedence (`fence_watcher::config::spool_dirs`,
    /// the daemon's own code); the log directory, which the configuration does not name: the
    /// flag, then [`env::LOG_DIR`].
    pub fn resolve(mut self) -> Result<Spool, Error> {
        let flags = DirFlags {
            request_dir: self.request_dir.as_deref(),
            response_dir: self.response_dir.as_deref(),
        };
        let dirs = spool_dirs(self.config.as_deref(), &flags, &|k| std::env::var_os(k))
            .map_err(|e| Error::Config(e.to_string()))?;
        self.request_dir = Some(dirs.request_dir);
        self.response_dir = Some(dirs.response_dir);
        self.log_dir = Some(self.logs());
        self.config = dirs.file;
        Ok(self)
    }

    /// The request directory: resolved, else `--request-dir`, else [`env::REQUEST_DIR`].
    pub fn requests(&self) -> PathBuf {
        given_or(&self.request_dir, env::REQUEST_DIR)
    }
    /// The response directory: resolved, else `--response-dir`, else [`env::RESPONSE_DIR`].
    pub fn responses(&self) -> PathBuf {
        given_or(&self.response_dir, env::RESPONSE_DIR)
    }
    /// The agent's log directory: `--log-dir`, else [`env::LOG_DIR`].
    pub fn logs(&self) -> PathBuf {
        given_or(&self.log_dir, env::LOG_DIR)
    }
    /// The configuration file read by [`Spool::resolve`], if any.
    pub fn config(&self) -> Option<&Path> {
        self.config.as_deref()
    }
}

fn given_or(flag: &Option<PathBuf>, var: env::DirVar) -> PathBuf {
    flag.clone().unwrap_or_else(|| var.from_process())
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Run the whole flow with simulated fencing in a temporary directory (no cluster, no root)
    Demo(demo::Args),
    /// Check that this host is ready to fence: directories, responder heartbeat, simulated
    /// routes, backend health, responder lock, agent. Exit 0 when every check is OK (WARN lines
    /// do not fail it), 1 when one FAILs
    Check {
        #[command(flatten)]
        spool: Spool,
        /// Maximum heartbeat age in seconds [default: 3 times the interval the heartbeat states,
        /// as the agent's monitor]
        #[arg(long)]
        heartbeat_max_age: Option<u64>,
    },
    /// Does fencing work now: the responder, pending and claimed requests, fenced nodes.
    /// Exit 0 it works; 1 the state cannot be read; 3 it does not work (no responder: no
    /// heartbeat, a stale one or the lock free; simulated routes; a node no level can fence); 4
    /// it works, with warnings (a level down, a request past its deadline, an invalid spool file)
    Status {
        #[command(flatten)]
        spool: Spool,
    },
    /// List the fenced nodes (a success record in RESPONSE_DIR, the agent's and nnf-sos's rule),
    /// each with its latest fence record
    Fenced {
        #[command(flatten)]
        spool: Spool,
    },
    /// List the request files: pending, claimed, cancelled, expired, invalid
    Requests {
        #[command(flatten)]
        spool: Spool,
    },
    /// List fence records (responses, then the archived ones of .unfenced/), oldest first;
    /// optionally only one node's
    Records {
        #[command(flatten)]
        spool: Spool,
        node: Option<String>,
    },
    /// Every fence request with its response and events, and every unfence, newest first
    History(views::history::Args),
    /// One request with its response, levels and events, by request id or file name or path
    Show {
        #[command(flatten)]
        spool: Spool,
        /// A request id, or the name or path of a request or response file
        what: String,
    },
    /// Clear a repaired node's fence records (archived in RESPONSE_DIR/.unfenced/, not deleted),
    /// recording an `unfenced` event in LOG_DIR's event logs and the journal
    Unfence {
        #[command(flatten)]
        spool: Spool,
        node: String,
        /// Really do it (without it, only show what would be cleared)
        #[arg(long)]
        yes: bool,
    },
    /// Probe every fencing level of a node now (no request, no power change); exit 0 only if
    /// the first level is up
    Test(probe::Args),
    /// Check the installation and the Pacemaker configuration: directories, configuration,
    /// agent, heartbeat; stonith devices, timeouts, host lists, monitors. Exit 0 when nothing
    /// FAILs, 1 when something does
    Doctor(doctor::Args),
}

/// Runs one subcommand: how it ended, or `Err` when the operation could not be done (exit 1;
/// `main.rs` shows the message), standard output failing included (`out.rs`: a closed pipe is
/// not a failure, the reader chose to stop).
pub fn run(cli: Cli) -> Result<Exit, Error> {
    let result = dispatch(cli);
    match (result, out::take_error()) {
        (Ok(_), Some(e)) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Stdout(e)),
        (result, _) => result,
    }
}

fn dispatch(cli: Cli) -> Result<Exit, Error> {
    match cli.command {
        Command::Demo(args) => demo::run(&args).map(Exit::from),
        Command::Check {
            spool,
            heartbeat_max_age,
        } => check::run(&spool.resolve()?, heartbeat_max_age).map(Exit::from),
        Command::Status { spool } => views::status::run(&spool.resolve()?),
        Command::Fenced { spool } => views::fenced::run(&spool.resolve()?),
        Command::Requests { spool } => views::requests::run(&spool.resolve()?),
        Command::Records { spool, node } => views::records::run(&spool.resolve()?, node.as_deref()),
        Command::History(args) => views::history::run(args),
        Command::Show { spool, what } => views::show::run(&spool.resolve()?, &what),
        Command::Unfence { spool, node, yes } => {
            unfence::run(&spool.resolve()?, &node, yes).map(Exit::from)
        }
        Command::Test(args) => probe::run(&args).map(Exit::from),
        Command::Doctor(args) => doctor::run(&args).map(Exit::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        // clap's own check: unique names, valid defaults, no conflicting flags.
        Cli::command().debug_assert();
    }

    #[test]
    fn a_given_directory_wins_over_the_environment_and_the_default() {
        let spool = Spool {
            request_dir: Some(PathBuf::from("/given/rq")),
            response_dir: Some(PathBuf::from("/given/rs")),
            ..Spool::default()
        };
        assert_eq!(spool.requests(), PathBuf::from("/given/rq"));
        assert_eq!(spool.responses(), PathBuf::from("/given/rs"));
        let parsed =
            Cli::try_parse_from(["gfs2-fencing", "records", "--response-dir", "/x", "cn1"]);
        match parsed.map(|c| c.command) {
            Ok(Command::Records { spool, node }) => {
                assert_eq!(spool.responses(), PathBuf::from("/x"));
                assert_eq!(node.as_deref(), Some("cn1"));
            }
            _ => panic!("records --response-dir /x cn1 did not parse"),
        }
    }

    /// The `--help` text names the variables by hand (a doc comment cannot read a constant):
    /// it must name exactly the protocol's, in its order.
    #[test]
    fn the_help_names_the_protocols_directory_variables() {
        let help = Cli::command()
            .find_subcommand_mut("check")
            .map(|c| c.render_help().to_string())
            .unwrap_or_default();
        for var in [env::REQUEST_DIR, env::RESPONSE_DIR, env::LOG_DIR] {
            let listed = format!("[env: {}]", var.names.join(", "));
            assert!(help.contains(&listed), "{listed} not in:\n{help}");
        }
    }

    /// The exit codes of `status` are documented where an operator looks: its `--help`.
    #[test]
    fn the_status_help_documents_its_exit_codes() {
        let help = Cli::command()
            .find_subcommand_mut("status")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        for code in [
            "Exit 0",
            "1 the state cannot be read",
            "3 it does not work",
            "4 it works",
        ] {
            assert!(help.contains(code), "{code} not in:\n{help}");
        }
    }
}
