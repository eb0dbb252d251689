//! Escaping of untrusted text before it reaches a terminal, a log line or XML.
//!
//! Anything that came from stdin, argv, a spool file or another program may carry newlines,
//! quotes or control characters that would forge a log line; everything logged or echoed passes
//! through one of these functions first.

/// Longest piece of untrusted text shown in a message.
const SHOWN_MAX: usize = 80;

/// `text` escaped (no control characters, quotes and backslashes escaped) and cut to
/// `max` characters.
pub fn escape(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 8);
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push_str("...");
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Line and paragraph separators and zero-width or bidi characters: invisible, but they can
/// make a log line read differently from what it is.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

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
