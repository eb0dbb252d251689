//! Build-time tasks of gfs2-fencing, kept out of the binaries: the man pages, made from the
//! programs' own definitions (clap for `fence_watcher` and `gfs2-fencing`, the option table for
//! the agent, `packaging/man/fence-watcher-keys.toml` checked against the configuration's types
//! for `fence-watcher.toml(5)`).

pub mod keys;
pub mod man;
pub mod roff;

/// The repository root (this crate is `crates/xtask`).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
