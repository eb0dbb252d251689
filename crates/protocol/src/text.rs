//! The one escaper of untrusted text shared by every binary: what a spool file, argv or a
//! backend's output says may carry control, line-separator or bidi characters that make a log
//! line or a response message read differently from what it is (U+2028 starts a new line in
//! some viewers, U+202E reverses the rest). Each of them is shown as `\u{hex}` instead.

/// Control characters and the invisible ones that can reorder or split a line: zero-width and
/// directional marks, line and paragraph separators, bidi embeddings, overrides and isolates,
/// the word joiner family, the byte-order mark, interlinear annotation, and the soft hyphen.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{ad}' | '\u{61c}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}')
}

/// Appends `c` as `\u{hex}`.
pub fn push_escaped(out: &mut String, c: char) {
    out.push_str(&format!("\\u{{{:x}}}", c as u32));
}

/// `text` escaped (no control or hidden characters, quotes and backslashes escaped) and cut to
/// `max` characters, for quoting untrusted text in a log line or message.
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
            c if is_hidden(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_forge_or_reorder_a_line() {
        let e = escape("a\"b\\c\nSTATUS=completed\r\u{0}\u{2028}", 100);
        assert_eq!(e, "a\\\"b\\\\c\\nSTATUS=completed\\r\\u{0}\\u{2028}");
        for c in [
            '\u{2029}', '\u{202e}', '\u{2067}', '\u{200f}', '\u{61c}', '\u{feff}',
        ] {
            assert_eq!(escape(&c.to_string(), 9), format!("\\u{{{:x}}}", c as u32));
        }
        assert_eq!(escape("ünïcødé ok", 100), "ünïcødé ok");
        assert_eq!(
            escape(&"x".repeat(200), 10),
            format!("{}...", "x".repeat(10))
        );
    }
}
