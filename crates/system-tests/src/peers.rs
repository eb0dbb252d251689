//! Real peers a test needs (root, Pacemaker, Debian's fence agents, strace, sushy-emulator): the
//! one place that decides whether a test may skip. A missing peer is a loud skip on a
//! developer's machine and a failure in CI (`CI=true`), where `.ci/run` installs every peer and
//! a skip would hide a broken installation. A peer that `.ci/run` does not provide is declared
//! as such at the test ([`require_or_skip_in_ci`]), so every skip CI tolerates is visible.
//!
//! The `SKIPPED:` line goes straight to the stderr handle: libtest captures `eprintln!` of a
//! passing test, and a skip hidden in captured output is not loud.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// What a missing peer means under `CI=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InCi<'a> {
    /// `.ci/run` installs it: missing there is a broken installation, and the test fails.
    Fails,
    /// CI does not provide it, for the reason given: the test skips there too, and says so.
    Skips(&'a str),
}

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
    decide(in_ci(), InCi::Fails, test, needs, &mut std::io::stderr())
}

/// Like [`require`], for a peer that CI does not provide (`ci_lacks` says why): the test skips
/// loudly under `CI=true` too, naming that reason, instead of failing.
pub fn require_or_skip_in_ci(test: &str, needs: &[(bool, String)], ci_lacks: &str) -> bool {
    let policy = InCi::Skips(ci_lacks);
    decide(in_ci(), policy, test, needs, &mut std::io::stderr())
}

/// The decision behind [`require`] and [`require_or_skip_in_ci`], with CI and the output as
/// parameters: true when every need holds; else the `SKIPPED:` line on `out` and false, or a
/// panic naming the test and what is missing when `ci` is set and `policy` is [`InCi::Fails`].
pub fn decide(
    ci: bool,
    policy: InCi,
    test: &str,
    needs: &[(bool, String)],
    out: &mut dyn Write,
) -> bool {
    let missing: Vec<&str> = needs
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, w)| w.as_str())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = missing.join(", ");
    let line = match policy {
        InCi::Fails => {
            assert!(
                !ci,
                "{test} cannot run because {why}, and CI=true forbids skipping (.ci/run installs every peer)"
            );
            format!("SKIPPED: {test} because {why}")
        }
        InCi::Skips(lacks) if ci => {
            format!("SKIPPED: {test} because {why} (allowed under CI=true: {lacks})")
        }
        InCi::Skips(_) => format!("SKIPPED: {test} because {why}"),
    };
    let _ = writeln!(out, "{line}");
    false
}

/// `(present, "<path> is not installed")` for [`require`].
pub fn installed(path: &str) -> (bool, String) {
    (Path::new(path).exists(), format!("{path} is not installed"))
}

/// `(runs, "<tool> is not installed")` for [`require`]: whether `tool --version` can be started
/// from `PATH` (its exit status does not matter).
pub fn runs(tool: &str) -> (bool, String) {
    let started = Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    (started, format!("{tool} is not installed"))
}

/// sushy-emulator's venv (`$SUSHY_VENV`, see [`crate::bmc::sushy`]) and the openssl command it
/// needs for its certificate, for [`require`].
pub fn sushy() -> Vec<(bool, String)> {
    let python = crate::bmc::sushy::venv().join("bin/python");
    vec![
        (
            python.exists(),
            format!(
                "{} is missing (python3 -m venv $SUSHY_VENV && $SUSHY_VENV/bin/pip install \
                 sushy-tools==2.2.0 bcrypt)",
                python.display()
            ),
        ),
        runs("openssl"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    fn needs() -> Vec<(bool, String)> {
        vec![
            (true, "present".to_owned()),
            (false, "/usr/bin/x is not installed".to_owned()),
            (false, "the test is not running as root".to_owned()),
        ]
    }

    fn text(out: Vec<u8>) -> String {
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_skip_outside_ci_returns_false_and_prints_every_reason() {
        let mut out = Vec::new();
        assert!(!decide(false, InCi::Fails, "t1", &needs(), &mut out));
        assert_eq!(
            text(out),
            "SKIPPED: t1 because /usr/bin/x is not installed, the test is not running as root\n"
        );
    }

    #[test]
    fn a_skip_under_ci_panics_with_the_reason_and_prints_no_skip() {
        let mut out = Vec::new();
        let got = catch_unwind(AssertUnwindSafe(|| {
            decide(true, InCi::Fails, "t2", &needs(), &mut out)
        }));
        let payload = got.expect_err("CI=true must not skip");
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(msg.contains("t2 cannot run"), "{msg}");
        assert!(msg.contains("/usr/bin/x is not installed"), "{msg}");
        assert!(msg.contains("CI=true forbids skipping"), "{msg}");
        assert!(out.is_empty(), "{}", text(out));
    }

    #[test]
    fn a_peer_ci_lacks_skips_under_ci_and_says_why() {
        let mut out = Vec::new();
        let policy = InCi::Skips(".ci/run installs no kubectl");
        assert!(!decide(true, policy, "t3", &needs()[1..2], &mut out));
        assert_eq!(
            text(out),
            "SKIPPED: t3 because /usr/bin/x is not installed \
             (allowed under CI=true: .ci/run installs no kubectl)\n"
        );
    }

    #[test]
    fn nothing_missing_runs_silently_in_and_out_of_ci() {
        for ci in [false, true] {
            for policy in [InCi::Fails, InCi::Skips("why")] {
                let mut out = Vec::new();
                assert!(decide(ci, policy, "t4", &needs()[..1], &mut out));
                assert!(decide(ci, policy, "t4", &[], &mut out));
                assert!(out.is_empty(), "{}", text(out));
            }
        }
    }

    #[test]
    fn runs_tells_a_startable_tool_from_a_missing_one() {
        assert!(runs("sh").0);
        let (ok, why) = runs("/nonexistent/tool");
        assert!(!ok);
        assert_eq!(why, "/nonexistent/tool is not installed");
    }
}
