//! Helpers shared by the `backend_*` tests: building a backend from a TOML table, making jobs,
//! and looking at processes. The backends come from the library
//! (`fence_watcher::backend`), so these tests run without the daemon around them.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use gfs2_fence_protocol::{Action, NodeName, RequestId};

use fence_watcher::backend::{Backend, BackendConfig, FenceJob};

/// Parses one `[backends.<name>]` table and builds it.
pub fn build(toml_table: &str) -> Result<Arc<dyn Backend>, String> {
    let cfg = parse(toml_table)?;
    cfg.build("test").map_err(|e| e.to_string())
}

/// Parses one `[backends.<name>]` table.
pub fn parse(toml_table: &str) -> Result<BackendConfig, String> {
    toml::from_str::<BackendConfig>(toml_table).map_err(|e| e.to_string())
}

pub fn job(node: &str, action: Action) -> FenceJob {
    FenceJob {
        request_id: RequestId::parse("req-1").expect("request id"),
        node: NodeName::parse(node).expect("node name"),
        action,
        gfs2_filesystems: vec![],
    }
}

/// Writes an executable script.
pub fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Writes a file with the given mode.
pub fn file(path: &Path, body: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).expect("write file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Whether a process with this pid is alive (not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The command lines of every process, NUL separators turned into spaces.
pub fn all_cmdlines() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .collect()
}

/// Waits (bounded) until `f` is true; returns whether it became true.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    f()
}

/// A real BMC: OpenIPMI's `ipmi_sim` on 127.0.0.1:`port` with one admin user, its chassis power
/// kept in a file (`1` on, `0` off) by a `chassis_control` helper (see shared/docs/peers.md).
/// Stopped (SIGTERM, then waited for) on drop.
pub struct IpmiSim {
    child: std::process::Child,
    pub port: u16,
    pub power_file: std::path::PathBuf,
    pub password_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub const IPMI_USER: &str = "admin";
pub const IPMI_PASSWORD: &str = "s3cretPW-ipmi";

impl IpmiSim {
    /// Starts a simulator, or returns `None` after a loud SKIPPED line when the tools are missing.
    pub fn start(port: u16) -> Option<IpmiSim> {
        IpmiSim::start_with(port, false)
    }

    /// `stuck`: the BMC accepts power commands but the power never changes (a broken BMC).
    pub fn start_with(port: u16, stuck: bool) -> Option<IpmiSim> {
        for tool in ["/usr/bin/ipmi_sim", "/usr/bin/ipmitool"] {
            if !Path::new(tool).exists() {
                eprintln!("SKIPPED: ipmi_sim test because {tool} is not installed (apt-get install openipmi ipmitool)");
                return None;
            }
        }
        // A simulator of an earlier run may still be exiting (it takes up to 2 s).
        if !eventually(15, || {
            std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
        }) {
            let holders = std::process::Command::new("ss").args(["-uanp"]).output();
            let holders = holders.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
            panic!("udp port {port} stays in use (these tests own 6270-6279): {holders:?}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let power_file = d.join("power");
        std::fs::write(&power_file, "1\n").expect("power file");
        let helper = if stuck {
            CHASSIS_SH.replace("power) echo \"$val\" > \"$STATE\";;", "power) : ;;")
        } else {
            CHASSIS_SH.to_owned()
        };
        assert!(!stuck || helper != CHASSIS_SH, "stuck helper not applied");
        script(&d.join("chassis.sh"), &helper);
        let conf = LAN_CONF
            .replace("@PORT@", &port.to_string())
            .replace("@GUID@", &format!("a123456789abcdefa123456789ab{port:04}"))
            .replace(
                "@HELPER@",
                &format!(
                    "{} {}",
                    d.join("chassis.sh").display(),
                    power_file.display()
                ),
            )
            .replace("@USER@", IPMI_USER)
            .replace("@PW@", IPMI_PASSWORD);
        std::fs::write(d.join("lan.conf"), conf).expect("lan.conf");
        std::fs::write(d.join("bmc.emu"), BMC_EMU).expect("bmc.emu");
        let password_file = d.join("ipmi.pw");
        file(&password_file, &format!("{IPMI_PASSWORD}\n"), 0o600);
        let log = std::fs::File::create(d.join("ipmi_sim.log")).expect("log");
        let child = std::process::Command::new("/usr/bin/ipmi_sim")
            .args(["-c", "lan.conf", "-f", "bmc.emu", "-n", "-p"])
            .current_dir(d)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn ipmi_sim");
        let sim = IpmiSim {
            child,
            port,
            power_file,
            password_file,
            _dir: dir,
        };
        assert!(
            eventually(30, || sim.status().is_some()),
            "ipmi_sim on port {port} never answered"
        );
        Some(sim)
    }

    /// `ipmitool chassis power status` through the simulator: the observed state line.
    pub fn status(&self) -> Option<String> {
        let out = std::process::Command::new("/usr/bin/ipmitool")
            .args([
                "-I",
                "lanplus",
                "-C",
                "3",
                "-H",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
            ])
            .args(["-U", IPMI_USER, "-f"])
            .arg(&self.password_file)
            .args(["chassis", "power", "status"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// The simulated power: "1" or "0".
    pub fn power(&self) -> String {
        std::fs::read_to_string(&self.power_file)
            .expect("power file")
            .trim()
            .to_owned()
    }

    pub fn set_power(&self, on: bool) {
        std::fs::write(&self.power_file, if on { "1\n" } else { "0\n" }).expect("power file");
    }
}

impl Drop for IpmiSim {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }
}

const CHASSIS_SH: &str = r#"#!/bin/sh
# ipmi_sim chassis_control helper: $1 = power state file; then get|set ...
STATE=$1; shift; op=$1; shift
case $op in
  get) for p in "$@"; do case $p in
         power) echo "power:$(cat "$STATE" 2>/dev/null || echo 1)";;
         boot)  echo "boot:default";;
         *) echo "Invalid parameter: $p"; exit 1;; esac; done;;
  set) while [ $# -gt 0 ]; do parm=$1; val=$2; shift 2; case $parm in
         power) echo "$val" > "$STATE";;
         shutdown) [ "$val" = 1 ] && echo 0 > "$STATE";;
         reset|boot) : ;;
         identify) shift ;;
         *) echo "Invalid parameter: $parm"; exit 1;; esac; done;;
  *) exit 1;;
esac
exit 0
"#;

const LAN_CONF: &str = r#"name "node1"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 @PORT@
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid @GUID@
  endlan
  chassis_control "@HELPER@"
  user 2 true "@USER@" "@PW@" admin 10 md5
"#;

const BMC_EMU: &str = "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\n\
sel_enable 0x20 50 0x0a\nmc_enable 0x20\n";
