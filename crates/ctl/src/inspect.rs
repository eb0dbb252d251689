//! The one way the views print text from a spool file or a log.
//!
//! Every spool file is hostile (a response's `message` or `timestamp` may carry terminal
//! escapes or a newline that forges a record line), so everything printed from one, parser
//! errors that quote raw values included, goes through [`shown`]: the protocol's one escaper.

use gfs2_fence_protocol::text::escape;

/// `text` from a spool file, safe to print: no control, line-separator or bidi character.
pub fn shown(text: &str) -> String {
    escape(text, 2000)
}
