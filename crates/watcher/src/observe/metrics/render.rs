//! The Prometheus text exposition (format 0.0.4) of [`Metrics`], with every labelled series
//! known in advance present at 0.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;

use gfs2_fence_protocol::{Action, Outcome};

use super::{locked, LevelEnd, Metrics, NONE};

/// The outcomes a request answered without a backend can have (an invalid one has no action
/// either: it is listed apart).
const UNROUTED: [Outcome; 4] = [
    Outcome::Success,
    Outcome::Failed,
    Outcome::Expired,
    Outcome::Cancelled,
];
/// The outcomes a backend decides.
const ROUTED: [Outcome; 2] = [Outcome::Success, Outcome::Failed];

impl Metrics {
    pub fn render(&self) -> String {
        self.render_at(SystemTime::now())
    }

    /// The exposition as of `now` (the pending ages are computed against it).
    pub(super) fn render_at(&self, now: SystemTime) -> String {
        let mut out = String::with_capacity(8192);
        let o = &mut out;
        header(
            o,
            "build_info",
            "gauge",
            "Always 1; the version of fence_watcher.",
        );
        let version = env!("CARGO_PKG_VERSION");
        let _ = writeln!(o, "fence_watcher_build_info{{version=\"{version}\"}} 1");
        let known = locked(&self.known_backends).clone();
        self.render_requests(o, &known);
        self.render_backends(o, &known);
        self.render_gauges(o, now);
        header(
            o,
            "fence_duration_seconds",
            "histogram",
            "Duration of fences, all levels.",
        );
        locked(&self.fence_duration).render(o, "fence_watcher_fence_duration_seconds", "");
        self.render_simple_counters(o);
        self.probes.render(o, esc);
        out
    }

    fn render_requests(&self, o: &mut String, known: &[(String, &'static str)]) {
        let mut all = locked(&self.requests).clone();
        let mut zero = |k: (&'static str, &'static str, String)| {
            all.entry(k).or_insert(0);
        };
        zero((Outcome::Invalid.as_str(), NONE, NONE.to_owned()));
        for action in Action::ALL.map(Action::as_str) {
            for outcome in UNROUTED {
                zero((outcome.as_str(), action, NONE.to_owned()));
            }
            for (backend, _) in known {
                for outcome in ROUTED {
                    zero((outcome.as_str(), action, backend.clone()));
                }
            }
        }
        header(
            o,
            "requests_total",
            "counter",
            "Requests answered, by outcome, action and the backend that decided.",
        );
        for ((outcome, action, backend), n) in all {
            let backend = esc(&backend);
            let _ = writeln!(
                o,
                "fence_watcher_requests_total{{outcome=\"{outcome}\",action=\"{action}\",backend=\"{backend}\"}} {n}"
            );
        }
    }

    fn render_backends(&self, o: &mut String, known: &[(String, &'static str)]) {
        let mut runs = locked(&self.backend_runs).clone();
        let mut durations = locked(&self.backend_durations).clone();
        let mut fallbacks = locked(&self.fallbacks).clone();
        for (backend, kind) in known {
            for end in LevelEnd::ALL {
                runs.entry((backend.clone(), end.as_str())).or_insert(0);
            }
            durations.entry((backend.clone(), kind)).or_default();
            fallbacks.entry(backend.clone()).or_insert(0);
        }
        header(
            o,
            "backend_runs_total",
            "counter",
            "Backend invocations, by backend and result (success, failure, timeout).",
        );
        for ((backend, result), n) in runs {
            let backend = esc(&backend);
            let _ = writeln!(
                o,
                "fence_watcher_backend_runs_total{{backend=\"{backend}\",result=\"{result}\"}} {n}"
            );
        }
        let name = "fence_watcher_backend_fence_duration_seconds";
        header(
            o,
            "backend_fence_duration_seconds",
            "histogram",
            "Duration of each level run, by backend and backend type.",
        );
        for ((backend, kind), h) in durations {
            h.render(
                o,
                name,
                &format!("backend=\"{}\",kind=\"{kind}\"", esc(&backend)),
            );
        }
        header(
            o,
            "fallback_successes_total",
            "counter",
            "Fences that succeeded on a level after the first, by the backend that succeeded.",
        );
        for (backend, n) in fallbacks {
            let backend = esc(&backend);
            let _ = writeln!(
                o,
                "fence_watcher_fallback_successes_total{{backend=\"{backend}\"}} {n}"
            );
        }
    }

    fn render_gauges(&self, o: &mut String, now: SystemTime) {
        let p = self.pending.snapshot(now);
        let heartbeat = self.heartbeat_micros.load(Relaxed) as f64 / 1e6;
        let gauges: [(&str, &str, String); 8] = [
            (
                "pending_requests",
                "Requests seen and not yet answered (queued, waiting, running or being published).",
                p.count.to_string(),
            ),
            (
                "oldest_pending_age_seconds",
                "Seconds since the oldest pending request was seen; 0 when none is.",
                p.oldest.as_secs_f64().to_string(),
            ),
            (
                "pending_past_deadline",
                "Pending requests past their deadline.",
                p.late.to_string(),
            ),
            (
                "in_flight",
                "Requests claimed and not yet answered.",
                self.in_flight.load(Relaxed).to_string(),
            ),
            (
                "heartbeat_timestamp_seconds",
                "Unix time of the last heartbeat written; 0 before the first.",
                heartbeat.to_string(),
            ),
            (
                "inotify_fallback",
                "1 while the request directory is scanned periodically for lack of inotify.",
                self.inotify_fallback.load(Relaxed).to_string(),
            ),
            (
                "can_publish",
                "1 while a response could be published now (the heartbeat's probe), else 0.",
                (1 - self.cannot_publish.load(Relaxed)).to_string(),
            ),
            (
                "simulated_routes",
                "Routes that fence through the simulate backend (which fences nothing).",
                self.simulated_routes.load(Relaxed).to_string(),
            ),
        ];
        for (name, help, value) in gauges {
            header(o, name, "gauge", help);
            let _ = writeln!(o, "fence_watcher_{name} {value}");
        }
    }

    fn render_simple_counters(&self, o: &mut String) {
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
        for (result, v) in [("ok", &self.reloads_ok), ("refused", &self.reloads_refused)] {
            let _ = writeln!(
                o,
                "fence_watcher_config_reloads_total{{result=\"{result}\"}} {}",
                v.load(Relaxed)
            );
        }
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
