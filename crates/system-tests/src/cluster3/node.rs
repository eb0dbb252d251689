//! One node of the three-node cluster: its private state directories on the host, its holder
//! process (own network, mount and UTS namespaces, hostname `node<i>`, private `/run`,
//! `/dev/shm`, corosync and Pacemaker directories), and programs run inside it with `nsenter`.
//!
//! A plain `ip netns exec` per call would create a new mount namespace each time and miss the
//! node's bind mounts: everything goes through `nsenter -t <holder>` instead.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::{procs, wait_for};

/// PATH given to everything run in a node (pacemakerd hands it on to the fence agents).
const NODE_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Host directory (relative to the node's) bind-mounted over each path inside the node.
const PRIVATE: [(&str, &str); 6] = [
    ("etc-corosync", "/etc/corosync"),
    ("lib-corosync", "/var/lib/corosync"),
    ("log-corosync", "/var/log/corosync"),
    ("lib-pacemaker", "/var/lib/pacemaker"),
    ("log-pacemaker", "/var/log/pacemaker"),
    ("run", "/run"),
];

/// Directories of a node, relative to its host directory.
const DIRS: [&str; 10] = [
    "etc-corosync",
    "lib-corosync",
    "log-corosync",
    "lib-pacemaker/cib",
    "lib-pacemaker/pengine",
    "lib-pacemaker/blackbox",
    "lib-pacemaker/cores",
    "log-pacemaker",
    "run/crm",
    "run/lock",
];

/// The start of the holder's script, run in the node's fresh namespaces: `$1` = the node's
/// directory, `$2` = its hostname. Ownership is set with the tools, which know `hacluster`.
const SETUP: &str = "#!/bin/sh\nset -e\nD=$1\nhostname \"$2\"\n\
    mount -t tmpfs -o mode=1777,size=64m g3shm /dev/shm\n\
    chown -R hacluster:haclient \"$D/lib-pacemaker\" \"$D/log-pacemaker\" \"$D/run/crm\"\n\
    chmod 0750 \"$D\"/lib-pacemaker/* \"$D/run/crm\"\n\
    chmod 0770 \"$D/log-pacemaker\"\n\
    chmod 1777 \"$D/run/lock\"\n\
    chmod 0600 \"$D/lib-pacemaker/cib/cib.xml\"\n";

/// One node: its holder and the daemons started in it. Processes are stopped by the cluster
/// (every pid of the namespace); [`Node::reap`] then collects our own children.
pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    holder: Child,
    daemons: Vec<Child>,
}

impl Node {
    /// Creates the node's directories with `corosync_conf` and `cib` in place, starts its holder
    /// in network namespace `netns` and waits (30 s) until the holder's mounts are done.
    pub fn start(name: &str, netns: &str, dir: &Path, corosync_conf: &str, cib: &str) -> Node {
        for sub in DIRS {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        }
        write(&dir.join("etc-corosync/corosync.conf"), corosync_conf);
        write(&dir.join("lib-pacemaker/cib/cib.xml"), cib);
        let _ = std::os::unix::fs::symlink("/dev/shm", dir.join("run/shm"));
        let mut script = SETUP.to_owned();
        for (from, to) in PRIVATE {
            script.push_str(&format!("mount --bind \"$D/{from}\" {to}\n"));
        }
        script.push_str("touch \"$D/ready\"\nexec sleep infinity\n");
        let setup = dir.join("setup.sh");
        write(&setup, &script);
        let log = std::fs::File::create(dir.join("holder.log")).expect("create the holder log");
        let err = log.try_clone().expect("duplicate the holder log");
        // `ip netns exec` and `unshare` (without --fork) exec: the child is the holder itself.
        let holder = Command::new("ip")
            .args(["netns", "exec", netns, "unshare", "--mount", "--uts"])
            .args(["--propagation", "private", "sh"])
            .arg(&setup)
            .arg(dir)
            .arg(name)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the holder of {name}: {e}"));
        let mut node = Node {
            name: name.to_owned(),
            dir: dir.to_path_buf(),
            holder,
            daemons: Vec::new(),
        };
        node.wait_holder();
        node
    }

    fn wait_holder(&mut self) {
        let ready = self.dir.join("ready");
        let up = wait_for(Duration::from_secs(30), || {
            if let Ok(Some(st)) = self.holder.try_wait() {
                panic!(
                    "the holder of {} exited ({st}):\n{}",
                    self.name,
                    self.file("holder.log")
                );
            }
            ready.exists().then_some(())
        });
        assert!(
            up.is_some(),
            "the holder of {} is not ready in 30 s",
            self.name
        );
    }

    /// `nsenter` into the holder's namespaces with a clean environment plus `env`.
    fn nsenter(&self, env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.holder.id().to_string())
            .args(["-m", "-n", "-u", "--"])
            .current_dir("/")
            .env_clear()
            .env("PATH", NODE_PATH)
            .env("LANG", "C.UTF-8")
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        cmd
    }

    /// Starts `/usr/sbin/<daemon> -f` (corosync, pacemakerd) in the node, its output in the
    /// node's directory. nsenter without a PID namespace execs: the child is the daemon.
    pub fn spawn(&mut self, daemon: &str) {
        let out = std::fs::File::create(self.dir.join(format!("{daemon}.out")))
            .expect("create a daemon's output file");
        let err = out.try_clone().expect("duplicate a daemon's output file");
        let child = self
            .nsenter(&[("PCMK_logfacility", "none")])
            .arg(format!("/usr/sbin/{daemon}"))
            .arg("-f")
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {daemon} on {}: {e}", self.name));
        self.daemons.push(child);
    }

    /// The exit status of a daemon we started in the node that has already exited.
    pub fn exited_daemon(&mut self) -> Option<std::process::ExitStatus> {
        self.daemons
            .iter_mut()
            .find_map(|d| d.try_wait().ok().flatten())
    }

    /// Runs a command-line tool in the node, bounded by `timeout(1)` at 30 s.
    pub fn run(&self, tool: &str, args: &[&str]) -> Output {
        self.nsenter(&[])
            .args(["timeout", "30", tool])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool} on {}: {e}", self.name))
    }

    pub fn holder_pid(&self) -> u32 {
        self.holder.id()
    }

    /// Collects our own children once every process of the node was killed; a child still
    /// running after 10 s is killed by its pid.
    pub fn reap(&mut self) {
        for child in self
            .daemons
            .iter_mut()
            .chain(std::iter::once(&mut self.holder))
        {
            if !procs::wait_child(child, Duration::from_secs(10)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// A file of the node's directory (`holder.log`, `corosync.out`,
    /// `log-pacemaker/pacemaker.log`, ...), empty when missing.
    pub fn file(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap_or_default()
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
