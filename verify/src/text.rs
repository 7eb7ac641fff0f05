//! Names made safe for terminals and JSON: bytes that are not UTF-8 become
//! `\xNN`, control characters are escaped, so a hostile file name cannot
//! rewrite the screen.

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

fn push_escaped(out: &mut String, s: &str) {
    if !s.chars().any(char::is_control) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_invalid_utf8_and_controls() {
        assert_eq!(escape_bytes(b"ok_\xff\xfe.mp4"), "ok_\\xFF\\xFE.mp4");
        assert_eq!(escape_bytes("学生_1".as_bytes()), "学生_1");
        assert_eq!(escape_str("a\x1b[31mb\n"), "a\\u{1b}[31mb\\n");
    }
}
