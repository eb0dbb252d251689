//! A token bucket for log lines that hostile input can trigger, so a flood of bad spool files
//! cannot flood the journal. Suppressed lines are counted and the count is reported with the
//! next line that gets through.

use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<Bucket>,
    capacity: f64,
    per_sec: f64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    suppressed: u64,
}

impl RateLimiter {
    /// Allows bursts of `capacity` lines, then `per_sec` lines a second.
    pub fn new(capacity: u32, per_sec: f64) -> Self {
        RateLimiter {
            state: Mutex::new(Bucket {
                tokens: f64::from(capacity),
                last: Instant::now(),
                suppressed: 0,
            }),
            capacity: f64::from(capacity),
            per_sec,
        }
    }

    /// `Some(lines suppressed since the last allowed one)` when a line may be logged now.
    pub fn allow(&self) -> Option<u64> {
        let mut b = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(b.last).as_secs_f64() * self.per_sec;
        b.tokens = (b.tokens + refill).min(self.capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Some(std::mem::take(&mut b.suppressed))
        } else {
            b.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_counts_what_it_suppresses() {
        let r = RateLimiter::new(3, 0.0);
        assert_eq!(
            (r.allow(), r.allow(), r.allow()),
            (Some(0), Some(0), Some(0))
        );
        assert_eq!(r.allow(), None);
        assert_eq!(r.allow(), None);
        let r2 = RateLimiter::new(1, 1e9);
        assert_eq!(r2.allow(), Some(0));
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_eq!(r2.allow(), Some(0));
    }
}
