//! Escapes for verify's own output formats, over `common::text`'s sanitizer:
//! XML for JUnit files, and text a CI runner reads as commands (GitHub
//! Actions annotations and step summaries). loadgen writes neither.

use common::text::escape_str;

/// Text for XML 1.0: sanitized, and code points XML cannot hold (U+FFFE,
/// U+FFFF, lone surrogates cannot occur in `str`) written as `\u{…}`.
pub fn xml(s: &str) -> String {
    let clean = escape_str(s);
    if !clean.chars().any(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}')) {
        return clean;
    }
    clean
        .chars()
        .map(|c| match c {
            '\u{FFFE}' | '\u{FFFF}' => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Text printed where a CI runner reads commands (GitHub Actions): sanitized
/// (so no CR can start a line), and `::` and `##[` broken so that nothing in
/// a file name or log line parses as a workflow command.
pub fn runner(s: &str) -> String {
    escape_str(s).replace("::", ":\\u{3a}").replace("##[", "#\\u{23}[")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_and_runner_text_are_sanitized_and_defused() {
        assert_eq!(xml("a\u{fffe}b"), "a\\u{fffe}b");
        assert_eq!(runner("x::error ##[error]y\rz"), "x:\\u{3a}error #\\u{23}[error]y\\rz");
    }
}
