//! Why an operation of the tool could not be done: one type for every subcommand, every variant
//! naming the path or input, shown once by `main.rs`.

use std::path::PathBuf;
use std::process::ExitStatus;

use gfs2_fence_protocol::{InvalidNodeName, SpoolError};

/// An operation that could not be done (exit 1). A check that ran and failed is not an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Node(#[from] InvalidNodeName),
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error("cannot find this program: {0}")]
    CurrentExe(std::io::Error),
    #[error(
        "{bin} is not beside {exe} (build everything with: cargo build --release --workspace)"
    )]
    NotInstalled { bin: &'static str, exe: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {path}: {source}")]
    Start {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run {path}: {source}")]
    Run {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fence_watcher exited at start ({0})")]
    WatcherExited(ExitStatus),
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
    #[error("fence_watcher did not write its heartbeat within 10 s")]
    NoHeartbeat,
    #[error("{0}")]
    Config(String),
    #[error("no request, response or event has the id or file name {0}")]
    NotFound(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("no [[topology]] entry matches node {0}: it has no level to test")]
    NoRoute(String),
    #[error("node {node} has {levels} levels; there is no level {level}")]
    NoLevel {
        node: String,
        level: u32,
        levels: usize,
    },
}
