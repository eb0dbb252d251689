//! A hostile Redfish BMC, written for the tests: a mock by necessity. No real BMC or emulator
//! can be made to lie on purpose (accept a reset and stay On, redirect a reset POST, answer 503
//! with `Retry-After` a set number of times, echo the request headers in its error bodies),
//! and those are the cases issue 11 found. Plain HTTP on loopback, one connection at a time,
//! `Connection: close`; every request is logged (`METHOD /path`) with its raw head.
//!
//! The server is the transport only: what it answers is the handler's. The watcher's tests give
//! it one fixed lie each (`crates/watcher/tests/it/redfish_*.rs`); the chaos campaign's
//! `lying-bmc` fault (`crates/chaos/src/bmc.rs`) gives it a stateful BMC whose lies change
//! during the campaign and which records the true power state it keeps. Unlike the rest of
//! this crate it does not panic (the campaign runs it outside any test): a failed bind is an
//! error, a connection that fails is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the BMC saw it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    /// The request line and headers, as sent.
    pub head: String,
    pub body: String,
}

/// What the BMC answers.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Resp {
    pub fn new(status: u16, body: impl Into<String>) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Resp {
        self.headers.push((name, value.into()));
        self
    }
}

type Handler = dyn Fn(&Req) -> Resp + Send + Sync;

/// A running hostile BMC; stopped and joined on drop.
pub struct HostileBmc {
    pub port: u16,
    log: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HostileBmc {
    /// Listens on a free loopback port and answers every request with `handler`.
    pub fn start(
        handler: impl Fn(&Req) -> Resp + Send + Sync + 'static,
    ) -> std::io::Result<HostileBmc> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log2, stop2) = (log.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve(stream, &*handler, &log2);
                }
            }
        });
        Ok(HostileBmc {
            port,
            log,
            stop,
            thread: Some(thread),
        })
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Req> {
        lock(&self.log).clone()
    }

    /// `METHOD /path` of every request so far.
    pub fn lines(&self) -> Vec<String> {
        let reqs = self.requests();
        reqs.iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// A `redfish` backend table for this BMC (plain HTTP, allowed), `extra` lines appended.
    pub fn backend_toml(&self, password_file: &Path, extra: &str) -> String {
        format!(
            "host = \"127.0.0.1\"\nport = {}\nscheme = \"http\"\nallow_http = true\n\
             username = \"admin\"\npassword_file = \"{}\"\npoll_interval_ms = 100\n{extra}",
            self.port,
            password_file.display()
        )
    }
}

impl Drop for HostileBmc {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The request log; a handler that panicked (in a test) leaves it readable.
fn lock(log: &Mutex<Vec<Req>>) -> std::sync::MutexGuard<'_, Vec<Req>> {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Req>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut words = head.split_whitespace();
    let req = Req {
        method: words.next().unwrap_or_default().to_owned(),
        path: words.next().unwrap_or_default().to_owned(),
        head: head.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    lock(log).push(req.clone());
    let resp = handler(&req);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&resp.body);
    let mut stream = &stream;
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

/// `/redfish/v1/Systems/<id>` with its reset action and `power`.
pub fn system(id: &str, power: &str) -> String {
    format!(
        r##"{{"@odata.id": "/redfish/v1/Systems/{id}", "Id": "{id}", "Name": "{id}",
            "PowerState": "{power}",
            "Actions": {{"#ComputerSystem.Reset": {{
                "target": "/redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": ["On", "ForceOff", "ForceRestart"]}}}}}}"##
    )
}

/// The reset action path of system `id`.
pub fn reset_path(id: &str) -> String {
    format!("/redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset")
}
