//! The fence request: what the agent asks a responder to do.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::node::shown;
use crate::{Action, Gfs2Discovery, NodeName, Timestamp, SCHEMA_VERSION};

/// Longest accepted request id. A UUID is 36 characters; third-party writers get some slack.
pub const MAX_REQUEST_ID: usize = 128;
/// Most filesystem names a request may list, and the longest one.
pub const MAX_FILESYSTEMS: usize = 1024;
pub const MAX_FILESYSTEM_NAME: usize = 256;

/// A request id: a UUID v4 when we write it; any `[A-Za-z0-9._-]{1,128}` not starting with `.`
/// when someone else does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    /// A fresh random (v4) UUID.
    pub fn new() -> Self {
        RequestId(uuid::Uuid::new_v4().to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidRequest> {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        // A leading '.' would make the seed file name `<id>.json` a dot-file that every
        // protocol reader skips (found by fuzz/fuzz_targets/names.rs).
        if raw.is_empty()
            || raw.len() > MAX_REQUEST_ID
            || raw.starts_with('.')
            || !raw.chars().all(ok)
        {
            return Err(InvalidRequest::BadId(shown(raw)));
        }
        Ok(RequestId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        RequestId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A fence request (schema 1). Readers ignore fields they do not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u32>,
    pub request_id: RequestId,
    /// When the request was made. Optional when reading: third-party writers may omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    pub action: Action,
    pub target_node: NodeName,
    #[serde(default)]
    pub gfs2_filesystems: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorder_node: Option<String>,
    /// No responder may start this request after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gfs2_discovery: Option<Gfs2Discovery>,
    /// Set by the agent when Pacemaker killed it before any responder claimed the request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

/// Why a request file is not a usable request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRequest {
    #[error("request is not valid JSON for schema 1: {0}")]
    Json(String),
    #[error("request_id {0} is not 1 to 128 characters of [A-Za-z0-9._-] not starting with '.'")]
    BadId(String),
    #[error("gfs2_filesystems has {0} entries (at most {MAX_FILESYSTEMS})")]
    TooManyFilesystems(usize),
    #[error("a gfs2_filesystems entry is empty, longer than {MAX_FILESYSTEM_NAME} bytes or has control characters")]
    BadFilesystemName,
}

impl Request {
    /// A new request made now, due by `now + timeout`.
    pub fn new(
        action: Action,
        target: NodeName,
        discovery: Gfs2Discovery,
        recorder: String,
        timeout: std::time::Duration,
    ) -> Self {
        let now = Timestamp::now();
        Request {
            schema_version: Some(SCHEMA_VERSION),
            request_id: RequestId::new(),
            timestamp: Some(now),
            action,
            target_node: target,
            gfs2_filesystems: discovery.names(),
            recorder_node: Some(recorder),
            deadline: Some(now.plus(timeout)),
            gfs2_discovery: Some(discovery),
            cancelled: false,
        }
    }

    /// Parses and validates a request file's bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, InvalidRequest> {
        let req: Request =
            serde_json::from_slice(bytes).map_err(|e| InvalidRequest::Json(e.to_string()))?;
        if req.gfs2_filesystems.len() > MAX_FILESYSTEMS {
            return Err(InvalidRequest::TooManyFilesystems(
                req.gfs2_filesystems.len(),
            ));
        }
        let bad = |n: &String| {
            n.is_empty() || n.len() > MAX_FILESYSTEM_NAME || n.chars().any(char::is_control)
        };
        if req.gfs2_filesystems.iter().any(bad) {
            return Err(InvalidRequest::BadFilesystemName);
        }
        Ok(req)
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain data with string keys cannot fail.
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Whether no responder may start it any more: cancelled, or its deadline has passed.
    pub fn is_expired(&self) -> bool {
        self.cancelled || self.deadline.is_some_and(Timestamp::is_past)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn node(s: &str) -> NodeName {
        NodeName::parse(s).expect("valid node")
    }

    #[test]
    fn reads_the_seed_example() {
        let seed = br#"{
          "request_id": "550e8400-e29b-41d4-a716-446655440000",
          "timestamp": "2025-10-20T14:30:00Z",
          "action": "reboot",
          "target_node": "compute-node-3",
          "gfs2_filesystems": ["lustre-fs1", "gfs2-storage"],
          "recorder_node": "rabbit-node-1",
          "some_future_field": {"x": 1}
        }"#;
        let r = Request::from_json(seed).expect("seed request parses");
        assert_eq!(r.action, Action::Reboot);
        assert_eq!(r.target_node.as_str(), "compute-node-3");
        assert_eq!(r.gfs2_filesystems.len(), 2);
        assert!(r.deadline.is_none() && !r.is_expired());
    }

    #[test]
    fn round_trips_with_deadline() {
        let r = Request::new(
            Action::Off,
            node("cn1"),
            Gfs2Discovery::disabled("off"),
            "rn1".into(),
            Duration::from_secs(50),
        );
        let back = Request::from_json(&r.to_json()).expect("round trip");
        assert_eq!(back, r);
        assert!(!back.is_expired());
        let expired = Request::new(
            Action::Off,
            node("cn1"),
            Gfs2Discovery::default(),
            "rn1".into(),
            Duration::ZERO,
        );
        assert!(expired.is_expired());
    }

    #[test]
    fn refuses_hostile_requests() {
        let cases: &[&[u8]] = &[
            br#"{"request_id":"../x","action":"off","target_node":"cn1"}"#,
            br#"{"request_id":".x","action":"off","target_node":"cn1"}"#,
            br#"{"request_id":"a","action":"status","target_node":"cn1"}"#,
            br#"{"request_id":"a","action":"off","target_node":"cn1/../../etc"}"#,
            br#"{"request_id":"a","action":"off"}"#,
            br#"{"request_id":"a","action":"off","target_node":"cn1","target_node":"cn2"}"#,
            br#"{"request_id":"a","action":"off","target_node":"cn1","deadline":"soon"}"#,
            br#"{"request_id":"a","action":"off","target_node":"cn1","gfs2_filesystems":["a\nb"]}"#,
            br#"{"request_id":"a","action":"off","target_node":"cn1""#,
            b"[]",
            b"",
        ];
        for c in cases {
            assert!(
                Request::from_json(c).is_err(),
                "{}",
                String::from_utf8_lossy(c)
            );
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Request::from_json(deep.as_bytes()).is_err());
    }
}
