//! `fence_watcher --check-config` says no to what would fail or misroute at fence time, and says
//! where: secret files others could read (issue 12). Runs the real binary.

use crate::common;

use common::Spool;

/// `--check-config` on `text`: (exit success, stdout, stderr).
fn check(spool: &Spool, text: &str) -> (bool, String, String) {
    let cfg = spool.config(text);
    let out = common::daemon(spool)
        .command()
        .args(["--config", cfg.to_str().expect("utf-8"), "--check-config"])
        .output()
        .expect("run fence_watcher");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// An `ipmitool` backend and a `fence-agent` backend reading `secret`.
fn two_backends(secret: &std::path::Path) -> String {
    let s = secret.display();
    format!(
        "[backends.bmc]\ntype = \"ipmitool\"\nusername = \"fence\"\npassword_file = \"{s}\"\n\
         [backends.agent]\ntype = \"command\"\nargv = [\"/bin/true\"]\n\
         [[topology]]\nnodes = [\"*\"]\nlevels = [\"bmc\"]\n"
    )
}

/// Regression (issue 12): SECURITY.md and the example say "mode 0600 or 0400, root-owned", but
/// a 0640 secret file passed `--check-config`. Every backend reads secrets through the one
/// loader; its refusal names the file, the mode, the owner and the fix.
#[test]
fn check_config_refuses_a_secret_file_its_group_can_read() {
    let spool = common::spool();
    for mode in [0o640, 0o660, 0o604] {
        let secret = spool.write(&format!("bmc-{mode:o}.pw"), "s3cret\n", mode);
        let (ok, _, err) = check(&spool, &two_backends(&secret));
        let path = secret.display().to_string();
        assert!(!ok, "mode {mode:04o} accepted: {err}");
        assert!(
            err.contains(&path)
                && err.contains(&format!("(mode {mode:04o})"))
                && err.contains("owner uid 0")
                && err.contains(&format!("run: chmod 0600 {path}"))
                && !err.contains("s3cret"),
            "{err}"
        );
    }
    for mode in [0o600, 0o400] {
        let secret = spool.write(&format!("ok-{mode:o}.pw"), "s3cret\n", mode);
        let (ok, _, err) = check(&spool, &two_backends(&secret));
        assert!(ok, "mode {mode:04o} refused: {err}");
    }
}

/// The other half of the documented rule: a secret owned by `nobody` is refused by
/// `--check-config` with the owner and the fix.
#[test]
fn check_config_refuses_a_secret_file_owned_by_another_user() {
    let test = "check_config_refuses_a_secret_file_owned_by_another_user";
    if !system_tests::peers::require(test, &[system_tests::peers::root()]) {
        return;
    }
    let spool = common::spool();
    let secret = spool.write("nobody.pw", "s3cret\n", 0o600);
    std::os::unix::fs::chown(&secret, Some(65534), Some(65534)).expect("chown to nobody");
    let (ok, _, err) = check(&spool, &two_backends(&secret));
    let path = secret.display().to_string();
    assert!(!ok, "a secret owned by nobody was accepted");
    assert!(
        err.contains(&path)
            && err.contains("owned by uid 65534, not by root")
            && err.contains("(mode 0600)")
            && err.contains(&format!("chown root {path}")),
        "{err}"
    );
}

/// Regression (issue 12): `unknown field verfy` was reported at `[backends.ipmi]`, on several
/// lines. Now: the key's own line and column, one line, and the key it was probably meant to be.
#[test]
fn check_config_reports_a_misspelt_key_at_its_line_with_a_suggestion() {
    let spool = common::spool();
    let text = "[backends.ipmi]\ntype = \"fence-agent\"\nagent = \"fence_ipmilan\"\nverfy = true\n\
                [[topology]]\nnodes = [\"*\"]\nlevels = [\"ipmi\"]\n";
    let cfg = spool.config(text);
    let (ok, _, err) = check(&spool, text);
    assert!(!ok);
    assert_eq!(
        err,
        format!(
            "fence_watcher: {}:4:1: unknown key verfy in [backends.ipmi]; did you mean verify?\n",
            cfg.display()
        )
    );
}
