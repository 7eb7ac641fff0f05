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
//! - a half-written last line is held until its newline arrives; one longer
//!   than `lines::MAX_LINE` is counted and dropped, never held whole;
//! - only regular files are opened (a FIFO at the path would block `open`),
//!   and without blocking (`common::regular_file`).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::regular_file::open_regular;

/// The file's first line (at most this many bytes) is remembered to notice a
/// truncation that regrew: log lines share long prefixes, so less would not do.
const FINGERPRINT: usize = 4096;
/// Bytes read per read call, and at most per poll of one handle (so one busy
/// log cannot starve the others, and memory stays bounded).
const CHUNK: usize = 1 << 20;
const PER_POLL: usize = 16 << 20;

/// Where following a file of `len` bytes starts so that no line is split:
/// just after its last newline (0 when it has none).
pub fn line_end(file: &File, len: u64) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let mut end = len;
    let mut buf = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = usize::try_from(end - start).unwrap_or(0).min(buf.len());
        let part = buf.get_mut(..n).unwrap_or_default();
        file.read_exact_at(part, start)?;
        if let Some(i) = memchr::memrchr(b'\n', part) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[derive(Debug)]
struct Open {
    file: File,
    id: (u64, u64),
    pos: u64,
    partial: Vec<u8>,
    /// Inside a line over `MAX_LINE`: bytes are dropped until its newline.
    skipping: bool,
    /// Where in the poll's lines each line over `MAX_LINE` was dropped.
    dropped_at: Vec<usize>,
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
            skipping: false,
            dropped_at: Vec::new(),
            head: Vec::new(),
            last_data: Instant::now(),
        }
    }

    /// Reads what was appended (up to `PER_POLL` bytes); complete lines go
    /// to `out`. Returns the lines over `MAX_LINE` that were dropped.
    fn drain(&mut self, out: &mut Vec<Vec<u8>>) -> io::Result<u64> {
        // Nothing new (the common case, once per tick): no seek, no buffer.
        if self.file.metadata()?.len() == self.pos {
            return Ok(0);
        }
        self.file.seek(SeekFrom::Start(self.pos))?;
        let mut buf = vec![0u8; CHUNK];
        let (mut total, mut overlong) = (0usize, 0u64);
        while total < PER_POLL {
            let n = match self.file.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            total += n;
            self.pos += n as u64;
            self.last_data = Instant::now();
            overlong += self.take(buf.get(..n).unwrap_or_default(), out);
        }
        Ok(overlong)
    }

    /// Splits freshly read bytes into lines.
    fn take(&mut self, mut data: &[u8], out: &mut Vec<Vec<u8>>) -> u64 {
        if self.head.len() < FINGERPRINT && self.head.last() != Some(&b'\n') {
            let need = FINGERPRINT - self.head.len();
            let take = memchr::memchr(b'\n', data).map_or(data.len(), |i| i + 1).min(need);
            self.head.extend_from_slice(data.get(..take).unwrap_or_default());
        }
        let mut overlong = 0;
        while let Some(i) = memchr::memchr(b'\n', data) {
            let (line, rest) = data.split_at(i);
            data = rest.get(1..).unwrap_or_default();
            if std::mem::take(&mut self.skipping) {
                continue; // the end of an overlong line
            }
            // The batch scan's cap: a line of `MAX_LINE` bytes or more is
            // overlong however it arrived (one read or many).
            if self.partial.len().saturating_add(line.len()) >= crate::sources::lines::MAX_LINE {
                self.partial = Vec::new();
                self.dropped_at.push(out.len());
                overlong += 1;
                continue;
            }
            let mut whole = std::mem::take(&mut self.partial);
            whole.extend_from_slice(line);
            // NUL runs left by a copytruncate of a file written without O_APPEND.
            let nuls = whole.iter().take_while(|&&b| b == 0).count();
            if nuls < whole.len() {
                whole.drain(..nuls);
                out.push(whole);
            }
        }
        if !self.skipping {
            self.partial.extend_from_slice(data);
            if self.partial.len() >= crate::sources::lines::MAX_LINE {
                self.partial = Vec::new();
                self.skipping = true;
                self.dropped_at.push(out.len());
                overlong += 1;
            }
        }
        overlong
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
    /// Lines read so far, lines over `MAX_LINE` dropped, and truncations and
    /// rotations seen (for the report).
    pub lines: u64,
    pub overlong: u64,
    /// The last poll's dropped overlong lines: each one's index among the
    /// lines returned (it came just before that line), so readers that
    /// number lines (ledgers) keep every later number right.
    pub dropped_at: Vec<usize>,
    pub rotations: u64,
    pub truncations: u64,
}

fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

impl Follower {
    /// Follows `path`: from its end (`from_start` false) or its beginning.
    pub fn new(path: &Path, from_start: bool, grace: Duration) -> Follower {
        let current = open_regular(path).ok().map(|(f, m)| {
            let pos = if from_start { 0 } else { m.len() };
            let mut o = Open::new(f, file_id(&m), pos);
            if !from_start {
                let _ = read_head(&mut o);
            }
            o
        });
        Follower::with(path, current, grace)
    }

    /// Follows an already opened `file` from byte `pos` (what came before was
    /// read by the batch reader).
    pub fn resume(path: &Path, file: File, meta: &std::fs::Metadata, pos: u64, grace: Duration) -> Follower {
        let mut o = Open::new(file, file_id(meta), pos);
        let _ = read_head(&mut o);
        Follower::with(path, Some(o), grace)
    }

    fn with(path: &Path, current: Option<Open>, grace: Duration) -> Follower {
        Follower {
            path: path.to_path_buf(),
            current,
            old: Vec::new(),
            grace,
            lines: 0,
            overlong: 0,
            dropped_at: Vec::new(),
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
        let mut overlong = 0;
        self.dropped_at.clear();
        // A rotated-away file that shrank or changed its first line was
        // overwritten (a copy onto its name): nothing more of our log is there.
        let mut kept = Vec::with_capacity(self.old.len());
        for mut o in std::mem::take(&mut self.old) {
            let shrank = o.file.metadata().map_or(true, |m| m.len() < o.pos);
            if shrank || head_changed(&mut o)? {
                continue;
            }
            overlong += o.drain(&mut out)?;
            self.dropped_at.append(&mut o.dropped_at);
            kept.push(o);
        }
        self.old = kept;
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
                            c.skipping = false;
                            c.head.clear();
                        }
                    }
                    _ => {
                        // A new file at the path: keep draining the old one for a while.
                        if let Some(mut c) = self.current.take() {
                            overlong += c.drain(&mut out)?;
                            self.dropped_at.append(&mut c.dropped_at);
                            c.last_data = Instant::now();
                            self.old.push(c);
                            self.rotations += 1;
                        }
                        match open_regular(&self.path) {
                            Ok((f, m)) => self.current = Some(Open::new(f, file_id(&m), 0)),
                            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if let Some(c) = &mut self.current {
            overlong += c.drain(&mut out)?;
            self.dropped_at.append(&mut c.dropped_at);
        }
        self.lines += out.len() as u64;
        self.overlong += overlong;
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
    fn an_endless_line_is_dropped_not_held() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        append(&p, "");
        let mut f = Follower::new(&p, true, Duration::from_secs(1));
        let big = "x".repeat(crate::sources::lines::MAX_LINE / 4);
        for _ in 0..5 {
            append(&p, &big);
            assert!(f.poll().unwrap().is_empty());
        }
        append(&p, "tail of the long one\nnext\n");
        assert_eq!(text(f.poll().unwrap()), ["next"]);
        assert_eq!(f.overlong, 1);
    }

    #[test]
    fn a_fifo_is_reported_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo.log");
        let made = std::process::Command::new("mkfifo").arg(&p).status().unwrap();
        assert!(made.success());
        let mut f = Follower::new(&p, true, Duration::from_secs(1));
        assert!(f.poll().is_err(), "the follower reports it instead of blocking");
    }

    #[test]
    fn following_starts_after_the_last_whole_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        append(&p, "one\ntwo\nhal");
        let (file, m) = open_regular(&p).unwrap();
        assert_eq!(line_end(&file, m.len()).unwrap(), 8);
        let mut f = Follower::resume(&p, file, &m, 8, Duration::from_secs(1));
        append(&p, "f\n");
        assert_eq!(text(f.poll().unwrap()), ["half"]);
        std::fs::write(&p, "no newline").unwrap();
        let (file, m) = open_regular(&p).unwrap();
        assert_eq!(line_end(&file, m.len()).unwrap(), 0);
    }

    #[test]
    fn a_rotated_file_overwritten_by_a_copy_is_not_read_again() {
        let d = tempfile::tempdir().unwrap();
        let (p, p1) = (d.path().join("a.log"), d.path().join("a.log.1"));
        append(&p, "1 first\n");
        let mut f = Follower::new(&p, true, Duration::from_secs(5));
        assert_eq!(text(f.poll().unwrap()), ["1 first"]);
        std::fs::rename(&p, &p1).unwrap();
        append(&p, "2 second, in the new file\n");
        assert_eq!(text(f.poll().unwrap()), ["2 second, in the new file"]);
        // A copy onto the rotated name rewrites the file we still hold.
        std::fs::copy(&p, &p1).unwrap();
        append(&p, "3\n");
        assert_eq!(text(f.poll().unwrap()), ["3"]);
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
