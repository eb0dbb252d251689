//! The cluster's network: a namespace holding a bridge, and one namespace per node joined to
//! it by a veth pair (`eth0` inside the node, `<subnet>.<i>/24`). The host's interfaces,
//! addresses and routes are never touched. Removing a namespace first kills, by pid, every
//! process that `ip netns pids` lists in it.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use rustix::process::Signal;

use crate::procs;

/// The namespaces; deleted (after killing what runs in them) on drop.
pub struct Net {
    pub bridge: String,
    pub nodes: Vec<String>,
}

impl Net {
    /// Namespaces `<prefix>br` and `<prefix>n1..=n`, after removing any that a crashed earlier
    /// run left behind.
    pub fn create(prefix: &str, subnet: &str, n: usize) -> Net {
        let net = Net {
            bridge: format!("{prefix}br"),
            nodes: (1..=n).map(|i| format!("{prefix}n{i}")).collect(),
        };
        net.destroy();
        ip(&["netns", "add", &net.bridge]);
        ip(&["-n", &net.bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &net.bridge, "link", "set", "br0", "up"]);
        for (i, ns) in net.nodes.iter().enumerate() {
            let veth = format!("v{}", i + 1);
            let addr = format!("{subnet}.{}/24", i + 1);
            ip(&["netns", "add", ns]);
            let peer = ["peer", "name", "eth0", "netns", ns.as_str()];
            let mut add = vec!["-n", &net.bridge, "link", "add", &veth, "type", "veth"];
            add.extend(peer);
            ip(&add);
            ip(&[
                "-n",
                &net.bridge,
                "link",
                "set",
                &veth,
                "master",
                "br0",
                "up",
            ]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "addr", "add", &addr, "dev", "eth0"]);
            ip(&["-n", ns, "link", "set", "eth0", "up"]);
        }
        net
    }

    /// Kills every process in every namespace of the cluster; returns pids that survived.
    pub fn kill_all(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .chain(std::iter::once(&self.bridge))
            .flat_map(|ns| kill_netns(ns))
            .collect()
    }

    /// Kills what runs in the namespaces and deletes them. Never panics (runs in `Drop`).
    fn destroy(&self) {
        for ns in self.nodes.iter().chain(std::iter::once(&self.bridge)) {
            if !Path::new("/run/netns").join(ns).exists() {
                continue;
            }
            let left = kill_netns(ns);
            if !left.is_empty() {
                eprintln!("ERROR: processes in namespace {ns} survived SIGKILL: {left:?}");
            }
            let out = run_ip(&["netns", "del", ns]);
            if !out.as_ref().is_ok_and(|o| o.status.success()) {
                eprintln!("ERROR: ip netns del {ns}: {out:?}");
            }
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.destroy();
    }
}

/// Pids of every process in network namespace `ns` (none when it does not exist).
pub fn pids(ns: &str) -> Vec<u32> {
    let Ok(out) = run_ip(&["netns", "pids", ns]) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// SIGKILL to every process of `ns`, repeated while new ones appear (a dying parent may still
/// have forked); returns the pids still alive after that.
pub fn kill_netns(ns: &str) -> Vec<u32> {
    for _ in 0..10 {
        let found = pids(ns);
        if found.is_empty() {
            return Vec::new();
        }
        for p in &found {
            procs::signal(*p, Signal::KILL);
        }
        procs::wait_gone(&found, Duration::from_secs(5));
    }
    pids(ns)
}

fn run_ip(args: &[&str]) -> std::io::Result<Output> {
    Command::new("ip").args(args).output()
}

fn ip(args: &[&str]) {
    let out = run_ip(args).unwrap_or_else(|e| panic!("cannot run ip: {e}"));
    assert!(
        out.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
