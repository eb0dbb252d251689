//! The watcher's integration tests, one binary: each module was a test file of its own, and
//! each of those linked the library, tokio and reqwest again (thirteen links per change). One
//! binary links once; the modules still run in parallel as separate tests. The daemon tests
//! start the real `fence_watcher` binary; the backend tests drive `fence_watcher::backend`
//! against real processes, ipmi_sim and sushy-emulator.
//!
//! `redfish_bench` holds an ignored benchmark: `cargo test -p fence-watcher --test it
//! redfish_bench -- --ignored --nocapture`.

mod backend_support;
mod common;

mod after_fence;
mod answers;
mod aws_ec2;
mod backend_command;
mod backend_fence_agent;
mod backend_ipmi;
mod backlog;
mod check_config;
mod clock_skew;
mod concurrency;
mod crash;
mod docs_pages;
mod fd_budget;
mod fence_logs;
mod flood_bench;
mod health;
mod levels_deadline;
mod lifecycle;
mod metrics;
mod one_responder;
mod output_escaping;
mod publish_faults;
mod redfish_bench;
mod redfish_errors;
mod redfish_power;
mod redfish_proof;
mod redfish_secrets;
mod redfish_tls;
mod spool_watch;
mod startup;
