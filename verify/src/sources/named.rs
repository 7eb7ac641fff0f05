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
    // The path as typed may hold control characters: escaped for the terminal.
    let err = |e: String| UsageError(format!("{flag} {}: {e}", common::text::escape_os(path.as_os_str())));
    // The one regular-file opener (non-blocking: a FIFO or a file swapped for
    // one cannot hang the open).
    let (f, _) = common::regular_file::open_regular(path).map_err(|e| {
        err(match e.kind() {
            std::io::ErrorKind::InvalidInput => "not a regular file".into(),
            _ => e.to_string(),
        })
    })?;
    let mut bytes = Vec::new();
    f.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > cap {
        return Err(err(format!("larger than {cap} bytes, the most read")));
    }
    String::from_utf8(bytes).map_err(|_| err("not UTF-8 text".into()))
}
