//! Reading the files a user names (`--cacert`, `--scenario`, `--payload`):
//! only regular files, opened without blocking (a FIFO would hang the open),
//! and never more than a cap (a device such as /dev/zero would grow memory
//! until the process dies). Every error names the flag.

use std::io::Read;
use std::path::Path;

/// `--cacert`: a PEM bundle (the system's is about 200 KiB).
pub const CACERT_CAP: u64 = 4 << 20;
/// `--scenario`: a TOML file.
pub const SCENARIO_CAP: u64 = 4 << 20;
/// `--payload`: sent whole as each upload, as large as `--segment-size` allows.
pub const PAYLOAD_CAP: u64 = 4 << 30;

/// Why a named file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{flag} {path}: {why}")]
    Io {
        flag: String,
        path: String,
        why: std::io::Error,
    },
    #[error("{flag} {path}: not a regular file ({kind})")]
    NotRegular {
        flag: String,
        path: String,
        kind: &'static str,
    },
    #[error("{flag} {path}: larger than the {cap} limit for this flag")]
    TooLarge { flag: String, path: String, cap: String },
    #[error("{flag} {path}: not UTF-8 text")]
    NotText { flag: String, path: String },
}

/// What a non-regular file is, for the message.
fn kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// `4 MiB`: a cap for messages.
pub fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// The whole content of the file `flag` names, at most `cap` bytes.
pub fn read(path: &Path, flag: &str, cap: u64) -> Result<Vec<u8>, FileError> {
    let p = || common::text::escape_str(&path.display().to_string());
    let io = |why| FileError::Io {
        flag: flag.to_string(),
        path: p(),
        why,
    };
    // Checked before the open (a FIFO's open blocks) and after it, on the
    // handle (the path may have changed in between).
    let m = std::fs::metadata(path).map_err(io)?;
    if !m.is_file() {
        return Err(FileError::NotRegular {
            flag: flag.to_string(),
            path: p(),
            kind: kind(m.file_type()),
        });
    }
    let (f, m) = common::regular_file::open_regular(path).map_err(io)?;
    let too_large = || FileError::TooLarge {
        flag: flag.to_string(),
        path: p(),
        cap: human(cap),
    };
    if m.len() > cap {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(usize::try_from(m.len()).unwrap_or(0));
    // One byte past the cap tells a file that grew while read.
    f.take(cap.saturating_add(1)).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(buf)
}

/// As `read`, for a text file.
pub fn read_text(path: &Path, flag: &str, cap: u64) -> Result<String, FileError> {
    String::from_utf8(read(path, flag, cap)?).map_err(|_| FileError::NotText {
        flag: flag.to_string(),
        path: common::text::escape_str(&path.display().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_cap() {
        let d = tempfile::tempdir().unwrap();
        let ok = d.path().join("ok.toml");
        std::fs::write(&ok, "x = 1\n").unwrap();
        assert_eq!(read_text(&ok, "--scenario", 100).unwrap(), "x = 1\n");
        let big = d.path().join("big");
        std::fs::write(&big, vec![b'a'; 101]).unwrap();
        let e = read(&big, "--payload", 100).unwrap_err().to_string();
        assert!(
            e.starts_with("--payload ") && e.contains("larger than the 100 bytes limit"),
            "{e}"
        );
        let e = read(d.path(), "--cacert", 100).unwrap_err().to_string();
        assert!(e.contains("not a regular file (a directory)"), "{e}");
        let e = read(Path::new("/dev/zero"), "--cacert", CACERT_CAP)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--cacert /dev/zero: not a regular file (a device)"), "{e}");
        let e = read(&d.path().join("missing"), "--scenario", 100)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--scenario ") && e.contains("No such file"), "{e}");
        let bin = d.path().join("bin");
        std::fs::write(&bin, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_text(&bin, "--scenario", 100),
            Err(FileError::NotText { .. })
        ));
        assert_eq!(human(8 << 20), "8 MiB");
        assert_eq!(human(4 << 30), "4 GiB");
    }
}
