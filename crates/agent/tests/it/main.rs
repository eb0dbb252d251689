//! The agent's integration tests, in one binary: the real `fence_gfs2_recorder` run the way
//! Pacemaker runs it (options on standard input) and the way a person does (argv), against real
//! files and, where a test needs them, the real peers (xmllint, xsltproc, groff, stonith_admin).
//! A missing peer skips a test on a developer's machine and fails it under `CI=true`
//! (`system_tests::peers::require`).

mod common;
mod exchange;
mod full_spool;
mod logs;
mod metadata;
mod options;
mod records;
mod stdout;
mod unfence;
