//! Helpers for integration tests: run the real binary, find fixtures.

#![allow(dead_code)]

pub mod gentree;
pub mod hostile;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `verify` with `args`, colour off, and collects its output.
pub fn verify<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .output()
        .expect("run verify");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts two texts are equal, printing a line diff on mismatch.
pub fn assert_same_text(actual: &str, expected: &str, what: &str) {
    if actual == expected {
        return;
    }
    let mut diff = String::new();
    let (a, e): (Vec<&str>, Vec<&str>) = (actual.lines().collect(), expected.lines().collect());
    for i in 0..a.len().max(e.len()) {
        match (a.get(i), e.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => diff.push_str(&format!(
                "line {}:\n  - expected: {:?}\n  + actual:   {:?}\n",
                i + 1,
                y,
                x
            )),
        }
    }
    panic!("{what} differs from the expected text:\n{diff}");
}

/// Asserts that `stdout` is, byte for byte, what `serde_json`'s pretty
/// printer writes for the report it parses into (the seq and gate reports
/// are written in parallel parts: they must not differ from the one-piece
/// rendering by a single byte).
pub fn assert_pretty_json<R: serde::Serialize>(stdout: &str, report: &R) {
    let expected = serde_json::to_string_pretty(report).expect("serialize") + "\n";
    assert_same_text(stdout, &expected, "the JSON document");
}
