//! Files and paths the user names on the command line: made absolute once
//! (`--dir`), or read whole when small (`--config`, `--merge`), regular files
//! only and within a cap.

use std::path::{Path, PathBuf};

use common::usage::UsageError;

/// A path the user named, made absolute against the current directory, once,
/// here: notify reports absolute paths, and a relative `--dir` matched none of
/// them. `..` is kept (lexical resolution is wrong across symbolic links); `.`
/// and a trailing `/` go, so that paths built from it compare equal.
pub fn absolute(path: &Path, flag: &str) -> Result<PathBuf, UsageError> {
    let abs = std::path::absolute(path).map_err(|e| UsageError(format!("{flag} {}: {e}", path.display())))?;
    Ok(abs.components().collect())
}

/// The largest `--config` file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads a small text file the user named (`--config`, `--merge`): a regular
/// file only (`/dev/zero` would grow memory without end, a FIFO would hang),
/// at most `cap` bytes.
pub fn read_user_file(path: &Path, flag: &str, cap: u64) -> Result<String, UsageError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: String| UsageError(format!("{flag} {}: {e}", path.display()));
    let m = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !m.is_file() {
        return Err(err("not a regular file".into()));
    }
    // Non-blocking: a file swapped for a FIFO after the check cannot hang the open.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| err(e.to_string()))?;
    let mut bytes = Vec::new();
    f.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > cap {
        return Err(err(format!("larger than {cap} bytes, the most read")));
    }
    String::from_utf8(bytes).map_err(|_| err("not UTF-8 text".into()))
}
