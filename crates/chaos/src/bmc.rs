//! The lying BMC of the `lying-bmc` fault: a Redfish BMC for the `bmc-*` nodes, served by the
//! hostile server of the test harness (`system_tests::hostile_redfish`, a mock by necessity: no
//! real BMC or emulator lies on purpose) on a thread of the campaign. It keeps each system's
//! true power state and appends every change of it to the truth log, the oracle's ground truth
//! (as the run log is for the command backend). Honest between faults; while a fault lasts it
//! tells one [`Lie`]:
//!
//! - `accept-noop`: 204 to `ForceOff` and `ForceRestart`, and the power never changes;
//! - `redirect`: a reset POST answered `302` to the system (nothing done);
//! - `leak-headers`: a reset POST, and a third of the reads, answered 500 with a body quoting
//!   the request's head, `Authorization: Basic ...` included (nothing done);
//! - `busy`: 60% of the requests answered 503 with `Retry-After: 1` (nothing done);
//! - `flap`: the power of a system flips at random (a fifth of the reads), as a node whose
//!   power someone else toggles; resets are done.
//!
//! A BMC that reads back a state the node is not in would fool any client that reads it, so it
//! is not among the lies: every PowerState it reports is the true one, and the oracle can hold
//! the daemon to what it could see.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use system_tests::hostile_redfish::{system, HostileBmc, Req, Resp};

use crate::error::{ChaosError, Result};
use crate::history::now_ns;
use crate::rng::Rng;

/// The BMC's user; the password is [`PASSWORD`].
pub const USER: &str = "admin";
/// The BMC password: `+` and `/` make its URL-encoded form differ from it.
pub const PASSWORD: &str = "chaos-Bmc+pw/7q";
/// Reads after an honest `ForceRestart` during which the system stays Off.
const RESTART_OFF_READS: u8 = 2;

/// What the BMC does wrong now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lie {
    Honest,
    AcceptNoop,
    Redirect,
    LeakHeaders,
    Busy,
    Flap,
}

impl Lie {
    /// The lies a fault chooses from.
    pub const LIES: [Lie; 5] = [
        Lie::AcceptNoop,
        Lie::Redirect,
        Lie::LeakHeaders,
        Lie::Busy,
        Lie::Flap,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lie::Honest => "honest",
            Lie::AcceptNoop => "accept-noop",
            Lie::Redirect => "redirect",
            Lie::LeakHeaders => "leak-headers",
            Lie::Busy => "busy",
            Lie::Flap => "flap",
        }
    }
}

/// One change of a system's true power state (or its state when the BMC started).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    pub system: String,
    /// `On` or `Off`.
    pub power: String,
    pub t_ns: u64,
    /// What changed it: the reset type, `flap`, or `initial`.
    pub cause: String,
}

/// Parses the truth log; a line that does not parse is skipped.
pub fn truth_from_log(text: &str) -> Vec<Truth> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

struct State {
    power: HashMap<String, &'static str>,
    restarting: HashMap<String, u8>,
    lie: Lie,
    rng: Rng,
    log: std::fs::File,
    /// Lies told, by name (answers only: a lie in force that nobody asked about is none).
    told: BTreeMap<String, u64>,
}

/// The running lying BMC; the server stops when it is dropped.
pub struct LyingBmc {
    server: HostileBmc,
    state: Arc<Mutex<State>>,
}

impl LyingBmc {
    /// Starts the BMC for `systems` (all On, logged as such in `truth_log`).
    pub fn start(systems: &[String], truth_log: &Path, seed: u64) -> Result<LyingBmc> {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(truth_log)
            .map_err(ChaosError::io("open the lying BMC's truth log"))?;
        let mut st = State {
            power: HashMap::new(),
            restarting: HashMap::new(),
            lie: Lie::Honest,
            rng: Rng::new(seed, 0x626d63),
            log,
            told: BTreeMap::new(),
        };
        for s in systems {
            st.set(s, "On", "initial");
        }
        let state = Arc::new(Mutex::new(st));
        let shared = state.clone();
        let server = HostileBmc::start(move |req| answer(&mut lock(&shared), req))
            .map_err(ChaosError::io("start the lying BMC"))?;
        Ok(LyingBmc { server, state })
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// Tells `lie` from now on ([`Lie::Honest`]: stops lying).
    pub fn set_lie(&self, lie: Lie) {
        lock(&self.state).lie = lie;
    }

    /// Lies told so far, by name.
    pub fn told(&self) -> BTreeMap<String, u64> {
        lock(&self.state).told.clone()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    /// Sets the true power of `system` and logs it (one `write(2)`, no fsync: the campaign
    /// reads it back after the BMC stopped, in the same boot).
    fn set(&mut self, system: &str, power: &'static str, cause: &str) {
        self.power.insert(system.to_owned(), power);
        let t = Truth {
            system: system.to_owned(),
            power: power.to_owned(),
            t_ns: now_ns(),
            cause: cause.to_owned(),
        };
        if let Ok(mut line) = serde_json::to_vec(&t) {
            line.push(b'\n');
            let _ = self.log.write_all(&line);
        }
    }

    fn tell(&mut self) -> Lie {
        *self.told.entry(self.lie.name().to_owned()).or_default() += 1;
        self.lie
    }
}

/// The BMC's answer to one request.
fn answer(st: &mut State, req: &Req) -> Resp {
    let Some((id, reset)) = parse_path(&req.path) else {
        return Resp::new(404, "not found");
    };
    let Some(&power) = st.power.get(id) else {
        return Resp::new(404, "no such system");
    };
    let id = id.to_owned();
    let lie = st.lie;
    match lie {
        Lie::Busy if st.rng.chance(600) => {
            st.tell();
            return Resp::new(503, "busy").header("Retry-After", "1");
        }
        Lie::LeakHeaders if reset || st.rng.chance(333) => {
            st.tell();
            let body = format!(
                "{{\"error\": \"internal error while handling:\\n{}\"}}",
                req.head
            );
            return Resp::new(500, body.replace('\r', "").replace('\n', "\\n"));
        }
        _ => {}
    }
    if reset {
        return do_reset(st, &id, power, &req.body);
    }
    let power = read_power(st, &id, power);
    Resp::new(200, system(&id, power))
}

/// A read of the system: an honest restart under way goes On after a few reads; a flapping
/// node may change by itself.
fn read_power(st: &mut State, id: &str, power: &'static str) -> &'static str {
    if let Some(left) = st.restarting.get_mut(id) {
        *left = left.saturating_sub(1);
        if *left == 0 {
            st.restarting.remove(id);
            st.set(id, "On", "ForceRestart");
            return "On";
        }
        return power;
    }
    if st.lie == Lie::Flap && st.rng.chance(200) {
        st.tell();
        let flipped = if power == "On" { "Off" } else { "On" };
        st.set(id, flipped, "flap");
        return flipped;
    }
    power
}

fn do_reset(st: &mut State, id: &str, power: &'static str, body: &str) -> Resp {
    let reset = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("ResetType")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    let lie = st.lie;
    match lie {
        Lie::Redirect => {
            st.tell();
            return Resp::new(302, "").header("Location", format!("/redfish/v1/Systems/{id}"));
        }
        Lie::AcceptNoop if reset == "ForceOff" || reset == "ForceRestart" => {
            st.tell();
            return Resp::new(204, "");
        }
        _ => {}
    }
    match reset.as_str() {
        "ForceOff" if power == "On" => st.set(id, "Off", "ForceOff"),
        "On" | "ForceOn" if power == "Off" => st.set(id, "On", &reset),
        "ForceRestart" => {
            st.set(id, "Off", "ForceRestart");
            st.restarting.insert(id.to_owned(), RESTART_OFF_READS);
        }
        "ForceOff" | "On" | "ForceOn" => {}
        _ => return Resp::new(400, "unsupported ResetType"),
    }
    Resp::new(204, "")
}

/// `(system id, whether it is the reset action)` of a system's path.
fn parse_path(path: &str) -> Option<(&str, bool)> {
    let rest = path.strip_prefix("/redfish/v1/Systems/")?;
    match rest.split_once('/') {
        None => Some((rest, false)),
        Some((id, "Actions/ComputerSystem.Reset")) => Some((id, true)),
        Some(_) => None,
    }
}

/// The forms of the BMC's secret that must appear nowhere the campaign can read: the
/// password, URL-encoded, and the base64 of `user:password` (what `Authorization: Basic`
/// carries).
pub fn secret_forms() -> Vec<(&'static str, String)> {
    vec![
        ("password", PASSWORD.to_owned()),
        (
            "url-encoded password",
            PASSWORD.replace('+', "%2B").replace('/', "%2F"),
        ),
        (
            "base64 of user:password",
            base64(format!("{USER}:{PASSWORD}").as_bytes()),
        ),
    ]
}

/// Standard base64 with padding (no dependency for a dozen bytes).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The nodes the lying BMC serves, each by a `redfish` backend of its own reboot method.
pub const NODES: [(&str, &str); 2] = [("bmc-01", "onoff"), ("bmc-02", "restart")];

/// Whether `node` is fenced through the lying BMC (the oracle judges it by the truth log).
pub fn is_bmc_node(node: &str) -> bool {
    NODES.iter().any(|(n, _)| *n == node)
}

/// The configuration of the BMC's backends and routes, before the catch-all route.
pub fn config(bmc: &LyingBmc, password_file: &Path) -> String {
    let mut text = String::new();
    for (node, method) in NODES {
        let extra = format!(
            "system_uri = \"/redfish/v1/Systems/{{node}}\"\ntimeout_secs = 8\nreboot_method = \"{method}\"\n"
        );
        text += &format!(
            "[backends.bmc-{method}]\ntype = \"redfish\"\n{}\n[[topology]]\nnodes = [\"{node}\"]\nlevels = [\"bmc-{method}\"]\n\n",
            bmc.server.backend_toml(password_file, &extra)
        );
    }
    text
}

/// Every file under `dirs` (recursively) that holds a form of the secret: `path: form`.
pub fn leaks(dirs: &[&Path]) -> Vec<String> {
    let forms = secret_forms();
    let mut found = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.filter_map(|e| Some(e.ok()?.path())));
            }
        } else if meta.is_file() {
            for (form, _) in forms.iter().filter(|(_, s)| holds(&p, s.as_bytes())) {
                found.push(format!("{}: {form}", p.display()));
            }
        }
    }
    found.sort();
    found
}

/// Whether the file holds `needle`, read in 1 MiB pieces (an agent's or a hook's output may
/// be large).
fn holds(path: &Path, needle: &[u8]) -> bool {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        carry.extend_from_slice(&buf[..n]);
        if carry.windows(needle.len()).any(|w| w == needle) {
            return true;
        }
        let keep = carry.len().min(needle.len() - 1);
        carry.drain(..carry.len() - keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_values_and_the_forms_differ() {
        assert_eq!(base64(b"fence:pw"), "ZmVuY2U6cHc=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        let forms = secret_forms();
        assert_eq!(forms.len(), 3);
        assert_ne!(forms[0].1, forms[1].1);
    }

    #[test]
    fn paths_name_the_system_and_the_reset_action() {
        assert_eq!(
            parse_path("/redfish/v1/Systems/bmc-01"),
            Some(("bmc-01", false))
        );
        let reset = "/redfish/v1/Systems/bmc-01/Actions/ComputerSystem.Reset";
        assert_eq!(parse_path(reset), Some(("bmc-01", true)));
        assert_eq!(parse_path("/redfish/v1/"), None);
    }

    fn st(lie: Lie) -> (State, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(dir.path().join("t")).expect("log");
        let mut s = State {
            power: HashMap::new(),
            restarting: HashMap::new(),
            lie,
            rng: Rng::new(1, 1),
            log,
            told: BTreeMap::new(),
        };
        s.set("n", "On", "initial");
        (s, dir)
    }

    fn post(reset: &str) -> Req {
        Req {
            method: "POST".into(),
            path: "/redfish/v1/Systems/n/Actions/ComputerSystem.Reset".into(),
            head: "POST ... \r\nAuthorization: Basic c2VjcmV0\r\n\r\n".into(),
            body: format!("{{\"ResetType\": \"{reset}\"}}"),
        }
    }

    #[test]
    fn each_lie_leaves_the_power_as_it_was_and_honesty_changes_it() {
        for lie in [Lie::AcceptNoop, Lie::Redirect, Lie::LeakHeaders] {
            let (mut s, _d) = st(lie);
            let r = answer(&mut s, &post("ForceOff"));
            assert_eq!(s.power["n"], "On", "{}", lie.name());
            assert!(r.status == 204 || r.status >= 300, "{}", lie.name());
            assert_eq!(s.told.get(lie.name()), Some(&1));
        }
        let (mut s, _d) = st(Lie::LeakHeaders);
        let r = answer(&mut s, &post("ForceOff"));
        assert!(
            r.body.contains("Authorization: Basic c2VjcmV0"),
            "{}",
            r.body
        );
        let (mut s, _d) = st(Lie::Honest);
        assert_eq!(answer(&mut s, &post("ForceOff")).status, 204);
        assert_eq!(s.power["n"], "Off");
        answer(&mut s, &post("ForceRestart"));
        assert_eq!(s.power["n"], "Off", "a restart goes through Off");
    }
}
