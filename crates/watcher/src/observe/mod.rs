//! What the daemon tells the operator: Prometheus metrics (`metrics.rs`) and their HTTP endpoint
//! (`metrics_http.rs`), the log set-up (`logging.rs`), the rate limit for log lines that hostile
//! files can trigger (`ratelimit.rs`), the health probes' metrics (`probes.rs`), and the optional pruning of old responses
//! (`retention.rs`).

pub mod logging;
pub mod metrics;
pub mod metrics_http;
pub mod probes;
pub mod ratelimit;
pub mod retention;

pub use metrics::Metrics;
pub use ratelimit::RateLimiter;
