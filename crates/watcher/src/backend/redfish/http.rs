//! The HTTP side of the `redfish` backend: keep-alive clients per backend, basic auth on
//! every request, GET redirects only within the same BMC and never a redirect of a reset POST
//! (a 302 would turn it into a GET and count as done), 503/429 with `Retry-After` waited out
//! within the deadline, answers capped in size, every request bounded by the fence deadline,
//! and every failure classified (401, 404, 5xx, TLS, timeout).

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{redirect, Response, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use super::config::{Bmc, RedfishConfig};
use super::error::{BuildError, Cause};
use crate::backend::support::message::excerpt;
use crate::backend::support::secret::Secret;

/// Largest answer read from a BMC; a system resource is a few KiB.
const MAX_ANSWER: usize = 1 << 20;
/// Longest `Retry-After` waited for at once; a longer one is waited for in steps of this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A Redfish client for one backend.
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    /// For the reset POSTs: follows no redirect.
    post_client: reqwest::Client,
    user: String,
    password: Secret,
    /// The password and the `user:password` pair: what a message must never show, in any form.
    secrets: Vec<Secret>,
    /// The backend timeout, named when a deadline expires.
    budget: Duration,
}

impl Http {
    pub fn new(
        cfg: &RedfishConfig,
        tls: rustls::ClientConfig,
        password: Secret,
    ) -> Result<Http, BuildError> {
        let client = client(cfg, tls.clone(), redirect::Policy::custom(same_bmc_only))?;
        let post_client = client_for_posts(cfg, tls)?;
        let budget = Duration::from_secs(cfg.timeout_secs);
        let secrets = vec![
            Secret::credentials(&cfg.username, &password),
            password.clone(),
        ];
        Ok(Http {
            client,
            post_client,
            user: cfg.username.clone(),
            password,
            secrets,
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
        let request = || {
            self.client
                .get(&url)
                .header(ACCEPT, HeaderValue::from_static("application/json"))
        };
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
        let request = || {
            self.post_client
                .post(&url)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
        };
        let response = self.send(request, target, deadline).await?;
        // Drain the body so the connection can go back to the pool.
        self.read_capped(response, target, deadline).await?;
        Ok(())
    }

    /// Sends the request `build` makes until it is answered 2xx, waiting out a 503 or 429
    /// with `Retry-After` (the BMC says it is busy and did nothing) while the deadline allows.
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
        path: &str,
        deadline: Instant,
    ) -> Result<Response, Cause> {
        loop {
            let request = build().basic_auth(&self.user, Some(self.password.expose()));
            let response = match tokio::time::timeout_at(deadline, request.send()).await {
                Err(_) => return Err(Cause::Timeout(self.budget)),
                Ok(Err(e)) => return Err(classify(&e)),
                Ok(Ok(r)) => r,
            };
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let retry_after = retry_after(&response);
            let location = response
                .headers()
                .get(LOCATION)
                .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
            let body = self
                .read_capped(response, path, deadline)
                .await
                .unwrap_or_default();
            let cause = self.status_cause(status, path, &body, location);
            match retry_after {
                Some(pause) if Instant::now() + pause < deadline => {
                    tracing::debug!(path, %status, ?pause, "redfish: busy, retrying after Retry-After");
                    tokio::time::sleep(pause).await;
                }
                _ => return Err(cause),
            }
        }
    }

    fn status_cause(
        &self,
        status: StatusCode,
        path: &str,
        body: &[u8],
        location: Option<String>,
    ) -> Cause {
        let detail = error_detail(body, &self.secrets);
        let path = path.to_owned();
        match status.as_u16() {
            s @ 300..=399 => Cause::Redirected {
                status: s,
                path,
                location: excerpt(location.as_deref().unwrap_or("nowhere"), &self.secrets),
            },
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

/// A client of the backend's settings with redirect policy `redirects`.
fn client(
    cfg: &RedfishConfig,
    tls: rustls::ClientConfig,
    redirects: redirect::Policy,
) -> Result<reqwest::Client, BuildError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(!cfg.allow_http)
        // A BMC is reached directly: no proxy from the environment sees its password.
        .no_proxy()
        .redirect(redirects)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(cfg.max_concurrent_per_bmc)
        .user_agent(concat!("fence_watcher/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| BuildError::Client(chain_text(&e)))
}

/// The client of the reset POSTs: a redirected POST is turned into a GET by the HTTP rules
/// (302, 303) and would count as an accepted reset, so a redirect is an answer, never followed.
fn client_for_posts(
    cfg: &RedfishConfig,
    tls: rustls::ClientConfig,
) -> Result<reqwest::Client, BuildError> {
    client(cfg, tls, redirect::Policy::none())
}

/// The pause a 503 or 429 asks for, in seconds (an HTTP date is taken as one second), capped
/// at [`MAX_RETRY_AFTER`], at least 100 ms; `None` for another status or without the header.
fn retry_after(response: &Response) -> Option<Duration> {
    if !matches!(response.status().as_u16(), 503 | 429) {
        return None;
    }
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    let secs = value.parse::<u64>().unwrap_or(1);
    // At least a moment: `Retry-After: 0` from a BMC that stays busy must not spin.
    Some(Duration::from_secs(secs).clamp(Duration::from_millis(100), MAX_RETRY_AFTER))
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

    /// What a message built from this client's answers must not show.
    pub fn secrets(&self) -> &[Secret] {
        &self.secrets
    }
}

/// The Redfish error message of an error body, else the body: a bounded, escaped excerpt
/// without any form of a secret.
fn error_detail(body: &[u8], secrets: &[Secret]) -> String {
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
    // A BMC's text is a backend's output too: scrubbed, bounded and escaped as every one is.
    excerpt(&text, secrets)
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
