//! Issue 11: a claim whose removal is refused (#12), named after the defect it pins (root
//! only: skips loudly without it, fails in CI); the backend is a `command` that appends a line
//! to a marker file, so every backend run is counted.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Spool;
use gfs2_fence_protocol::Action;
use system_tests::peers::{require, root};

/// A `command` backend appending `run` to `runs.log`, then running `then` (shell), with
/// `[daemon]` settings `daemon`. Returns the config path and the marker file.
fn marker_config(spool: &Spool, then: &str, daemon: &str) -> (String, PathBuf) {
    let runs = spool.root().join("runs.log");
    let script = format!(
        "#!/bin/sh\necho \"$1 $2\" >> '{}'\n{then}\nexit 0\n",
        runs.display()
    );
    let argv = spool.write("backend.sh", &script, 0o755);
    let cfg = format!(
        "[daemon]\n{daemon}\n[backends.cmd]\ntype = \"command\"\nargv = [\"{}\", \"{{action}}\", \
         \"{{node}}\"]\ntimeout_secs = 30\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"cmd\"]\n",
        argv.display()
    );
    let path = spool.write("fence-watcher.toml", &cfg, 0o640);
    (path.display().to_string(), runs)
}

fn runs(marker: &Path) -> usize {
    std::fs::read_to_string(marker).map_or(0, |t| t.lines().count())
}

/// Clears the immutable flag on drop, so a failing test leaves a removable tree.
struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

/// #12: the claim's removal refused after the response was published; the retry found the
/// response and logged "another responder answered first" about its own. A read-only remount
/// of REQUEST_DIR is refused (EBUSY) while the daemon holds its lock file open for writing, so
/// the backend makes `.claimed` immutable instead: the same refusal of the claim's removal.
#[test]
fn the_retry_after_a_blocked_claim_removal_blames_another_responder() {
    let test = "the_retry_after_a_blocked_claim_removal_blames_another_responder";
    let chattr = std::path::Path::new("/usr/bin/chattr").exists();
    if !require(test, &[root(), (chattr, "chattr is not installed".into())]) {
        return;
    }
    let spool = common::spool();
    let claimed = spool.requests.join(".claimed");
    let lock = format!("chattr +i '{}'", claimed.display());
    let (cfg, marker) = marker_config(&spool, &lock, "");
    let mut d = common::start(&spool, &["--config", &cfg]);
    let _undo = Immutable(claimed.clone());
    let (name, _) = spool.request("cn-1", Action::Off, Duration::from_secs(120));
    d.wait_log("cannot complete the response");
    assert!(spool.responses.join(name.as_str()).exists());
    drop(_undo);
    assert!(
        spool.claimed_drained(common::DRAIN),
        ".claimed never emptied"
    );
    let log = d.log_text();
    assert!(!log.contains("another responder answered first"), "{log}");
    assert!(
        log.contains("is ours, published by an earlier attempt"),
        "{log}"
    );
    assert_eq!(runs(&marker), 1);
}
