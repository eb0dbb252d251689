//! The configuration blocks of the pages in docs/ (one per example of the seed: fencing-ec2.md,
//! fencing-ipmi.md; fencing-nnf.md is checked against the real fence_nnf in the system tests)
//! are valid as written, once the files they name exist.

/// The first ```toml block of a page in docs/.
fn documented(page: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{page}: {e}"));
    let start = text.find("```toml\n").expect("a toml block") + 8;
    let len = text[start..].find("```").expect("its end");
    text[start..start + len].to_owned()
}

/// Promise: the configuration of docs/fencing-ec2.md passes `--check-config` once its
/// credentials file exists, and is refused, naming the file, when others can read that file.
#[test]
fn the_documented_ec2_configuration_checks() {
    use std::os::unix::fs::PermissionsExt;
    let spool = crate::common::spool();
    let creds = spool.path("aws-credentials");
    std::fs::write(
        &creds,
        "[profile fence]\naws_access_key_id = AKIDX\naws_secret_access_key = s3\n",
    )
    .expect("write");
    let text = documented("fencing-ec2.md").replace(
        "/etc/gfs2-fencing/aws-credentials",
        creds.to_str().expect("utf-8"),
    );
    let cfg = spool.config(&text);
    let check = || {
        crate::common::daemon(&spool)
            .command()
            .args(["--config", cfg.to_str().expect("utf-8"), "--check-config"])
            .output()
            .expect("run")
    };
    for (mode, ok) in [(0o600, true), (0o644, false)] {
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let out = check();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ok, "mode {mode:o}: {err}");
        if !ok {
            assert!(
                err.contains("aws-credentials") && err.contains("world-readable"),
                "{err}"
            );
        }
    }
}

/// Promise: the configuration of docs/fencing-ipmi.md passes `--check-config` with its password
/// file in place (its backend is tested in backend_ipmi.rs).
#[test]
fn the_documented_ipmi_configuration_checks() {
    use std::os::unix::fs::PermissionsExt;
    let spool = crate::common::spool();
    let pw = spool.path("ipmi.password");
    std::fs::write(&pw, "secret\n").expect("write");
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let text = documented("fencing-ipmi.md").replace(
        "/etc/gfs2-fencing/ipmi.password",
        pw.to_str().expect("utf-8"),
    );
    let cfg = spool.config(&text);
    let out = crate::common::daemon(&spool)
        .command()
        .args(["--config", cfg.to_str().expect("utf-8"), "--check-config"])
        .output()
        .expect("run");
    let ipmitool = system_tests::peers::installed("/usr/bin/ipmitool");
    if !system_tests::peers::require("the_documented_ipmi_configuration_checks", &[ipmitool]) {
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
