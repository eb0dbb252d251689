//! The `fence_watcher` binary: parses the command line and runs the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    fence_watcher::run(fence_watcher::config::Cli::parse())
}
