//! What the backends share: the one child-process runner (`process.rs`), the one placeholder
//! engine (`template.rs`), secret files and scrubbing (`secret.rs`), the one-line messages made
//! from a child's output (`message.rs`), and the settings every backend has (`common.rs`).

pub mod common;
pub mod message;
pub mod process;
pub mod secret;
pub mod template;
