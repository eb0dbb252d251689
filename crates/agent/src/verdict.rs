//! Whether a response's `success: true` can be believed: a success that contradicts itself is a
//! failure (docs/DESIGN.md, "Response"). The agent's exit 0 lets the cluster touch the node's
//! shared storage again, so it must never rest on an answer that says something else happened.

use gfs2_fence_protocol::{Action, Response};

/// Why a successful `response` to an `asked` request contradicts itself, or `None` when it does
/// not. Accepted: `action_performed` equal to the request's action, `off` for a `reboot`
/// (nnf-sos fences storage access and always reports `off`), or absent; `executed` true or
/// absent (third-party responders write only the seed's six fields).
pub fn contradiction(asked: Action, response: &Response) -> Option<String> {
    if !response.success {
        return None;
    }
    if response.executed == Some(false) {
        return Some("success: true but executed: false (nothing was done)".to_owned());
    }
    match response.action_performed {
        Some(done) if done != asked && !(asked == Action::Reboot && done == Action::Off) => Some(
            format!("success: true for action {asked} but action_performed: {done}"),
        ),
        _ => None,
    }
}

/// Why a successful `response` is no fence because a simulation decided it, or `None`. A level
/// marked `simulated` fenced nothing (`fence_watcher --simulate`, or a `simulate` backend in the
/// topology); `allow_simulate` (demos, tests) is the only way such a success counts.
pub fn simulated(response: &Response) -> Option<String> {
    let level = response
        .levels
        .iter()
        .find(|l| l.success && l.simulated)
        .filter(|_| response.success)?;
    Some(format!(
        "success: true from level {} ({}), which is a simulation: nothing was fenced \
         (set allow_simulate=true only for demos and tests)",
        level.level, level.backend
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(performed: Option<Action>, executed: Option<bool>) -> Response {
        let mut json = serde_json::json!({
            "request_id": "00000000-0000-4000-8000-000000000001",
            "success": true,
            "target_node": "cn1",
        });
        if let Some(a) = performed {
            json["action_performed"] = a.as_str().into();
        }
        if let Some(e) = executed {
            json["executed"] = e.into();
        }
        Response::from_json(json.to_string().as_bytes()).expect("a valid response")
    }

    #[test]
    fn contradictory_successes_are_not_accepted() {
        let on_for_off = contradiction(Action::Off, &response(Some(Action::On), None));
        assert!(
            on_for_off
                .as_deref()
                .is_some_and(|m| m.contains("action off") && m.contains("action_performed: on")),
            "{on_for_off:?}"
        );
        let reboot_for_off = contradiction(Action::Off, &response(Some(Action::Reboot), None));
        assert!(reboot_for_off.is_some(), "a reboot leaves the node on");
        let off_for_on = contradiction(Action::On, &response(Some(Action::Off), None));
        assert!(off_for_on.is_some());
        let on_for_reboot = contradiction(Action::Reboot, &response(Some(Action::On), None));
        assert!(on_for_reboot.is_some(), "power on alone fences nothing");
        let unexecuted = contradiction(Action::Off, &response(Some(Action::Off), Some(false)));
        assert!(
            unexecuted
                .as_deref()
                .is_some_and(|m| m.contains("executed: false")),
            "{unexecuted:?}"
        );
    }

    #[test]
    fn consistent_successes_are_still_accepted() {
        for (asked, performed, executed) in [
            (Action::Reboot, Some(Action::Off), Some(true)),
            (Action::Reboot, Some(Action::Off), None),
            (Action::Reboot, Some(Action::Reboot), Some(true)),
            (Action::Off, Some(Action::Off), Some(true)),
            (Action::On, Some(Action::On), Some(true)),
            (Action::Off, Some(Action::Off), None),
            (Action::Off, None, None),
            (Action::Reboot, None, Some(true)),
        ] {
            let r = response(performed, executed);
            assert_eq!(contradiction(asked, &r), None, "{asked} {r:?}");
        }
    }

    #[test]
    fn a_failure_is_never_a_contradiction() {
        let mut r = response(Some(Action::On), Some(false));
        r.success = false;
        assert_eq!(contradiction(Action::Off, &r), None);
    }

    #[test]
    fn a_simulated_success_is_no_fence_and_a_real_one_is() {
        let mut json = serde_json::json!({
            "request_id": "00000000-0000-4000-8000-000000000001",
            "success": true,
            "target_node": "cn1",
            "levels": [
                {"level": 1, "backend": "bmc", "success": false, "message": "down", "duration_ms": 3},
                {"level": 2, "backend": "pdu", "success": true, "message": "ok", "duration_ms": 3,
                 "simulated": true},
            ],
        });
        let sim = Response::from_json(json.to_string().as_bytes()).expect("valid");
        let why = simulated(&sim).expect("a simulated level decided it");
        assert!(
            why.contains("level 2 (pdu)") && why.contains("allow_simulate"),
            "{why}"
        );
        json["levels"][1]["simulated"] = false.into();
        let real = Response::from_json(json.to_string().as_bytes()).expect("valid");
        assert_eq!(simulated(&real), None);
        json["success"] = false.into();
        json["levels"][1]["simulated"] = true.into();
        let failed = Response::from_json(json.to_string().as_bytes()).expect("valid");
        assert_eq!(simulated(&failed), None, "only successes are judged");
    }
}
