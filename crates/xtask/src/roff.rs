//! Text made safe for roff: the one escaping of the pages written here (clap_mangen escapes its
//! own).

/// Backslashes escaped, hyphens as `\-` (so that `man` shows and searches them as ASCII), and
/// no line starting with a control character.
pub fn escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let t = line.replace('\\', "\\e").replace('-', "\\-");
            if t.starts_with('.') || t.starts_with('\'') {
                format!("\\&{t}")
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_what_roff_would_interpret() {
        assert_eq!(super::escape("--config"), "\\-\\-config");
        assert_eq!(super::escape(".x\n'y"), "\\&.x\n\\&'y");
        assert_eq!(super::escape("a\\b"), "a\\eb");
    }
}
