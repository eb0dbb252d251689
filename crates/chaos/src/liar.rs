//! `gfs2-chaos liar`: a third-party responder on the campaign's spool that answers some
//! requests before `fence_watcher` does, with "successes" that contradict themselves:
//! `success: true` with `executed: false`, or an `action_performed` other than the one
//! requested (`on` for an `off` or a `reboot`, `off` for an `on`; never `off` for a `reboot`,
//! which nnf-sos legitimately reports). The agent must refuse every one of them.
//!
//! Each forged answer is one [`Lie`] line in the liar's log, so a violation can name it.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use gfs2_fence_protocol::{Action, Request};
use serde::{Deserialize, Serialize};

use crate::history::now_ns;
use crate::rng::Rng;

/// One forged answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lie {
    /// The response file's name (the request's).
    pub name: String,
    /// `executed-false` or `wrong-action`.
    pub lie: String,
    pub t_ns: u64,
}

/// What the liar is told.
#[derive(Debug, Clone)]
pub struct LiarArgs<'a> {
    pub requests: &'a Path,
    pub responses: &'a Path,
    pub log: &'a Path,
    pub secs: u64,
    /// Requests answered, per thousand.
    pub permille: u64,
    pub seed: u64,
}

/// Watches the spool (a 2 ms poll of REQUEST_DIR and its claims) for `secs`, forging answers.
pub fn run(a: &LiarArgs<'_>) {
    let mut rng = Rng::new(a.seed, 0x6c6965);
    let mut seen = BTreeSet::new();
    let end = Instant::now() + Duration::from_secs(a.secs);
    while Instant::now() < end {
        for dir in [a.requests.to_path_buf(), a.requests.join(".claimed")] {
            for name in crate::collect::json_names(&dir) {
                if !seen.insert(name.clone()) || !rng.chance(a.permille) {
                    continue;
                }
                if let Some(lie) = forge(a, &dir, &name, &mut rng) {
                    log(a.log, &lie);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn forge(a: &LiarArgs<'_>, dir: &Path, name: &str, rng: &mut Rng) -> Option<Lie> {
    let req = Request::from_json(&std::fs::read(dir.join(name)).ok()?).ok()?;
    let (lie, executed, performed) = if rng.chance(500) {
        ("executed-false", false, req.action)
    } else {
        let wrong = match req.action {
            Action::On => Action::Off,
            _ => Action::On,
        };
        ("wrong-action", true, wrong)
    };
    let body = serde_json::json!({
        "schema_version": 1,
        "request_id": req.request_id.as_str(),
        "success": true,
        "action_performed": performed.as_str(),
        "target_node": req.target_node.as_str(),
        "message": "fenced (gfs2-chaos lying responder)",
        "timestamp": gfs2_fence_protocol::Timestamp::now().to_string(),
        "outcome": "success",
        "executed": executed,
        "responder": "gfs2-chaos-liar",
    });
    let tmp = a.responses.join(format!(".{name}.liar"));
    std::fs::write(&tmp, body.to_string()).ok()?;
    // Never over an answer already there: a liar that wins races, not one that overwrites.
    let placed = std::fs::hard_link(&tmp, a.responses.join(name)).is_ok();
    let _ = std::fs::remove_file(&tmp);
    placed.then(|| Lie {
        name: name.to_owned(),
        lie: lie.to_owned(),
        t_ns: now_ns(),
    })
}

fn log(path: &Path, lie: &Lie) {
    if let Ok(mut text) = serde_json::to_string(lie) {
        text.push('\n');
        let f = std::fs::OpenOptions::new().append(true).open(path);
        let _ = f.and_then(|mut f| f.write_all(text.as_bytes()));
    }
}

/// Reads the liar's log back; a torn line is skipped.
pub fn lies_from_log(text: &str) -> Vec<Lie> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gfs2_fence_protocol::{Gfs2Discovery, NodeName, Response};

    #[test]
    fn every_forged_answer_contradicts_itself_and_none_overwrites_an_answer() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (req_dir, resp_dir) = (dir.path().join("req"), dir.path().join("resp"));
        std::fs::create_dir_all(&req_dir).expect("mkdir");
        std::fs::create_dir_all(&resp_dir).expect("mkdir");
        let log = dir.path().join("lies.jsonl");
        let a = LiarArgs {
            requests: &req_dir,
            responses: &resp_dir,
            log: &log,
            secs: 0,
            permille: 1000,
            seed: 3,
        };
        let mut rng = Rng::new(3, 0);
        for (i, action) in [Action::Off, Action::Reboot, Action::On]
            .iter()
            .cycle()
            .take(12)
            .enumerate()
        {
            let node = NodeName::parse("n1").expect("a node name");
            let req = Request::new(
                *action,
                node,
                Gfs2Discovery::default(),
                "r".into(),
                Duration::from_secs(9),
            );
            let name = format!("{i}.json");
            std::fs::write(req_dir.join(&name), req.to_json()).expect("write the request");
            let lie = forge(&a, &req_dir, &name, &mut rng).expect("a forged answer");
            let resp = Response::from_json(&std::fs::read(resp_dir.join(&name)).expect("read"))
                .expect("the forged answer parses");
            assert!(resp.success);
            match lie.lie.as_str() {
                "executed-false" => assert_eq!(resp.executed, Some(false)),
                _ => {
                    assert_ne!(resp.action_performed, Some(*action));
                    // `off` for a `reboot` is what nnf-sos honestly reports: never the lie.
                    assert!(
                        !(*action == Action::Reboot && resp.action_performed == Some(Action::Off))
                    );
                }
            }
            // A second forgery of the same request finds the answer there and leaves it.
            assert!(forge(&a, &req_dir, &name, &mut rng).is_none());
        }
    }
}
