//! Helper processes that exhaust a resource from outside the daemon, as another local user
//! would: `gfs2-chaos flood` holds connections to the metrics port, `gfs2-chaos inotify-hog`
//! holds inotify instances up to the per-user limit and takes every one released meanwhile. Each ends by itself after `secs`, so even
//! a campaign that dies leaves no hog behind for long.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustix::process::{getrlimit, setrlimit, Resource};

/// Raises our own soft fd limit to the hard one: the flood needs thousands of sockets.
fn raise_nofile() {
    let mut lim = getrlimit(Resource::Nofile);
    lim.current = lim.maximum;
    let _ = setrlimit(Resource::Nofile, lim);
}

/// Holds up to `conns` connections to `addr` for `secs`, reopening those the daemon closes.
/// Returns the most held at once.
pub fn flood(addr: SocketAddr, conns: usize, secs: u64) -> usize {
    raise_nofile();
    let end = Instant::now() + Duration::from_secs(secs);
    let mut held: Vec<TcpStream> = Vec::with_capacity(conns);
    let mut most = 0;
    while Instant::now() < end {
        held.retain(still_open);
        while held.len() < conns && Instant::now() < end {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => {
                    let _ = s.set_nonblocking(true);
                    held.push(s);
                }
                // Backlog full or our own limit: hold what we have for a moment.
                Err(_) => break,
            }
        }
        most = most.max(held.len());
        std::thread::sleep(Duration::from_millis(200));
    }
    most
}

/// Whether the peer has not closed the connection (a non-blocking read that would block).
fn still_open(s: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match (&*s).read(&mut buf) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    }
}

/// Takes inotify instances until the kernel refuses, prints how many, holds them for `secs`.
pub fn inotify_hog(secs: u64) -> usize {
    use rustix::fs::inotify;
    let mut held = Vec::new();
    // Bounded: the per-user default is 128; no system allows anywhere near this many.
    for _ in 0..100_000 {
        match inotify::init(inotify::CreateFlags::CLOEXEC) {
            Ok(fd) => held.push(fd),
            Err(_) => break,
        }
    }
    println!("holding {}", held.len());
    // Whatever the user's other processes release (a daemon that exits, an agent that ends)
    // is taken at once, as a crowd of waiting agents would take it.
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if let Ok(fd) = inotify::init(inotify::CreateFlags::CLOEXEC) {
            held.push(fd);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    held.len()
}
