//! `gfs2-fencing`: parses the command line, runs the subcommand, maps the outcome to an exit
//! code (`exit.rs`: 0 success, 1 a check failed or an operation could not be done, 2 usage
//! error by clap, 3 and 4 `status`'s verdicts).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match gfs2_fencing_ctl::run(gfs2_fencing_ctl::Cli::parse()) {
        Ok(exit) => exit.into(),
        Err(e) => {
            // eprintln! would panic if stderr failed too; there is nowhere left to say it.
            let _ = writeln!(std::io::stderr(), "gfs2-fencing: {e}");
            ExitCode::FAILURE
        }
    }
}
