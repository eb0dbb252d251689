//! A tiny HTTP endpoint serving `GET /metrics` in the Prometheus text format, on a loopback
//! address only (configuration refuses others). One short request per connection.
//!
//! Loopback is open to every local user, so the endpoint must never cost a fence anything:
//! - at most [`MAX_METRICS_CONNECTIONS`] connections are served at once; a new one drops the
//!   oldest (a flood of idle connections cannot shut out a scraper for longer than it takes
//!   to reconnect, and holds no more than the cap);
//! - the request must arrive within [`READ_TIMEOUT`] (1 s) and the whole exchange end within
//!   [`EXCHANGE_TIMEOUT`] (2 s);
//! - while the descriptors in use reach the soft limit minus `fds::SPOOL_RESERVE`, new
//!   connections are closed at once and accepting pauses, so the spool always has its reserve
//!   (see `config/fds.rs` for the whole budget).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::Metrics;
pub use crate::config::fds::MAX_METRICS_CONNECTIONS;
use crate::config::fds::{soft_limit, SPOOL_RESERVE};

/// Time for a client to send its request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(1);
/// Time for a whole exchange.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause of accepting after an error or while fds are short.
const BACKOFF: Duration = Duration::from_millis(100);

/// Binds the listener; refuses a non-loopback address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("metrics address {addr} is not a loopback address"),
        ));
    }
    TcpListener::bind(addr).await
}

/// Serves connections forever.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let mut open: VecDeque<JoinHandle<()>> = VecDeque::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("metrics endpoint: accept failed: {e}");
                tokio::time::sleep(BACKOFF).await;
                continue;
            }
        };
        if fds_short(&stream) {
            drop(stream);
            tokio::time::sleep(BACKOFF).await;
            continue;
        }
        open.retain(|h| !h.is_finished());
        while open.len() >= MAX_METRICS_CONNECTIONS {
            if let Some(oldest) = open.pop_front() {
                oldest.abort();
                // Let the runtime drop the aborted task (and close its socket) before the
                // next accept: a burst of ready connections would otherwise pile them up.
                tokio::task::yield_now().await;
            }
        }
        let m = metrics.clone();
        open.push_back(tokio::spawn(async move {
            let _ = tokio::time::timeout(EXCHANGE_TIMEOUT, answer(stream, &m)).await;
        }));
    }
}

/// Whether the spool's reserve is reached. Linux gives a new fd the lowest free number, so
/// every fd below the one just accepted is in use: its number is a lower bound of the fds in
/// use, at no cost (exact but for fds open above it). The cap on connections is what bounds
/// the endpoint; this check keeps it off the last descriptors whatever else holds the rest.
fn fds_short(stream: &TcpStream) -> bool {
    let in_use = stream.as_raw_fd() as u64 + 1;
    in_use + SPOOL_RESERVE >= soft_limit()
}

async fn answer(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let wanted = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await??;
    let (status, body) = if wanted {
        ("200 OK", metrics.render())
    } else {
        ("404 Not Found", "only GET /metrics is served\n".to_owned())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads the request head (at most 4 KiB); true when it asks for `GET /metrics`.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<bool> {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let line = buf[..len].split(|b| *b == b'\n').next().unwrap_or(&[]);
    Ok(line.starts_with(b"GET /metrics ") || line.starts_with(b"GET /metrics\r"))
}
