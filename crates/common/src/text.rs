//! Names made safe for terminals and JSON: bytes that are not UTF-8 become
//! `\xNN`, control characters, bidi controls and zero-width characters are
//! escaped, so a hostile file name cannot rewrite the screen or pass for
//! another (`test_00001\u{200b}` is not `test_00001`). One sanitizer, used
//! where names are read and again by every renderer; escaping is idempotent.
//! HTML text sits beside it (both tools' pages); verify's XML and CI runner
//! escapes are verify's own (`verify::render::escape`).

use std::ffi::OsStr;
use std::fmt::Write;

/// A printable, lossless-enough rendering of a file name.
pub fn escape_os(name: &OsStr) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        escape_bytes(name.as_bytes())
    }
    #[cfg(not(unix))]
    {
        escape_str(&name.to_string_lossy())
    }
}

/// Escapes raw bytes: valid UTF-8 passes (minus control characters), the rest is `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    // Nearly every real name: no chunking, no per-char classification.
    if printable_ascii(bytes)
        && let Ok(s) = std::str::from_utf8(bytes)
    {
        return s.to_string();
    }
    escape_each(bytes)
}

/// `escape_bytes` without the fast path: every chunk classified.
fn escape_each(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// Escapes control characters in text.
pub fn escape_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

/// Characters that change how text displays without showing themselves:
/// controls, bidi embeddings/overrides/isolates, zero-width characters, BOM.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}' | '\u{2028}' | '\u{2029}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Printable ASCII has nothing to escape; one vectorizable pass tells.
fn printable_ascii(b: &[u8]) -> bool {
    b.iter().all(|c| (0x20..0x7f).contains(c))
}

/// `escape_str` appended to `out` (no string of its own).
pub fn push_escaped(out: &mut String, s: &str) {
    if printable_ascii(s.as_bytes()) || !s.chars().any(is_hidden) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        if is_hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
}

/// Text for HTML: sanitized, then `&`, `<`, `>`, `"` escaped.
pub fn html(s: &str) -> String {
    escape_str(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_ascii_fast_path_changes_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..40),
                                               ascii in "[ -~]{0,40}") {
            prop_assert_eq!(escape_bytes(&bytes), escape_each(&bytes));
            prop_assert_eq!(escape_bytes(ascii.as_bytes()), escape_each(ascii.as_bytes()));
            prop_assert_eq!(escape_str(&ascii), ascii.clone());
        }
    }

    #[test]
    fn escapes_invalid_utf8_and_controls() {
        assert_eq!(escape_bytes(b"ok_\xff\xfe.mp4"), "ok_\\xFF\\xFE.mp4");
        assert_eq!(escape_bytes("学生_1".as_bytes()), "学生_1");
        assert_eq!(escape_str("a\x1b[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(escape_str("test_00001\u{200b}"), "test_00001\\u{200b}");
        assert_eq!(escape_str("a\u{202e}b\u{2066}"), "a\\u{202e}b\\u{2066}");
        assert_eq!(
            escape_str(&escape_str("x\x1b\u{202e}")),
            escape_str("x\x1b\u{202e}"),
            "idempotent"
        );
        assert_eq!(html("<img src=x>&\"\r"), "&lt;img src=x&gt;&amp;&quot;\\r");
    }
}
