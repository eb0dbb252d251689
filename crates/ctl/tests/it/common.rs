//! A sandbox of spool directories and the real binary.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

pub const BIN: &str = env!("CARGO_BIN_EXE_gfs2-fencing");

pub struct Sandbox {
    pub _tmp: tempfile::TempDir,
    pub rq: PathBuf,
    pub rs: PathBuf,
}

impl Sandbox {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (rq, rs) = (tmp.path().join("rq"), tmp.path().join("rs"));
        std::fs::create_dir(&rq).expect("rq");
        std::fs::create_dir(&rs).expect("rs");
        Sandbox { _tmp: tmp, rq, rs }
    }

    /// `gfs2-fencing <args> --request-dir … --response-dir …`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        // Never the host's /etc/gfs2-fencing/fence-watcher.toml (its [spool] would not win over
        // the flags, but a broken one would fail every run).
        let none = self.rq.with_file_name("none.toml");
        std::fs::write(&none, "").expect("an empty configuration");
        c.args(args)
            .arg("--config")
            .arg(&none)
            .arg("--request-dir")
            .arg(&self.rq)
            .arg("--response-dir")
            .arg(&self.rs)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run gfs2-fencing")
    }

    /// Writes `json` as `dir/file`, with its mtime `age` ago.
    pub fn write(&self, dir: &std::path::Path, file: &str, json: &str, age: Duration) {
        let path = dir.join(file);
        std::fs::write(&path, json).expect("write spool file");
        let f = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open for mtime");
        f.set_modified(SystemTime::now() - age).expect("mtime");
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An RFC 3339 time `secs` from now.
pub fn from_now(secs: u64) -> String {
    gfs2_fence_protocol::Timestamp::now()
        .plus(Duration::from_secs(secs))
        .to_string()
}
