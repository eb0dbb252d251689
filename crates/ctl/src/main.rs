//! `gfs2-fencing`: parses the command line, runs the subcommand, maps the outcome to an exit
//! code (0 success, 1 a check failed or an operation could not be done, 2 usage error by clap).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match gfs2_fencing_ctl::run(gfs2_fencing_ctl::Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            // eprintln! would panic if stderr failed too; there is nowhere left to say it.
            let _ = writeln!(std::io::stderr(), "gfs2-fencing: {e}");
            ExitCode::FAILURE
        }
    }
}
