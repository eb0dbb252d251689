//! A real three-node Pacemaker cluster on one machine (issue 6), following the verified recipe
//! of the shared notes (`peers.md`, Part B): network namespaces `g3br` (a bridge) and
//! `g3n1..3` on 10.99.3.0/24, one holder process per node with its own hostname, `/run`,
//! `/dev/shm` and corosync/Pacemaker directories, and corosync + pacemakerd started in it with
//! a clean environment.
//!
//! [`Cluster3::start`] takes the same host-wide lock as the single-node cluster of
//! [`crate::pacemaker`] for its whole life, installs the freshly built agent in `/usr/sbin`,
//! and waits until every node is fully joined. Dropping it kills every process of every
//! namespace by pid and deletes the namespaces: a failing test leaves nothing running.

mod config;
mod net;
mod node;

use std::process::Output;
use std::time::{Duration, Instant};

use rustix::process::Signal;

pub use config::{all_joined, corosync_conf, node_line, seed_cib, started, Device};
use net::Net;
use node::Node;

use crate::{bins, pacemaker, procs, wait_for};

/// Namespace prefix; the single-node cluster lives in the host's own namespaces.
pub const PREFIX: &str = "g3";
/// The nodes' addresses are `<SUBNET>.<i>`.
pub const SUBNET: &str = "10.99.3";
/// Number of nodes, named `node1..=node3`.
pub const NODES: usize = 3;

/// A running three-node cluster; everything in it is killed on drop.
pub struct Cluster3 {
    nodes: Vec<Node>,
    net: Option<Net>,
    names: Vec<String>,
    lock_wait: Duration,
    dir: tempfile::TempDir,
    // Dropped last (Drop for Cluster3 runs first): the host is free again.
    _lock: pacemaker::Lock,
}

/// Whether the programs a three-node cluster needs are installed, for [`crate::peers::require`].
pub fn installed() -> Vec<(bool, String)> {
    let mut needs = pacemaker::installed();
    needs.extend(
        ["/usr/bin/unshare", "/usr/bin/nsenter", "/usr/bin/timeout"]
            .iter()
            .map(|p| crate::peers::installed(p)),
    );
    let ip = ["/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip", "/bin/ip"];
    let has_ip = ip.iter().any(|p| std::path::Path::new(p).exists());
    needs.push((has_ip, "iproute2's ip is not installed".to_owned()));
    needs
}

impl Cluster3 {
    /// Takes the cluster lock, installs the agent, and starts three nodes whose seed CIB holds
    /// `device`; waits (at most 90 s) until [`Cluster3::ready`].
    pub fn start(device: &Device) -> Cluster3 {
        let agent = bins::agent();
        let asked = Instant::now();
        let lock = pacemaker::Lock::acquire();
        let lock_wait = asked.elapsed();
        pacemaker::install_agent(&agent);
        let dir = tempfile::Builder::new()
            .prefix("gfs2-systests-cluster3.")
            .tempdir()
            .expect("a temporary directory");
        let names: Vec<String> = (1..=NODES).map(|i| format!("node{i}")).collect();
        let mut cluster = Cluster3 {
            nodes: Vec::new(),
            net: Some(Net::create(PREFIX, SUBNET, NODES)),
            names,
            lock_wait,
            dir,
            _lock: lock,
        };
        // From here on a panic drops `cluster`, which kills whatever runs in the namespaces.
        let conf = corosync_conf(&format!("{PREFIX}cluster"), SUBNET, NODES);
        let cib = seed_cib(device);
        for (i, name) in cluster.names.clone().iter().enumerate() {
            let netns = format!("{PREFIX}n{}", i + 1);
            let dir = cluster.dir.path().join(name);
            cluster
                .nodes
                .push(Node::start(name, &netns, &dir, &conf, &cib));
        }
        for node in &mut cluster.nodes {
            node.spawn("corosync");
        }
        for node in &mut cluster.nodes {
            node.spawn("pacemakerd");
        }
        cluster.wait_ready(device, Duration::from_secs(90));
        cluster
    }

    /// How long [`Cluster3::start`] waited for another test's cluster to end.
    pub fn lock_wait(&self) -> Duration {
        self.lock_wait
    }

    /// Node `i` (1-based).
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i - 1]
    }

    /// Runs a command-line tool on node `i`.
    pub fn run(&self, i: usize, tool: &str, args: &[&str]) -> Output {
        self.node(i).run(tool, args)
    }

    /// `crm_mon -1 --output-as=xml` on node `i` (empty when it fails).
    pub fn crm_mon_xml(&self, i: usize) -> String {
        let out = self.run(i, "crm_mon", &["-1", "--output-as=xml"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Ready: node1 sees a DC and every node online, not pending, not unclean, expected up;
    /// `device` is registered with the fencer of every node but its target's, and started
    /// (its monitor, which checks the daemon's heartbeat, passed).
    fn ready(&self, device: &Device) -> bool {
        let xml = self.crm_mon_xml(1);
        all_joined(&xml, &self.names)
            && started(&xml, device.id)
            && self
                .nodes
                .iter()
                .filter(|n| n.name != device.target)
                .all(|n| {
                    let out = n.run("stonith_admin", &["--list-registered"]);
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .any(|l| l.trim() == device.id)
                })
    }

    fn wait_ready(&mut self, device: &Device, bound: Duration) {
        let ok = wait_for(bound, || {
            for i in 0..self.nodes.len() {
                if let Some(st) = self.nodes[i].exited_daemon() {
                    panic!("a daemon of node{} exited ({st}):\n{}", i + 1, self.logs());
                }
            }
            self.ready(device).then_some(())
        });
        assert!(
            ok.is_some(),
            "the cluster was not ready in {} s:\n{}\n{}",
            bound.as_secs(),
            self.crm_mon_xml(1),
            self.logs()
        );
    }

    /// Crashes node `i`: SIGKILL to every process of its namespace (holder, corosync,
    /// pacemakerd and its daemons). Returns the moment just before the first signal and the pids.
    pub fn crash(&self, i: usize) -> (Instant, Vec<u32>) {
        let ns = format!("{PREFIX}n{i}");
        let pids = net::pids(&ns);
        assert!(!pids.is_empty(), "no process runs in namespace {ns}");
        let at = Instant::now();
        for p in &pids {
            procs::signal(*p, Signal::KILL);
        }
        (at, pids)
    }

    /// `stonith_admin --history <target> --verbose --output-as=xml` on node `i` (`--verbose`:
    /// without it an older event may be shown, and the XML lists nothing on 2.1.5).
    pub fn history_xml(&self, i: usize, target: &str) -> String {
        let args = ["--history", target, "--verbose", "--output-as=xml"];
        String::from_utf8_lossy(&self.run(i, "stonith_admin", &args).stdout).into_owned()
    }

    /// Every node's daemon output and the tails of its corosync and Pacemaker logs.
    pub fn logs(&self) -> String {
        let tail = |text: String, n: usize| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        };
        let mut all = String::new();
        for node in &self.nodes {
            for (file, n) in [
                ("holder.log", 20),
                ("corosync.out", 20),
                ("pacemakerd.out", 20),
                ("log-corosync/corosync.log", 30),
                ("log-pacemaker/pacemaker.log", 60),
            ] {
                all.push_str(&format!("--- {} {file}\n", node.name));
                all.push_str(&tail(node.file(file), n));
                all.push('\n');
            }
        }
        all
    }
}

impl Drop for Cluster3 {
    fn drop(&mut self) {
        if let Some(net) = &self.net {
            let left = net.kill_all();
            if !left.is_empty() {
                eprintln!("ERROR: cluster processes survived SIGKILL: {left:?}");
            }
        }
        for node in &mut self.nodes {
            node.reap();
        }
        // Deletes the namespaces (and with them the veths and the bridge).
        drop(self.net.take());
    }
}
