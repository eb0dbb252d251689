//! A backlog: a burst of near-64 KiB requests for distinct nodes published straight into
//! REQUEST_DIR (far deadlines, `off`), many times `max_concurrent`. The daemon must answer
//! every one and its memory must not follow the backlog. Their backend runs are quick (see
//! [`crate::backend::BACKLOG_PREFIX`]): the point is the queue, not the fence.
//!
//! When the fault ends, the answered ones are counted and their responses removed (a long
//! campaign would otherwise fill RESPONSE_DIR); the rest go to the history, to be answered by
//! the end.

use std::time::Duration;

use gfs2_fence_protocol::Timestamp;

use super::{lasting, Ctx, Fault, Injection};
use crate::backend::BACKLOG_PREFIX;
use crate::error::{ChaosError, Result};
use crate::rng::Rng;
use crate::world::Area;

/// Filesystem names per request and their length: a request just under the 64 KiB cap.
const FILESYSTEMS: usize = 245;
const NAME_LEN: usize = 250;

/// The burst in flight, if any: its token and request names.
#[derive(Default)]
pub struct Backlog {
    burst: Option<(u64, Vec<String>)>,
    next: u64,
}

impl Fault for Backlog {
    fn class(&self) -> &'static str {
        "backlog"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        if self.burst.is_some() || cx.w.busy.contains(&Area::Requests) {
            return Ok(None);
        }
        self.next += 1;
        let n = rng.range(800, 1200);
        let mut names = Vec::new();
        for i in 0..n {
            let id = format!(
                "{BACKLOG_PREFIX}{}-{i:04}-{:016x}",
                self.next,
                rng.next_u64()
            );
            match publish(cx, &id) {
                Ok(name) => names.push(name),
                // A full or read-only REQUEST_DIR (another fault): the burst is what got in.
                Err(_) => break,
            }
        }
        let detail = format!(
            "backlog of {} near-64 KiB requests ({} asked)",
            names.len(),
            n
        );
        self.burst = Some((self.next, names));
        Ok(Some(Injection {
            detail,
            lasts: lasting(rng, 15_000, 25_000),
            token: self.next,
        }))
    }

    fn revert(&mut self, cx: &mut Ctx<'_>, token: u64) -> Result<()> {
        let Some((t, names)) = self.burst.take() else {
            return Ok(());
        };
        if t != token {
            self.burst = Some((t, names));
            return Ok(());
        }
        let responses = &cx.w.paths.responses;
        for name in names {
            if std::fs::remove_file(responses.join(&name)).is_err() {
                cx.history.backlog.push(name);
            }
        }
        Ok(())
    }
}

/// Writes one request as the agent does (a dot temporary, then a rename); its name.
fn publish(cx: &Ctx<'_>, id: &str) -> Result<String> {
    let now = Timestamp::now();
    let filesystems: Vec<String> = (0..FILESYSTEMS)
        .map(|i| format!("fs{i:03}-{}", "x".repeat(NAME_LEN - 6)))
        .collect();
    let body = serde_json::json!({
        "schema_version": 1,
        "request_id": id,
        "timestamp": now.to_string(),
        "action": "off",
        "target_node": id,
        "gfs2_filesystems": filesystems,
        "recorder_node": "gfs2-chaos-backlog",
        "deadline": now.plus(Duration::from_secs(600)).to_string(),
    });
    let dir = &cx.w.paths.requests;
    let name = format!("{id}.json");
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, body.to_string()).map_err(ChaosError::io("write a backlog request"))?;
    cx.w.give(&tmp, 0o644)?;
    std::fs::rename(&tmp, dir.join(&name)).map_err(ChaosError::io("publish a backlog request"))?;
    Ok(name)
}
