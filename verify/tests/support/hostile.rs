//! Shared by trust.rs and trust_real.rs: a recordings tree whose names try
//! every trick against a terminal, a CI log, Markdown, HTML and XML.

use std::fs;

/// A name that tries everything: ESC/CSI colour, a bidi override, a bare CR
/// starting a forged workflow command, the runner's legacy matcher, raw
/// HTML, an HTML comment opener, and a code point XML cannot hold.
pub const HOSTILE: &str =
    "x\x1b[31m\u{202e}<img src=x onerror=alert(1)>\r::error title=forged::pwned ##[error]bad\u{fffe}<!--<script>.txt";

/// A tree whose student folder holds the hostile name, and a second student
/// folder that only differs from a real ID by a zero-width space.
pub fn hostile_tree(root: &std::path::Path) -> std::path::PathBuf {
    let rec = root.join("30/recordings");
    for id in ["test_00001", "test_00001\u{200b}"] {
        fs::create_dir_all(rec.join(id)).unwrap();
        fs::write(rec.join(id).join("test_00001_20251123_180000_seq_0001.mp4"), b"x").unwrap();
    }
    fs::write(rec.join("test_00001").join(HOSTILE), b"x").unwrap();
    root.join("30")
}

pub fn hidden_free(text: &str, what: &str) {
    for c in ['\x1b', '\u{202e}', '\u{200b}', '\r', '\u{fffe}'] {
        assert!(!text.contains(c), "{what} holds {c:?}:\n{text}");
    }
}
