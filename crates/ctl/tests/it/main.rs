//! The operator tool's integration tests: the real `gfs2-fencing` binary run against spool
//! directories the tests write, checking its exit status and exactly what it prints.

mod check;
mod common;
mod flags;
mod probe;
mod records;
mod unfence;
mod views;
