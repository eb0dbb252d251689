//! A Prometheus histogram of durations, with the daemon's one set of bucket bounds.

use std::fmt::Write;
use std::time::Duration;

/// Upper bounds of every duration histogram, in seconds: from a simulated fence (milliseconds)
/// to a slow BMC's power cycle (minutes).
pub const BUCKETS: [f64; 11] = [
    0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Cumulative bucket counts, a count and a sum, as the text format wants them.
#[derive(Debug, Default, Clone)]
pub struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: Duration,
}

impl Histogram {
    pub fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&mut self.buckets) {
            if secs <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += d;
    }

    /// The `_bucket`, `_sum` and `_count` lines of `name`; `labels` (`a="x",b="y"`, already
    /// escaped) go before `le`.
    pub fn render(&self, o: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, c) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(o, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {c}");
        }
        let count = self.count;
        let _ = writeln!(o, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = |l: &str| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{{{l}}}")
            }
        };
        let _ = writeln!(o, "{name}_sum{} {}", braces(labels), self.sum.as_secs_f64());
        let _ = writeln!(o, "{name}_count{} {count}", braces(labels));
    }
}
