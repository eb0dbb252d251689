//! A responder that answers every request at once with `success: true`, for measuring the
//! agent's own fence overhead (`bench.sh`). Not a fence component: it fences nothing.
//!
//! Usage: `instant_responder REQUEST_DIR RESPONSE_DIR` (runs until killed).

use std::path::PathBuf;

use gfs2_fence_protocol::{
    Outcome, Publish, Request, Response, SpoolDir, SpoolName, MAX_SPOOL_FILE,
};
use inotify::{Inotify, WatchMask};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(rq), Some(rs)) = (args.next(), args.next()) else {
        return Err("usage: instant_responder REQUEST_DIR RESPONSE_DIR".into());
    };
    let mut inotify = Inotify::init()?;
    inotify
        .watches()
        .add(&rq, WatchMask::MOVED_TO | WatchMask::CLOSE_WRITE)?;
    let (rq, rs) = (SpoolDir::open(rq)?, SpoolDir::open(rs)?);
    let mut buf = [0u8; 4096];
    loop {
        for ev in inotify.read_events_blocking(&mut buf)? {
            let Some(name) = ev
                .name
                .and_then(|n| SpoolName::from_bytes(n.as_encoded_bytes()).ok())
            else {
                continue;
            };
            answer(&rq, &rs, &name);
        }
    }
}

fn answer(rq: &SpoolDir, rs: &SpoolDir, name: &SpoolName) {
    let Ok(bytes) = rq.read(name.as_str(), MAX_SPOOL_FILE) else {
        return;
    };
    let Ok(req) = Request::from_json(&bytes) else {
        return;
    };
    let mut resp = Response::to_request(&req, Outcome::Success, "instant".into(), "bench".into());
    // to_request writes executed: false; the agent refuses a success that was not executed.
    resp.executed = Some(true);
    if rs
        .publish(name, &resp.to_json(), Publish::NoReplace)
        .is_ok()
    {
        let _ = rq.remove(name.as_str());
    }
}
