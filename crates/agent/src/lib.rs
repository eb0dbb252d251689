//! `fence_gfs2_recorder`: the Pacemaker fence agent of gfs2-fencing, as a library; the binary
//! (`main.rs`) only collects its arguments and calls [`run`].
//!
//! Options come from argv or (Pacemaker's way) standard input, are checked in two stages
//! ([`parse`], [`settings`]), and the action runs. Informational actions (`metadata`,
//! `manpage`, `--help`, `--version`) touch no file and no setting, so they work as any user.
//! No async runtime and few dependencies: Pacemaker starts the agent every minute per device.

pub mod actions;
mod cancel;
mod diag;
pub mod events;
/// The detailed event log's file name in `LOG_DIR`, for `gfs2-fencing`'s views.
pub use events::DETAILED_LOG;
mod exchange;
pub mod exit;
mod guard;
pub mod heartbeat;
pub mod ledger;
pub mod metadata;
mod monitor;
pub mod options;
mod out;
pub mod parse;
mod records;
pub mod settings;
pub mod text;
pub mod unfence;
mod verdict;
mod wait;

use std::ffi::OsString;

use diag::Diag;
use events::EventLog;
pub use exit::Exit;
use settings::{AgentAction, Invocation};

/// Runs the agent with `args` (without the program name); options are read from standard input
/// when `args` is empty, as fencing.py does.
pub fn run(args: &[OsString]) -> Exit {
    if args.first().is_some_and(|a| a == guard::GUARD_ARG) {
        return guard::run(&args[1..]);
    }
    let raw = parse::from_process(args);
    let quiet = raw.flag(options::key::QUIET);
    for w in &raw.warnings {
        if !quiet {
            crate::out::errln!("{}: warning: {w}", metadata::AGENT);
        }
    }
    let action = match settings::action(&raw) {
        Ok(a) => a,
        Err(e) => return usage(&e.0),
    };
    if action.informational {
        return inform(action.action);
    }
    let env = |k: &str| std::env::var(k).ok();
    match Invocation::new(action, &raw, &env) {
        Ok(inv) => act(&inv),
        Err(e) => {
            if let (AgentAction::Fence(a), Some(dir)) =
                (action.action, settings::log_dir(&raw, &env))
            {
                EventLog::new(dir).record(&events::Event {
                    status: events::Status::Invalid,
                    action: a.as_str(),
                    target: None,
                    request_id: None,
                    discovery: None,
                    recorder: &gfs2_fence_protocol::hostname(),
                    details: &e.0,
                    duration: std::time::Duration::ZERO,
                    by: None,
                    archived: None,
                });
            }
            usage(&e.0)
        }
    }
}

fn usage(msg: &str) -> Exit {
    crate::out::errln!("{}: error: {msg}", metadata::AGENT);
    crate::out::errln!("{}: Please use '-h' for usage", metadata::AGENT);
    Exit::Failure
}

fn inform(action: AgentAction) -> Exit {
    let text = match action {
        AgentAction::Help => metadata::help(),
        AgentAction::Version => format!("{} {}\n", metadata::AGENT, env!("CARGO_PKG_VERSION")),
        AgentAction::Manpage => metadata::manpage(),
        _ => metadata::metadata(),
    };
    emit(&text)
}

/// Prints an answer that is only stdout (`out.rs` says why a closed pipe is still a success).
fn emit(text: &str) -> Exit {
    match out::stdout(text) {
        Ok(()) => Exit::Success,
        Err(e) if out::answered_anyway(&e) => Exit::Success,
        Err(e) => {
            out::errln!(
                "{}: error: cannot write to standard output: {e}",
                metadata::AGENT
            );
            Exit::Failure
        }
    }
}

fn act(inv: &Invocation) -> Exit {
    let s = &inv.settings;
    let diag = Diag::new(s.verbose, s.quiet, s.debug_file.as_deref());
    match (inv.action.action, &s.target) {
        (AgentAction::Fence(a), Some(target)) => {
            let mut log = EventLog::new(s.log_dir.clone());
            exchange::fence(a, s, target, &diag, &mut log)
        }
        (AgentAction::Status, Some(target)) => records::status(s, target, &diag),
        (AgentAction::List, _) => records::list(s, false, &diag),
        (AgentAction::ListStatus, _) => records::list(s, true, &diag),
        (AgentAction::Monitor, _) => monitor::monitor(s, &diag),
        (AgentAction::ValidateAll, _) => monitor::validate(s, &diag),
        // The typed stage already required a target for fencing and status.
        _ => usage("plug: no node to act on"),
    }
}
