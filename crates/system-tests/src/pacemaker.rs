//! A real single-node Pacemaker cluster on loopback, for tests that need the real fencer to
//! run the real agent (`docs/pacemaker.md` in the shared notes: "A real single-node cluster").
//!
//! [`Cluster::start`] writes `corosync.conf`, starts `corosync -f` and `pacemakerd -f` as our
//! children with a clean environment (pacemakerd hands its environment to every fence agent),
//! and waits for the node to be online with a DC. Dropping the [`Cluster`] stops pacemakerd,
//! waits for every process it started, stops corosync, and puts the host's configuration and
//! state back: a failing test leaves nothing running. One cluster at a time per host.

mod daemons;
mod host;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use host::{install_agent, Lock, AGENT_PATH, COROSYNC_CONF};

use crate::{bins, procs, wait_for, Spool};
use daemons::{
    corosync_conf, refuse_foreign_cluster, spawn_daemon, stop_pacemakerd, wait_corosync,
};

/// The cluster's only node.
pub const NODE: &str = "node1";

/// Pacemaker's own log, where the fencer copies each fence agent's stderr.
const PACEMAKER_LOG: &str = "/var/log/pacemaker/pacemaker.log";

/// PATH given to the cluster daemons (and so to the fence agents).
const DAEMON_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// A running cluster; stopped and cleaned up on drop.
pub struct Cluster {
    corosync: Child,
    pacemakerd: Option<Child>,
    dir: tempfile::TempDir,
    /// Where Pacemaker's log ended when the cluster started (it is the host's, appended to).
    log_start: u64,
    // Dropped after the processes are stopped (Drop for Cluster runs first), lock last.
    _host: host::HostState,
    _lock: host::Lock,
}

/// Whether the programs a cluster needs are installed, for [`crate::peers::require`].
pub fn installed() -> Vec<(bool, String)> {
    [
        "/usr/sbin/corosync",
        "/usr/sbin/pacemakerd",
        "/usr/sbin/stonith_admin",
        "/usr/sbin/crm_mon",
    ]
    .iter()
    .map(|p| crate::peers::installed(p))
    .collect()
}

impl Cluster {
    /// Installs the freshly built agent in `/usr/sbin`, starts the cluster and waits (at most
    /// 90 s) until `node1` is online and the DC.
    pub fn start() -> Cluster {
        let agent = bins::agent();
        let lock = host::Lock::acquire();
        refuse_foreign_cluster();
        let dir = tempfile::Builder::new()
            .prefix("gfs2-systests-cluster.")
            .tempdir()
            .expect("a temporary directory");
        let host = host::HostState::take(&corosync_conf(dir.path()));
        host::install_agent(&agent);
        let log_start = std::fs::metadata(PACEMAKER_LOG).map_or(0, |m| m.len());
        let mut cluster = Cluster {
            corosync: spawn_daemon("corosync", dir.path()),
            pacemakerd: None,
            dir,
            log_start,
            _host: host,
            _lock: lock,
        };
        // From here on, a panic drops `cluster`, which stops whatever runs.
        wait_corosync(cluster.dir.path());
        cluster.pacemakerd = Some(spawn_daemon("pacemakerd", cluster.dir.path()));
        cluster.wait_online();
        cluster
    }

    fn wait_online(&mut self) {
        let online = wait_for(Duration::from_secs(90), || {
            if let Some(Ok(Some(st))) = self.pacemakerd.as_mut().map(Child::try_wait) {
                panic!("pacemakerd exited at start ({st}):\n{}", self.logs());
            }
            let xml = self.crm_mon_xml();
            let node_online = xml.lines().any(|l| {
                l.contains(&format!("<node name=\"{NODE}\"")) && l.contains("online=\"true\"")
            });
            (node_online && xml.contains("<current_dc present=\"true\"")).then_some(())
        });
        assert!(
            online.is_some(),
            "the cluster did not form in 90 s:\n{}",
            self.logs()
        );
    }

    /// `crm_mon -1 --output-as=xml` (empty when it fails, e.g. before the CIB is up).
    pub fn crm_mon_xml(&self) -> String {
        let out = run("crm_mon", &["-1", "--output-as=xml"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sets a cluster property, e.g. `stonith-enabled=true`.
    pub fn set_property(&self, name: &str, value: &str) {
        let args = ["--type", "crm_config", "--name", name, "--update", value];
        check(run("crm_attribute", &args), "crm_attribute");
    }

    /// Adds a stonith device using our agent, with instance attributes `attrs` (which include
    /// `pcmk_host_list`) and a recurring monitor every `monitor_secs`, and waits (60 s) until
    /// the fencer has registered it.
    pub fn add_device(&self, id: &str, attrs: &[(&str, &str)], monitor_secs: u32) {
        let nvpairs: String = attrs
            .iter()
            .map(|(k, v)| format!("<nvpair id=\"{id}-{k}\" name=\"{k}\" value=\"{v}\"/>"))
            .collect();
        let xml = format!(
            "<primitive id=\"{id}\" class=\"stonith\" type=\"fence_gfs2_recorder\">\
             <instance_attributes id=\"{id}-ia\">{nvpairs}</instance_attributes>\
             <operations><op id=\"{id}-mon\" name=\"monitor\" interval=\"{monitor_secs}s\"/>\
             </operations></primitive>"
        );
        let args = ["--create", "-o", "resources", "--xml-text", xml.as_str()];
        check(run("cibadmin", &args), "cibadmin --create");
        let registered = wait_for(Duration::from_secs(60), || {
            let out = run("stonith_admin", &["--list-registered"]);
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == id)
                .then_some(())
        });
        assert!(
            registered.is_some(),
            "device {id} not registered in 60 s:\n{}",
            self.logs()
        );
    }

    /// [`Cluster::add_device`] for a device on the test's `spool`: its three directories, a
    /// 30 s `fence_timeout` and no GFS2 discovery, then `extra` (which include
    /// `pcmk_host_list`).
    pub fn add_spool_device(
        &self,
        id: &str,
        spool: &Spool,
        extra: &[(&str, &str)],
        monitor_secs: u32,
    ) {
        let dirs = [
            ("request_dir", spool.requests.display().to_string()),
            ("response_dir", spool.responses.display().to_string()),
            ("log_dir", spool.logs.display().to_string()),
        ];
        let mut attrs: Vec<(&str, &str)> = dirs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        attrs.extend([("fence_timeout", "30"), ("gfs2_discovery", "false")]);
        attrs.extend(extra);
        self.add_device(id, &attrs, monitor_secs);
    }

    /// Waits (bound) until `crm_mon` shows resource `id` with `role`, e.g. `Started`.
    pub fn wait_role(&self, id: &str, role: &str, bound: Duration) -> bool {
        let want = format!("role=\"{role}\"");
        wait_for(bound, || {
            let xml = self.crm_mon_xml();
            xml.lines()
                .any(|l| l.contains(&format!("<resource id=\"{id}\"")) && l.contains(&want))
                .then_some(())
        })
        .is_some()
    }

    /// How many times operation `op` (interval `interval`, e.g. `5s`; `0` for a start) of
    /// resource `id` failed on [`NODE`], as `crm_failcount` says it (`INFINITY` after a failed
    /// start; `0` when it never failed).
    pub fn failcount(&self, id: &str, op: &str, interval: &str) -> String {
        let args = [
            "--query", "-q", "-r", id, "-n", op, "-I", interval, "-N", NODE,
        ];
        let out = run("crm_failcount", &args);
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        check(out, "crm_failcount --query");
        text
    }

    /// `crm_resource --cleanup` of resource `id`: forgets its failures, so the cluster starts
    /// it again.
    pub fn cleanup(&self, id: &str) {
        check(
            run("crm_resource", &["--cleanup", "-r", id]),
            "crm_resource --cleanup",
        );
    }

    /// `stonith_admin --<verb> NODE --timeout SECS` (verb: `reboot`, `fence` = off, `unfence`
    /// = on), with how long it took.
    pub fn fence(&self, verb: &str, node: &str, timeout_secs: u32) -> (Output, Duration) {
        let start = Instant::now();
        let flag = format!("--{verb}");
        let t = timeout_secs.to_string();
        let out = run(
            "stonith_admin",
            &[flag.as_str(), node, "--timeout", t.as_str()],
        );
        (out, start.elapsed())
    }

    /// `stonith_admin --history NODE --verbose`, text and XML.
    pub fn history(&self, node: &str) -> (String, String) {
        let text = run("stonith_admin", &["--history", node, "--verbose"]);
        // Without --verbose the XML form lists nothing on 2.1.5.
        let xml = run(
            "stonith_admin",
            &["--history", node, "--verbose", "--output-as=xml"],
        );
        (
            String::from_utf8_lossy(&text.stdout).into_owned(),
            String::from_utf8_lossy(&xml.stdout).into_owned(),
        )
    }

    /// What Pacemaker logged since this cluster started (e.g. a fence agent's stderr, which
    /// the fencer logs as `fence_gfs2_recorder[PID] stderr: [ ... ]`).
    pub fn pacemaker_log(&self) -> String {
        use std::io::{Read, Seek, SeekFrom};
        let mut text = Vec::new();
        if let Ok(mut f) = std::fs::File::open(PACEMAKER_LOG) {
            let _ = f.seek(SeekFrom::Start(self.log_start));
            let _ = f.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    /// The daemons' own output and the tail of Pacemaker's log, for failure messages.
    pub fn logs(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let pcmk = read(Path::new(PACEMAKER_LOG));
        let tail: Vec<&str> = pcmk.lines().rev().take(80).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "--- corosync.log\n{}\n--- pacemakerd output\n{}\n--- pacemaker.log (last 80 lines)\n{}",
            read(&self.dir.path().join("corosync.log")),
            read(&self.dir.path().join("pacemakerd.out")),
            tail.join("\n")
        )
    }

    /// Stops pacemakerd and everything it started, then corosync.
    /// Never panics: it runs in `Drop`, possibly while a failed test unwinds.
    fn stop(&mut self) {
        if let Some(mut pacemakerd) = self.pacemakerd.take() {
            stop_pacemakerd(&mut pacemakerd);
        }
        procs::stop_child(&mut self.corosync, Duration::from_secs(30));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a Pacemaker command-line tool; a tool that cannot start is a test failure.
pub fn run(tool: &str, args: &[&str]) -> Output {
    Command::new(tool)
        .args(args)
        .env_remove("CIB_file")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
}

fn check(out: Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
