//! One campaign: a warm-up without faults (the resource baseline), then `exchanges` agents,
//! `concurrency` at a time, with faults injected at random intervals, then a quiescent period
//! after which the history is collected and judged.
//!
//! The seed fixes every choice (nodes, actions, timeouts, which fault and when, durations);
//! the operating system's scheduling is not replayed, so a replay retraces the same campaign,
//! not the same interleaving.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::agents::{Ask, Running};
use crate::error::{ChaosError, Result};
use crate::faults::{self, Ctx, Fault};
use crate::history::{now_ns, FaultRecord, History};
use crate::rng::Rng;
use crate::supervisor::Supervisor;
use crate::world::{Ids, World, WorldSpec};

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub exchanges: usize,
    pub faults: String,
    pub concurrency: usize,
    /// Node names are `node-01` ..: few enough that exchanges collide on a node.
    pub nodes: u64,
    /// Milliseconds between two injections (uniform).
    pub fault_gap_ms: (u64, u64),
    /// At least one injection per this many exchanges started (0: by time only), so that a
    /// fast campaign still gets its share of faults.
    pub fault_every: usize,
    pub fence_timeout_s: (u64, u64),
    pub backend_ms: (u64, u64),
    pub backend_fail_permille: u64,
    /// systemd's `RestartSec` of the unit.
    pub restart_delay: Duration,
    /// The soft fd limit the daemon gets: systemd's default when the unit sets none.
    pub daemon_nofile: u64,
    pub max_concurrent: usize,
    pub ids: Ids,
    /// Upper bound of the whole campaign; past it no agent is started.
    pub max_wall: Duration,
}

/// The campaign's state.
pub struct Campaign {
    cfg: Config,
    w: World,
    daemon: Supervisor,
    agents: Vec<Running>,
    skews: Vec<i64>,
    faults: Vec<Box<dyn Fault>>,
    active: Vec<(usize, u64, Instant, usize)>,
    pub history: History,
    pub warmup: usize,
    spawned: usize,
    ex_rng: Rng,
    fault_rng: Rng,
    stop: Arc<AtomicBool>,
    pub started: Instant,
    pub start_ns: u64,
    /// Set when the time bound cut the campaign short.
    pub cut_short: bool,
    last_sample: Instant,
}

const TICK: Duration = Duration::from_millis(10);
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

impl Campaign {
    /// Sets up the world and starts the daemon.
    pub fn new(cfg: Config, stop: Arc<AtomicBool>) -> Result<Campaign> {
        let faults = faults::parse_list(&cfg.faults)?;
        let spec = WorldSpec {
            ids: cfg.ids,
            tmpfs: faults.iter().any(|f| f.needs_tmpfs()),
            hook: faults.iter().any(|f| f.class() == "hostile-hook"),
            bmc: faults
                .iter()
                .any(|f| f.class() == "lying-bmc")
                .then_some(cfg.seed),
            backend_ms: cfg.backend_ms,
            backend_fail_permille: cfg.backend_fail_permille,
            max_concurrent: cfg.max_concurrent,
        };
        limit_nofile(cfg.daemon_nofile);
        let w = World::create(&spec)?;
        Ok(Campaign {
            ex_rng: Rng::new(cfg.seed, 1),
            fault_rng: Rng::new(cfg.seed, 2),
            daemon: Supervisor::new(cfg.restart_delay),
            cfg,
            w,
            agents: Vec::new(),
            skews: Vec::new(),
            faults,
            active: Vec::new(),
            history: History::default(),
            warmup: 0,
            spawned: 0,
            stop,
            started: Instant::now(),
            start_ns: now_ns(),
            cut_short: false,
            last_sample: Instant::now(),
        })
    }

    pub fn world(&self) -> &World {
        &self.w
    }

    pub fn keep(&mut self) {
        self.w.keep();
    }

    /// How many times the daemon was started.
    pub fn daemon_starts(&self) -> usize {
        self.daemon.starts()
    }

    fn interrupted(&self) -> Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(ChaosError::Setup("interrupted".to_owned()));
        }
        Ok(())
    }

    /// Runs everything; the history is then complete.
    pub fn run(&mut self) -> Result<()> {
        self.wait_ready()?;
        self.warmup = 2 * self.cfg.concurrency;
        self.phase(self.warmup, false)?;
        self.quiesce()?;
        self.history.baseline = self.daemon.pid().and_then(crate::procs::resources);
        let total = self.warmup + self.cfg.exchanges;
        self.phase(total, true)?;
        self.revert_all()?;
        self.phase(total, false)?;
        self.quiesce()?;
        self.history.hook_survivors = self.hook_survivors();
        self.history.final_resources = self.settled_resources();
        self.daemon.shutdown(&mut self.w, Duration::from_secs(20));
        crate::collect::collect(&self.w, &mut self.history);
        Ok(())
    }

    fn wait_ready(&mut self) -> Result<()> {
        let end = Instant::now() + Duration::from_secs(30);
        while !self.daemon.ready(&self.w) {
            self.interrupted()?;
            self.daemon.poll(&mut self.w)?;
            if Instant::now() > end {
                return Err(ChaosError::Setup(format!(
                    "fence_watcher wrote no heartbeat within 30 s; see {}",
                    self.w.paths.out.display()
                )));
            }
            std::thread::sleep(TICK);
        }
        Ok(())
    }

    /// Runs agents until `upto` were started and all ended; injects faults if `faulty`.
    fn phase(&mut self, upto: usize, faulty: bool) -> Result<()> {
        let mut next_fault = Instant::now() + self.fault_gap();
        let (first, mut injected) = (self.spawned, 0);
        let mut last_fault = Instant::now();
        loop {
            self.interrupted()?;
            self.tick()?;
            if self.started.elapsed() > self.cfg.max_wall && self.spawned < upto {
                self.cut_short = true;
            }
            while self.agents.len() < self.cfg.concurrency && self.spawned < upto && !self.cut_short
            {
                self.spawn()?;
            }
            // By count too: one fault owed per `fault_every` exchanges of this phase, never two
            // closer than the shortest gap (a stretch of instant failures, a full REQUEST_DIR,
            // runs up a debt that is paid when exchanges slow down, not a storm at once).
            let owed = (self.spawned - first)
                .checked_div(self.cfg.fault_every)
                .unwrap_or(0);
            let by_count = injected < owed
                && last_fault.elapsed() >= Duration::from_millis(self.cfg.fault_gap_ms.0);
            if faulty
                && !self.faults.is_empty()
                && self.spawned < upto
                && (Instant::now() >= next_fault || by_count)
                && self.inject()?
            {
                next_fault = Instant::now() + self.fault_gap();
                injected += 1;
                last_fault = Instant::now();
            }
            self.revert_due(false)?;
            if self.agents.is_empty() && (self.spawned >= upto || self.cut_short) {
                return Ok(());
            }
            std::thread::sleep(TICK);
        }
    }

    fn tick(&mut self) -> Result<()> {
        self.daemon.poll(&mut self.w)?;
        self.w.poll();
        self.sample();
        let mut i = 0;
        while i < self.agents.len() {
            if let Some(rec) = self.agents[i].poll() {
                self.history.agents.push(rec);
                self.agents.swap_remove(i);
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    /// Every 100 ms after the baseline: the daemon's peak fds and RSS.
    fn sample(&mut self) {
        if self.history.baseline.is_none() || self.last_sample.elapsed() < SAMPLE_EVERY {
            return;
        }
        self.last_sample = Instant::now();
        let Some(now) = self.daemon.pid().and_then(crate::procs::resources) else {
            return;
        };
        let peak = self.history.peak.get_or_insert(now);
        peak.fds = peak.fds.max(now.fds);
        peak.rss_kib = peak.rss_kib.max(now.rss_kib);
    }

    /// Hook descendants alive after the quiescent period: a daemon that ends the hook's
    /// process group with the hook leaves none; waits a little for the group to be killed.
    fn hook_survivors(&mut self) -> Vec<u32> {
        let end = Instant::now() + Duration::from_secs(crate::hook::TIMEOUT_SECS + 3);
        loop {
            let left: Vec<u32> = crate::procs::running_from(&self.w.paths.bin)
                .into_iter()
                .filter(|p| crate::hook::is_child(*p))
                .collect();
            if left.is_empty() || Instant::now() > end || self.stop.load(Ordering::Relaxed) {
                return left;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn fault_gap(&mut self) -> Duration {
        Duration::from_millis(
            self.fault_rng
                .range(self.cfg.fault_gap_ms.0, self.cfg.fault_gap_ms.1),
        )
    }

    fn spawn(&mut self) -> Result<()> {
        let r = &mut self.ex_rng;
        let mut node = format!("node-{:02}", r.range(1, self.cfg.nodes));
        // A quarter of the exchanges through the lying BMC (drawn only when it runs, so that
        // other campaigns replay as before).
        if self.w.bmc.is_some() && r.chance(250) {
            let nodes = crate::bmc::NODES;
            node = nodes[usize::from(r.chance(500))].0.to_owned();
        }
        let action = match r.range(0, 19) {
            0..=8 => "reboot",
            9..=17 => "off",
            _ => "on",
        };
        let fence_timeout_s = r.range(self.cfg.fence_timeout_s.0, self.cfg.fence_timeout_s.1);
        let ask = Ask {
            idx: self.spawned,
            node,
            action: action.to_owned(),
            fence_timeout_s,
            skew_s: self.skews.pop(),
        };
        self.agents.push(Running::spawn(&self.w, &ask)?);
        self.spawned += 1;
        Ok(())
    }

    /// Injects one fault of a random class; false when that class had nothing to act on.
    fn inject(&mut self) -> Result<bool> {
        let n = self.faults.len() as u64;
        let k = usize::try_from(self.fault_rng.range(0, n - 1)).unwrap_or(0);
        let mut cx = Ctx {
            w: &mut self.w,
            daemon: &mut self.daemon,
            agents: &mut self.agents,
            skews: &mut self.skews,
            history: &mut self.history,
        };
        let Some(inj) = self.faults[k].inject(&mut cx, &mut self.fault_rng)? else {
            return Ok(false);
        };
        let now = now_ns();
        self.history.faults.push(FaultRecord {
            class: self.faults[k].class().to_owned(),
            detail: inj.detail,
            start_ns: now,
            end_ns: now,
        });
        if let Some(d) = inj.lasts {
            let rec = self.history.faults.len() - 1;
            self.active.push((k, inj.token, Instant::now() + d, rec));
        }
        Ok(true)
    }

    /// Reverts the injections that are due (all of them when `all`).
    fn revert_due(&mut self, all: bool) -> Result<()> {
        let now = Instant::now();
        let (due, keep): (Vec<_>, Vec<_>) = self.active.drain(..).partition(|a| all || a.2 <= now);
        self.active = keep;
        for (k, token, _, rec) in due {
            let mut cx = Ctx {
                w: &mut self.w,
                daemon: &mut self.daemon,
                agents: &mut self.agents,
                skews: &mut self.skews,
                history: &mut self.history,
            };
            self.faults[k].revert(&mut cx, token)?;
            if let Some(f) = self.history.faults.get_mut(rec) {
                f.end_ns = now_ns();
            }
        }
        Ok(())
    }

    fn revert_all(&mut self) -> Result<()> {
        self.revert_due(true)?;
        self.skews.clear();
        Ok(())
    }

    /// Waits (bounded) until the daemon runs, nothing but it runs from our binaries, and the
    /// spool is drained: no request, nothing claimed, every announced request answered. A
    /// response that could not be written is retried within 30 s, so the bound is above that.
    fn quiesce(&mut self) -> Result<()> {
        let end = Instant::now() + Duration::from_secs(90);
        while Instant::now() < end {
            self.interrupted()?;
            self.tick()?;
            if self.daemon.ready(&self.w) && !self.w.retiring() && self.drained() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn drained(&self) -> bool {
        // Hook descendants are judged after this (they may live for minutes).
        let others = crate::procs::running_from(&self.w.paths.bin)
            .into_iter()
            .filter(|p| Some(*p) != self.daemon.pid() && !crate::hook::is_child(*p))
            .count();
        let p = &self.w.paths;
        let answered = self
            .history
            .agents
            .iter()
            .filter_map(|a| a.request.as_ref())
            .all(|n| {
                let archived = p.responses.join(gfs2_fence_protocol::UNFENCED_DIR).join(n);
                p.responses.join(n).exists() || archived.exists() || !p.requests.join(n).exists()
            });
        others == 0
            && answered
            && crate::collect::json_names(&p.requests).is_empty()
            && crate::collect::json_names(&p.requests.join(".claimed")).is_empty()
    }

    /// The daemon's resources once they settle (a metrics connection is dropped within 5 s;
    /// the bound is 20 s), or the last sample.
    fn settled_resources(&mut self) -> Option<crate::history::Resources> {
        let base = self.history.baseline?;
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let now = self.daemon.pid().and_then(crate::procs::resources);
            let settled =
                now.is_some_and(|r| r.fds <= base.fds + crate::oracle::Tolerance::default().fds);
            if settled || Instant::now() > end || self.stop.load(Ordering::Relaxed) {
                return now;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Ends everything the campaign still runs (also done by `Drop`, whatever happened).
    pub fn finish(&mut self) {
        let _ = self.revert_all();
        self.agents.clear();
        self.daemon.shutdown(&mut self.w, Duration::from_secs(5));
    }
}

/// Our own soft fd limit, which the daemon inherits: 1024 unless the unit sets `LimitNOFILE`.
fn limit_nofile(soft: u64) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut lim = getrlimit(Resource::Nofile);
    lim.current = Some(lim.maximum.map_or(soft, |m| m.min(soft)));
    let _ = setrlimit(Resource::Nofile, lim);
}
