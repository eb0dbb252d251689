//! One private spool tree per test: request, response and log directories in a temporary
//! directory, readers for what the binaries left there, and requests published the way any
//! conforming writer publishes them (through the protocol crate), for tests of the daemon alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gfs2_fence_protocol::{
    Action, Gfs2Discovery, Heartbeat, LevelHealth, NodeName, Publish, Request, Response, SpoolDir,
    SpoolName, HEARTBEAT_FILE,
};
use serde_json::Value;

/// How long [`Spool::wait_response`] waits: generous, the machine is small and shared.
const PATIENCE: Duration = Duration::from_secs(30);

/// The three log files the agent writes.
pub const LOG_FILES: [&str; 3] = [
    "fence-events.log",
    "fence-events-readable.log",
    "fence-events-detailed.jsonl",
];

/// A temporary `requests/`, `responses/`, `log/` tree, removed on drop.
pub struct Spool {
    tmp: tempfile::TempDir,
    pub requests: PathBuf,
    pub responses: PathBuf,
    pub logs: PathBuf,
}

impl Spool {
    /// A fresh tree with the request and response directories (as an installation creates
    /// them); the agent creates its log directory itself.
    pub fn new() -> Spool {
        let spool = Spool::without_dirs();
        for dir in [&spool.requests, &spool.responses] {
            std::fs::create_dir(dir).expect("create a spool directory");
        }
        spool
    }

    /// A fresh tree where none of the directories exists yet: for tests of how the daemon
    /// creates them (mode 0750), or of a refused start that must create nothing.
    pub fn without_dirs() -> Spool {
        let tmp = tempfile::Builder::new()
            .prefix("gfs2-systests.")
            .tempdir()
            .expect("a temporary directory");
        let root = tmp.path().to_path_buf();
        Spool {
            requests: root.join("requests"),
            responses: root.join("responses"),
            logs: root.join("log"),
            tmp,
        }
    }

    /// A spool on directories the test does not own (an installation's default paths, see
    /// [`crate::host_dirs`]): only the daemon's log and the test's files go to the temporary
    /// directory; nothing is created at the three paths.
    pub fn at(requests: &str, responses: &str, logs: &str) -> Spool {
        let mut spool = Spool::without_dirs();
        spool.requests = requests.into();
        spool.responses = responses.into();
        spool.logs = logs.into();
        spool
    }

    /// The temporary directory, for files a test adds (configs, markers).
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// `name` in the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    /// `gfs2-fencing ARGS` on this spool: its request, response and log directories given as
    /// flags (they win over the environment and any configuration), standard input closed.
    pub fn ctl(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(crate::bins::bin("gfs2-fencing"));
        c.args(args)
            .arg("--request-dir")
            .arg(&self.requests)
            .arg("--response-dir")
            .arg(&self.responses)
            .arg("--log-dir")
            .arg(&self.logs)
            .stdin(std::process::Stdio::null());
        c
    }

    /// Writes the daemon's configuration file `fence-watcher.toml`; returns its path.
    pub fn config(&self, text: &str) -> PathBuf {
        self.write("fence-watcher.toml", text, 0o640)
    }

    /// Publishes a request for `node` due in `timeout`, as the agent would; returns its name.
    pub fn request(&self, node: &str, action: Action, timeout: Duration) -> (SpoolName, Request) {
        let req = Request::new(
            action,
            NodeName::parse(node).expect("valid node"),
            Gfs2Discovery::disabled("test"),
            "test-recorder".into(),
            timeout,
        );
        let name = self.publish(&req);
        (name, req)
    }

    /// Publishes `req` under its own name.
    pub fn publish(&self, req: &Request) -> SpoolName {
        let name = SpoolName::parse(&format!("{}.json", req.request_id)).expect("name");
        self.publish_as(&name, &req.to_json());
        name
    }

    /// Publishes `bytes` as `name` (durably, replacing), creating the request directory 0750
    /// if the daemon has not yet.
    pub fn publish_as(&self, name: &SpoolName, bytes: &[u8]) {
        let dir = SpoolDir::create(&self.requests, 0o750).expect("request dir");
        dir.publish(name, bytes, Publish::Replace).expect("publish");
    }

    /// Waits (up to 30 s) for the response named `name` and parses it.
    pub fn wait_response(&self, name: &str) -> Response {
        let p = self.responses.join(name);
        let bytes = crate::wait_for(PATIENCE, || std::fs::read(&p).ok());
        let bytes = bytes.unwrap_or_else(|| panic!("no response {name} within {PATIENCE:?}"));
        Response::from_json(&bytes).expect("response parses")
    }

    /// Whether `.claimed` (every entry, dot-files too) empties within `bound`. The daemon
    /// removes a claim just after publishing its response, so a look at the very moment the
    /// response appears may still see it.
    pub fn claimed_drained(&self, bound: Duration) -> bool {
        let claimed = self.requests.join(".claimed");
        let empty = || Spool::list(&claimed).is_empty().then_some(());
        crate::wait_for(bound, empty).is_some()
    }

    /// Every name in `dir`, dot-files included, sorted; none if it is missing.
    pub fn list(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Every `*.json` response, parsed with the protocol crate, sorted by file name.
    pub fn responses(&self) -> Vec<(String, Response)> {
        json_names(&self.responses)
            .into_iter()
            .map(|name| {
                let bytes = std::fs::read(self.responses.join(&name)).expect("read a response");
                let r = Response::from_json(&bytes)
                    .unwrap_or_else(|e| panic!("response {name} does not parse: {e}"));
                (name, r)
            })
            .collect()
    }

    /// The only response for `node`; panics when there is none or more than one.
    pub fn response_for(&self, node: &str) -> (String, Response) {
        let mut all: Vec<_> = self
            .responses()
            .into_iter()
            .filter(|(_, r)| r.target_node.as_str() == node)
            .collect();
        assert_eq!(
            all.len(),
            1,
            "expected one response for {node}, found {all:?}"
        );
        all.remove(0)
    }

    /// The records archived in `RESPONSE_DIR/.unfenced/` for `node` (by an accepted `on` or
    /// `gfs2-fencing unfence`), parsed, sorted by their archive name.
    pub fn archived_for(&self, node: &str) -> Vec<(String, Response)> {
        let dir = self.responses.join(".unfenced");
        Spool::list(&dir)
            .into_iter()
            .filter(|n| !n.starts_with('.'))
            .filter_map(|name| {
                let bytes = std::fs::read(dir.join(&name)).expect("read an archived record");
                let r = Response::from_json(&bytes)
                    .unwrap_or_else(|e| panic!("archived {name} does not parse: {e}"));
                (r.target_node.as_str() == node).then_some((name, r))
            })
            .collect()
    }

    /// Names still in the request directory or its `.claimed/` subdirectory (temporary files
    /// and the daemon's `.rejected/` excluded): must be empty once every request is answered.
    pub fn pending(&self) -> Vec<String> {
        let mut left = json_names(&self.requests);
        let claimed = json_names(&self.requests.join(".claimed"));
        left.extend(claimed.into_iter().map(|n| format!(".claimed/{n}")));
        left
    }

    /// [`Spool::pending`] once it is empty, or what is still there after `bound`. The daemon
    /// removes its `.claimed` copy just *after* publishing the response the agent waits for,
    /// so an immediate look races with it.
    pub fn drained(&self, bound: std::time::Duration) -> Vec<String> {
        let _ = crate::wait_for(bound, || self.pending().is_empty().then_some(()));
        self.pending()
    }

    /// A log file's text, empty when it does not exist.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.join(name)).unwrap_or_default()
    }

    /// The agent's detailed log, one JSON value per line.
    pub fn events(&self) -> Vec<Value> {
        self.log(LOG_FILES[2])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
            .collect()
    }

    /// Writes `text` to `name` in the temporary directory (configs, scripts); returns the path.
    pub fn write(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.root().join(name);
        std::fs::write(&path, text).expect("write a test file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    /// Lines of a file in the temporary directory (a backend's run log); none if missing.
    pub fn lines(&self, name: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.root().join(name)).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }

    /// The agent's detailed events for `node` with `event` (`requested`, `completed`, ...).
    pub fn events_for(&self, node: &str, event: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["target_node"] == node && e["event"] == event)
            .collect()
    }

    /// The daemon's heartbeat file.
    pub fn heartbeat(&self) -> PathBuf {
        self.responses.join(HEARTBEAT_FILE)
    }

    /// Level `level` (1-based) of `node` in the daemon's heartbeat, once it has been probed.
    pub fn level_health(&self, node: &str, level: u32) -> Option<LevelHealth> {
        let hb = Heartbeat::from_json(&std::fs::read(self.heartbeat()).ok()?)?;
        let n = hb.health?.nodes.into_iter().find(|n| n.node == node)?;
        n.levels.into_iter().find(|l| l.level == level)
    }
}

impl Default for Spool {
    fn default() -> Self {
        Spool::new()
    }
}

/// Protocol-visible names (`*.json`, not starting with a dot) in `dir`; none if it is missing.
fn json_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && n.ends_with(".json"))
        .collect();
    names.sort();
    names
}
