//! Fuzzes `Response::from_json` and `Response::for_request`: the agent's reading of a response
//! file, which decides whether Pacemaker is told that a node was fenced.
//!
//! Invariants: an accepted response that says `success: true` never carries a non-success
//! `outcome` (no false success), a response accepted for a request names that request and its
//! node, and an accepted response survives re-serialisation unchanged.

#![no_main]

use std::sync::OnceLock;

use gfs2_fence_protocol::{Outcome, Request, Response};
use libfuzzer_sys::fuzz_target;

/// The request the seed corpus answers (the seed's example id and node).
fn request() -> &'static Request {
    static REQ: OnceLock<Request> = OnceLock::new();
    REQ.get_or_init(|| {
        Request::from_json(
            br#"{"request_id":"550e8400-e29b-41d4-a716-446655440000","action":"reboot",
                 "target_node":"compute-node-3"}"#,
        )
        .expect("the fixed request parses")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Response::from_json(data) {
        if r.success {
            assert!(
                matches!(r.outcome, None | Some(Outcome::Success)),
                "success with outcome {:?}",
                r.outcome
            );
        }
        let again = Response::from_json(&r.to_json())
            .unwrap_or_else(|e| panic!("re-serialised response does not parse: {e}\n{r:?}"));
        assert_eq!(again, r);
        assert_eq!(
            r.fenced_off(),
            r.success && r.action_performed.map(|a| a.as_str()) == Some("off")
        );
    }
    let req = request();
    if let Ok(r) = Response::for_request(data, req) {
        assert_eq!(r.request_id, req.request_id);
        assert_eq!(r.target_node, req.target_node);
        assert!(!r.success || matches!(r.outcome, None | Some(Outcome::Success)));
    }
});
