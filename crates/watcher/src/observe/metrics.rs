//! Every metric the daemon keeps, in one struct, rendered in the Prometheus text format.
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `fence_watcher_requests_total{outcome,backend}` | counter | requests answered, by outcome and by the backend that decided (`none` when no backend ran) |
//! | `fence_watcher_backend_runs_total{backend,result}` | counter | backend invocations (one per level tried; coalesced requests share one) |
//! | `fence_watcher_in_flight` | gauge | requests claimed and not yet answered |
//! | `fence_watcher_inotify_fallback` | gauge | 1 while `REQUEST_DIR` is scanned periodically because no inotify instance or watch is left, else 0 |
//! | `fence_watcher_can_publish` | gauge | 1 while a probe file can be published in `RESPONSE_DIR` (checked every heartbeat tick), 0 while it cannot (full, read-only, I/O error): no new fence starts then |
//! | `fence_watcher_simulated_routes` | gauge | routes (topology levels) that fence through the `simulate` backend, which fences nothing; set at start and at every reload |
//! | `fence_watcher_fence_duration_seconds` | histogram | time from the start of a fence to its result, all levels |
//! | `fence_watcher_invalid_requests_total` | counter | requests answered `invalid` |
//! | `fence_watcher_rejected_files_total` | counter | files with unusable names moved to `.rejected` |
//! | `fence_watcher_coalesced_requests_total` | counter | requests answered by a run another request made, which had not started when they joined |
//! | `fence_watcher_already_answered_total` | counter | requests removed unexecuted because a response existed |
//! | `fence_watcher_recovered_requests_total` | counter | claimed requests of unknown outcome re-run after a restart |
//! | `fence_watcher_after_fence_failures_total` | counter | after-fence commands that failed |
//! | `fence_watcher_config_reloads_total{result}` | counter | SIGHUP reloads, `ok` or `refused` |

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use gfs2_fence_protocol::Outcome;

/// Upper bounds of the duration histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// The daemon's metrics. Cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, String), u64>>,
    backend_runs: Mutex<BTreeMap<(String, &'static str), u64>>,
    in_flight: AtomicI64,
    inotify_fallback: AtomicI64,
    /// Inverted so that `Default` (0) means "can publish" before the first probe.
    cannot_publish: AtomicI64,
    simulated_routes: AtomicI64,
    bucket_counts: [AtomicU64; BUCKETS.len()],
    duration_count: AtomicU64,
    duration_sum_micros: AtomicU64,
    invalid_requests: AtomicU64,
    rejected_files: AtomicU64,
    coalesced_requests: AtomicU64,
    already_answered: AtomicU64,
    recovered_requests: AtomicU64,
    after_fence_failures: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_refused: AtomicU64,
}

/// Keeps `fence_watcher_in_flight` raised while it lives.
#[derive(Debug)]
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    // A poisoned lock only means another thread panicked mid-increment; counting goes on.
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    *m.entry(key).or_insert(0) += 1;
}

impl Metrics {
    pub fn answered(&self, outcome: Outcome, backend: &str) {
        let backend = if backend.is_empty() { "none" } else { backend };
        bump(&self.requests, (outcome.as_str(), backend.to_owned()));
        if outcome == Outcome::Invalid {
            self.invalid_requests.fetch_add(1, Relaxed);
        }
    }

    pub fn backend_run(&self, backend: &str, success: bool) {
        let result = if success { "success" } else { "failure" };
        bump(&self.backend_runs, (backend.to_owned(), result));
    }

    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Relaxed);
        InFlight(self)
    }

    pub fn inotify_fallback(&self, polling: bool) {
        self.inotify_fallback.store(i64::from(polling), Relaxed);
    }

    pub fn can_publish(&self, ok: bool) {
        self.cannot_publish.store(i64::from(!ok), Relaxed);
    }

    pub fn simulated_routes(&self, n: usize) {
        self.simulated_routes
            .store(i64::try_from(n).unwrap_or(i64::MAX), Relaxed);
    }

    pub fn fence_duration(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.bucket_counts) {
            if secs <= *bound {
                count.fetch_add(1, Relaxed);
            }
        }
        self.duration_count.fetch_add(1, Relaxed);
        self.duration_sum_micros
            .fetch_add(d.as_micros() as u64, Relaxed);
    }

    pub fn rejected_file(&self) {
        self.rejected_files.fetch_add(1, Relaxed);
    }

    pub fn coalesced(&self) {
        self.coalesced_requests.fetch_add(1, Relaxed);
    }

    pub fn already_answered(&self) {
        self.already_answered.fetch_add(1, Relaxed);
    }

    pub fn recovered(&self) {
        self.recovered_requests.fetch_add(1, Relaxed);
    }

    pub fn after_fence_failed(&self) {
        self.after_fence_failures.fetch_add(1, Relaxed);
    }

    pub fn reload(&self, ok: bool) {
        let c = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_refused
        };
        c.fetch_add(1, Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let o = &mut out;
        header(
            o,
            "requests_total",
            "counter",
            "Requests answered, by outcome and backend.",
        );
        for ((outcome, backend), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                o,
                "fence_watcher_requests_total{{outcome=\"{outcome}\",backend=\"{}\"}} {n}",
                esc(backend)
            );
        }
        header(
            o,
            "backend_runs_total",
            "counter",
            "Backend invocations, by backend and result.",
        );
        for ((backend, result), n) in self
            .backend_runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                o,
                "fence_watcher_backend_runs_total{{backend=\"{}\",result=\"{result}\"}} {n}",
                esc(backend)
            );
        }
        header(
            o,
            "in_flight",
            "gauge",
            "Requests claimed and not yet answered.",
        );
        let _ = writeln!(
            o,
            "fence_watcher_in_flight {}",
            self.in_flight.load(Relaxed)
        );
        header(
            o,
            "inotify_fallback",
            "gauge",
            "1 while the request directory is scanned periodically for lack of inotify.",
        );
        let _ = writeln!(
            o,
            "fence_watcher_inotify_fallback {}",
            self.inotify_fallback.load(Relaxed)
        );
        header(
            o,
            "can_publish",
            "gauge",
            "1 while a response could be published now (the heartbeat's probe), else 0.",
        );
        let _ = writeln!(
            o,
            "fence_watcher_can_publish {}",
            1 - self.cannot_publish.load(Relaxed)
        );
        header(
            o,
            "simulated_routes",
            "gauge",
            "Routes that fence through the simulate backend (which fences nothing).",
        );
        let _ = writeln!(
            o,
            "fence_watcher_simulated_routes {}",
            self.simulated_routes.load(Relaxed)
        );
        self.render_histogram(o);
        let simple = [
            (
                "invalid_requests_total",
                "Requests answered invalid.",
                &self.invalid_requests,
            ),
            (
                "rejected_files_total",
                "Files with unusable names moved to .rejected.",
                &self.rejected_files,
            ),
            (
                "coalesced_requests_total",
                "Requests answered by a run another request made, joined before it started.",
                &self.coalesced_requests,
            ),
            (
                "already_answered_total",
                "Requests removed unexecuted because a response existed.",
                &self.already_answered,
            ),
            (
                "recovered_requests_total",
                "Claimed requests re-run after a restart.",
                &self.recovered_requests,
            ),
            (
                "after_fence_failures_total",
                "After-fence commands that failed.",
                &self.after_fence_failures,
            ),
        ];
        for (name, help, v) in simple {
            header(o, name, "counter", help);
            let _ = writeln!(o, "fence_watcher_{name} {}", v.load(Relaxed));
        }
        header(
            o,
            "config_reloads_total",
            "counter",
            "Configuration reloads on SIGHUP.",
        );
        let _ = writeln!(
            o,
            "fence_watcher_config_reloads_total{{result=\"ok\"}} {}",
            self.reloads_ok.load(Relaxed)
        );
        let _ = writeln!(
            o,
            "fence_watcher_config_reloads_total{{result=\"refused\"}} {}",
            self.reloads_refused.load(Relaxed)
        );
        out
    }

    fn render_histogram(&self, o: &mut String) {
        let name = "fence_watcher_fence_duration_seconds";
        header(
            o,
            "fence_duration_seconds",
            "histogram",
            "Duration of fences, all levels.",
        );
        for (bound, c) in BUCKETS.iter().zip(&self.bucket_counts) {
            let _ = writeln!(o, "{name}_bucket{{le=\"{bound}\"}} {}", c.load(Relaxed));
        }
        let count = self.duration_count.load(Relaxed);
        let _ = writeln!(o, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.duration_sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(o, "{name}_sum {sum}");
        let _ = writeln!(o, "{name}_count {count}");
    }
}

fn header(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP fence_watcher_{name} {help}");
    let _ = writeln!(o, "# TYPE fence_watcher_{name} {kind}");
}

/// Label values are backend names from the configuration; escape them anyway.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauge_and_histogram() {
        let m = Metrics::default();
        m.answered(Outcome::Success, "ipmi");
        m.answered(Outcome::Invalid, "");
        m.backend_run("ipmi", true);
        m.fence_duration(Duration::from_millis(700));
        let g = m.in_flight();
        m.inotify_fallback(true);
        assert!(m.render().contains("\nfence_watcher_can_publish 1\n"));
        m.can_publish(false);
        m.simulated_routes(2);
        let text = m.render();
        drop(g);
        for line in [
            "fence_watcher_requests_total{outcome=\"success\",backend=\"ipmi\"} 1",
            "fence_watcher_requests_total{outcome=\"invalid\",backend=\"none\"} 1",
            "fence_watcher_invalid_requests_total 1",
            "fence_watcher_backend_runs_total{backend=\"ipmi\",result=\"success\"} 1",
            "fence_watcher_in_flight 1",
            "fence_watcher_inotify_fallback 1",
            "fence_watcher_can_publish 0",
            "fence_watcher_simulated_routes 2",
            "fence_watcher_fence_duration_seconds_bucket{le=\"0.5\"} 0",
            "fence_watcher_fence_duration_seconds_bucket{le=\"1\"} 1",
            "fence_watcher_fence_duration_seconds_count 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        assert!(m.render().contains("fence_watcher_in_flight 0"));
    }

    /// Every update method is called somewhere in the daemon: a metric nobody updates would
    /// sit at zero and mislead whoever reads the dashboard.
    #[test]
    fn every_metric_is_updated_somewhere() {
        let sources = [
            include_str!("../requests/context.rs"),
            include_str!("../requests/handle.rs"),
            include_str!("../requests/respond.rs"),
            include_str!("../requests/recovery.rs"),
            include_str!("../runtime/mod.rs"),
            include_str!("../runtime/reload.rs"),
            include_str!("../fencing/schedule.rs"),
            include_str!("../fencing/topology.rs"),
            include_str!("../fencing/after_fence.rs"),
        ]
        .concat();
        for method in [
            ".answered(",
            ".backend_run(",
            ".in_flight()",
            ".inotify_fallback(",
            ".can_publish(",
            ".simulated_routes(",
            ".fence_duration(",
            ".rejected_file(",
            ".coalesced(",
            ".already_answered(",
            ".recovered(",
            ".after_fence_failed(",
            ".reload(",
        ] {
            assert!(sources.contains(method), "no caller of Metrics{method}");
        }
    }
}
