//! The signals the daemon reacts to: SIGTERM/SIGINT end it (`drain.rs`), SIGHUP reloads the
//! configuration (`reload.rs`).

use tokio::signal::unix::{signal, Signal, SignalKind};

/// The signals the daemon reacts to.
pub struct Signals {
    pub term: Signal,
    pub int: Signal,
    pub hup: Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}
