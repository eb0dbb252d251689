//! A real EC2 peer for tests: moto in server mode (PyPI `moto[server,ec2]` 5.2.5, with boto3
//! 1.44.5 as the second client), on 127.0.0.1 at a free port, stopped by PID on drop.
//!
//! The venv comes from env `MOTO_VENV` (default `/opt/gfs2-fencing-test/moto`, made by
//! `.ci/run`); without it [`crate::peers::require`] decides (a loud skip, a failure in CI).
//!
//! moto changes an instance's state at once, and never throttles. A real instance passes through
//! `stopping` and `pending` for seconds to minutes, and a real EC2 answers
//! `RequestLimitExceeded`: the launcher below patches moto's `Instance.stop`/`start` so the
//! change lands `delay` later (or never: `stuck`), and can refuse the first N `StopInstances`
//! with `RequestLimitExceeded` (moto's own error type and XML). It also writes moto's own view
//! of what happened (every EC2 call with its `Force` flag, every state an instance entered) to a
//! log, which tests read with [`Moto::events`]. The API, the signatures and the XML stay moto's.
//! Authentication: with `auth`, moto runs with `INITIAL_NO_AUTH_ACTION_COUNT=4`; the four free
//! calls create an IAM user, its access key, an `ec2:*` policy and its attachment, and from then
//! on moto checks every SigV4 signature (`AuthFailure` for an unknown key or a wrong secret).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{peers, procs, wait_for};

const DEFAULT_VENV: &str = "/opt/gfs2-fencing-test/moto";
/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// How to run the emulator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    /// Seconds a stop or start takes to land (0: at once, as moto does).
    pub delay: f64,
    /// Stops and starts never land: the instance stays `stopping` / `pending`.
    pub stuck: bool,
    /// The first N `StopInstances` are refused with `RequestLimitExceeded`.
    pub throttle: u32,
    /// Signatures are checked (IAM user, key and policy made at start).
    pub auth: bool,
}

/// A running moto; killed and waited for on drop.
pub struct Moto {
    child: Option<Child>,
    pub port: u16,
    pub opts: Opts,
    /// The access key the emulator accepts (`testing`/`testing` without `auth`).
    pub key_id: String,
    pub secret: String,
    dir: tempfile::TempDir,
}

pub fn venv() -> PathBuf {
    std::env::var_os("MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VENV))
}

/// moto's venv, for [`peers::require`].
pub fn installed() -> Vec<(bool, String)> {
    let server = venv().join("bin/moto_server");
    vec![(
        server.exists(),
        format!(
            "{} is missing (python3 -m venv $MOTO_VENV && $MOTO_VENV/bin/pip install \
             'moto[server,ec2]==5.2.5' boto3==1.44.5; .ci/run does it)",
            server.display()
        ),
    )]
}

/// A port nobody listens on now.
impl Moto {
    /// Starts moto, waits until it answers, and sets up auth when asked; `None` after a loud
    /// skip when the venv is missing (a panic in CI).
    pub fn start(test: &str, opts: Opts) -> Option<Moto> {
        if !peers::require(test, &installed()) {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("launch.py"), LAUNCH_PY).expect("launch.py");
        std::fs::write(dir.path().join("ec2ctl.py"), EC2CTL_PY).expect("ec2ctl.py");
        let port = crate::free_port();
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("log");
        let mut cmd = Command::new(venv().join("bin/python"));
        cmd.arg(dir.path().join("launch.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_PATCH_LOG", dir.path().join("events.log"))
            .env("MOTO_PATCH_DELAY", opts.delay.to_string())
            .env("MOTO_PATCH_STUCK", if opts.stuck { "1" } else { "0" })
            .env("MOTO_PATCH_THROTTLE", opts.throttle.to_string())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        if opts.auth {
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "4");
        }
        let child = cmd.spawn().expect("spawn moto");
        let mut moto = Moto {
            child: Some(child),
            port,
            opts,
            key_id: "testing".to_owned(),
            secret: "testing".to_owned(),
            dir,
        };
        let up = wait_for(Duration::from_secs(60), || moto.answers().then_some(()));
        assert!(
            up.is_some(),
            "moto on port {port} never answered:\n{}",
            moto.log()
        );
        if opts.auth {
            let out = moto.ctl(&["setup-auth"]);
            let mut words = out.split_whitespace();
            moto.key_id = words.next().expect("key id").to_owned();
            moto.secret = words.next().expect("secret").to_owned();
        }
        Some(moto)
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether `GET /moto-api/` answers 200.
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let req = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        let mut head = [0u8; 12];
        s.write_all(req.as_bytes()).is_ok()
            && s.read_exact(&mut head).is_ok()
            && head.ends_with(b"200")
    }

    /// Runs the boto3 helper (the second client) and returns its stdout.
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new(venv().join("bin/python"))
            .arg(self.dir.path().join("ec2ctl.py"))
            .args([self.endpoint().as_str(), &self.key_id, &self.secret])
            .args(args)
            .output()
            .expect("run ec2ctl.py");
        assert!(
            out.status.success(),
            "ec2ctl {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The argv of the boto3 helper with this emulator's endpoint and key, for a `command`
    /// backend (append `fence`, `{action}`, `{node}`: the seed's way, with a forced stop and
    /// boto3's waiters).
    pub fn ctl_argv(&self) -> Vec<String> {
        vec![
            venv().join("bin/python").display().to_string(),
            self.dir.path().join("ec2ctl.py").display().to_string(),
            self.endpoint(),
            self.key_id.clone(),
            self.secret.clone(),
        ]
    }

    /// Creates one instance per tag value (tag `Name`), returns their ids in order.
    pub fn create(&self, names: &[&str]) -> Vec<String> {
        let mut args = vec!["create"];
        args.extend_from_slice(names);
        self.ctl(&args).lines().map(str::to_owned).collect()
    }

    /// The state of `id` as boto3 reads it from moto.
    pub fn state(&self, id: &str) -> String {
        self.ctl(&["state", id]).trim().to_owned()
    }

    /// What moto saw, in order: `call StopInstances force=True i-...`, `state i-... stopped`.
    pub fn events(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("events.log")).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }

    /// The states `id` entered, in order.
    pub fn states_of(&self, id: &str) -> Vec<String> {
        let prefix = format!("state {id} ");
        self.events()
            .iter()
            .filter_map(|e| e.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    /// Writes a shared-credentials file (mode 0600) with `profile` holding `key_id`/`secret`.
    pub fn credentials_file(
        &self,
        dir: &Path,
        profile: &str,
        key_id: &str,
        secret: &str,
    ) -> PathBuf {
        let path = dir.join(format!("aws-credentials-{profile}"));
        let text = format!(
            "[{profile}]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
        );
        std::fs::write(&path, text).expect("credentials file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    /// Kills the emulator now (SIGKILL), waiting for it by PID.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            procs::wait_child(&mut child, Duration::from_secs(10));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            procs::stop_child(&mut child, Duration::from_secs(5));
        }
    }
}

/// Starts moto's server after patching it as the module documentation says.
const LAUNCH_PY: &str = r#"
import copy, os, sys, threading
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import Instance
from moto.ec2.responses.instances import InstanceResponse
LOG = os.environ["MOTO_PATCH_LOG"]
DELAY = float(os.environ.get("MOTO_PATCH_DELAY", "0"))
STUCK = os.environ.get("MOTO_PATCH_STUCK") == "1"
THROTTLE = [int(os.environ.get("MOTO_PATCH_THROTTLE", "0"))]
lock = threading.Lock()
def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")
def transition(orig, between, code):
    def patched(self):
        prev = copy.copy(self._state)
        if DELAY <= 0 and not STUCK:
            orig(self)
            log(f"state {self.id} {self._state.name}")
            return prev
        self._state.name, self._state.code = between, code
        log(f"state {self.id} {between}")
        def land():
            orig(self)
            log(f"state {self.id} {self._state.name}")
        if not STUCK:
            threading.Timer(DELAY, land).start()
        return prev
    return patched
Instance.stop = transition(Instance.stop, "stopping", 64)
Instance.start = transition(Instance.start, "pending", 0)
def traced(name, method):
    orig = getattr(InstanceResponse, method)
    def patched(self):
        ids = " ".join(self._get_param("InstanceIds", []) or [])
        if name == "StopInstances" and THROTTLE[0] > 0:
            THROTTLE[0] -= 1
            log(f"call {name} throttled {ids}")
            raise EC2ClientError("RequestLimitExceeded", "Request limit exceeded.")
        force = self._get_param("Force") if name == "StopInstances" else None
        log(f"call {name} force={force} {ids}")
        return orig(self)
    setattr(InstanceResponse, method, patched)
for name, method in [("DescribeInstances", "describe_instances"), ("StopInstances", "stop_instances"),
                     ("StartInstances", "start_instances"), ("RebootInstances", "reboot_instances")]:
    traced(name, method)
from moto.server import main
sys.exit(main(sys.argv[1:]))
"#;

/// The second client: boto3 against the emulator. `ec2ctl.py ENDPOINT KEY SECRET CMD ARGS`.
const EC2CTL_PY: &str = r#"
import json, sys, boto3
ep, key, secret, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def client(svc, k=key, s=secret):
    return boto3.client(svc, endpoint_url=ep, region_name="us-east-1",
                        aws_access_key_id=k, aws_secret_access_key=s)
ec2 = client("ec2")
if cmd == "setup-auth":
    iam = client("iam", "testing", "testing")
    iam.create_user(UserName="fence")
    k = iam.create_access_key(UserName="fence")["AccessKey"]
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    p = iam.create_policy(PolicyName="fence-ec2", PolicyDocument=json.dumps(doc))
    iam.attach_user_policy(UserName="fence", PolicyArn=p["Policy"]["Arn"])
    print(k["AccessKeyId"], k["SecretAccessKey"])
elif cmd == "create":
    image = ec2.describe_images()["Images"][0]["ImageId"]
    for name in args:
        r = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])
        print(r["Instances"][0]["InstanceId"])
elif cmd == "state":
    r = ec2.describe_instances(InstanceIds=args)
    print(r["Reservations"][0]["Instances"][0]["State"]["Name"])
elif cmd == "stop":
    ec2.stop_instances(InstanceIds=args, Force=True)
elif cmd == "fence":
    # The seed's way (its example 3, with the stop forced and the state waited for): the
    # benchmark's `command` backend. args: action node
    action, node = args
    r = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [node]}])
    iid = r["Reservations"][0]["Instances"][0]["InstanceId"]
    if action in ("off", "reboot"):
        ec2.stop_instances(InstanceIds=[iid], Force=True)
        ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    if action in ("on", "reboot"):
        ec2.start_instances(InstanceIds=[iid])
        ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1})
    print(f"{action} {iid} done")
else:
    sys.exit(f"unknown command {cmd}")
"#;
