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

/// `--check-config` on `text` with no directory flags or variables: the file's `[spool]`
/// counts.
fn check_file_alone(spool: &Spool, text: &str) -> (bool, String) {
    let cfg = spool.config(text);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fence_watcher"))
        .args(["--config", cfg.to_str().expect("utf-8"), "--check-config"])
        .env_clear()
        .output()
        .expect("run fence_watcher");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), err)
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

/// Regression (issue 12): `--check-config` accepted a parameter fence_ipmilan does not declare
/// (fencing.py ignores it with a warning nobody reads, so the fence fails for want of an
/// address) and a value of the wrong type. The real agent's metadata decides.
#[test]
fn check_config_refuses_what_the_fence_agent_does_not_declare_or_type() {
    let agent = system_tests::peers::installed("/usr/sbin/fence_ipmilan");
    let test = "check_config_refuses_what_the_fence_agent_does_not_declare_or_type";
    if !system_tests::peers::require(test, &[agent]) {
        return;
    }
    let spool = common::spool();
    let secret = spool.write("bmc.pw", "s3cret\n", 0o600);
    let table = |params: &str| {
        format!(
            "[backends.ipmi]\ntype = \"fence-agent\"\nagent = \"fence_ipmilan\"\n\
             secret_files = {{ password = \"{}\" }}\n[backends.ipmi.params]\n{params}\n\
             [[topology]]\nnodes = [\"*\"]\nlevels = [\"ipmi\"]\n",
            secret.display()
        )
    };
    let good = "ip = \"{node}-bmc\"\nusername = \"fence\"\nlanplus = true\npower_wait = 4\n\
                method = \"cycle\"";
    let (ok, out, err) = check(&spool, &table(good));
    assert!(ok && out.contains("is valid"), "{err}");
    let bad = "ipadress = \"{node}-bmc\"\nusername = \"fence\"\nlanplus = \"maybe\"\n\
               power_wait = 2.5\nmethod = \"twice\"";
    let (ok, _, err) = check(&spool, &table(bad));
    assert!(!ok, "accepted: {err}");
    for want in [
        "fence_watcher: backend ipmi: params.ipadress: fence_ipmilan has no parameter ipadress; \
         did you mean ip or ipaddr?",
        "fence_watcher: backend ipmi: params.lanplus = \"maybe\": fence_ipmilan's lanplus must \
         be a boolean",
        "params.power_wait = 2.5: fence_ipmilan's power_wait must be a whole number of seconds",
        "params.method = \"twice\": fence_ipmilan's method must be one of onoff, cycle",
    ] {
        assert!(err.contains(want), "{want}\nnot in:\n{err}");
    }
}

/// An agent that prints no metadata (a site script) is not checked, and says so.
#[test]
fn check_config_says_when_an_agent_gives_no_metadata() {
    let spool = common::spool();
    let script = spool.write("fence_site", "#!/bin/sh\nexit 1\n", 0o755);
    let text = format!(
        "[backends.site]\ntype = \"fence-agent\"\nagent = \"{}\"\n[backends.site.params]\n\
         anything = 1\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"site\"]\n",
        script.display()
    );
    let (ok, _, err) = check(&spool, &text);
    assert!(ok, "{err}");
    assert!(
        err.contains("fence_watcher: warning: the parameters for")
            && err.contains("-o metadata failed (exit 1)"),
        "{err}"
    );
}

/// Regression (issue 12): a valid configuration that misroutes passed `--check-config` without
/// a word: an entry after a `*` routes nothing, a pattern or a level given twice, a relative
/// spool path, certificates not verified. Each is a warning (exit 0), naming the key.
#[test]
fn check_config_warns_on_shadowed_routes_duplicates_relative_paths_and_insecure() {
    let spool = common::spool();
    let secret = spool.write("bmc.pw", "s3cret\n", 0o600);
    let text = format!(
        "[spool]\nrequest_dir = \"spool/requests\"\nresponse_dir = \"{}\"\n\
         [backends.a]\ntype = \"simulate\"\n[backends.b]\ntype = \"simulate\"\n\
         [backends.rf]\ntype = \"redfish\"\nhost = \"{{node}}-bmc\"\nusername = \"u\"\n\
         password_file = \"{}\"\ninsecure = true\n\
         [[topology]]\nnodes = [\"cn-1\", \"*\"]\nlevels = [\"a\", \"b\", \"a\"]\n\
         [[topology]]\nnodes = [\"cn-[0-9]*\"]\nlevels = [\"rf\"]\n\
         [[topology]]\nnodes = [\"cn-1\"]\nlevels = [\"b\"]\n",
        spool.responses.display(),
        secret.display()
    );
    let (ok, err) = check_file_alone(&spool, &text);
    assert!(ok, "{err}");
    for want in [
        "fence_watcher: warning: spool.request_dir \"spool/requests\" is a relative path",
        "fence_watcher: warning: topology[0].levels names backend \"a\" twice",
        "fence_watcher: warning: topology[1].nodes \"cn-[0-9]*\" is shadowed by topology[0]'s \"*\"",
        "fence_watcher: warning: topology[2].nodes \"cn-1\": the same pattern is in topology[0]",
        "fence_watcher: warning: redfish backend rf: insecure = true",
    ] {
        assert!(err.contains(want), "{want}\nnot in:\n{err}");
    }
}

/// The same warnings are logged at start (and at every reload: the routes are built the same
/// way), for a daemon nobody checked first.
#[test]
fn a_shadowed_route_is_warned_at_start() {
    let spool = common::spool();
    let cfg = spool.config(
        "[backends.a]\ntype = \"simulate\"\n[[topology]]\nnodes = [\"*\"]\nlevels = [\"a\"]\n\
         [[topology]]\nnodes = [\"cn-1\"]\nlevels = [\"a\"]\n",
    );
    let d = common::start(&spool, &["--config", cfg.to_str().expect("utf-8")]);
    let log = d.log_text();
    assert!(
        log.lines().any(|l| l.contains("WARN")
            && l.contains("topology[1].nodes \"cn-1\" is shadowed by topology[0]'s \"*\"")),
        "{log}"
    );
}
