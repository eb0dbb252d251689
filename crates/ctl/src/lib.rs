//! `gfs2-fencing`: the operator's tool for a gfs2-fencing installation, as a library; the binary
//! (`main.rs`) parses the command line with [`Cli`] and calls [`run`]. The clap definition lives
//! here so that other tools (a man-page generator) can read it.
//!
//! - `demo`: the whole flow (agent, daemon, simulated backends) in a temporary directory, with no
//!   cluster and no root: the README's first command.
//! - `check`: is this host ready to fence (directories, responder heartbeat, simulated routes
//!   and backend health from the heartbeat, who holds the responder lock, agent installed)?
//! - `requests`, `records`: what is pending, and the fenced-node records (responses).
//! - `unfence`: clear a repaired node's records, keeping them in an archive, with an audit
//!   record (event logs and journal).
//! - `test`: probe every fencing level of one node now, as the daemon's health probes do
//!   (never a request file, never a power change).
//!
//! Exit codes: 0 success, 1 a check failed or an operation could not be done, 2 usage error.

pub mod check;
pub mod demo;
mod error;
pub mod inspect;
mod journal;
mod out;
pub mod probe;
pub mod unfence;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gfs2_fence_protocol::env;

pub use error::Error;

#[derive(Parser)]
#[command(
    name = "gfs2-fencing",
    version,
    about = "Operate gfs2-fencing: demo, check, inspect, unfence"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The spool directories, with the same environment fallbacks as the agent and the daemon.
#[derive(clap::Args, Clone)]
pub struct Spool {
    /// Request directory [env: REQUEST_DIR, NNF_FENCE_REQUEST_DIR]
    #[arg(long)]
    request_dir: Option<PathBuf>,
    /// Response directory [env: RESPONSE_DIR, NNF_FENCE_RESPONSE_DIR]
    #[arg(long)]
    response_dir: Option<PathBuf>,
}

impl Spool {
    /// The request directory: `--request-dir`, then the protocol's [`env::REQUEST_DIR`]
    /// (environment, then default).
    pub fn requests(&self) -> PathBuf {
        given_or(&self.request_dir, env::REQUEST_DIR)
    }
    /// The response directory: `--response-dir`, then the protocol's [`env::RESPONSE_DIR`].
    pub fn responses(&self) -> PathBuf {
        given_or(&self.response_dir, env::RESPONSE_DIR)
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
    /// List pending and claimed fence requests
    Requests {
        #[command(flatten)]
        spool: Spool,
    },
    /// List fence records (responses), newest last; optionally only one node's
    Records {
        #[command(flatten)]
        spool: Spool,
        node: Option<String>,
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
        /// Directory of the event logs the `unfenced` event is written to [env: LOG_DIR]
        #[arg(long)]
        log_dir: Option<PathBuf>,
    },
    /// Probe every fencing level of a node now (no request, no power change); exit 0 only if
    /// the first level is up
    Test(probe::Args),
}

/// Runs one subcommand. `Ok(false)`: a check failed (exit 1); `Err`: the operation could not be
/// done (exit 1; `main.rs` shows the message), standard output failing included (`out.rs`:
/// a closed pipe is not a failure, the reader chose to stop).
pub fn run(cli: Cli) -> Result<bool, Error> {
    let result = dispatch(cli);
    match (result, out::take_error()) {
        (Ok(_), Some(e)) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Stdout(e)),
        (result, _) => result,
    }
}

fn dispatch(cli: Cli) -> Result<bool, Error> {
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Check {
            spool,
            heartbeat_max_age,
        } => check::run(&spool, heartbeat_max_age),
        Command::Requests { spool } => inspect::requests(&spool),
        Command::Records { spool, node } => inspect::records(&spool, node.as_deref()),
        Command::Unfence {
            spool,
            node,
            yes,
            log_dir,
        } => unfence::run(&spool, log_dir.as_deref(), &node, yes),
        Command::Test(args) => probe::run(&args),
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
        for var in [env::REQUEST_DIR, env::RESPONSE_DIR] {
            let listed = format!("[env: {}]", var.names.join(", "));
            assert!(help.contains(&listed), "{listed} not in:\n{help}");
        }
    }
}
