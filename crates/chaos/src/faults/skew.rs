//! Clock skew in the requests: the next one to three agents run under libfaketime (their wall
//! clock only, never the system's), so their requests carry skewed timestamps and deadlines.

use super::{Ctx, Fault, Injection};
use crate::error::{ChaosError, Result};
use crate::rng::Rng;

/// Skews the clock of the next agents.
pub struct ClockSkew;

impl ClockSkew {
    /// Refuses to run without libfaketime rather than inject nothing.
    pub fn new() -> Result<ClockSkew> {
        crate::agents::libfaketime()
            .map(|_| ClockSkew)
            .ok_or_else(|| {
                ChaosError::Setup(
                    "the clock-skew fault needs libfaketime: apt-get install -y faketime"
                        .to_owned(),
                )
            })
    }
}

impl Fault for ClockSkew {
    fn class(&self) -> &'static str {
        "clock-skew"
    }

    fn inject(&mut self, cx: &mut Ctx<'_>, rng: &mut Rng) -> Result<Option<Injection>> {
        let n = rng.range(1, 3);
        let mut skews = Vec::new();
        for _ in 0..n {
            // Behind: the deadline may already have passed. Ahead: far in the future.
            let s = if rng.chance(500) {
                -i64::try_from(rng.range(5, 120)).unwrap_or(5)
            } else {
                i64::try_from(rng.range(5, 600)).unwrap_or(5)
            };
            skews.push(s);
        }
        let detail = format!("next {n} agent(s) under faketime {skews:?} s");
        cx.skews.extend(skews);
        Ok(Some(Injection {
            detail,
            lasts: None,
            token: 0,
        }))
    }
}
