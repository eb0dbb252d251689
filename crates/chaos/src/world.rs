//! The campaign's private world: a directory tree with copies of the binaries, the spool (each of
//! its request, response and log directories inside a tmpfs mount of its own when a disk fault
//! is selected: inside, not on, so that a fault can also rename the directory), the daemon's
//! configurations, and every process the campaign started.
//!
//! Whatever happens, [`World`]'s `Drop` continues stopped processes, kills every process the
//! campaign started (children by PID, orphans by their private executable) and unmounts its
//! tmpfs mounts; the release profile aborts on panic, so the campaign never panics.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::error::{ChaosError, Result};
use crate::history::{now_ns, Ending, Instance};
use crate::procs;

/// Where everything lives.
#[derive(Debug, Clone)]
pub struct Paths {
    pub root: PathBuf,
    pub bin: PathBuf,
    pub requests: PathBuf,
    pub responses: PathBuf,
    pub logs: PathBuf,
    pub run_log: PathBuf,
    pub out: PathBuf,
    pub main_config: PathBuf,
    pub second_config: PathBuf,
    /// What the hostile hook does next (`hook::Mode` as JSON); the hook's own run log.
    pub hook_mode: PathBuf,
    pub hook_log: PathBuf,
    /// The lying responder's log of the answers it forged.
    pub liar_log: PathBuf,
    /// The lying BMC's log of the true power states, and its password file.
    pub bmc_truth: PathBuf,
    pub bmc_password: PathBuf,
}

/// The three spool directories, as disk faults name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    Requests,
    Responses,
    Logs,
}

impl Area {
    pub const ALL: [Area; 3] = [Area::Requests, Area::Responses, Area::Logs];

    /// Its bit in a fault's token.
    pub fn bit(self) -> u64 {
        match self {
            Area::Requests => 1,
            Area::Responses => 2,
            Area::Logs => 4,
        }
    }

    /// The directory of this area.
    pub fn dir(self, p: &Paths) -> &Path {
        match self {
            Area::Requests => &p.requests,
            Area::Responses => &p.responses,
            Area::Logs => &p.logs,
        }
    }

    /// Size of its tmpfs: room for a backlog of near-64 KiB requests, and for the responses
    /// (a page each) and event logs of a 20,000-exchange benchmark.
    fn tmpfs_kib(self) -> u64 {
        match self {
            Area::Requests => 96 * 1024,
            Area::Responses => 128 * 1024,
            Area::Logs => 64 * 1024,
        }
    }
}

/// The binaries under test and our own, copied so a rebuild during the campaign changes nothing
/// and so their executables identify the campaign's processes.
#[derive(Debug, Clone)]
pub struct Bins {
    pub watcher: PathBuf,
    pub agent: PathBuf,
    pub chaos: PathBuf,
}

/// Who the campaign's processes run as: the daemon, agents and hogs share one uid so that the
/// per-user inotify limit they exhaust is theirs, not that of everyone else on the machine.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

impl Ids {
    pub fn apply(&self, cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        if rustix::process::geteuid().as_raw() != self.uid {
            cmd.uid(self.uid).gid(self.gid);
        }
    }
}

/// A helper process being stopped: SIGTERM was sent; SIGKILL at `kill_at`.
struct Retiring {
    child: Child,
    kill_at: Instant,
    instance: Option<usize>,
}

/// The campaign's resources and processes.
pub struct World {
    pub paths: Paths,
    pub bins: Bins,
    pub ids: Ids,
    pub metrics_port: u16,
    pub instances: Vec<Instance>,
    mounts: Vec<PathBuf>,
    retiring: Vec<Retiring>,
    /// PIDs a fault stopped, continued at cleanup whatever happened.
    pub stopped: Vec<u32>,
    /// Areas a disk fault (full, read-only, FIFO, moved) holds now: one fault per area at a
    /// time, so that no revert meets a file system another fault made unwritable.
    pub busy: std::collections::BTreeSet<Area>,
    /// The lying BMC of the `bmc-*` nodes, with the `lying-bmc` fault.
    pub bmc: Option<crate::bmc::LyingBmc>,

    keep: bool,
    _tmp: Option<tempfile::TempDir>,
}

/// How the world is set up.
#[derive(Debug, Clone)]
pub struct WorldSpec {
    pub ids: Ids,
    /// Put each spool directory inside a tmpfs of its own (the disk faults).
    pub tmpfs: bool,
    /// Configure `[after_fence]` as the campaign's hostile hook.
    pub hook: bool,
    pub backend_ms: (u64, u64),
    /// Run the lying BMC (its seed) and route the `bmc-*` nodes to it.
    pub bmc: Option<u64>,
    pub backend_fail_permille: u64,
    pub max_concurrent: usize,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ChaosError {
    ChaosError::io(what)
}

impl World {
    /// Creates the tree, copies the binaries found beside our executable, mounts and writes the
    /// configurations. Nothing runs yet.
    pub fn create(spec: &WorldSpec) -> Result<World> {
        let tmp = tempfile::Builder::new()
            .prefix("gfs2-chaos.")
            .tempdir()
            .map_err(io("create the campaign directory"))?;
        let root = tmp.path().to_path_buf();
        // With tmpfs, `spool/<name>.fs` is the mount and the directory is inside it.
        let spool = |name: &str| {
            if spec.tmpfs {
                root.join(format!("spool/{name}.fs/{name}"))
            } else {
                root.join(format!("spool/{name}"))
            }
        };
        let paths = Paths {
            bin: root.join("bin"),
            requests: spool("requests"),
            responses: spool("responses"),
            logs: spool("log"),
            run_log: root.join("runs.jsonl"),
            out: root.join("out"),
            main_config: root.join("fence-watcher.toml"),
            second_config: root.join("second.toml"),
            hook_mode: root.join("hook-mode.json"),
            hook_log: root.join("hooks.jsonl"),
            liar_log: root.join("lies.jsonl"),
            bmc_truth: root.join("bmc-truth.jsonl"),
            bmc_password: root.join("bmc.pw"),
            root,
        };
        let mut w = World {
            bins: copy_bins(&paths.bin)?,
            paths,
            ids: spec.ids,
            metrics_port: free_port()?,
            instances: Vec::new(),
            mounts: Vec::new(),
            retiring: Vec::new(),
            stopped: Vec::new(),
            busy: Default::default(),
            bmc: None,
            keep: false,
            _tmp: Some(tmp),
        };
        w.make_dirs(spec.tmpfs)?;
        if let Some(seed) = spec.bmc {
            w.start_bmc(seed)?;
        }
        w.write_configs(spec)?;
        Ok(w)
    }

    fn make_dirs(&mut self, tmpfs: bool) -> Result<()> {
        let p = self.paths.clone();
        for d in [&p.root, &p.root.join("spool"), &p.out, &p.bin] {
            std::fs::create_dir_all(d).map_err(io(format!("create {}", d.display())))?;
            chmod(d, 0o755)?;
        }
        for area in Area::ALL {
            let d = area.dir(&p).to_path_buf();
            if tmpfs {
                let mnt = mount_point(&d)?;
                std::fs::create_dir_all(&mnt).map_err(io(format!("create {}", mnt.display())))?;
                self.mount_tmpfs(&mnt, area.tmpfs_kib())?;
            }
            std::fs::create_dir_all(&d).map_err(io(format!("create {}", d.display())))?;
            self.own(&d, 0o750)?;
        }
        for f in [&p.run_log, &p.hook_log, &p.liar_log] {
            std::fs::write(f, b"").map_err(io(format!("create {}", f.display())))?;
            self.own(f, 0o666)?;
        }
        std::fs::write(&p.hook_mode, b"{}").map_err(io("create the hook's mode file"))?;
        self.own(&p.hook_mode, 0o644)?;
        self.own(&p.out, 0o755)
    }

    /// Starts the lying BMC and writes its password file (the daemon's own, mode 0600).
    fn start_bmc(&mut self, seed: u64) -> Result<()> {
        let p = self.paths.clone();
        std::fs::write(&p.bmc_password, format!("{}\n", crate::bmc::PASSWORD))
            .map_err(io("write the BMC password file"))?;
        self.own(&p.bmc_password, 0o600)?;
        let nodes: Vec<String> = crate::bmc::NODES
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .collect();
        self.bmc = Some(crate::bmc::LyingBmc::start(&nodes, &p.bmc_truth, seed)?);
        Ok(())
    }

    fn mount_tmpfs(&mut self, dir: &Path, kib: u64) -> Result<()> {
        let opts = format!(
            "size={kib}k,mode=0755,uid={},gid={}",
            self.ids.uid, self.ids.gid
        );
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &opts, "gfs2-chaos"])
            .arg(dir)
            .output()
            .map_err(io("run mount"))?;
        if !out.status.success() {
            return Err(ChaosError::Setup(format!(
                "cannot mount a tmpfs on {} (the full-disk fault needs root): {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        self.mounts.push(dir.to_path_buf());
        Ok(())
    }

    /// Gives `path` to the campaign's uid with `mode`.
    fn own(&self, path: &Path, mode: u32) -> Result<()> {
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(path, Some(self.ids.uid), Some(self.ids.gid))
                .map_err(io(format!("chown {}", path.display())))?;
        }
        chmod(path, mode)
    }

    fn write_configs(&self, spec: &WorldSpec) -> Result<()> {
        let p = &self.paths;
        let backend = format!(
            "[backends.chaos]\ntype = \"command\"\nargv = [\"{}\", \"backend\", \"--run-log\", \"{}\", \
             \"--min-ms\", \"{}\", \"--max-ms\", \"{}\", \"--fail-permille\", \"{}\", \"{{node}}\", \
             \"{{action}}\", \"{{request_id}}\"]\ntimeout_secs = 30\n\n[[topology]]\nnodes = [\"*\"]\n\
             levels = [\"chaos\"]\n",
            self.bins.chaos.display(),
            p.run_log.display(),
            spec.backend_ms.0,
            spec.backend_ms.1,
            spec.backend_fail_permille
        );
        let spool = format!(
            "[spool]\nrequest_dir = \"{}\"\nresponse_dir = \"{}\"\n\n",
            p.requests.display(),
            p.responses.display()
        );
        let daemon = format!(
            "[daemon]\nmax_concurrent = {}\ngrace_period_secs = 10\nheartbeat_interval_secs = 2\n",
            spec.max_concurrent
        );
        let metrics = format!("metrics_listen = \"127.0.0.1:{}\"\n\n", self.metrics_port);
        let hook = if spec.hook {
            format!(
                "[after_fence]\ncommand = [\"{}\", \"hook\", \"--mode\", \"{}\", \"--log\", \"{}\",                  \"{{node}}\", \"{{action}}\"]\ntimeout_secs = {}\n\n",
                self.bins.chaos.display(),
                p.hook_mode.display(),
                p.hook_log.display(),
                crate::hook::TIMEOUT_SECS
            )
        } else {
            String::new()
        };
        let bmc = self
            .bmc
            .as_ref()
            .map(|b| crate::bmc::config(b, &p.bmc_password))
            .unwrap_or_default();
        let main = format!("{spool}{daemon}{metrics}{hook}{bmc}{backend}");
        let second = format!("{spool}{daemon}\n{bmc}{backend}");
        for (path, text) in [(&p.main_config, main), (&p.second_config, second)] {
            std::fs::write(path, text).map_err(io(format!("write {}", path.display())))?;
            self.own(path, 0o640)?;
        }
        Ok(())
    }

    /// A responder command on the campaign's spool with `config`.
    pub fn responder(&self, config: &Path) -> Command {
        let mut cmd = Command::new(&self.bins.watcher);
        cmd.arg("--config").arg(config);
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("RUST_LOG", "info")
            // A secret in the unit's environment: no child of the daemon may see it.
            .env(crate::hook::SECRET_VAR, crate::hook::SECRET)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        self.ids.apply(&mut cmd);
        cmd
    }

    /// A file for a child's output in the campaign's `out/` directory.
    pub fn out_file(&self, name: &str) -> Result<(std::fs::File, PathBuf)> {
        let path = self.paths.out.join(name);
        let f = std::fs::File::create(&path).map_err(io(format!("create {}", path.display())))?;
        Ok((f, path))
    }

    /// Records a responder instance; returns its index.
    pub fn add_instance(&mut self, pid: u32, role: &str) -> usize {
        self.instances.push(Instance {
            skew_s: None,
            pid,
            role: role.to_owned(),
            start_ns: now_ns(),
            end_ns: None,
            ending: Ending::Running,
            ready: false,
        });
        self.instances.len() - 1
    }

    /// Marks instance `idx` ended with `status`; `asked` when we sent it SIGTERM.
    pub fn end_instance(&mut self, idx: usize, status: std::process::ExitStatus, asked: bool) {
        use std::os::unix::process::ExitStatusExt;
        if let Some(i) = self.instances.get_mut(idx) {
            i.end_ns = Some(now_ns());
            i.ending = match (status.signal(), status.code()) {
                (Some(_), _) => Ending::Signalled,
                (None, Some(_)) if asked => Ending::Stopped,
                (None, code) => Ending::Exited(code.unwrap_or(-1)),
            };
        }
    }

    /// Stops a helper: SIGTERM now, SIGKILL after `grace`; reaped by [`World::poll`].
    pub fn retire(&mut self, child: Child, grace: Duration, instance: Option<usize>) {
        procs::signal(child.id(), Signal::CONT);
        procs::signal(child.id(), Signal::TERM);
        self.retiring.push(Retiring {
            child,
            kill_at: Instant::now() + grace,
            instance,
        });
    }

    /// Reaps retired helpers; kills those past their grace.
    pub fn poll(&mut self) {
        let mut i = 0;
        while i < self.retiring.len() {
            let r = &mut self.retiring[i];
            if let Some(status) = procs::exited(&mut r.child) {
                let r = self.retiring.swap_remove(i);
                if let Some(idx) = r.instance {
                    self.end_instance(idx, status, true);
                }
                continue;
            }
            if Instant::now() >= r.kill_at {
                let _ = r.child.kill();
            }
            i += 1;
        }
    }

    /// The campaign's tmpfs mount holding `area`, if the disk faults are on (the only place
    /// they ever fill or remount).
    pub fn mount_of(&self, area: Area) -> Option<PathBuf> {
        let m = mount_point(area.dir(&self.paths)).ok()?;
        self.mounts.contains(&m).then_some(m)
    }

    /// Gives `path` to the campaign's uid with `mode` (as the daemon's own files are).
    pub fn give(&self, path: &Path, mode: u32) -> Result<()> {
        self.own(path, mode)
    }

    /// Whether helpers are still being stopped.
    pub fn retiring(&self) -> bool {
        !self.retiring.is_empty()
    }

    /// Keeps the campaign directory (after a failure, for the report).
    pub fn keep(&mut self) {
        self.keep = true;
        if let Some(t) = self._tmp.take() {
            let _ = t.keep();
        }
    }

    fn cleanup(&mut self) {
        for pid in self.stopped.drain(..) {
            procs::signal(pid, Signal::CONT);
        }
        for r in &mut self.retiring {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
        self.retiring.clear();
        // Orphans: guardians, backends of a killed daemon, anything run from our binaries.
        for _ in 0..50 {
            let left = procs::running_from(&self.paths.bin);
            if left.is_empty() {
                break;
            }
            for pid in left {
                procs::signal(pid, Signal::CONT);
                procs::signal(pid, Signal::KILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for m in self.mounts.drain(..) {
            // A read-only fault may still hold it: writable again, then gone.
            let _ = Command::new("mount")
                .args(["-o", "remount,rw"])
                .arg(&m)
                .status();
            let ok = Command::new("umount")
                .arg(&m)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount").arg("-l").arg(&m).status();
            }
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.cleanup();
        if self.keep {
            eprintln!("campaign directory kept: {}", self.paths.root.display());
        }
    }
}

/// The tmpfs mount point of a spool directory: its parent, `spool/<name>.fs`.
fn mount_point(dir: &Path) -> Result<PathBuf> {
    dir.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| ChaosError::Setup(format!("{} has no parent", dir.display())))
}

fn chmod(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io(format!("chmod {}", path.display())))
}

/// Copies the daemon, the agent (found as the system tests find them) and our own executable.
fn copy_bins(dir: &Path) -> Result<Bins> {
    std::fs::create_dir_all(dir).map_err(io(format!("create {}", dir.display())))?;
    let profile = system_tests::bins::profile_dir();
    let copy = |from: PathBuf, name: &str| -> Result<PathBuf> {
        let to = dir.join(name);
        std::fs::copy(&from, &to).map_err(|e| {
            ChaosError::Setup(format!(
                "cannot copy {}: {e}; build it first: cargo build --release -p fence-watcher \
                 -p fence-gfs2-recorder -p gfs2-chaos",
                from.display()
            ))
        })?;
        chmod(&to, 0o755)?;
        Ok(to)
    };
    let me = std::env::current_exe().map_err(io("find our own executable"))?;
    Ok(Bins {
        watcher: copy(profile.join(system_tests::bins::WATCHER), "fence_watcher")?,
        agent: copy(
            profile.join(system_tests::bins::AGENT),
            "fence_gfs2_recorder",
        )?,
        chaos: copy(me, "gfs2-chaos")?,
    })
}

/// A loopback port free right now, for the daemon's metrics listener.
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("find a free port"))?;
    Ok(l.local_addr().map_err(io("find a free port"))?.port())
}
