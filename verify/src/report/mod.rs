//! Report structs: the JSON contract of every audit. Fields may be added,
//! never renamed. Renderers read these; nothing here prints.

pub mod files;
pub mod gate;
pub mod ids;
pub mod merge;
pub mod seq;

use serde::Serialize;

/// A path that could not be read, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct PathError {
    /// The path, escaped for display.
    pub path: String,
    /// What went wrong, e.g. `permission denied` or `vanished during scan`.
    pub error: String,
}

impl PathError {
    /// Builds an entry from an I/O error, naming vanished files plainly.
    pub fn io(path: &std::path::Path, err: &std::io::Error) -> PathError {
        let error = match err.kind() {
            std::io::ErrorKind::NotFound => "vanished during scan (not found)".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => err.to_string(),
        };
        PathError {
            path: common::text::escape_os(path.as_os_str()),
            error,
        }
    }

    /// Builds an entry for a path the user named (`--log`, `--ledger`): a
    /// path that does not exist was mistyped, not vanished.
    pub fn named(path: &std::path::Path, err: &std::io::Error) -> PathError {
        match err.kind() {
            std::io::ErrorKind::NotFound => PathError {
                path: common::text::escape_os(path.as_os_str()),
                error: "not found (no such file: check the path)".into(),
            },
            _ => PathError::io(path, err),
        }
    }
}

/// An I/O error in words (`not found`, `permission denied`, `is a
/// directory`, …), without the OS's error number.
pub fn io_words(err: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match err.kind() {
        K::NotFound => "not found".into(),
        K::PermissionDenied => "permission denied".into(),
        K::NotADirectory => "not a directory".into(),
        K::IsADirectory => "is a directory".into(),
        _ => err.to_string(),
    }
}
