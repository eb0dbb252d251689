//! Real BMCs for the system tests and the watcher's backend tests (`crates/watcher/tests/it/`),
//! one harness of each: OpenIPMI's `ipmi_sim` (this file) and sushy-emulator ([`sushy`]). The
//! ipmi_sim chassis helper here also appends every `set power` value to a log, so a test can see
//! that a reboot really went 0 then 1. Ports: ipmi_sim 6270-6279 (the watcher's backend tests),
//! 6280-6299 (6300-6349 for the benchmark burst), sushy 8460-8469.

pub mod sushy;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{peers, procs, wait_for};

pub const IPMI_USER: &str = "admin";
pub const IPMI_PASSWORD: &str = "s3cretPW-ipmi";

/// A simulated BMC on UDP 127.0.0.1:`port`; stopped (SIGTERM, waited for, by PID) on drop.
pub struct IpmiSim {
    child: Option<Child>,
    pub port: u16,
    /// The chassis power: `1` on, `0` off.
    pub power_file: PathBuf,
    /// Every `set power` the BMC received, one value a line.
    pub power_log: PathBuf,
    pub password_file: PathBuf,
    dir: tempfile::TempDir,
}

/// Whether ipmi_sim and ipmitool are installed, for [`peers::require`].
pub fn ipmi_installed() -> Vec<(bool, String)> {
    vec![
        peers::installed("/usr/bin/ipmi_sim"),
        peers::installed("/usr/bin/ipmitool"),
    ]
}

impl IpmiSim {
    /// Starts a simulator, or returns `None` after a loud SKIPPED line (panics in CI) when the
    /// tools are missing.
    pub fn start(test: &str, port: u16) -> Option<IpmiSim> {
        if !peers::require(test, &ipmi_installed()) {
            return None;
        }
        let sim = IpmiSim::spawn(port);
        let up = wait_for(Duration::from_secs(30), || sim.status());
        assert!(up.is_some(), "ipmi_sim on port {port} never answered");
        Some(sim)
    }

    /// Like [`IpmiSim::start`], but the BMC is broken: it accepts power commands and the power
    /// never changes.
    pub fn start_stuck(test: &str, port: u16) -> Option<IpmiSim> {
        if !peers::require(test, &ipmi_installed()) {
            return None;
        }
        let sim = IpmiSim::spawn_with(port, true);
        let up = wait_for(Duration::from_secs(30), || sim.status());
        assert!(up.is_some(), "ipmi_sim on port {port} never answered");
        Some(sim)
    }

    /// Starts the simulator without waiting for it to answer (the benchmark starts 50, then
    /// waits for them all with [`IpmiSim::status`]).
    pub fn spawn(port: u16) -> IpmiSim {
        IpmiSim::spawn_with(port, false)
    }

    fn spawn_with(port: u16, stuck: bool) -> IpmiSim {
        // A simulator of an earlier test may still be exiting (it takes up to 2 s).
        let free = wait_for(Duration::from_secs(15), || {
            std::net::UdpSocket::bind(("127.0.0.1", port))
                .ok()
                .map(drop)
        });
        assert!(free.is_some(), "udp port {port} stays in use");
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let power_file = d.join("power");
        let power_log = d.join("power.log");
        std::fs::write(&power_file, "1\n").expect("power file");
        std::fs::write(&power_log, "").expect("power log");
        let chassis = if stuck {
            CHASSIS_SH.replace(STUCK_FROM, "power) : ;;")
        } else {
            CHASSIS_SH.to_owned()
        };
        assert!(
            !stuck || chassis != CHASSIS_SH,
            "the stuck helper was not applied"
        );
        write_mode(&d.join("chassis.sh"), &chassis, 0o755);
        let helper = format!(
            "{} {} {}",
            d.join("chassis.sh").display(),
            power_file.display(),
            power_log.display()
        );
        let conf = LAN_CONF
            .replace("@PORT@", &port.to_string())
            .replace("@GUID@", &format!("a123456789abcdefa123456789ab{port:04}"))
            .replace("@HELPER@", &helper)
            .replace("@USER@", IPMI_USER)
            .replace("@PW@", IPMI_PASSWORD);
        std::fs::write(d.join("lan.conf"), conf).expect("lan.conf");
        std::fs::write(d.join("bmc.emu"), BMC_EMU).expect("bmc.emu");
        let password_file = d.join("ipmi.pw");
        write_mode(&password_file, &format!("{IPMI_PASSWORD}\n"), 0o600);
        let child = launch(d);
        IpmiSim {
            child: Some(child),
            port,
            power_file,
            power_log,
            password_file,
            dir,
        }
    }

    /// `ipmitool chassis power status` through the simulator, when it answers.
    pub fn status(&self) -> Option<String> {
        let out = Command::new("/usr/bin/ipmitool")
            .args(["-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
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
        let text = std::fs::read_to_string(&self.power_file).expect("power file");
        text.trim().to_owned()
    }

    /// Sets the simulated power behind the BMC's back (a node that came back by itself).
    pub fn set_power(&self, on: bool) {
        std::fs::write(&self.power_file, if on { "1\n" } else { "0\n" }).expect("power file");
    }

    /// Every `set power` value received so far, in order.
    pub fn power_sets(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.power_log).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }

    /// A daemon `[backends.NAME]` table of type `ipmitool` for this simulator, reading the
    /// password from `password_file` (the daemon's own copy, so that the BMC's can change apart
    /// from it).
    pub fn ipmitool_table(&self, name: &str, password_file: &str) -> String {
        format!(
            "[backends.{name}]\ntype = \"ipmitool\"\nhost = \"127.0.0.1\"\nport = {}\n\
             username = \"{IPMI_USER}\"\npassword_file = \"{password_file}\"\ntimeout_secs = 20\n",
            self.port
        )
    }

    /// The simulator's own directory (configuration, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Restarts the simulator (stopped or not) with `password` as its user's password: the
    /// BMC's password was changed, or put right. [`IpmiSim::password_file`] follows it; the
    /// chassis power and its log are kept. Waits until it answers with that password.
    pub fn restart_with_password(&mut self, password: &str) {
        self.stop();
        let free = wait_for(Duration::from_secs(15), || {
            std::net::UdpSocket::bind(("127.0.0.1", self.port))
                .ok()
                .map(drop)
        });
        assert!(free.is_some(), "udp port {} stays in use", self.port);
        let d = self.dir.path();
        let conf = std::fs::read_to_string(d.join("lan.conf")).expect("lan.conf");
        let user = format!("  user 2 true \"{IPMI_USER}\" ");
        let conf: String = conf
            .lines()
            .map(|l| match l.starts_with(&user) {
                true => format!("{user}\"{password}\" admin 10 md5\n"),
                false => format!("{l}\n"),
            })
            .collect();
        std::fs::write(d.join("lan.conf"), conf).expect("lan.conf");
        write_mode(&self.password_file, &format!("{password}\n"), 0o600);
        self.child = Some(launch(d));
        let up = wait_for(Duration::from_secs(30), || self.status());
        assert!(
            up.is_some(),
            "ipmi_sim on port {} never answered",
            self.port
        );
    }

    /// Stops the simulator now (the BMC goes dead), waiting for it by PID.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            procs::stop_child(&mut child, Duration::from_secs(10));
        }
    }
}

impl Drop for IpmiSim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs ipmi_sim on the configuration in `d`, logging to `d/ipmi_sim.log` (appended).
fn launch(d: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(d.join("ipmi_sim.log"))
        .expect("log");
    Command::new("/usr/bin/ipmi_sim")
        .args(["-c", "lan.conf", "-f", "bmc.emu", "-n", "-p"])
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("spawn ipmi_sim")
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// ipmi_sim's chassis_control helper: `$1` power state file, `$2` power log, then get|set ...
const CHASSIS_SH: &str = r#"#!/bin/sh
STATE=$1; LOG=$2; shift 2; op=$1; shift
case $op in
  get) for p in "$@"; do case $p in
         power) echo "power:$(cat "$STATE" 2>/dev/null || echo 1)";;
         boot)  echo "boot:default";;
         *) echo "Invalid parameter: $p"; exit 1;; esac; done;;
  set) while [ $# -gt 0 ]; do parm=$1; val=$2; shift 2; case $parm in
         power) echo "$val" > "$STATE"; echo "$val" >> "$LOG";;
         shutdown) [ "$val" = 1 ] && echo 0 > "$STATE" && echo 0 >> "$LOG";;
         reset|boot) : ;;
         identify) shift ;;
         *) echo "Invalid parameter: $parm"; exit 1;; esac; done;;
  *) exit 1;;
esac
exit 0
"#;

/// The line of [`CHASSIS_SH`] that a stuck BMC ignores.
const STUCK_FROM: &str = r#"power) echo "$val" > "$STATE"; echo "$val" >> "$LOG";;"#;

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
