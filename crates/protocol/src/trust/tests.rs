//! The rule on pure values, then on real files chowned to another user (needs root).

use super::*;
use std::os::unix::fs::{chown, PermissionsExt};

const ME: u32 = 1000;

#[test]
fn root_and_the_effective_user_are_the_only_trusted_owners() {
    let p = Path::new("/s");
    // Each kind with a mode it accepts: a secret allows no group bit (issue 12).
    for (kind, mode) in [(Trusted::SpoolDir, 0o750), (Trusted::SecretFile, 0o700)] {
        assert_eq!(kind.check_as(ME, p, 0, mode), Ok(()));
        assert_eq!(kind.check_as(ME, p, ME, mode), Ok(()));
        let foreign = Untrusted::ForeignOwner {
            path: p.into(),
            owner: ME + 1,
            mode,
            me: ME,
        };
        assert_eq!(kind.check_as(ME, p, ME + 1, 0o040000 | mode), Err(foreign));
        assert!(kind.check_as(0, p, ME, mode).is_err());
    }
}

#[test]
fn directories_refuse_o_w_and_secrets_any_bit_for_others() {
    let p = Path::new("/s");
    let dir = |mode| Trusted::SpoolDir.check_as(ME, p, ME, mode);
    let secret = |mode| Trusted::SecretFile.check_as(ME, p, ME, mode);
    // Group bits and the sticky/setgid bits are the administrator's choice.
    for ok in [0o700, 0o750, 0o770, 0o2775, 0o755] {
        assert_eq!(dir(ok), Ok(()), "{ok:o}");
    }
    for bad in [0o702, 0o777, 0o1777] {
        assert!(
            matches!(dir(bad), Err(Untrusted::WorldWritable { .. })),
            "{bad:o}"
        );
    }
    // A secret allows no group bit either (issue 12: SECURITY.md says 0600 or 0400, and 0640
    // and 0660 used to pass).
    for ok in [0o600, 0o400] {
        assert_eq!(secret(ok), Ok(()), "{ok:o}");
    }
    for bad in [0o640, 0o660, 0o620, 0o610] {
        assert!(
            matches!(secret(bad), Err(Untrusted::GroupAccessible { .. })),
            "{bad:o}"
        );
    }
    for bad in [0o604, 0o602, 0o601, 0o644] {
        assert!(
            matches!(secret(bad), Err(Untrusted::WorldAccessible { .. })),
            "{bad:o}"
        );
    }
    // A refused mode is reported before a foreign owner: its fix is needed either way.
    let both = Trusted::SpoolDir.check_as(ME, p, ME + 1, 0o777);
    assert!(matches!(both, Err(Untrusted::WorldWritable { owner, .. }) if owner == ME + 1));
}

#[test]
fn messages_name_path_owner_mode_and_the_fix() {
    let p = Path::new("/var/run/gfs2-fencing/requests");
    let msg = |kind: Trusted, me, owner, mode| {
        kind.check_as(me, p, owner, mode)
            .expect_err("an error")
            .to_string()
    };
    assert_eq!(
        msg(Trusted::SpoolDir, 0, 0, 0o040777),
        "/var/run/gfs2-fencing/requests, owner uid 0, is world-writable (mode 0777); \
         run: chmod o-w /var/run/gfs2-fencing/requests"
    );
    assert_eq!(
        msg(Trusted::SecretFile, 0, 0, 0o100644),
        "/var/run/gfs2-fencing/requests, owner uid 0, is world-readable or world-writable \
         (mode 0644); run: chmod 0600 /var/run/gfs2-fencing/requests"
    );
    assert_eq!(
        msg(Trusted::SecretFile, 0, 0, 0o100640),
        "/var/run/gfs2-fencing/requests, owner uid 0, is readable or writable by its group \
         (mode 0640); run: chmod 0600 /var/run/gfs2-fencing/requests"
    );
    assert_eq!(
        msg(Trusted::SpoolDir, 0, 65534, 0o750),
        "/var/run/gfs2-fencing/requests is owned by uid 65534, not by root (mode 0750); \
         run: chown 0 /var/run/gfs2-fencing/requests"
    );
    assert!(msg(Trusted::SpoolDir, ME, 7, 0o750).contains("not by root or uid 1000"));
}

/// On real files: the fd's owner and mode are what count (root is needed to chown).
#[test]
fn check_fd_reads_the_opened_files_owner_and_mode() {
    let test = "check_fd_reads_the_opened_files_owner_and_mode";
    if !system_tests::peers::require(test, &[system_tests::peers::root()]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let secret = tmp.path().join("bmc.pw");
    std::fs::write(&secret, "pw\n").expect("write");
    let set = |mode| std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode));
    set(0o600).expect("chmod");
    let check = || {
        let file = std::fs::File::open(&secret).expect("open");
        Trusted::SecretFile.check_fd(&file, &secret)
    };
    assert!(check().is_ok());
    set(0o640).expect("chmod");
    assert!(matches!(
        check(),
        Err(TrustError::Untrusted(Untrusted::GroupAccessible {
            mode: 0o640,
            ..
        }))
    ));
    set(0o604).expect("chmod");
    assert!(matches!(
        check(),
        Err(TrustError::Untrusted(Untrusted::WorldAccessible {
            mode: 0o604,
            ..
        }))
    ));
    set(0o600).expect("chmod");
    chown(&secret, Some(65534), Some(65534)).expect("chown to nobody");
    let err = check().expect_err("foreign owner").to_string();
    assert!(
        err.contains("owned by uid 65534") && err.contains(&secret.display().to_string()),
        "{err}"
    );
    let dir = std::fs::File::open(tmp.path()).expect("open dir");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let err = Trusted::SpoolDir
        .check_fd(&dir, tmp.path())
        .expect_err("o+w");
    assert!(
        err.to_string().contains("world-writable (mode 0777)"),
        "{err}"
    );
}
