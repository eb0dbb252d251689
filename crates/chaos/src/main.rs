//! `gfs2-chaos`: the command line. The campaign by default; `backend`, `flood`,
//! `inotify-hog`, `hook`, `hook-child` and `liar` are the helper processes the campaign runs
//! (this same executable).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gfs2_chaos::campaign::{Campaign, Config};
use gfs2_chaos::world::Ids;
use gfs2_chaos::{backend, hogs, hook, liar, oracle, report};

/// A chaos campaign against fence_watcher and fence_gfs2_recorder. Exit status: 0 when every
/// oracle held, 1 when one failed, 2 when the campaign could not run.
#[derive(Parser)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    helper: Option<Helper>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct RunArgs {
    /// Seed of every random choice (default: a fresh one, printed first).
    #[arg(long)]
    seed: Option<u64>,
    /// Agents to run after the warm-up.
    #[arg(long, default_value_t = 300)]
    exchanges: usize,
    /// Fault classes: all, none, or a comma-separated list (see faults::CLASSES).
    #[arg(long, default_value = "all")]
    faults: String,
    /// Agents at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Writes the summary, violations and whole history as JSON here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Number of distinct nodes.
    #[arg(long, default_value_t = 6)]
    nodes: u64,
    /// Smallest and largest gap between two faults, in ms.
    #[arg(long, default_value = "300", value_name = "MS")]
    fault_gap_min: u64,
    #[arg(long, default_value = "1500", value_name = "MS")]
    fault_gap_max: u64,
    /// At least one fault per N exchanges (a debt paid no faster than the shortest gap; 0: by
    /// time only), so that a fast campaign gets its share.
    #[arg(long, default_value_t = 0, value_name = "N")]
    fault_every: usize,
    /// Shortest and longest backend run, in ms (backlog nodes always take 0-5 ms).
    #[arg(long, default_value_t = 20, value_name = "MS")]
    backend_min_ms: u64,
    #[arg(long, default_value_t = 500, value_name = "MS")]
    backend_max_ms: u64,
    /// Longest `fence_timeout` of an agent, in seconds (the shortest is 4).
    #[arg(long, default_value_t = 20, value_name = "S")]
    fence_timeout_max: u64,
    /// systemd's RestartSec for the daemon, in seconds.
    #[arg(long, default_value_t = 2.0)]
    restart_sec: f64,
    /// uid (and gid) of the daemon, agents and hogs when run as root.
    #[arg(long, default_value_t = 61_000)]
    uid: u32,
    /// Upper bound of the campaign, in seconds.
    #[arg(long, default_value_t = 3600)]
    max_secs: u64,
    /// Keeps the campaign directory even when every oracle held.
    #[arg(long)]
    keep: bool,
}

#[derive(Subcommand)]
enum Helper {
    /// The logging command backend (run by the daemon).
    #[command(hide = true)]
    Backend(backend::BackendArgs),
    /// Holds connections to the metrics port.
    #[command(hide = true)]
    Flood {
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long)]
        conns: usize,
        #[arg(long)]
        secs: u64,
    },
    /// Judges the history saved in a --report file again (after a change to the oracle).
    Judge { report: PathBuf },
    /// Holds every inotify instance the user may have.
    #[command(hide = true)]
    InotifyHog {
        #[arg(long)]
        secs: u64,
    },
    /// The after-fence hook (run by the daemon).
    #[command(hide = true)]
    Hook {
        #[arg(long)]
        mode: PathBuf,
        #[arg(long)]
        log: PathBuf,
        node: String,
        action: String,
    },
    /// A hook's background child: lives `secs` unless killed.
    #[command(hide = true)]
    HookChild {
        #[arg(long)]
        secs: u64,
    },
    /// A lying third-party responder on the spool.
    #[command(hide = true)]
    Liar {
        #[arg(long)]
        requests: PathBuf,
        #[arg(long)]
        responses: PathBuf,
        #[arg(long)]
        log: PathBuf,
        #[arg(long)]
        secs: u64,
        #[arg(long)]
        permille: u64,
        #[arg(long)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.helper {
        Some(h) => helper(h),
        None => campaign(cli.run),
    }
}

fn helper(h: Helper) -> ExitCode {
    match h {
        Helper::Backend(args) => match backend::run(&args) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => {
                eprintln!("gfs2-chaos backend: {e}");
                ExitCode::from(3)
            }
        },
        Helper::Flood { addr, conns, secs } => {
            hogs::flood(addr, conns, secs);
            ExitCode::SUCCESS
        }
        Helper::Judge { report } => judge(&report),
        Helper::InotifyHog { secs } => {
            hogs::inotify_hog(secs);
            ExitCode::SUCCESS
        }
        Helper::Hook {
            mode, log, node, ..
        } => {
            hook::run(&mode, &log, &node);
            ExitCode::SUCCESS
        }
        Helper::HookChild { secs } => {
            std::thread::sleep(Duration::from_secs(secs));
            ExitCode::SUCCESS
        }
        Helper::Liar {
            requests,
            responses,
            log,
            secs,
            permille,
            seed,
        } => {
            liar::run(&liar::LiarArgs {
                requests: &requests,
                responses: &responses,
                log: &log,
                secs,
                permille,
                seed,
            });
            ExitCode::SUCCESS
        }
    }
}

fn judge(path: &std::path::Path) -> ExitCode {
    let doc: serde_json::Value = match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("gfs2-chaos: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let history: gfs2_chaos::history::History = match serde_json::from_value(doc["history"].clone())
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("gfs2-chaos: {} holds no history: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let seed = doc["summary"]["seed"].as_u64().unwrap_or(0);
    let warmup = doc["summary"]["warmup_exchanges"].as_u64().unwrap_or(0);
    let starts = doc["summary"]["daemon_starts"].as_u64().unwrap_or(0);
    let verdict = oracle::check(&history, oracle::Tolerance::default());
    let to_usize = |n: u64| usize::try_from(n).unwrap_or(0);
    let mut s = report::summarize(&history, &verdict, seed, to_usize(warmup), to_usize(starts));
    s.wall_secs = doc["summary"]["wall_secs"].as_f64().unwrap_or(0.0);
    let t0 = history.instances.first().map_or(0, |i| i.start_ns);
    print!("{}", report::text(&history, &verdict, &s, t0));
    if verdict.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn fresh_seed() -> u64 {
    gfs2_chaos::history::now_ns() ^ (u64::from(std::process::id()) << 32)
}

fn config(a: &RunArgs, seed: u64) -> Config {
    let root = rustix::process::geteuid().is_root();
    let me = rustix::process::geteuid().as_raw();
    let id = if root { a.uid } else { me };
    Config {
        seed,
        exchanges: a.exchanges,
        faults: a.faults.clone(),
        concurrency: a.concurrency.max(1),
        nodes: a.nodes.max(1),
        fault_gap_ms: (a.fault_gap_min, a.fault_gap_max.max(a.fault_gap_min)),
        fault_every: a.fault_every,
        fence_timeout_s: (4, a.fence_timeout_max.max(4)),
        backend_ms: (a.backend_min_ms, a.backend_max_ms.max(a.backend_min_ms)),
        backend_fail_permille: 30,
        restart_delay: Duration::from_secs_f64(a.restart_sec.max(0.0)),
        daemon_nofile: 1024,
        max_concurrent: 16,
        ids: Ids { uid: id, gid: id },
        max_wall: Duration::from_secs(a.max_secs),
    }
}

fn campaign(a: RunArgs) -> ExitCode {
    let seed = a.seed.unwrap_or_else(fresh_seed);
    println!(
        "gfs2-chaos: seed {seed} (replay: gfs2-chaos --seed {seed} --exchanges {} --faults {} \
         --concurrency {} --backend-min-ms {} --backend-max-ms {} --fence-timeout-max {} --fault-every {})",
        a.exchanges,
        a.faults,
        a.concurrency,
        a.backend_min_ms,
        a.backend_max_ms,
        a.fence_timeout_max,
        a.fault_every
    );
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let mut c = match Campaign::new(config(&a, seed), stop) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gfs2-chaos: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = c.run() {
        c.finish();
        c.keep();
        eprintln!("gfs2-chaos: {e} (seed {seed})");
        return ExitCode::from(2);
    }
    let verdict = oracle::check(&c.history, oracle::Tolerance::default());
    let mut s = report::summarize(&c.history, &verdict, seed, c.warmup, c.daemon_starts());
    s.wall_secs = c.started.elapsed().as_secs_f64();
    s.cut_short = c.cut_short;
    print!("{}", report::text(&c.history, &verdict, &s, c.start_ns));
    if let Some(path) = &a.report {
        let doc = serde_json::json!({"summary": s, "violations": verdict.violations, "history": c.history});
        if let Err(e) = std::fs::write(path, doc.to_string()) {
            eprintln!("gfs2-chaos: cannot write {}: {e}", path.display());
        }
    }
    if verdict.violations.is_empty() && !a.keep {
        return ExitCode::SUCCESS;
    }
    c.keep();
    if verdict.violations.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!(
        "gfs2-chaos: FAILED: {} violation(s); replay with --seed {seed}",
        verdict.violations.len()
    );
    ExitCode::from(1)
}
