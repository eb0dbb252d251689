//! Escaping of untrusted text before it reaches a terminal, a log line or XML.
//!
//! Anything that came from stdin, argv, a spool file or another program may carry newlines,
//! quotes or control characters that would forge a log line; everything logged or echoed passes
//! through one of these functions first. The escaping itself is `gfs2_fence_protocol::text`'s.

/// Longest piece of untrusted text shown in a message.
const SHOWN_MAX: usize = 80;

/// `text` escaped and cut to `max` characters: the protocol crate's one escaper, shared with
/// the daemon's backend messages.
pub use gfs2_fence_protocol::text::escape;

/// `what "text"`, escaped and cut, for messages about input.
pub fn quoted(text: &str, what: &str) -> String {
    format!("{what} \"{}\"", escape(text, SHOWN_MAX))
}

/// A single token for a `KEY=value` log field: only `[A-Za-z0-9._:/@+-]` kept, the rest escaped
/// as `%XX` so the field can never contain a space, comma, quote or newline.
pub fn token(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes().take(256) {
        if b.is_ascii_alphanumeric() || b".-_:/@+".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Text for XML attribute values and element content.
pub fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_forge_a_line() {
        let e = escape("a\"b\\c\nSTATUS=completed\r\u{0}\u{2028}", 100);
        assert_eq!(e, "a\\\"b\\\\c\\nSTATUS=completed\\r\\u{0}\\u{2028}");
        assert_eq!(
            escape(&"x".repeat(200), 10),
            format!("{}...", "x".repeat(10))
        );
        assert_eq!(token("fs 1,x\n"), "fs%201%2Cx%0A");
        assert_eq!(xml("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
