//! Why an EC2 fence failed, in words that name the API call, the HTTP status and AWS's error
//! code, the node and the filter, or the state last seen.

use std::time::Duration;

/// A failed fence or probe. Messages never hold a secret (they are scrubbed again anyway).
#[derive(Debug, thiserror::Error)]
pub enum Ec2Error {
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("{call}: cannot sign the request: {reason}")]
    Sign { call: &'static str, reason: String },
    #[error("{call} to {endpoint}: {reason}")]
    Transport {
        call: &'static str,
        endpoint: String,
        reason: String,
    },
    #[error("{call}: HTTP {status}, {code}: {message}")]
    Api {
        call: &'static str,
        status: u16,
        code: String,
        message: String,
    },
    #[error(
        "{call}: still throttled (HTTP {status}, {code}) after {tries} tries when the time ran out"
    )]
    Throttled {
        call: &'static str,
        status: u16,
        code: String,
        tries: u32,
    },
    #[error("{call}: unreadable answer (HTTP {status}): {reason}")]
    BadAnswer {
        call: &'static str,
        status: u16,
        reason: String,
    },
    #[error("{call}: the time ran out ({} s) before {what}", budget.as_secs_f64())]
    Deadline {
        call: &'static str,
        what: String,
        budget: Duration,
    },
    #[error("node {node}: no instance matches {filter} (terminated ones are not counted)")]
    NoMatch { node: String, filter: String },
    #[error("node {node}: {} instances match {filter} ({}): refusing to guess", ids.len(), ids.join(", "))]
    Ambiguous {
        node: String,
        filter: String,
        ids: Vec<String>,
    },
    #[error("{id} was still {last} (never {want}) when the time ran out after {} s", budget.as_secs_f64())]
    NotConfirmed {
        id: String,
        want: &'static str,
        last: String,
        budget: Duration,
    },
    #[error("{id} is {state}: it cannot be {want}")]
    Unreachable {
        id: String,
        state: String,
        want: &'static str,
    },
}
