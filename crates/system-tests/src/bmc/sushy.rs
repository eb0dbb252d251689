//! A real Redfish peer for tests: sushy-emulator (sushy-tools 2.2.0, fake driver) on loopback,
//! with a fresh state dir, a self-signed certificate (openssl CLI), basic auth (bcrypt htpasswd
//! made with the venv's python bcrypt) and a password file for the backend under test.
//!
//! The venv comes from env `SUSHY_VENV` (default `/opt/gfs2-fencing-test/sushy`). Without it (or
//! without openssl) [`crate::peers::require`] decides: the test is SKIPPED loudly, and fails in CI. "FAST" mode patches `random.randint` to 0
//! so power changes show on the next GET; normal mode keeps the emulator's 1-11 s delay.
//! Shared by the system tests and the watcher's redfish tests (a dev-dependency). Ports: the
//! watcher's redfish tests use 8450-8459, the system tests' peers suites 8460-8469, one instance
//! per test (cargo runs test binaries one after another; every instance is waited for on drop).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "admin";
pub const PASSWORD: &str = "s3cret-PW-7731";
pub const U1: &str = "11111111-1111-4111-8111-111111111111";
pub const U2: &str = "22222222-2222-4222-8222-222222222222";
const DEFAULT_VENV: &str = "/opt/gfs2-fencing-test/sushy";

/// How to run the emulator.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    pub port: u16,
    /// Seconds a power change takes, pinned (`random.randint` patched): `Some(0)` applies it on
    /// the next GET ("FAST"); `None` keeps the emulator's own `int(time.time()) + randint(1, 11)`,
    /// whose truncation makes the real delay anywhere from ~0 to 11 s. A test that needs a
    /// delay window pins it: `Some(n)` gives n-1 to n seconds.
    pub delay: Option<u32>,
    /// TLS with the self-signed certificate (else plain HTTP).
    pub tls: bool,
}

impl Opts {
    pub fn fast(port: u16) -> Opts {
        Opts {
            port,
            delay: Some(0),
            tls: true,
        }
    }
}

/// A running emulator; stopped (SIGTERM, then SIGKILL) and waited for on drop.
pub struct Sushy {
    pub dir: tempfile::TempDir,
    pub opts: Opts,
    child: Option<Child>,
}

pub fn venv() -> PathBuf {
    std::env::var_os("SUSHY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VENV))
}

fn run(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Sushy {
    /// Starts an emulator with systems node1 (U1) and node2 (U2), both On.
    pub fn start(opts: Opts) -> Option<Sushy> {
        if !crate::peers::require("redfish emulator test", &crate::peers::sushy()) {
            return None;
        }
        let python = venv().join("bin/python");
        let dir = tempfile::tempdir().expect("tempdir");
        let sushy = Sushy {
            dir,
            opts,
            child: None,
        };
        sushy.write_files(&python);
        Some(sushy.spawn(&python))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_files(&self, python: &Path) {
        let d = self.dir.path();
        run(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "7",
                    "-subj",
                    "/CN=localhost",
                ])
                .args([
                    "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout",
                ])
                .arg(d.join("key.pem"))
                .arg("-out")
                .arg(d.join("cert.pem")),
            "openssl req",
        );
        let hash = run(
            Command::new(python).args([
                "-c",
                "import bcrypt,sys; print(sys.argv[1]+':'+bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt(rounds=5)).decode())",
                USER,
                PASSWORD,
            ]),
            "bcrypt htpasswd",
        );
        fs::write(d.join("htpasswd"), hash.stdout).expect("htpasswd");
        write_secret(&d.join("password"), PASSWORD);
        fs::write(d.join("emulator.conf"), self.config()).expect("emulator.conf");
    }

    fn config(&self) -> String {
        let d = self.dir.path().display();
        let tls = if self.opts.tls {
            format!("SUSHY_EMULATOR_SSL_CERT = '{d}/cert.pem'\nSUSHY_EMULATOR_SSL_KEY = '{d}/key.pem'\n")
        } else {
            String::new()
        };
        format!(
            "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\nSUSHY_EMULATOR_LISTEN_PORT = {port}\n{tls}\
             SUSHY_EMULATOR_AUTH_FILE = '{d}/htpasswd'\nSUSHY_EMULATOR_FAKE_DRIVER = True\n\
             SUSHY_EMULATOR_STATE_DIR = '{d}/state'\nSUSHY_EMULATOR_FAKE_SYSTEMS = [\n\
             {{'uuid': '{U1}', 'name': 'node1', 'power_state': 'On', 'nics': []}},\n\
             {{'uuid': '{U2}', 'name': 'node2', 'power_state': 'On', 'nics': []}},\n]\n",
            port = self.opts.port
        )
    }

    fn spawn(mut self, python: &Path) -> Sushy {
        self.launch(python);
        self
    }

    /// Starts the emulator again (after [`Sushy::kill_now`]) on the same port and state.
    pub fn restart(&mut self) {
        self.kill_now();
        self.launch(&venv().join("bin/python"));
    }

    fn launch(&mut self, python: &Path) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("emulator.log"))
            .expect("log");
        let mut cmd = Command::new(python);
        let pin = match self.opts.delay {
            Some(n) => format!("import random; random.randint=lambda a,b: {n}; "),
            None => String::new(),
        };
        cmd.args([
            "-c",
            &format!(
                "{pin}import sys; from sushy_tools.emulator.main import main; sys.exit(main())"
            ),
        ]);
        cmd.arg("--config").arg(self.path("emulator.conf"));
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn sushy-emulator"));
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Some(Some(status)) = self.child.as_mut().map(|c| c.try_wait().expect("try_wait"))
            {
                panic!("sushy-emulator exited with {status}: {}", self.log());
            }
            let code = self.curl(&["-o", "/dev/null", "-w", "%{http_code}"], "/redfish/v1/");
            if code == "200" {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sushy-emulator did not answer within 30 s: {}", self.log());
    }

    pub fn base(&self) -> String {
        let scheme = if self.opts.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.opts.port)
    }

    /// curl with the CA file and credentials: an independent client to check the state.
    fn curl(&self, args: &[&str], path: &str) -> String {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "10", "--cacert"])
            .arg(self.path("cert.pem"))
            .args(["-u", &format!("{USER}:{PASSWORD}")])
            .args(args)
            .arg(format!("{}{path}", self.base()))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// PowerState of a system, read with curl (not with the code under test).
    pub fn power_state(&self, uuid: &str) -> String {
        let body = self.curl(&[], &format!("/redfish/v1/Systems/{uuid}"));
        let json: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        json["PowerState"]
            .as_str()
            .unwrap_or("(missing)")
            .to_owned()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.path("emulator.log")).unwrap_or_default()
    }

    /// How many `ComputerSystem.Reset` POSTs the emulator answered (from its access log).
    pub fn reset_posts(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("POST ") && l.contains("/Actions/ComputerSystem.Reset"))
            .count()
    }

    /// SHA-256 of the DER certificate, as `pinned_cert_sha256` wants it.
    pub fn cert_sha256(&self) -> String {
        let out = run(
            Command::new("openssl")
                .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
                .arg(self.path("cert.pem")),
            "openssl x509 -fingerprint",
        );
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .rsplit('=')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// A `redfish` backend table for this emulator: TLS with `ca_file`, basic auth, 50 ms polls,
    /// 20 s timeout. `changes` are (key, TOML value) pairs that replace or add keys; an empty
    /// value removes the key. `tail` is appended (for `[nodes.X]` tables).
    pub fn backend_toml(&self, changes: &[(&str, &str)], tail: &str) -> String {
        let d = self.dir.path().display();
        let mut keys: Vec<(String, String)> = vec![
            ("host".into(), "\"127.0.0.1\"".into()),
            ("port".into(), self.opts.port.to_string()),
            ("username".into(), format!("\"{USER}\"")),
            ("password_file".into(), format!("\"{d}/password\"")),
            ("poll_interval_ms".into(), "50".into()),
            ("timeout_secs".into(), "20".into()),
        ];
        if self.opts.tls {
            keys.push(("ca_file".into(), format!("\"{d}/cert.pem\"")));
        } else {
            keys.push(("scheme".into(), "\"http\"".into()));
            keys.push(("allow_http".into(), "true".into()));
        }
        for (key, value) in changes {
            keys.retain(|(k, _)| k != key);
            if !value.is_empty() {
                keys.push(((*key).to_owned(), (*value).to_owned()));
            }
        }
        let mut text: String = keys.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        text.push_str(tail);
        text
    }

    /// Kills the emulator at once (SIGKILL) and waits for it.
    pub fn kill_now(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Sushy {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_child(&child),
            rustix::process::Signal::TERM,
        );
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Writes a file only its owner can read.
pub fn write_secret(path: &Path, text: &str) {
    fs::write(path, format!("{text}\n")).expect("write secret");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod secret");
}
