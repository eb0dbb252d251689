//! Real peers a test needs (root, Pacemaker, Debian's fence agents): skip loudly when one is
//! missing on a developer's machine, but fail in CI (`CI=true`), where `.ci/run` installs
//! them all and a skip would hide a broken installation.

use std::path::Path;

/// Whether we run in CI, where nothing may skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `(is root, "not running as root")` for [`require`].
pub fn root() -> (bool, String) {
    (is_root(), "the test is not running as root".to_owned())
}

/// Returns true when every `(present, what)` holds. Otherwise prints `SKIPPED: <test> because
/// <what>` and returns false, or panics in CI.
pub fn require(test: &str, needs: &[(bool, String)]) -> bool {
    let missing: Vec<&str> = needs
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, w)| w.as_str())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = missing.join(", ");
    assert!(
        !in_ci(),
        "{test} cannot run because {why}, and CI=true forbids skipping (.ci/run installs every peer)"
    );
    eprintln!("SKIPPED: {test} because {why}");
    false
}

/// `(present, "<path> is not installed")` for [`require`].
pub fn installed(path: &str) -> (bool, String) {
    (Path::new(path).exists(), format!("{path} is not installed"))
}
