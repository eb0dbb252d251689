//! The running daemon: start-up, the event loop, and its orderly end.
//!
//! Start-up order matters. First the responder lock (`REQUEST_DIR/.fence_watcher.lock`, see
//! `gfs2_fence_protocol::lock`): a second daemon on the spool refuses to start before it
//! recovers or scans anything, since its recovery would re-run fences the first one is running.
//! Then, for "no request is ever missed": the inotify watch, then the claimed requests left by
//! a previous run are recovered, then `REQUEST_DIR` is scanned; only then are events processed.
//! A name seen twice (event and scan) is handled once.
//!
//! Beside it: `watch.rs` (inotify), `signals.rs`, `reload.rs` (SIGHUP), `drain.rs` (SIGTERM),
//! `heartbeat.rs` and `notify.rs` (systemd). The health probes (`crate::health`) start after
//! recovery and the first scan, and take each reloaded `[health]`.

pub mod drain;
pub mod heartbeat;
pub mod notify;
pub mod reload;
pub mod signals;
pub mod watch;

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use gfs2_fence_protocol::{LockHolder, ResponderLock, SpoolName, Timestamp};
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};

use crate::config::{fds, Cli, Config};
use crate::fencing::{AfterFence, Routes, Routing};
use crate::health::{Board, Prober};
use crate::observe::{metrics_http, retention};
use crate::requests::{self, recovery, Context, Spool};
use watch::{WatchEvent, Watcher};

/// Runs the daemon until a stop signal; the exit code says whether it ended cleanly.
pub async fn run(cfg: Config, cli: Cli) -> ExitCode {
    match start(cfg, cli).await {
        Ok(code) => code,
        Err(message) => {
            tracing::error!("{message}");
            notify::status(&format!("failed: {message}"));
            ExitCode::FAILURE
        }
    }
}

async fn start(mut cfg: Config, cli: Cli) -> Result<ExitCode, String> {
    raise_fd_limit(&cfg);
    let routes = Routes::build(&cfg).map_err(|e| e.to_string())?;
    let board = Arc::new(Board::default());
    board.set_simulated_routes(routes.simulated_levels());
    let spool = Spool::open(&cfg.request_dir, &cfg.response_dir).map_err(|e| e.to_string())?;
    // Held until this function returns, i.e. for the daemon's life; the kernel releases it on
    // any exit, `kill -9` included.
    let _lock = lock(&spool)?;
    // The watch comes before every scan, so a request published meanwhile is seen by one.
    let mut watcher = Watcher::new(&cfg.request_dir).map_err(|e| {
        format!(
            "cannot watch {} with inotify: {e}",
            cfg.request_dir.display()
        )
    })?;
    let mut signals =
        signals::Signals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let interval_secs = cfg.daemon.heartbeat_interval_secs;
    let hook = cfg.after_fence.as_ref().map(AfterFence::new).transpose();
    let hook = hook.map_err(|e| e.to_string())?;
    let routing = Arc::new(Routing::new(routes, hook));
    let d = Arc::new(Context::new(
        spool,
        routing.clone(),
        cfg.daemon.max_concurrent,
    ));
    d.metrics.inotify_fallback(watcher.polling());
    reload::announce_simulated(&d, &d.scheduler.routing().routes());
    let pulse = heartbeat::Pulse::new(interval_secs, board.clone());
    heartbeat::write(&d.spool.responses, &pulse).map_err(|e| e.to_string())?;
    d.metrics.heartbeat();
    if let Some(addr) = cfg.daemon.metrics_listen {
        let listener = metrics_http::bind(addr)
            .await
            .map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
        tracing::info!(
            "metrics on http://{}/metrics",
            listener.local_addr().unwrap_or(addr)
        );
        tokio::spawn(metrics_http::serve(listener, d.metrics.clone()));
    }
    if let Some(days) = cfg.daemon.response_retention_days {
        let d2 = d.clone();
        tokio::spawn(async move { retention::run(&d2.spool.responses, days).await });
    }
    tokio::spawn(requests::sweep::run(d.clone()));
    recovery::recover(&d);
    recovery::scan_requests(&d);
    // After recovery and the scan: the fences they start go first.
    let prober = Prober::start(
        cfg.health.clone(),
        routing,
        d.metrics.clone(),
        board.clone(),
    );
    let status = format!(
        "running: watching {}, answering in {}",
        cfg.request_dir.display(),
        cfg.response_dir.display()
    );
    tracing::info!(
        backends = cfg.backends.len(),
        max_concurrent = cfg.daemon.max_concurrent,
        "fence_watcher {} started; {status}",
        env!("CARGO_PKG_VERSION")
    );
    notify::ready(&status);
    let mut tick = ticker(interval_secs);
    loop {
        tokio::select! {
            events = watcher.next() => {
                let events = events.map_err(|e| format!("inotify failed: {e}"))?;
                for ev in events {
                    match ev {
                        WatchEvent::Name(raw) => on_name(&d, raw),
                        WatchEvent::Created(raw) if !d.spool.requests.being_written(&raw) => on_name(&d, raw),
                        WatchEvent::Created(_) => {}
                        WatchEvent::Rescan => recovery::scan_requests(&d),
                        WatchEvent::Mode { polling } => {
                            d.metrics.inotify_fallback(polling);
                            recovery::scan_requests(&d);
                        }
                        WatchEvent::Overflow => {
                            tracing::warn!("inotify queue overflowed: rescanning the request directory");
                            recovery::scan_requests(&d);
                        }
                        WatchEvent::DirGone => {
                            return Err(format!("the request directory {} was removed or renamed; exiting so the service restarts", cfg.request_dir.display()));
                        }
                    }
                }
            }
            _ = tick.tick() => {
                beat(&d, &pulse);
                spool_moved(&d)?;
            }
            _ = board.changed() => beat(&d, &pulse),
            _ = signals.term.recv() => break,
            _ = signals.int.recv() => break,
            _ = signals.hup.recv() => {
                if let Some(new) = reload::reload(&d, &cli, &cfg) {
                    board.set_simulated_routes(d.scheduler.routing().routes().simulated_levels());
                    prober.reconfigure(new.health.clone());
                    cfg = new;
                }
            }
        }
    }
    // No new probe round while stopping (one under way ends on its own).
    drop(prober);
    let grace = Duration::from_secs(cfg.daemon.grace_period_secs);
    let drained = drain(&d, grace, &mut tick, &pulse).await;
    Ok(if drained {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The soft limit of 1024 fds is far below what the configuration was checked against (the
/// hard limit): raise it, and say the figures.
fn raise_fd_limit(cfg: &Config) {
    let need = fds::needed(cfg.daemon.max_concurrent, cfg.after_fence.is_some());
    match fds::raise_soft_limit() {
        Ok((before, after)) => tracing::info!(
            "file descriptors: soft limit {before} raised to the hard limit {after}; the \
             configuration needs at most {need}"
        ),
        Err(e) => tracing::warn!(
            "cannot raise the soft file-descriptor limit {} to the hard limit: {e}",
            fds::soft_limit()
        ),
    }
}

/// Takes the one-responder-per-spool lock, or says who holds it.
fn lock(spool: &Spool) -> Result<ResponderLock, String> {
    let holder = LockHolder {
        pid: std::process::id(),
        host: gfs2_fence_protocol::hostname(),
        started: Timestamp::now(),
    };
    ResponderLock::acquire(&spool.requests, &holder).map_err(|e| format!("{e}; refusing to start"))
}

/// Waits for in-flight requests while still keeping the heartbeat and the watchdog alive.
async fn drain(
    d: &Arc<Context>,
    grace: Duration,
    tick: &mut Interval,
    pulse: &heartbeat::Pulse,
) -> bool {
    let done = drain::drain(d, grace);
    tokio::pin!(done);
    loop {
        tokio::select! {
            finished = &mut done => return finished,
            _ = tick.tick() => beat(d, pulse),
        }
    }
}

/// The only periodic work: one probe, one heartbeat touch and one watchdog ping. The
/// heartbeat is touched only when the probe proves a response could be published now, so the
/// agent's `monitor` fails while the response directory is full or read-only; meanwhile no
/// request is claimed, and when the probe succeeds again `REQUEST_DIR` is scanned, so the
/// requests left waiting are handled (those whose deadline passed meanwhile are answered
/// `expired`, cancelled ones `cancelled`, none is run late). The watchdog is still pinged: the
/// daemon is alive, and a restart would not make the disk writable.
fn beat(d: &Arc<Context>, pulse: &heartbeat::Pulse) {
    let probed = heartbeat::probe(&d.spool.responses);
    let status = match &probed {
        Ok(()) => format!("running: {} requests in flight", d.tasks()),
        Err(e) => format!("cannot publish responses ({e}); no new fence starts"),
    };
    match probed {
        Ok(()) => {
            match heartbeat::touch(&d.spool.responses, pulse) {
                Ok(()) => d.metrics.heartbeat(),
                Err(e) => tracing::error!("cannot touch the heartbeat: {e}"),
            }
            if d.set_publishable(true, &"the probe was published") {
                recovery::scan_requests(d);
            }
        }
        Err(e) => {
            d.set_publishable(false, &e);
        }
    }
    notify::watchdog(&status);
}

/// Checked on every tick: a spool directory renamed (and perhaps recreated) while the daemon
/// runs would leave it answering where nobody reads (RESPONSE_DIR) or deaf (REQUEST_DIR while
/// polling); exiting non-zero lets systemd restart it onto the directories the paths name now.
fn spool_moved(d: &Context) -> Result<(), String> {
    for (what, dir) in [
        ("response", &d.spool.responses),
        ("request", &d.spool.requests),
    ] {
        if !watch::still_named(dir.fd(), dir.path()) {
            return Err(format!(
                "the {what} directory {} was removed or renamed (it is no longer the directory \
                 opened at start); exiting so the service restarts",
                dir.path().display()
            ));
        }
    }
    Ok(())
}

fn ticker(heartbeat_secs: u64) -> Interval {
    let mut every = Duration::from_secs(heartbeat_secs);
    if let Some(w) = notify::watchdog_interval() {
        every = every.min(w);
    }
    let mut t = interval_at(Instant::now() + every, every);
    t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    t
}

fn on_name(d: &Arc<Context>, raw: OsString) {
    match SpoolName::from_bytes(raw.as_bytes()) {
        Ok(name) => requests::submit(d, name),
        Err(e) if e.is_ignorable() => {}
        Err(_) => requests::reject(d, &raw),
    }
}
