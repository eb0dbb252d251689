//! The EC2 Query API over the project's one HTTP/TLS stack (reqwest on rustls with ring, the
//! system trust store, as the `redfish` backend uses): a form POST of `Action=...&Version=
//! 2016-11-15`, signed with SigV4 by the official `aws-sigv4` crate, answered in XML. Throttling
//! (`RequestLimitExceeded`, HTTP 503) is retried with a doubling pause while the deadline
//! allows; no request starts after the deadline, and none outlives it.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use tokio::time::Instant;

use super::credentials::Keys;
use super::error::Ec2Error;
use crate::backend::support::message::excerpt;

const VERSION: &str = "2016-11-15";
/// Largest answer read; a DescribeInstances of one instance is a few KiB.
const MAX_ANSWER: usize = 1 << 20;
/// First pause after a throttled call; doubled each time, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// AWS error codes that mean "slow down, nothing was done".
const THROTTLED: [&str; 3] = ["RequestLimitExceeded", "Throttling", "ThrottlingException"];

/// A client of one EC2 endpoint.
#[derive(Debug, Clone)]
pub struct Api {
    pub http: reqwest::Client,
    endpoint: reqwest::Url,
    region: String,
    /// The backend timeout, named when the deadline passes.
    budget: Duration,
}

impl Api {
    pub fn new(endpoint: reqwest::Url, region: &str, budget: Duration) -> Result<Api, String> {
        Ok(Api {
            http: client()?,
            endpoint,
            region: region.to_owned(),
            budget,
        })
    }

    /// `call` with `params`, signed by `keys`; the XML body of the 2xx answer.
    pub async fn call(
        &self,
        keys: &Keys,
        call: &'static str,
        params: &[(String, String)],
        deadline: Instant,
    ) -> Result<String, Ec2Error> {
        let mut body = format!("Action={call}&Version={VERSION}");
        for (k, v) in params {
            body.push('&');
            body.push_str(&encode(k));
            body.push('=');
            body.push_str(&encode(v));
        }
        let mut pause = FIRST_PAUSE;
        let mut tries = 0;
        loop {
            tries += 1;
            if Instant::now() >= deadline {
                return Err(self.deadline(call, "the request could be sent"));
            }
            let (status, text) = self.send(keys, call, &body, deadline).await?;
            if (200..300).contains(&status) {
                return Ok(text);
            }
            let (code, message) =
                super::xml::error(&text).unwrap_or_else(|| ("no AWS error code".into(), text));
            let throttled = THROTTLED.contains(&code.as_str()) || status == 503;
            if throttled && Instant::now() + pause < deadline {
                tracing::debug!(call, status, code, ?pause, "aws-ec2: throttled, retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
                continue;
            }
            let secrets = keys.secrets();
            return Err(if throttled {
                Ec2Error::Throttled {
                    call,
                    status,
                    code,
                    tries,
                }
            } else {
                Ec2Error::Api {
                    call,
                    status,
                    code: excerpt(&code, &secrets),
                    message: excerpt(&message, &secrets),
                }
            });
        }
    }

    /// One signed POST: the status and the (bounded) body.
    async fn send(
        &self,
        keys: &Keys,
        call: &'static str,
        body: &str,
        deadline: Instant,
    ) -> Result<(u16, String), Ec2Error> {
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let signed = self.sign(keys, call, content_type, body)?;
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .header("content-type", content_type)
            .body(body.to_owned());
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let transport = |reason: String| Ec2Error::Transport {
            call,
            endpoint: self.endpoint.as_str().trim_end_matches('/').to_owned(),
            reason,
        };
        let mut response = match tokio::time::timeout_at(deadline, request.send()).await {
            Err(_) => return Err(self.deadline(call, "an answer came")),
            Ok(Err(e)) => return Err(transport(chain_text(&e))),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        let mut raw = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, response.chunk()).await {
                Err(_) => return Err(self.deadline(call, "the answer was read")),
                Ok(Err(e)) => return Err(transport(chain_text(&e))),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => raw.extend_from_slice(&chunk),
            }
            if raw.len() > MAX_ANSWER {
                let reason = format!("answer larger than {MAX_ANSWER} bytes");
                return Err(Ec2Error::BadAnswer {
                    call,
                    status,
                    reason,
                });
            }
        }
        Ok((status, String::from_utf8_lossy(&raw).into_owned()))
    }

    /// The headers SigV4 adds (`authorization`, `x-amz-date`, the session token).
    fn sign(
        &self,
        keys: &Keys,
        call: &'static str,
        content_type: &str,
        body: &str,
    ) -> Result<Vec<(String, String)>, Ec2Error> {
        let bad = |e: &dyn std::fmt::Display| Ec2Error::Sign {
            call,
            reason: e.to_string(),
        };
        let identity: Identity = Credentials::new(
            keys.access_key_id.clone(),
            keys.secret_access_key.expose().to_owned(),
            keys.session_token.as_ref().map(|t| t.expose().to_owned()),
            None,
            "gfs2-fencing",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("ec2")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| bad(&e))?
            .into();
        let headers = [("content-type", content_type)];
        let request = SignableRequest::new(
            "POST",
            self.endpoint.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| bad(&e))?;
        let (instructions, _) = sign(request, &params).map_err(|e| bad(&e))?.into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    fn deadline(&self, call: &'static str, what: &str) -> Ec2Error {
        Ec2Error::Deadline {
            call,
            what: what.to_owned(),
            budget: self.budget,
        }
    }
}

/// The HTTPS client: rustls with ring and the system trust store, no proxy from the
/// environment (use `endpoint_url` for a VPC endpoint), bounded connects.
fn client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| format!("system trust store: {e}"))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("fence_watcher/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| chain_text(&e))
}

/// Percent-encoding of everything but the unreserved characters (RFC 3986), as SigV4 and the
/// Query API expect.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An error and its causes on one line (`error sending request: connection refused`).
pub fn chain_text(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let s = cause.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = source.and_then(StdError::source);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(encode("tag:Name"), "tag%3AName");
        assert_eq!(encode("a b/c+d~e"), "a%20b%2Fc%2Bd~e");
    }
}
