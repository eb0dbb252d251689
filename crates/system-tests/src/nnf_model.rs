//! A model of nnf-sos's view of the response directory, for tests: nnf-sos itself (a Go
//! Kubernetes controller for the HPE/NNF storage nodes) cannot run here, so this applies its
//! rule exactly as `docs/protocol.md` ("The real consumer in the field", its 2026 versions)
//! states it, and nothing more.
//!
//! - **The fenced-node rule:** a reconcile reads every `*.json` in RESPONSE_DIR (directories and
//!   other names skipped, by extension only, not a recursive walk) with a plain read (Go's
//!   `os.ReadFile`: no link-count or owner check), and marks `target_node` fenced when the file
//!   says `success: true` or `status: "success"`, whatever the action.
//! - **When it reconciles:** at once on fsnotify Write (inotify `IN_MODIFY`, `IN_CLOSE_WRITE`)
//!   and Remove (`IN_DELETE`) events in the directory, for any name; never on a rename
//!   (`IN_MOVED_FROM`/`IN_MOVED_TO`) or a creation alone; and on its periodic reconcile, which
//!   a test may leave off ([`NnfModel::start`] with `None`) to show what the events alone do,
//!   or call by hand ([`NnfModel::rescan`]).
//!
//! Every event the model received is kept in order, each batch recorded only after the
//! reconcile it triggered, so a test can wait until the model has *seen* an event and then
//! assert what that event did to the fenced set, with no timing assumption.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use inotify::{EventMask, Inotify, WatchMask};
use serde_json::Value;

/// What the model knows, shared with its thread.
#[derive(Debug, Default)]
struct State {
    fenced: BTreeSet<String>,
    /// Every event received: its mask and name.
    seen: Vec<(EventMask, Option<OsString>)>,
    reconciles: usize,
}

/// The running model; its thread stops on drop.
pub struct NnfModel {
    dir: PathBuf,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The events that make nnf-sos reconcile at once: fsnotify Write and Remove.
fn triggers(mask: EventMask) -> bool {
    mask.intersects(EventMask::MODIFY | EventMask::CLOSE_WRITE | EventMask::DELETE)
}

impl NnfModel {
    /// Watches `dir` and reconciles once at start, as nnf-sos does; with `periodic`, also every
    /// `periodic`.
    pub fn start(dir: &Path, periodic: Option<Duration>) -> NnfModel {
        let inotify = Inotify::init().expect("inotify");
        let mask = WatchMask::MODIFY
            | WatchMask::CLOSE_WRITE
            | WatchMask::DELETE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::CREATE;
        inotify
            .watches()
            .add(dir, mask)
            .expect("watch RESPONSE_DIR");
        let mut model = NnfModel {
            dir: dir.to_path_buf(),
            state: Arc::default(),
            stop: Arc::default(),
            thread: None,
        };
        model.rescan();
        let (dir, state, stop) = (model.dir.clone(), model.state.clone(), model.stop.clone());
        model.thread = Some(std::thread::spawn(move || {
            run(inotify, &dir, &state, &stop, periodic)
        }));
        model
    }

    /// The nodes the model holds fenced now.
    pub fn fenced(&self) -> BTreeSet<String> {
        self.lock().fenced.clone()
    }

    /// How many reconciles ran (the one at start included).
    pub fn reconciles(&self) -> usize {
        self.lock().reconciles
    }

    /// Whether an event whose mask contains `mask` for `name` was received (and its reconcile,
    /// if it triggers one, done).
    pub fn saw(&self, mask: EventMask, name: &str) -> bool {
        self.lock()
            .seen
            .iter()
            .any(|(m, n)| m.contains(mask) && n.as_deref() == Some(name.as_ref()))
    }

    /// Waits (up to 30 s) until [`NnfModel::saw`]; panics with what was seen otherwise.
    pub fn wait_saw(&self, mask: EventMask, name: &str) {
        let seen = crate::wait_for(Duration::from_secs(30), || {
            self.saw(mask, name).then_some(())
        });
        assert!(
            seen.is_some(),
            "the model saw no {mask:?} for {name} in 30 s: {:?}",
            self.lock().seen
        );
    }

    /// The periodic reconcile, run now.
    pub fn rescan(&self) {
        reconcile(&self.dir, &self.state);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for NnfModel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The model's loop: each batch of events reconciles once if any of them triggers, then is
/// recorded; the periodic reconcile when it is due.
fn run(
    mut inotify: Inotify,
    dir: &Path,
    state: &Mutex<State>,
    stop: &AtomicBool,
    periodic: Option<Duration>,
) {
    let mut buf = [0u8; 4096];
    let mut last = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let batch: Vec<(EventMask, Option<OsString>)> = match inotify.read_events(&mut buf) {
            Ok(events) => events
                .map(|e| (e.mask, e.name.map(OsString::from)))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Vec::new(),
            Err(e) => panic!("the nnf model cannot read its inotify events: {e}"),
        };
        if batch.iter().any(|(m, _)| triggers(*m)) {
            reconcile(dir, state);
        }
        if periodic.is_some_and(|p| last.elapsed() >= p) {
            reconcile(dir, state);
            last = Instant::now();
        }
        if batch.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.seen.extend(batch);
    }
}

/// One reconcile: the fenced set from every `*.json` of the directory, by the rule.
fn reconcile(dir: &Path, state: &Mutex<State>) {
    let mut fenced = BTreeSet::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let is_json = name.to_str().is_some_and(|n| n.ends_with(".json"));
        if !is_json || entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let success = v["success"] == Value::Bool(true) || v["status"] == "success";
        if let (true, Some(node)) = (success, v["target_node"].as_str()) {
            fenced.insert(node.to_owned());
        }
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.fenced = fenced;
    s.reconciles += 1;
}
