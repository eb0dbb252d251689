//! The HTTP side of the `redfish` backend: one keep-alive client per backend, basic auth on
//! every request, redirects only within the same BMC, answers capped in size, every request
//! bounded by the fence deadline, and every failure classified (401, 404, 5xx, TLS, timeout).

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{redirect, Response, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use super::config::{Bmc, RedfishConfig};
use super::error::{BuildError, Cause};
use crate::backend::support::secret::{scrub, Secret};

/// Largest answer read from a BMC; a system resource is a few KiB.
const MAX_ANSWER: usize = 1 << 20;
/// Longest BMC error text echoed into a message.
const MAX_DETAIL: usize = 200;

/// A Redfish client for one backend.
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    user: String,
    password: Secret,
    /// The backend timeout, named when a deadline expires.
    budget: Duration,
}

impl Http {
    pub fn new(
        cfg: &RedfishConfig,
        tls: rustls::ClientConfig,
        password: Secret,
    ) -> Result<Http, BuildError> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(!cfg.allow_http)
            // A BMC is reached directly: no proxy from the environment sees its password.
            .no_proxy()
            .redirect(redirect::Policy::custom(same_bmc_only))
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(cfg.max_concurrent_per_bmc)
            .user_agent(concat!("fence_watcher/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BuildError::Client(chain_text(&e)))?;
        let budget = Duration::from_secs(cfg.timeout_secs);
        Ok(Http {
            client,
            user: cfg.username.clone(),
            password,
            budget,
        })
    }

    /// GETs `path`; returns the path finally answered (after redirects) and the JSON.
    pub async fn get_json(
        &self,
        bmc: &Bmc,
        path: &str,
        deadline: Instant,
    ) -> Result<(String, Value), Cause> {
        let url = format!("{}{path}", bmc.base_url());
        let request = self
            .client
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        let response = self.send(request, path, deadline).await?;
        let final_path = response.url().path().to_owned();
        let body = self.read_capped(response, path, deadline).await?;
        let json = serde_json::from_slice(&body).map_err(|e| Cause::BadAnswer {
            path: path.to_owned(),
            reason: format!("not json: {e}"),
        })?;
        Ok((final_path, json))
    }

    /// POSTs `{"ResetType": reset_type}` to the reset action `target`.
    pub async fn post_reset(
        &self,
        bmc: &Bmc,
        target: &str,
        reset_type: &str,
        deadline: Instant,
    ) -> Result<(), Cause> {
        let url = format!("{}{target}", bmc.base_url());
        let body = serde_json::json!({ "ResetType": reset_type }).to_string();
        let request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let response = self.send(request, target, deadline).await?;
        // Drain the body so the connection can go back to the pool.
        self.read_capped(response, target, deadline).await?;
        Ok(())
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        path: &str,
        deadline: Instant,
    ) -> Result<Response, Cause> {
        let request = request.basic_auth(&self.user, Some(self.password.expose()));
        let response = match tokio::time::timeout_at(deadline, request.send()).await {
            Err(_) => return Err(Cause::Timeout(self.budget)),
            Ok(Err(e)) => return Err(classify(&e)),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = self
            .read_capped(response, path, deadline)
            .await
            .unwrap_or_default();
        Err(self.status_cause(status, path, &body))
    }

    fn status_cause(&self, status: StatusCode, path: &str, body: &[u8]) -> Cause {
        let detail = scrub(&error_detail(body), std::slice::from_ref(&self.password));
        let path = path.to_owned();
        match status.as_u16() {
            401 => Cause::Unauthorized {
                user: self.user.clone(),
            },
            403 => Cause::Forbidden {
                user: self.user.clone(),
                detail,
            },
            404 => Cause::NotFound { path, detail },
            s @ 500..=599 => Cause::Server {
                status: s,
                path,
                detail,
            },
            s => Cause::Status {
                status: s,
                path,
                detail,
            },
        }
    }
}

/// Follows at most 5 redirects, and only to the same scheme, host and port: credentials go to
/// the BMC and nowhere else.
fn same_bmc_only(attempt: redirect::Attempt) -> redirect::Action {
    let Some(first) = attempt.previous().first() else {
        return attempt.follow();
    };
    let same = first.scheme() == attempt.url().scheme()
        && first.host_str() == attempt.url().host_str()
        && first.port_or_known_default() == attempt.url().port_or_known_default();
    if attempt.previous().len() > 5 {
        attempt.error("more than 5 redirects")
    } else if !same {
        let to = attempt.url().to_string();
        attempt.error(format!(
            "refused to follow a redirect to another host: {to}"
        ))
    } else {
        attempt.follow()
    }
}

impl Http {
    async fn read_capped(
        &self,
        mut response: Response,
        path: &str,
        deadline: Instant,
    ) -> Result<Vec<u8>, Cause> {
        let mut body = Vec::new();
        loop {
            let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
                Err(_) => return Err(Cause::Timeout(self.budget)),
                Ok(Err(e)) => return Err(classify(&e)),
                Ok(Ok(chunk)) => chunk,
            };
            let Some(chunk) = chunk else { return Ok(body) };
            if body.len() + chunk.len() > MAX_ANSWER {
                let reason = format!("answer larger than {MAX_ANSWER} bytes");
                return Err(Cause::BadAnswer {
                    path: path.to_owned(),
                    reason,
                });
            }
            body.extend_from_slice(&chunk);
        }
    }
}

/// The Redfish error message of an error body, else the start of the body, printable only.
fn error_detail(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let error = v.get("error")?;
        let extended = error
            .pointer("/@Message.ExtendedInfo/0/Message")
            .and_then(Value::as_str);
        extended
            .or_else(|| error.get("message").and_then(Value::as_str))
            .map(str::to_owned)
    });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    // A BMC's text is a backend's output too: hidden and bidi characters escaped, as in
    // every backend message.
    let bounded: String = text.chars().take(MAX_DETAIL).collect();
    let clean = crate::backend::support::message::clean(&bounded, &[]);
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    if clean.is_empty() {
        "no details".to_owned()
    } else {
        clean
    }
}

/// Classifies a transport error: TLS (a rustls error anywhere in the chain), connect, timeout.
fn classify(e: &reqwest::Error) -> Cause {
    if let Some(tls) = find_rustls_error(e) {
        return Cause::Tls(tls.to_string());
    }
    let text = chain_text(e);
    if e.is_timeout() {
        Cause::Transport(format!("timed out: {text}"))
    } else if e.is_connect() {
        Cause::Connect(text)
    } else {
        Cause::Transport(text)
    }
}

/// Walks the source chain; `io::Error` hides its inner error from `source()`, so look inside.
fn find_rustls_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(tls) = find_rustls_error(inner) {
                    return Some(tls);
                }
            }
        }
        next = err.source();
    }
    None
}

/// The sources of `e` below its first line (which repeats the URL), joined with ": ".
fn chain_text(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = e.source();
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}
