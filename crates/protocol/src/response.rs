//! The fence response: what a responder says happened.

use serde::{Deserialize, Serialize};

use crate::{Action, NodeName, Request, RequestId, Timestamp, SCHEMA_VERSION};

/// How a request ended. Absent in third-party responses, which only say `success`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The backend confirmed the action.
    Success,
    /// Every fencing level failed.
    Failed,
    /// The deadline passed before a responder could start it; nothing was executed.
    Expired,
    /// The agent withdrew it (Pacemaker killed the agent); nothing was executed.
    Cancelled,
    /// The request file was unreadable or invalid; nothing was executed.
    Invalid,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Expired => "expired",
            Outcome::Cancelled => "cancelled",
            Outcome::Invalid => "invalid",
        }
    }
}

/// What one fencing level (one backend) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelResult {
    pub level: u32,
    pub backend: String,
    pub success: bool,
    pub message: String,
    pub duration_ms: u64,
    /// The level is a simulation (`fence_watcher --simulate`, a `type = "simulate"` backend):
    /// its success fenced nothing, and the agent does not take it as a fence unless told to
    /// (`allow_simulate`). Absent (false) from every real backend and third-party responder.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

/// A fence response. Only `request_id`, `success` and `target_node` are required to read one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u32>,
    pub request_id: RequestId,
    pub success: bool,
    /// What was really done (nnf-sos always says `off`: it fences storage access).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_performed: Option<Action>,
    pub target_node: NodeName,
    #[serde(default)]
    pub message: String,
    /// Kept as text: a record with an odd timestamp is still a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<LevelResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responder: Option<String>,
    /// nnf-sos's `"status": "success"|"error"`, written besides `success`; read only for the
    /// fenced-node rule ([`Response::is_fence_record`]), never written by our responder.
    #[serde(rename = "status", default, skip_serializing_if = "Option::is_none")]
    pub nnf_status: Option<String>,
}

/// Why a response file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidResponse {
    #[error("response is not valid JSON with request_id, success and target_node: {0}")]
    Json(String),
    #[error("response is for request {found}, not {expected}")]
    WrongRequest { expected: String, found: String },
    #[error("response is for node {found}, not {expected}")]
    WrongNode { expected: String, found: String },
    #[error("response says success but its outcome is {0}")]
    Contradiction(&'static str),
}

impl Response {
    /// A response to `req`; `action_performed` is the request's action.
    pub fn to_request(req: &Request, outcome: Outcome, message: String, responder: String) -> Self {
        Response {
            schema_version: Some(SCHEMA_VERSION),
            request_id: req.request_id.clone(),
            success: outcome == Outcome::Success,
            action_performed: Some(req.action),
            target_node: req.target_node.clone(),
            message,
            timestamp: Some(Timestamp::now().to_string()),
            outcome: Some(outcome),
            executed: Some(false),
            levels: Vec::new(),
            responder: Some(responder),
            nnf_status: None,
        }
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, InvalidResponse> {
        let r: Response =
            serde_json::from_slice(bytes).map_err(|e| InvalidResponse::Json(e.to_string()))?;
        match r.outcome {
            Some(o) if r.success && o != Outcome::Success => {
                Err(InvalidResponse::Contradiction(o.as_str()))
            }
            _ => Ok(r),
        }
    }

    /// Parses a response and checks that it answers exactly `req`.
    pub fn for_request(bytes: &[u8], req: &Request) -> Result<Self, InvalidResponse> {
        let r = Response::from_json(bytes)?;
        if r.request_id != req.request_id {
            return Err(InvalidResponse::WrongRequest {
                expected: req.request_id.to_string(),
                found: r.request_id.to_string(),
            });
        }
        if r.target_node != req.target_node {
            return Err(InvalidResponse::WrongNode {
                expected: req.target_node.to_string(),
                found: r.target_node.to_string(),
            });
        }
        Ok(r)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    pub fn time(&self) -> Option<Timestamp> {
        self.timestamp
            .as_deref()
            .and_then(|t| Timestamp::parse(t).ok())
    }

    /// Whether nnf-sos takes this file as its record that the node is fenced: `success: true` or
    /// `status: "success"`, whatever the action (`protocol.md`, "The fenced-node rule"). Every
    /// view of "is this node fenced" (the agent's `status`, `gfs2-fencing fenced`) uses this rule
    /// through `fence_gfs2_recorder::ledger::fenced`, so none can disagree with the storage.
    pub fn is_fence_record(&self) -> bool {
        self.success || self.nnf_status.as_deref() == Some("success")
    }

    /// Whether this record says the node is now fenced off (powered off or cut from storage).
    pub fn fenced_off(&self) -> bool {
        self.success && self.action_performed == Some(Action::Off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Gfs2Discovery;
    use std::time::Duration;

    fn request() -> Request {
        let n = NodeName::parse("compute-node-3").expect("valid");
        Request::new(
            Action::Reboot,
            n,
            Gfs2Discovery::default(),
            "rn1".into(),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn reads_the_seed_and_nnf_responses() {
        let req = request();
        let seed = format!(
            r#"{{"request_id":"{}","success":true,"action_performed":"reboot","target_node":"compute-node-3",
                "message":"Fence reboot succeeded for compute-node-3","timestamp":"2025-10-20T14:30:15Z"}}"#,
            req.request_id
        );
        let r = Response::for_request(seed.as_bytes(), &req).expect("seed response");
        assert!(r.success && !r.fenced_off());
        let nnf = seed.replace("\"reboot\"", "\"off\"");
        assert!(Response::for_request(nnf.as_bytes(), &req).is_ok_and(|r| r.fenced_off()));
    }

    #[test]
    fn refuses_mismatched_or_contradictory_responses() {
        let req = request();
        let other = Response::to_request(&request(), Outcome::Success, String::new(), "t".into());
        assert!(matches!(
            Response::for_request(&other.to_json(), &req),
            Err(InvalidResponse::WrongRequest { .. })
        ));
        let mut liar = Response::to_request(&req, Outcome::Expired, String::new(), "t".into());
        liar.success = true;
        assert!(matches!(
            Response::for_request(&liar.to_json(), &req),
            Err(InvalidResponse::Contradiction("expired"))
        ));
        for bad in [
            &b"{}"[..],
            b"{\"request_id\":1}",
            b"null",
            b"{\"success\":\"yes\"}",
        ] {
            assert!(Response::for_request(bad, &req).is_err());
        }
        let ok = Response::to_request(&req, Outcome::Failed, "no".into(), "t".into());
        assert!(Response::for_request(&ok.to_json(), &req).is_ok_and(|r| !r.success));
    }
}
