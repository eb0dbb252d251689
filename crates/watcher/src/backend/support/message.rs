//! Turning what a child printed into the one line a response and a log carry.
//!
//! Fence agents print `Success: Powered OFF` on stdout and `... ERROR: Failed: ...` on stderr,
//! among warnings and tracebacks; the line that matters is the last meaningful one. Output may be
//! anything (binary, escape sequences, another language's encoding), so it is decoded lossily,
//! whitespace controls become spaces, every other control, line-separator or bidi character
//! (U+2028, U+202E, ...) is escaped as `\u{hex}` by the protocol's one escaper (as the agent
//! escapes them), the line is bounded, and secrets are scrubbed from it.

use std::path::Path;
use std::time::Duration;

use gfs2_fence_protocol::text::{is_hidden, push_escaped};

use super::process::Run;
use super::secret::{scrub, Secret};
use crate::backend::BackendOutcome;

/// Most characters of a backend message.
pub const MAX_MESSAGE: usize = 300;
/// Most characters of a peer's answer (an HTTP error body) quoted in a message.
pub const MAX_EXCERPT: usize = 200;

/// A bounded, escaped, scrubbed excerpt of what a peer answered, to quote in a message: the
/// whole text is scrubbed before it is cut, so the cut can never leave part of a secret, and
/// whitespace runs become one space. `"no details"` when nothing is left.
pub fn excerpt(text: &str, secrets: &[Secret]) -> String {
    let scrubbed = scrub(text, secrets);
    let words = scrubbed.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut bounded: String = words.chars().take(MAX_EXCERPT).collect();
    if words.chars().nth(MAX_EXCERPT).is_some() {
        bounded.push('…');
    }
    let clean = clean(&bounded, secrets);
    if clean.is_empty() {
        "no details".to_owned()
    } else {
        clean
    }
}

/// The outcome of a run where exit 0 means success: `<what> succeeded: <line>` or
/// `<what> failed (exit 1): <line>` / `<what> failed (timed out after 5 s): <line>`.
pub fn exit_outcome(
    what: &str,
    run: &Run,
    program: &Path,
    limit: Duration,
    secrets: &[Secret],
) -> BackendOutcome {
    let success = run.code() == Some(0);
    let status = if success {
        "succeeded".to_owned()
    } else {
        format!("failed ({})", run.describe(program, limit))
    };
    let text = match last_line(&run.stdout, &run.stderr, success) {
        Some(line) => format!("{what} {status}: {line}"),
        None => format!("{what} {status}"),
    };
    BackendOutcome {
        success,
        message: clean(&text, secrets),
    }
}

/// The last meaningful line of a child's output. On failure, stderr's last `ERROR` line wins,
/// then stderr's last line, then stdout's; on success stdout comes first.
pub fn last_line(stdout: &[u8], stderr: &[u8], success: bool) -> Option<String> {
    let out = String::from_utf8_lossy(stdout);
    let err = String::from_utf8_lossy(stderr);
    let error_line = || {
        meaningful(&err)
            .rev()
            .find(|l| l.contains("ERROR"))
            .map(from_error)
    };
    let last = |text: &str| meaningful(text).next_back().map(str::to_owned);
    if success {
        last(&out).or_else(|| last(&err))
    } else {
        error_line().or_else(|| last(&err)).or_else(|| last(&out))
    }
}

/// Lines worth showing: not blank, not a Python warning.
fn meaningful(text: &str) -> impl DoubleEndedIterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| {
        !l.is_empty()
            && !l.starts_with("WARNING:")
            && !l.contains("DeprecationWarning")
            && !l.starts_with("import ")
    })
}

/// `2026-11-24 16:05:44,317 ERROR: Failed: x` and `ERROR:root:Failed: x` become `ERROR: Failed: x`.
fn from_error(line: &str) -> String {
    if let Some(i) = line.find("ERROR: ") {
        return line[i..].to_owned();
    }
    if let Some(rest) = line.strip_prefix("ERROR:root:") {
        return format!("ERROR: {rest}");
    }
    line.to_owned()
}

/// One bounded line without control or hidden characters or secrets.
pub fn clean(text: &str, secrets: &[Secret]) -> String {
    let scrubbed = scrub(text, secrets);
    let mut out = String::new();
    let mut count = 0;
    for c in scrubbed.chars() {
        let c = if c.is_whitespace() && c.is_control() {
            ' '
        } else {
            c
        };
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        // The bound is on what is shown: an escaped character counts as its escape.
        let mut shown = String::new();
        if is_hidden(c) {
            push_escaped(&mut shown, c);
        } else {
            shown.push(c);
        }
        let width = shown.chars().count();
        if count + width > MAX_MESSAGE {
            out.push('…');
            break;
        }
        out.push_str(&shown);
        count += width;
    }
    // Scrub again: bounding may not cut a secret, but collapsing whitespace could join one.
    scrub(out.trim(), secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_agent_line() {
        let err = b"WARNING:root:Parse error: Ignoring unknown option 'port=cn1'\n\n\
            ERROR:root:Failed: Timed out waiting to power OFF\n\n\n\
            2026-11-24 16:05:19,451 ERROR: Failed: Timed out waiting to power OFF\n\n";
        let line = last_line(b"", err, false).expect("line");
        assert_eq!(line, "ERROR: Failed: Timed out waiting to power OFF");
        let ok = last_line(b"Success: Powered OFF\n", b"DeprecationWarning: x\n", true);
        assert_eq!(ok.as_deref(), Some("Success: Powered OFF"));
        assert_eq!(last_line(b"", b"  \n", false), None);
    }

    /// Regression (issue 10, #10): "U+2028 and U+202E from a backend reach the daemon's text
    /// log and the response message raw".
    #[test]
    fn u2028_and_u202e_from_a_backend_reach_the_log_and_the_response_raw() {
        let out = "Success: \u{2028}STATUS=completed \u{202e}dellif\u{2029}\u{200b}\u{2066}x";
        let line = last_line(out.as_bytes(), b"", true).expect("line");
        let cleaned = clean(&line, &[]);
        assert!(
            !cleaned.chars().any(gfs2_fence_protocol::text::is_hidden),
            "{cleaned:?}"
        );
        assert_eq!(
            cleaned,
            "Success: \\u{2028}STATUS=completed \\u{202e}dellif\\u{2029}\\u{200b}\\u{2066}x"
        );
    }

    #[test]
    fn survives_binary_and_bounds_length() {
        let line = last_line(b"", b"\xff\xfe bad \x1b[31mred\x07\n", false).expect("line");
        let cleaned = clean(&line, &[]);
        assert!(!cleaned.chars().any(char::is_control), "{cleaned:?}");
        assert!(cleaned.contains("red"));
        let hidden = clean(&"\u{202e}".repeat(1000), &[]);
        assert!(
            hidden.chars().count() <= MAX_MESSAGE + 1,
            "{}",
            hidden.len()
        );
        assert_eq!(
            clean(&"x".repeat(1000), &[]).chars().count(),
            MAX_MESSAGE + 1
        );
    }
}
