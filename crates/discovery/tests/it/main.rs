//! The discovery integration tests, one binary: `discover` end to end (every source, merging,
//! failing and slow processes) and the pacemaker source against the real `crm_mon` and
//! `cibadmin`. `support` holds the fixture paths (`tests/fixtures/`, data beside the code) and
//! the stand-in commands.
#![allow(clippy::unwrap_used)]

mod discover;
mod pacemaker;
mod support;
