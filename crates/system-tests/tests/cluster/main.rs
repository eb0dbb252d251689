//! Real Pacemaker clusters running the real agent against the real daemon: a single-node
//! cluster on loopback (`pacemaker`; with real BMCs `peers_pacemaker`; with a BMC that refuses
//! the daemon's password `health_pacemaker`) and a three-node cluster in network namespaces
//! (`cluster3`); and the guides in `docs/` run as written (`guides`).
//!
//! A binary of its own because these tests take the host: they install the agent in
//! `/usr/sbin`, replace `/etc/corosync/corosync.conf` and Pacemaker's state, and hold the
//! host-wide cluster lock (`pacemaker::Lock`: a mutex within this binary, `flock` across
//! binaries), so they run one after another; and Pacemaker's own timeouts (a 5 s
//! `pcmk_reboot_timeout`, monitor intervals) must not compete with the parallel `it` suite for
//! the CPU. Cargo runs test binaries one after another, so nothing else runs beside them.

mod cluster3;
mod doctor;
mod guides;
mod health_pacemaker;
mod pacemaker;
mod peers_pacemaker;
mod peers_pacemaker_ec2;
