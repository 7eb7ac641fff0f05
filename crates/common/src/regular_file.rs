//! Regular files opened without blocking: a path given on the command line
//! (a log, a scenario, a payload) may name a FIFO, whose `open` would block
//! forever, or a device or a folder. Both tools read only regular files.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Opens a regular file for reading, without blocking: anything else at the
/// path (a FIFO, a device, a folder) is refused with a clear error.
pub fn open_regular(path: &Path) -> io::Result<(File, std::fs::Metadata)> {
    let m = std::fs::metadata(path)?;
    if !m.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file: cannot be followed",
        ));
    }
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let f = options.open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file: cannot be followed",
        ));
    }
    Ok((f, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_not_opened() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo.log");
        let made = std::process::Command::new("mkfifo").arg(&p).status().unwrap();
        assert!(made.success());
        let err = open_regular(&p).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(open_regular(d.path()).is_err(), "a folder");
        std::fs::write(d.path().join("f"), "x").unwrap();
        assert_eq!(open_regular(&d.path().join("f")).unwrap().1.len(), 1);
    }
}
