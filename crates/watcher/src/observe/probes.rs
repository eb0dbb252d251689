//! The metrics of the health probes, a part of [`super::Metrics`] kept in its own file:
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `fence_watcher_backend_up{backend,node}` | gauge | 1 when the last probe of that level reached the node's power controller, 0 when it did not; levels that cannot be probed (`unprobed`) or only pretend (`simulated`) have no sample |
//! | `fence_watcher_last_probe_timestamp_seconds{backend,node}` | gauge | Unix time of the last probe of that level |
//! | `fence_watcher_probe_duration_seconds` | histogram | time one probe took |
//!
//! Each round replaces the labelled samples as a whole, so a node or a backend that left the
//! configuration leaves the metrics at the next round.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use gfs2_fence_protocol::ProbeStatus;

/// Upper bounds of the probe duration histogram, in seconds.
const BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// One level's last probe: up (when known) and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeSample {
    pub up: Option<bool>,
    pub at_unix_secs: f64,
}

/// The probe metrics.
#[derive(Debug, Default)]
pub struct ProbeMetrics {
    /// By (backend, node).
    last: Mutex<BTreeMap<(String, String), ProbeSample>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl ProbeSample {
    pub fn new(status: ProbeStatus, at_unix_secs: f64) -> Self {
        let up = match status {
            ProbeStatus::Up => Some(true),
            ProbeStatus::Down => Some(false),
            ProbeStatus::Unprobed | ProbeStatus::Simulated => None,
        };
        ProbeSample { up, at_unix_secs }
    }
}

impl ProbeMetrics {
    /// Counts one probe's duration.
    pub fn probed(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                count.fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(took.as_micros() as u64, Relaxed);
    }

    /// Replaces the labelled samples with those of a finished round.
    pub fn round(&self, samples: BTreeMap<(String, String), ProbeSample>) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = samples;
    }

    /// Appends the probe metrics to a Prometheus text exposition.
    pub fn render(&self, o: &mut String, esc: impl Fn(&str) -> String) {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        head(
            o,
            "backend_up",
            "gauge",
            "1 when the last probe of a level reached the node's power controller, else 0.",
        );
        for ((backend, node), s) in &last {
            if let Some(up) = s.up {
                let (b, n) = (esc(backend), esc(node));
                let _ = writeln!(
                    o,
                    "fence_watcher_backend_up{{backend=\"{b}\",node=\"{n}\"}} {}",
                    u8::from(up)
                );
            }
        }
        head(
            o,
            "last_probe_timestamp_seconds",
            "gauge",
            "Unix time of the last probe of a level.",
        );
        for ((backend, node), s) in &last {
            let (b, n) = (esc(backend), esc(node));
            let _ = writeln!(
                o,
                "fence_watcher_last_probe_timestamp_seconds{{backend=\"{b}\",node=\"{n}\"}} {:.3}",
                s.at_unix_secs
            );
        }
        let name = "fence_watcher_probe_duration_seconds";
        head(
            o,
            "probe_duration_seconds",
            "histogram",
            "Duration of one probe of one level.",
        );
        for (bound, c) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(o, "{name}_bucket{{le=\"{bound}\"}} {}", c.load(Relaxed));
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(o, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            o,
            "{name}_sum {}",
            self.sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(o, "{name}_count {count}");
    }
}

fn head(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP fence_watcher_{name} {help}");
    let _ = writeln!(o, "# TYPE fence_watcher_{name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_replaces_the_samples_and_unknown_levels_have_no_up() {
        let m = ProbeMetrics::default();
        m.probed(Duration::from_millis(300));
        let key = |b: &str, n: &str| (b.to_owned(), n.to_owned());
        let mut s = BTreeMap::new();
        s.insert(key("ipmi", "cn1"), ProbeSample::new(ProbeStatus::Up, 5.0));
        s.insert(key("pdu", "cn1"), ProbeSample::new(ProbeStatus::Down, 5.0));
        s.insert(
            key("site", "cn1"),
            ProbeSample::new(ProbeStatus::Unprobed, 5.0),
        );
        m.round(s);
        let mut o = String::new();
        m.render(&mut o, str::to_owned);
        for line in [
            "fence_watcher_backend_up{backend=\"ipmi\",node=\"cn1\"} 1",
            "fence_watcher_backend_up{backend=\"pdu\",node=\"cn1\"} 0",
            "fence_watcher_last_probe_timestamp_seconds{backend=\"site\",node=\"cn1\"} 5.000",
            "fence_watcher_probe_duration_seconds_bucket{le=\"0.25\"} 0",
            "fence_watcher_probe_duration_seconds_bucket{le=\"0.5\"} 1",
            "fence_watcher_probe_duration_seconds_count 1",
        ] {
            assert!(o.lines().any(|l| l == line), "missing {line}\n{o}");
        }
        assert!(!o.contains("backend_up{backend=\"site\""), "{o}");
        m.round(BTreeMap::new());
        let mut o = String::new();
        m.render(&mut o, str::to_owned);
        assert!(
            !o.contains("cn1"),
            "a new round replaces the old samples:\n{o}"
        );
    }
}
