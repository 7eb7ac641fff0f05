//! Line scanning at memory speed: read big blocks, count newlines with SIMD,
//! find candidate lines with a substring search, and hand only those lines on.
//! Lines are never allocated unless they are candidates.
//!
//! Files are read with `pread` into our own buffer, not memory-mapped: a log
//! truncated while mapped (logrotate's copytruncate) would kill the process
//! with SIGBUS, and the audit must never crash on its input.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use memchr::memmem::Finder;
use memchr::{memchr, memrchr};

/// Initial block size.
const BLOCK: usize = 4 << 20;
/// Lines longer than this are counted, reported and skipped unsearched.
pub const MAX_LINE: usize = 64 << 20;

/// Which lines are handed on.
#[derive(Debug)]
pub enum Filter<'a> {
    /// Every line.
    All,
    /// Lines containing these bytes.
    Contains(Box<Finder<'a>>),
    /// Lines containing any of several byte strings (a login and a logout
    /// word): one memmem search per string, each resumed past its last hit,
    /// so every byte is searched once per string.
    AnyOf(Vec<Finder<'a>>),
    /// Lines containing any of several byte strings, found in one SIMD pass
    /// (Teddy): a login word in two encodings costs one search, not two.
    Packed(Box<aho_corasick::packed::Searcher>),
}

impl Filter<'static> {
    /// Lines holding any of `words` (every line when there is none).
    pub fn any_of(words: &[Vec<u8>]) -> Filter<'static> {
        match words {
            [] => Filter::All,
            [one] => Filter::Contains(Box::new(Finder::new(one).into_owned())),
            many => Filter::AnyOf(many.iter().map(|w| Finder::new(w).into_owned()).collect()),
        }
    }

    /// Lines holding any of `words` in one pass where it can (`Packed`),
    /// else as `any_of`.
    pub fn packed(words: &[Vec<u8>]) -> Filter<'static> {
        if words.len() > 1 {
            let mut b = aho_corasick::packed::Config::new().builder();
            words.iter().for_each(|w| {
                b.add(w);
            });
            if let Some(s) = b.build() {
                return Filter::Packed(Box::new(s));
            }
        }
        Filter::any_of(words)
    }
}

/// Counts of one scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Lines seen (a last line without newline counts).
    pub lines: u64,
    /// Lines over `MAX_LINE`, skipped.
    pub overlong: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Scans `reader` to its end, or until the first line starting at or after
/// `limit` bytes (relative to the reader's start). `on_line` gets the 0-based
/// line index within this scan and the line without its newline. On a read
/// error the stats so far are returned with it.
pub fn scan<R: Read>(
    mut reader: R,
    limit: Option<u64>,
    filter: &Filter,
    mut on_line: impl FnMut(u64, &[u8]),
) -> (ScanStats, Option<io::Error>) {
    let mut st = ScanStats::default();
    let mut buf = vec![0u8; BLOCK];
    let (mut filled, mut base) = (0usize, 0u64); // base: offset of buf[0]
    loop {
        if limit.is_some_and(|lim| base >= lim) {
            return (st, None); // every line left starts past our range
        }
        let n = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (st, Some(e)),
        };
        st.bytes += n as u64;
        filled += n;
        let eof = n == 0;
        let mut end = match memrchr(b'\n', &buf[..filled]) {
            _ if eof => filled,
            Some(i) => i + 1,
            None if filled < buf.len() => continue,
            None if buf.len() < MAX_LINE => {
                buf.resize(buf.len() * 2, 0);
                continue;
            }
            None => {
                // An overlong line: count it, drop it, go on after its newline.
                st.overlong += 1;
                st.lines += 1;
                match skip_line(&mut reader, &mut buf, &mut st) {
                    Ok(Some((rest, skipped))) => {
                        base += (filled as u64) + skipped;
                        filled = rest;
                        continue;
                    }
                    Ok(None) => return (st, None),
                    Err(e) => return (st, Some(e)),
                }
            }
        };
        let mut stop = eof;
        if let Some(lim) = limit
            && base + end as u64 > lim
        {
            let rel = lim.saturating_sub(base) as usize;
            end = if rel == 0 {
                0
            } else {
                memchr(b'\n', &buf[rel - 1..end]).map_or(end, |i| rel + i)
            };
            stop = true;
        }
        process(&buf[..end], filter, &mut st.lines, &mut on_line);
        if stop {
            return (st, None);
        }
        buf.copy_within(end..filled, 0);
        base += end as u64;
        filled -= end;
    }
}

/// Reads past the rest of an overlong line. Returns the bytes after its
/// newline (moved to the front of `buf`) and how many bytes were dropped.
fn skip_line<R: Read>(reader: &mut R, buf: &mut [u8], st: &mut ScanStats) -> io::Result<Option<(usize, u64)>> {
    let mut dropped = 0u64;
    loop {
        let n = reader.read(buf)?;
        if n == 0 {
            return Ok(None);
        }
        st.bytes += n as u64;
        if let Some(i) = memchr(b'\n', &buf[..n]) {
            buf.copy_within(i + 1..n, 0);
            return Ok(Some((n - i - 1, dropped + i as u64 + 1)));
        }
        dropped += n as u64;
    }
}

/// Handles one region of whole lines (the last may lack its newline at EOF).
fn process(region: &[u8], filter: &Filter, lines: &mut u64, on_line: &mut impl FnMut(u64, &[u8])) {
    if region.is_empty() {
        return;
    }
    match filter {
        Filter::Packed(searcher) => matching(
            region,
            |pos| {
                searcher
                    .find_in(region, aho_corasick::Span::from(pos..region.len()))
                    .map(|m| m.start())
            },
            lines,
            on_line,
        ),
        Filter::All => {
            for line in region.strip_suffix(b"\n").unwrap_or(region).split(|&b| b == b'\n') {
                on_line(*lines, line);
                *lines += 1;
            }
        }
        Filter::Contains(finder) => matching(
            region,
            |pos| region.get(pos..).and_then(|r| finder.find(r)).map(|m| pos + m),
            lines,
            on_line,
        ),
        Filter::AnyOf(finders) => {
            // Each finder's next hit (None: none left in the region).
            let mut next: Vec<Option<usize>> = finders.iter().map(|f| f.find(region)).collect();
            matching(
                region,
                |pos| {
                    for (f, hit) in finders.iter().zip(next.iter_mut()) {
                        if hit.is_some_and(|h| h < pos) {
                            *hit = region.get(pos..).and_then(|r| f.find(r)).map(|m| pos + m);
                        }
                    }
                    next.iter().flatten().min().copied()
                },
                lines,
                on_line,
            )
        }
    }
}

/// Hands on the lines of `region` where `find` (the first hit at or after a
/// position, as a position) finds something.
fn matching(
    region: &[u8],
    mut find: impl FnMut(usize) -> Option<usize>,
    lines: &mut u64,
    on_line: &mut impl FnMut(u64, &[u8]),
) {
    let (mut pos, mut counted) = (0usize, 0usize);
    while let Some(m) = find(pos) {
        let start = memrchr(b'\n', &region[..m]).map_or(0, |i| i + 1);
        let end = memchr(b'\n', &region[m..]).map_or(region.len(), |i| m + i);
        *lines += bytecount::count(&region[counted..start], b'\n') as u64;
        counted = start;
        on_line(*lines, &region[start..end]);
        if end >= region.len() {
            break;
        }
        pos = end + 1;
    }
    *lines += bytecount::count(&region[counted..], b'\n') as u64;
    if region.last() != Some(&b'\n') {
        *lines += 1;
    }
}

/// Reads a file from `pos` with `pread`, so threads can share one handle.
#[derive(Debug)]
pub struct RangeReader<'a> {
    file: &'a File,
    pos: u64,
}

impl<'a> RangeReader<'a> {
    /// A reader of `file` starting at `pos`.
    pub fn new(file: &'a File, pos: u64) -> Self {
        RangeReader { file, pos }
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Where the first line starting at or after `at` begins (`len` if none).
pub fn line_start_at(file: &File, at: u64, len: u64) -> io::Result<u64> {
    if at == 0 {
        return Ok(0);
    }
    let mut pos = at - 1;
    let mut buf = vec![0u8; 64 << 10];
    while pos < len {
        let n = file.read_at(&mut buf, pos)?;
        if n == 0 {
            break;
        }
        if let Some(i) = memchr(b'\n', &buf[..n]) {
            return Ok(pos + i as u64 + 1);
        }
        pos += n as u64;
    }
    Ok(len)
}

/// Splits a file of `len` bytes into up to `parts` ranges that start on line
/// starts: `(start, limit)` pairs, where the range owns the lines starting in
/// `[start, start + limit)`.
pub fn split(file: &File, len: u64, parts: usize) -> io::Result<Vec<(u64, u64)>> {
    let parts = parts.max(1) as u64;
    let mut starts = Vec::new();
    for i in 0..parts {
        starts.push(line_start_at(file, len * i / parts, len)?);
    }
    starts.push(len);
    Ok(starts
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| (w[0], w[1] - w[0]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn collect(data: &[u8], needle: Option<&str>) -> (ScanStats, Vec<(u64, Vec<u8>)>) {
        let filter = match needle {
            Some(n) => Filter::Contains(Box::new(Finder::new(n.as_bytes()).into_owned())),
            None => Filter::All,
        };
        let mut got = Vec::new();
        let (st, err) = scan(data, None, &filter, |i, l| got.push((i, l.to_vec())));
        assert!(err.is_none());
        (st, got)
    }

    #[test]
    fn counts_lines_and_finds_candidates_with_their_numbers() {
        let data = "a\nxx HIT 1\nb\n\nHIT HIT 2\nlast HIT";
        let (st, got) = collect(data.as_bytes(), Some("HIT"));
        assert_eq!(st.lines, 6);
        let got: Vec<(u64, String)> = got
            .into_iter()
            .map(|(i, l)| (i, String::from_utf8(l).unwrap()))
            .collect();
        assert_eq!(
            got,
            [(1, "xx HIT 1".into()), (4, "HIT HIT 2".into()), (5, "last HIT".into())]
        );
        assert_eq!(collect(b"", Some("x")).0.lines, 0);
        assert_eq!(collect(b"\n", Some("x")).0.lines, 1);
    }

    #[test]
    fn ranges_partition_lines_exactly() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let mut expected = Vec::new();
        for i in 0..5000u64 {
            let line = format!(
                "{i} {}{}\n",
                "x".repeat((i % 97) as usize),
                if i % 7 == 0 { " HIT" } else { "" }
            );
            if i % 7 == 0 {
                expected.push(i);
            }
            io::Write::write_all(&mut tmp, line.as_bytes()).unwrap();
        }
        let file = tmp.reopen().unwrap();
        let len = file.metadata().unwrap().len();
        for parts in [1, 2, 3, 7, 64] {
            let filter = Filter::Contains(Box::new(Finder::new(b"HIT")));
            let (mut base, mut found) = (0u64, Vec::new());
            for (start, limit) in split(&file, len, parts).unwrap() {
                let (st, err) = scan(RangeReader::new(&file, start), Some(limit), &filter, |i, _| {
                    found.push(base + i)
                });
                assert!(err.is_none());
                base += st.lines;
            }
            assert_eq!(base, 5000, "{parts} parts");
            assert_eq!(found, expected, "{parts} parts");
        }
    }

    proptest! {
        /// Candidate lines and the total count agree with a naive split, for
        /// any bytes (NULs and invalid UTF-8 included).
        #[test]
        fn agrees_with_naive_split(data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'H'), Just(b'I'), Just(0u8), any::<u8>()], 0..400)) {
            let (st, got) = collect(&data, Some("HI"));
            let body = data.strip_suffix(b"\n").unwrap_or(&data);
            let naive: Vec<&[u8]> = if data.is_empty() { vec![] } else { body.split(|&b| b == b'\n').collect() };
            prop_assert_eq!(st.lines, naive.len() as u64);
            let want: Vec<(u64, Vec<u8>)> = naive.iter().enumerate()
                .filter(|(_, l)| l.windows(2).any(|w| w == b"HI"))
                .map(|(i, l)| (i as u64, l.to_vec())).collect();
            prop_assert_eq!(got, want);
        }

        /// Several needles: the lines holding any of them, each once, as a
        /// naive split finds them (overlapping needles, hits on one line).
        #[test]
        fn any_of_agrees_with_naive_split(data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'H'), Just(b'I'), Just(b'O'), any::<u8>()], 0..400)) {
            let filter = Filter::AnyOf(vec![Finder::new(b"HI").into_owned(), Finder::new(b"IO").into_owned(), Finder::new(b"O").into_owned()]);
            let mut got = Vec::new();
            let (st, err) = scan(&data[..], None, &filter, |i, l| got.push((i, l.to_vec())));
            prop_assert!(err.is_none());
            let body = data.strip_suffix(b"\n").unwrap_or(&data);
            let naive: Vec<&[u8]> = if data.is_empty() { vec![] } else { body.split(|&b| b == b'\n').collect() };
            prop_assert_eq!(st.lines, naive.len() as u64);
            let want: Vec<(u64, Vec<u8>)> = naive.iter().enumerate()
                .filter(|(_, l)| l.windows(2).any(|w| w == b"HI" || w == b"IO") || l.contains(&b'O'))
                .map(|(i, l)| (i as u64, l.to_vec())).collect();
            prop_assert_eq!(got, want);
        }
    }
}
