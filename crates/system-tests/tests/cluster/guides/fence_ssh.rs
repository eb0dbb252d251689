//! A stand-in for a site's old `fence_ssh` (no distribution ships it), the starting point of
//! the migration guide: an agent with metadata, whose `monitor` succeeds and which records
//! every other call, so that the test can tell whether Pacemaker still used it.

use std::path::{Path, PathBuf};

use system_tests::{pacemaker, peers};

/// The per-node devices of the old configuration.
pub const OLD_DEVICES: [&str; 2] = ["compute-node-1-fence", "compute-node-2-fence"];

/// The stand-in, installed in `/usr/sbin` (removed on drop), and the file of its calls.
pub struct OldFenceSsh {
    pub path: PathBuf,
    pub calls: PathBuf,
    _dir: tempfile::TempDir,
}

impl OldFenceSsh {
    pub fn install() -> OldFenceSsh {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let calls = dir.path().join("fence_ssh.calls");
        let path = PathBuf::from("/usr/sbin/fence_ssh");
        let ours = |p: &Path| std::fs::read_to_string(p).is_ok_and(|s| s.contains(OLD_MARK));
        assert!(
            !path.exists() || ours(&path),
            "{} is installed: the migration test needs its stand-in there, to see its calls",
            path.display()
        );
        if peers::is_root() {
            let script = OLD_AGENT.replace("CALLS", &calls.display().to_string());
            write_executable(&path, &script);
        }
        OldFenceSsh {
            path,
            calls,
            _dir: dir,
        }
    }

    /// The cluster's configuration before the migration: one `fence_ssh` device per node.
    pub fn create_devices(&self) {
        for (dev, node) in OLD_DEVICES.iter().zip(["compute-node-1", "compute-node-2"]) {
            let host = format!("pcmk_host_list={node}");
            let args = ["stonith", "create", dev, "fence_ssh", &host, "--wait=60"];
            let out = pacemaker::run("pcs", &args);
            assert!(out.status.success(), "pcs stonith create {dev}: {out:?}");
        }
    }
}

impl Drop for OldFenceSsh {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path).is_ok_and(|s| s.contains(OLD_MARK));
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

const OLD_MARK: &str = "# gfs2-fencing system tests: stand-in for fence_ssh";

const OLD_AGENT: &str = r#"#!/bin/sh
# gfs2-fencing system tests: stand-in for fence_ssh
action=reboot
if [ "$1" = -o ]; then action=$2
else while IFS='=' read -r k v; do [ "$k" = action ] && action=$v; done
fi
case "$action" in
metadata) cat <<'XML'
<?xml version="1.0" ?>
<resource-agent name="fence_ssh" shortdesc="stand-in for fence_ssh">
<parameters>
<parameter name="action" unique="0" required="1"><content type="string" default="reboot"/><shortdesc lang="en">action</shortdesc></parameter>
<parameter name="port" unique="0" required="0"><content type="string"/><shortdesc lang="en">node</shortdesc></parameter>
</parameters>
<actions><action name="on"/><action name="off"/><action name="reboot"/><action name="monitor"/><action name="metadata"/><action name="validate-all"/></actions>
</resource-agent>
XML
;;
monitor|validate-all) ;;
*) echo "$action" >> CALLS ;;
esac
exit 0
"#;

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}
