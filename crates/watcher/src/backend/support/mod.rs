//! What the backends share: the one child-process runner (`process.rs`), the one placeholder
//! engine (`template.rs`), secret files and scrubbing (`secret.rs`), the one-line messages made
//! from a child's output (`message.rs`), the settings every backend has (`common.rs`), and the
//! "did you mean" of every message that refuses a name (`suggest.rs`).

pub mod common;
pub mod message;
pub mod process;
pub mod secret;
pub mod suggest;
pub mod template;
