//! A fence through the request/response files (`on`, `off`, `reboot`).
//!
//! Order matters: the response directory is watched before the request is published, so no
//! answer can be missed; the wait is event-driven and bounded by `fence_timeout`; a response is
//! read safely and must carry our `request_id`. On timeout or on Pacemaker's SIGTERM the request
//! is withdrawn with the cancel protocol of DESIGN.md, so no responder starts it afterwards.
//! An accepted `on` then archives the node's records out of RESPONSE_DIR (`unfence.rs`): nnf-sos
//! reads any success left there, the `on` answer included, as "the node is fenced".

use std::time::Instant;

use gfs2_fence_protocol::{
    Action, Gfs2Discovery, Publish, Request, Response, SpoolDir, SpoolError, SpoolName,
    MAX_SPOOL_FILE,
};

use crate::cancel;
use crate::diag::Diag;
use crate::events::{Event, EventLog, Status};
use crate::exit::Exit;
use crate::guard::Guard;
use crate::settings::Settings;
use crate::text::escape;
use crate::unfence;
use crate::wait::{wait, DirWatch, Signals, Wake};

/// One fence in progress: what every event line needs.
struct Fence<'a> {
    action: Action,
    s: &'a Settings,
    target: &'a gfs2_fence_protocol::NodeName,
    diag: &'a Diag,
    log: &'a mut EventLog,
    started: Instant,
    recorder: String,
    request: Option<Request>,
    discovery: Option<Gfs2Discovery>,
    guard: Option<Guard>,
}

/// Runs one fence; the exit status is 0 only for a response that says `success: true` and does
/// not contradict itself (`verdict.rs`).
pub fn fence(
    action: Action,
    s: &Settings,
    target: &gfs2_fence_protocol::NodeName,
    diag: &Diag,
    log: &mut EventLog,
) -> Exit {
    let mut f = Fence {
        action,
        s,
        target,
        diag,
        log,
        started: Instant::now(),
        recorder: gfs2_fence_protocol::hostname(),
        request: None,
        discovery: None,
        guard: None,
    };
    let exit = match f.run() {
        Ok(exit) => exit,
        Err((status, msg)) => f.end(status, &msg),
    };
    // Ended on our own terms: the guardian has nothing to do. Our inotify fd was closed when
    // run() returned, so the guardian's copy is the last one (see guard.rs).
    if let Some(g) = f.guard.take() {
        g.release();
    }
    exit
}

/// Who archives a node's records after a successful `on` (the `by` of its `unfenced` event).
const BY_ON: &str = "fence_gfs2_recorder -o on";

type Step<T> = Result<T, (Status, String)>;

fn failed(msg: impl std::fmt::Display) -> (Status, String) {
    (Status::Failed, msg.to_string())
}

impl Fence<'_> {
    fn run(&mut self) -> Step<Exit> {
        let signals = Signals::install()
            .map_err(|e| failed(format!("cannot install signal handlers: {e}")))?;
        let (requests, responses) = open_dirs(self.s).map_err(failed)?;
        let discovery = self.delay_and_discover(&signals)?;
        // Watch before publishing: an answer faster than us must not be missed.
        let mut watch = DirWatch::new(&responses)
            .map_err(|e| failed(format!("cannot watch {}: {e}", responses.path().display())))?;
        let request = Request::new(
            self.action,
            self.target.clone(),
            discovery,
            self.recorder.clone(),
            self.s.fence_timeout,
        );
        let name = SpoolName::for_request(&request.request_id, self.target, self.s.file_naming);
        self.publish(&requests, &name, &request, &watch)?;
        let ex = Exchange {
            requests: &requests,
            responses: &responses,
            name: &name,
            request: &request,
        };
        self.await_response(&ex, &signals, &mut watch)
    }

    /// `--delay`, then GFS2 discovery; a kill in either ends the fence before any request exists.
    fn delay_and_discover(&mut self, signals: &Signals) -> Step<Gfs2Discovery> {
        if !self.s.delay.is_zero() {
            self.diag
                .debug(&format!("delaying {:?} before fencing", self.s.delay));
            if let Ok(Wake::Signal(sig)) = wait(signals, None, Instant::now() + self.s.delay) {
                return Err((
                    Status::Cancelled,
                    format!("killed by {sig} during the delay; no request was published"),
                ));
            }
        }
        let discovery = match &self.s.discovery {
            Some(cfg) => gfs2_discovery::discover(self.target, cfg),
            None => Gfs2Discovery::disabled("disabled by gfs2_discovery=false"),
        };
        self.diag.debug(&format!(
            "gfs2 discovery: {}",
            escape(&format!("{:?}", discovery.names()), 500)
        ));
        self.discovery = Some(discovery.clone());
        match signals.pending() {
            Some(sig) => Err((
                Status::Cancelled,
                format!("killed by {sig} before the request was published"),
            )),
            None => Ok(discovery),
        }
    }

    fn publish(
        &mut self,
        requests: &SpoolDir,
        name: &SpoolName,
        request: &Request,
        watch: &DirWatch,
    ) -> Step<()> {
        self.request = Some(request.clone());
        self.guard = Guard::spawn(self.s, name, request, watch.as_fd())
            .map_err(|e| {
                self.diag.warn(&format!(
                    "no guardian process (a SIGKILL would not be recorded): {e}"
                ))
            })
            .ok();
        // Logged once it is true: a publish that fails (a full REQUEST_DIR) logs only `failed`.
        requests
            .publish(name, &request.to_json(), Publish::NoReplace)
            .map_err(|e| failed(format!("cannot publish the request: {e}")))?;
        let where_ = requests.path().display().to_string();
        self.record(
            Status::Requested,
            &format!("request {name} published in {where_}"),
        );
        Ok(())
    }

    fn await_response(
        &mut self,
        ex: &Exchange<'_>,
        signals: &Signals,
        watch: &mut DirWatch,
    ) -> Step<Exit> {
        let deadline = Instant::now() + self.s.fence_timeout;
        let mut look = true;
        loop {
            if look {
                if let Some(exit) = self.try_read(ex)? {
                    return Ok(exit);
                }
            }
            match wait(signals, Some(watch), deadline) {
                Ok(Wake::Files(ev)) if ev.gone => {
                    return Err(failed(format!(
                        "response directory {} was removed or moved",
                        ex.responses.path().display()
                    )))
                }
                Ok(Wake::Files(ev)) => look = ev.overflow || concerns(&ev, ex),
                Ok(Wake::Timeout) => return self.timed_out(ex),
                Ok(Wake::Signal(sig)) => {
                    return Err((
                        Status::Cancelled,
                        format!(
                            "killed by {sig} while waiting; {}",
                            cancel::withdraw_text(ex.requests, ex.name, ex.request)
                        ),
                    ))
                }
                Err(e) => return Err(failed(format!("cannot wait for the response: {e}"))),
            }
        }
    }

    /// Reads our response if it is there. A bad one fails at once: waiting would not fix it.
    fn try_read(&mut self, ex: &Exchange<'_>) -> Step<Option<Exit>> {
        let bytes = match ex.responses.read(ex.name.as_str(), MAX_SPOOL_FILE) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(failed(format!("unusable response: {e}"))),
        };
        let path = ex.responses.join(ex.name.as_str());
        let resp = Response::for_request(&bytes, ex.request)
            .map_err(|e| failed(format!("unusable response {}: {e}", path.display())))?;
        if let Some(why) = crate::verdict::contradiction(self.action, &resp) {
            return Err(failed(format!(
                "contradictory response {}: {why}; not taken as a success",
                path.display()
            )));
        }
        if !self.s.allow_simulate {
            if let Some(why) = crate::verdict::simulated(&resp) {
                return Err(failed(format!(
                    "simulated response {}: {why}; not taken as a success",
                    path.display()
                )));
            }
        }
        let what = format!("{} (response {})", resp.message, path.display());
        if resp.success {
            // A8 (DESIGN, Durability): the responder's rename made this success visible before
            // anything made it durable, and exit 0 reports it. Once reported it must survive a
            // power loss, so its name goes to disk before the `completed` event; if that fails
            // we exit 1 and Pacemaker retries, the safe side.
            ex.responses.sync().map_err(|e| {
                failed(format!(
                    "cannot make the response {} durable: {e}",
                    path.display()
                ))
            })?;
            let exit = self.end(Status::Completed, &what);
            if self.action == Action::On {
                self.unfence(ex);
            }
            Ok(Some(exit))
        } else {
            Err(failed(format!("responder reported failure: {what}")))
        }
    }

    /// After an accepted `on`: the node's records up to its answer leave RESPONSE_DIR
    /// (`unfence::after_on`); a failure there never turns the `on` into a failure.
    fn unfence(&mut self, ex: &Exchange<'_>) {
        let audit = unfence::Audit {
            action: self.action.as_str(),
            request_id: Some(&ex.request.request_id),
            by: BY_ON,
            recorder: &self.recorder,
            duration: std::time::Duration::ZERO,
        };
        let answer = ex.name.as_str();
        unfence::after_on(
            ex.responses,
            answer,
            self.target,
            &audit,
            self.log,
            self.diag,
        );
    }

    fn timed_out(&mut self, ex: &Exchange<'_>) -> Step<Exit> {
        // An answer that raced the deadline still counts.
        if let Some(exit) = self.try_read(ex)? {
            return Ok(exit);
        }
        let secs = self.s.fence_timeout.as_secs_f64();
        Err((
            Status::Timeout,
            format!(
                "no response within {secs} s; {}",
                cancel::withdraw_text(ex.requests, ex.name, ex.request)
            ),
        ))
    }

    fn end(&mut self, status: Status, details: &str) -> Exit {
        self.record(status, details);
        match status {
            Status::Completed => Exit::Success,
            _ => {
                self.diag.error(&format!(
                    "{} of {}: {}: {}",
                    self.action,
                    self.target,
                    status.as_str(),
                    escape(details, 2000)
                ));
                Exit::Failure
            }
        }
    }

    fn record(&mut self, status: Status, details: &str) {
        self.diag.debug(&format!(
            "event {}: {}",
            status.as_str(),
            escape(details, 2000)
        ));
        let ev = Event {
            status,
            action: self.action.as_str(),
            target: Some(self.target),
            request_id: self.request.as_ref().map(|r| &r.request_id),
            discovery: self.discovery.as_ref(),
            recorder: &self.recorder,
            details,
            duration: self.started.elapsed(),
            by: None,
            archived: None,
        };
        self.log.record(&ev);
    }
}

/// Whether the events say our response is there to read: complete (closed or renamed), or
/// created as something that is not a file being written (a symlink, FIFO or hard link never
/// gets `CLOSE_WRITE`, and must fail at once rather than after the timeout).
fn concerns(ev: &crate::wait::DirEvents, ex: &Exchange<'_>) -> bool {
    let ours = |n: &std::ffi::OsString| n.as_encoded_bytes() == ex.name.as_str().as_bytes();
    let created = ev.created.iter().any(ours);
    ev.ready.iter().any(ours) || (created && !ex.responses.being_written(ex.name.as_str()))
}

/// The published request and where it lives.
struct Exchange<'a> {
    requests: &'a SpoolDir,
    responses: &'a SpoolDir,
    name: &'a SpoolName,
    request: &'a Request,
}

/// Opens both spool directories and checks that requests can be written, failing fast.
fn open_dirs(s: &Settings) -> Result<(SpoolDir, SpoolDir), SpoolError> {
    let requests = open_trusted(&s.request_dir)?;
    requests.check_writable()?;
    let responses = open_trusted(&s.response_dir)?;
    Ok((requests, responses))
}

/// Opens a spool directory that only root or this user can write (the protocol's one rule,
/// `Trusted::SpoolDir`). Whoever else could write the response directory could forge the success
/// that lets the cluster touch shared storage again, so such a directory is refused, with the fix
/// in the message (the daemon refuses it too).
pub fn open_trusted(path: &std::path::Path) -> Result<SpoolDir, SpoolError> {
    let dir = SpoolDir::open(path)?;
    dir.check_trusted()?;
    Ok(dir)
}
