//! The agent and the daemon together through real directories, without Pacemaker: the
//! request / response exchange, the daemon's backends (also against real BMC peers), crash
//! safety, and the hostile-input and fault-injection suites. One binary, linked once; its tests
//! run in parallel threads, each on a spool (and, where it needs one, a tmpfs or a peer port)
//! of its own, so nothing here needs a process to itself.
//!
//! Two other binaries hold what must not run beside these tests: `cluster` (real Pacemaker
//! clusters) and `stress` (hundreds to thousands of agents at once).

mod backends;
mod crash;
mod dashboard;
mod doctor_cib;
mod exchange;
mod faults_backend;
mod faults_crash;
mod faults_disk;
mod faults_durability;
mod hostile_names;
mod hostile_requests;
mod hostile_responses;
mod hostile_spool;
mod monitor;
mod monitor_live;
mod peers_backends;
mod peers_ec2;
mod peers_nnf;
mod probes;
mod prometheus;
mod simulation;
mod unfence;
