//! Following a log file by name, through rotation, without losing or
//! repeating lines. Our own small follower instead of linemux, whose reader
//! drops the unread tail of a renamed file (it never drains the old handle)
//! and misses a truncation followed by quick regrowth.
//!
//! - **rename** (logrotate `create`, gunicorn USR1): a new file at the path is
//!   noticed by its inode; the old handle keeps being read until it has been
//!   quiet for `grace` (some gunicorn workers write to it for a while);
//! - **copytruncate**: noticed when the file shrinks *or* when its first bytes
//!   change (a truncation that regrew past our offset between two polls);
//!   reading restarts at 0 and a leading run of NUL bytes (the writer kept its
//!   old offset: no O_APPEND) is skipped, not reported as lines;
//! - **delete and recreate**: like rename; a missing file is waited for;
//! - a half-written last line is held until its newline arrives.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file's first line (at most this many bytes) is remembered to notice a
/// truncation that regrew: log lines share long prefixes, so less would not do.
const FINGERPRINT: usize = 4096;

#[derive(Debug)]
struct Open {
    file: File,
    id: (u64, u64),
    pos: u64,
    partial: Vec<u8>,
    head: Vec<u8>,
    last_data: Instant,
}

impl Open {
    fn new(file: File, id: (u64, u64), pos: u64) -> Open {
        Open {
            file,
            id,
            pos,
            partial: Vec::new(),
            head: Vec::new(),
            last_data: Instant::now(),
        }
    }

    /// Reads what was appended; complete lines go to `out`.
    fn drain(&mut self, out: &mut Vec<Vec<u8>>) -> io::Result<u64> {
        self.file.seek(SeekFrom::Start(self.pos))?;
        let mut buf = Vec::new();
        let n = (&mut self.file).take(64 << 20).read_to_end(&mut buf)?;
        if n == 0 {
            return Ok(0);
        }
        self.pos += n as u64;
        self.last_data = Instant::now();
        if self.head.len() < FINGERPRINT && self.head.last() != Some(&b'\n') {
            let need = FINGERPRINT - self.head.len();
            let take = memchr::memchr(b'\n', &buf).map_or(buf.len(), |i| i + 1).min(need);
            self.head.extend_from_slice(&buf[..take]);
        }
        let mut data = std::mem::take(&mut self.partial);
        data.extend_from_slice(&buf);
        let mut start = 0;
        while let Some(i) = memchr::memchr(b'\n', &data[start..]) {
            let line = &data[start..start + i];
            // NUL runs left by a copytruncate of a file written without O_APPEND.
            let line = &line[line.iter().take_while(|&&b| b == 0).count()..];
            if !line.is_empty() {
                out.push(line.to_vec());
            }
            start += i + 1;
        }
        self.partial = data[start..].to_vec();
        Ok(n as u64)
    }
}

/// Follows one path.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    current: Option<Open>,
    /// Rotated-away handles still drained until quiet for `grace`.
    old: Vec<Open>,
    grace: Duration,
    /// Lines read so far, and truncations and rotations seen (for the report).
    pub lines: u64,
    pub rotations: u64,
    pub truncations: u64,
}

fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

impl Follower {
    /// Follows `path`: from its end (`from_start` false) or its beginning.
    pub fn new(path: &Path, from_start: bool, grace: Duration) -> Follower {
        let current = File::open(path).ok().and_then(|f| {
            let m = f.metadata().ok()?;
            let pos = if from_start { 0 } else { m.len() };
            let mut o = Open::new(f, file_id(&m), pos);
            if !from_start {
                let _ = read_head(&mut o);
            }
            Some(o)
        });
        Follower {
            path: path.to_path_buf(),
            current,
            old: Vec::new(),
            grace,
            lines: 0,
            rotations: 0,
            truncations: 0,
        }
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads whatever is new, in order: old handles first, then the current file.
    pub fn poll(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for o in &mut self.old {
            o.drain(&mut out)?;
        }
        let grace = self.grace;
        self.old.retain(|o| o.last_data.elapsed() < grace);
        match std::fs::metadata(&self.path) {
            Ok(m) => {
                let id = file_id(&m);
                match &mut self.current {
                    Some(c) if c.id == id => {
                        if m.len() < c.pos || head_changed(c)? {
                            // copytruncate: what is there now is new content.
                            self.truncations += 1;
                            c.pos = 0;
                            c.partial.clear();
                            c.head.clear();
                        }
                    }
                    _ => {
                        // A new file at the path: keep draining the old one for a while.
                        if let Some(mut c) = self.current.take() {
                            c.drain(&mut out)?;
                            c.last_data = Instant::now();
                            self.old.push(c);
                            self.rotations += 1;
                        }
                        if let Ok(f) = File::open(&self.path) {
                            self.current = Some(Open::new(f, id, 0));
                        }
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if let Some(c) = &mut self.current {
            c.drain(&mut out)?;
        }
        self.lines += out.len() as u64;
        Ok(out)
    }
}

fn read_head(o: &mut Open) -> io::Result<()> {
    let mut head = vec![0u8; FINGERPRINT];
    o.file.seek(SeekFrom::Start(0))?;
    let n = o.file.read(&mut head)?;
    head.truncate(memchr::memchr(b'\n', &head[..n]).map_or(n, |i| i + 1));
    o.head = head;
    Ok(())
}

/// True when the file no longer starts with the bytes we read there.
fn head_changed(c: &mut Open) -> io::Result<bool> {
    if c.head.is_empty() {
        return Ok(false);
    }
    let mut now = vec![0u8; c.head.len()];
    c.file.seek(SeekFrom::Start(0))?;
    let n = c.file.read(&mut now)?;
    Ok(n < c.head.len() || now[..n] != c.head[..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(p: &Path, s: &str) {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap()
            .write_all(s.as_bytes())
            .unwrap();
    }

    fn text(lines: Vec<Vec<u8>>) -> Vec<String> {
        lines.into_iter().map(|l| String::from_utf8(l).unwrap()).collect()
    }

    #[test]
    fn partial_lines_wait_for_their_newline() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        append(&p, "old\n");
        let mut f = Follower::new(&p, false, Duration::from_secs(1));
        append(&p, "one\ntw");
        assert_eq!(text(f.poll().unwrap()), ["one"]);
        append(&p, "o\n");
        assert_eq!(text(f.poll().unwrap()), ["two"]);
    }

    #[test]
    fn rename_rotation_drains_the_old_file_then_follows_the_new() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        append(&p, "");
        let mut f = Follower::new(&p, true, Duration::from_secs(5));
        append(&p, "1\n");
        assert_eq!(text(f.poll().unwrap()), ["1"]);
        let mut old = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        std::fs::rename(&p, d.path().join("a.log.1")).unwrap();
        old.write_all(b"2 late write to the renamed file\n").unwrap();
        append(&p, "3\n");
        assert_eq!(text(f.poll().unwrap()), ["2 late write to the renamed file", "3"]);
        assert_eq!(f.rotations, 1);
    }

    #[test]
    fn copytruncate_with_regrowth_and_nul_prefix() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        append(&p, "first line that is long enough\n");
        let mut f = Follower::new(&p, true, Duration::from_secs(1));
        assert_eq!(f.poll().unwrap().len(), 1);
        // Truncate, then regrow past our offset before the next poll.
        std::fs::write(&p, "after truncation, a much longer first line than before\n").unwrap();
        assert_eq!(
            text(f.poll().unwrap()),
            ["after truncation, a much longer first line than before"]
        );
        // A writer without O_APPEND keeps its offset: NULs, then its line.
        let mut nul = vec![0u8; 300];
        nul.extend_from_slice(b"x\n");
        std::fs::write(&p, &nul).unwrap();
        assert_eq!(text(f.poll().unwrap()), ["x"]);
        assert_eq!(f.truncations, 2);
    }

    #[test]
    fn delete_and_recreate() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        let mut f = Follower::new(&p, false, Duration::from_secs(1));
        assert!(f.poll().unwrap().is_empty(), "a missing file is waited for");
        append(&p, "a\n");
        assert_eq!(text(f.poll().unwrap()), ["a"]);
        std::fs::remove_file(&p).unwrap();
        assert!(f.poll().unwrap().is_empty());
        append(&p, "b\n");
        assert_eq!(text(f.poll().unwrap()), ["b"]);
    }
}
