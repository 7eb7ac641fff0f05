//! Log inputs: files (plain or gzip), globs and standard input, opened for
//! reading only; their encoding; and a sample of their head.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, GB18030, GBK, UTF_8};

/// One input, as resolved from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// The file's path (`None` for standard input).
    pub fn into_path(self) -> Option<PathBuf> {
        match self {
            Input::File(p) => Some(p),
            Input::Stdin => None,
        }
    }

    /// The name used in reports.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(p) => common::text::escape_os(p.as_os_str()),
        }
    }
}

/// The encoding asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingChoice {
    /// UTF-8.
    Utf8,
    /// GB18030 (a superset of GBK).
    Gb18030,
    /// GBK.
    Gbk,
    /// Decide per file from its head.
    Auto,
}

impl EncodingChoice {
    /// Parses `utf-8`, `gb18030`, `gbk` or `auto`.
    pub fn parse(s: &str) -> Option<EncodingChoice> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(EncodingChoice::Utf8),
            "gb18030" => Some(EncodingChoice::Gb18030),
            "gbk" | "cp936" => Some(EncodingChoice::Gbk),
            "auto" => Some(EncodingChoice::Auto),
            _ => None,
        }
    }
}

/// How much of a file's head is sampled (encoding, access lines, undecodable lines).
pub const SAMPLE_BYTES: usize = 1 << 20;

/// Expands the `--log` arguments: `-`, paths, and globs (sorted). Patterns
/// that match nothing and missing files come back as errors.
pub fn expand(args: &[String]) -> (Vec<Input>, Vec<(String, String)>) {
    let (mut inputs, mut errors) = (Vec::new(), Vec::new());
    for arg in args {
        if arg == "-" {
            inputs.push(Input::Stdin);
        } else if Path::new(arg).exists() || !arg.contains(['*', '?', '[']) {
            inputs.push(Input::File(PathBuf::from(arg)));
        } else {
            match glob::glob(arg) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
                    found.sort();
                    if found.is_empty() {
                        errors.push((arg.clone(), "no file matches this pattern".to_string()));
                    }
                    inputs.extend(found.into_iter().map(Input::File));
                }
                Err(e) => errors.push((arg.clone(), format!("bad pattern: {e}"))),
            }
        }
    }
    (inputs, errors)
}

/// An opened input: a plain file (which can be read in parallel ranges), or a
/// stream (standard input, or a gzip file decoded on the fly).
#[derive(Debug)]
pub enum Opened {
    /// A plain file.
    Plain(File),
    /// Read from start to end only.
    Stream(Stream),
}

/// A sequential reader.
pub struct Stream(pub Box<dyn Read + Send>);

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
}

/// Opens an input for reading (never for writing).
pub fn open(input: &Input) -> io::Result<Opened> {
    match input {
        Input::Stdin => Ok(Opened::Stream(Stream(Box::new(io::stdin())))),
        Input::File(p) => {
            // A FIFO would block the open and a device never ends: only
            // regular files are read by name (`-` reads standard input).
            let (f, _) = common::regular_file::open_regular(p).map_err(|e| {
                if e.kind() != io::ErrorKind::InvalidInput {
                    e
                } else if p.is_dir() {
                    io::Error::new(
                        io::ErrorKind::IsADirectory,
                        format!(
                            "is a directory: give the files in it (e.g. '{}/*.log')",
                            common::text::escape_os(p.as_os_str()).trim_end_matches('/')
                        ),
                    )
                } else {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "not a regular file (a FIFO or a device); give - to read standard input",
                    )
                }
            })?;
            if is_gzip(&f) {
                Ok(Opened::Stream(Stream(Box::new(flate2::read::MultiGzDecoder::new(
                    io::BufReader::new(f),
                )))))
            } else {
                Ok(Opened::Plain(f))
            }
        }
    }
}

/// The path error for an input.
pub fn input_error(input: &Input, e: &io::Error) -> crate::report::PathError {
    match input {
        Input::File(p) => match e.kind() {
            // Our own words (`is a directory: …`), not the kind's.
            io::ErrorKind::IsADirectory | io::ErrorKind::InvalidInput => crate::report::PathError {
                path: common::text::escape_os(p.as_os_str()),
                error: e.to_string(),
            },
            _ => crate::report::PathError::named(p, e),
        },
        Input::Stdin => crate::report::PathError {
            path: "-".into(),
            error: e.to_string(),
        },
    }
}

/// Opens an input as one sequential reader; a plain file is cut at `limit`
/// bytes (`verify watch`: where following begins), a stream is read whole.
pub fn open_reader(input: &Input, limit: Option<u64>) -> io::Result<Box<dyn Read + Send>> {
    Ok(match open(input)? {
        Opened::Plain(f) => match limit {
            Some(l) => Box::new(f.take(l)),
            None => Box::new(f),
        },
        Opened::Stream(Stream(s)) => s,
    })
}

/// The path error for a read that failed part way.
pub fn stopped_error(input: &Input, e: &io::Error) -> crate::report::PathError {
    let mut pe = input_error(input, e);
    pe.error = format!("read stopped (truncated or damaged?): {}", pe.error);
    pe
}

/// True when the file starts with the gzip magic bytes.
pub fn is_gzip(file: &File) -> bool {
    use std::os::unix::fs::FileExt;
    let mut magic = [0u8; 2];
    file.read_at(&mut magic, 0).is_ok_and(|n| n == 2) && magic == [0x1f, 0x8b]
}

/// Reads up to `max` bytes from `r` (fewer at its end). On a read error the
/// bytes read before it come back with the error, so they can still be scanned.
pub fn read_head<R: Read>(r: &mut R, max: usize) -> (Vec<u8>, Option<io::Error>) {
    let mut head = Vec::with_capacity(max.min(1 << 20));
    let err = r.take(max as u64).read_to_end(&mut head).err();
    (head, err)
}

/// The encoding to use for a file, given its head.
pub fn resolve(choice: EncodingChoice, head: &[u8]) -> &'static Encoding {
    match choice {
        EncodingChoice::Utf8 => UTF_8,
        EncodingChoice::Gb18030 => GB18030,
        EncodingChoice::Gbk => GBK,
        EncodingChoice::Auto => {
            let body = trim_partial_char(head);
            if std::str::from_utf8(body).is_ok() {
                UTF_8
            } else if GB18030
                .decode_without_bom_handling_and_without_replacement(body)
                .is_some()
            {
                GB18030
            } else {
                UTF_8
            }
        }
    }
}

/// True when `auto` read a whole file (shorter than the sample) of ASCII:
/// it reads the same in UTF-8 and GB18030, and the lines still to come
/// (`verify watch`) decide.
pub fn undecided(choice: EncodingChoice, head: &[u8]) -> bool {
    choice == EncodingChoice::Auto && head.len() < SAMPLE_BYTES && head.is_ascii()
}

/// Drops a last line that may have been cut mid-character by the sample size.
fn trim_partial_char(head: &[u8]) -> &[u8] {
    match memchr::memrchr(b'\n', head) {
        Some(i) if head.len() == SAMPLE_BYTES => &head[..=i],
        _ => head,
    }
}

/// Decodes one line in the file's encoding alone; `true` in the second place
/// when it was clean.
pub fn decode(enc: &'static Encoding, bytes: &[u8]) -> (String, bool) {
    if enc == UTF_8 {
        return match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), true),
            Err(_) => (String::from_utf8_lossy(bytes).into_owned(), false),
        };
    }
    match enc.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(s) => (s.into_owned(), true),
        None => (enc.decode_without_bom_handling(bytes).0.into_owned(), false),
    }
}

/// How one line decoded (`decode_line`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnc {
    /// In the file's encoding.
    Clean,
    /// In the other one (UTF-8 in a GB18030 or GBK file, GB18030 in a UTF-8
    /// file): the file mixes encodings.
    Other,
    /// In neither (decoded in the file's with replacement characters).
    Bad,
}

/// Decodes one line of a file whose encoding is `enc`, in whichever of
/// UTF-8 and GB18030 it is written: a server restarted under another locale
/// keeps appending to the same log.
///
/// The rule. UTF-8 checks itself, GB18030 accepts nearly any bytes (UTF-8
/// Chinese pairs up into valid GB18030 characters), so:
/// - in a UTF-8 file, a line that is not valid UTF-8 is read as GB18030 when
///   it is valid GB18030;
/// - in a GB18030 (or GBK) file, a line is read as UTF-8 when it is valid
///   UTF-8, holds non-ASCII, and every non-ASCII character of it is CJK
///   (`plausible_utf8_char`: ideographs, CJK punctuation, full-width forms;
///   every word the audits look for, 登录成功 登出 序号缺失 序号不连续，跳过合并,
///   is). A short GB18030 line can be valid UTF-8 by accident (录 is C2 BC,
///   UTF-8 for ¼), but then it decodes to Latin or other non-CJK letters and
///   stays GB18030. A UTF-8 line with a non-CJK letter (é) in a GB18030 file
///   is read as GB18030: the known limit of the rule;
/// - a line valid in neither is `Bad`, decoded in the file's encoding.
pub fn decode_line(enc: &'static Encoding, bytes: &[u8]) -> (String, LineEnc) {
    // A UTF-8 byte order mark inside a file (logs concatenated, an editor's
    // save) says the line is UTF-8, whatever the file is: dropped, then read.
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF")
        && let Ok(s) = std::str::from_utf8(rest)
    {
        let how = if enc == UTF_8 || s.is_ascii() {
            LineEnc::Clean
        } else {
            LineEnc::Other
        };
        return (s.to_string(), how);
    }
    if enc == UTF_8 {
        return match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), LineEnc::Clean),
            Err(_) => match GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
                Some(s) => (s.into_owned(), LineEnc::Other),
                None => (String::from_utf8_lossy(bytes).into_owned(), LineEnc::Bad),
            },
        };
    }
    if !bytes.is_ascii()
        && let Ok(s) = std::str::from_utf8(bytes)
        && s.chars().all(|c| c.is_ascii() || plausible_utf8_char(c))
    {
        return (s.to_string(), LineEnc::Other);
    }
    match enc.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(s) => (s.into_owned(), LineEnc::Clean),
        None => (enc.decode_without_bom_handling(bytes).0.into_owned(), LineEnc::Bad),
    }
}

/// A non-ASCII character a UTF-8 line of these logs is made of: CJK
/// ideographs (with extension A and the compatibility block), CJK symbols and
/// punctuation (、。「」), full-width forms (，：（）).
pub fn plausible_utf8_char(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303F}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}')
}

/// The encoding a line of a file in `enc` may also be in (`decode_line`).
pub fn other(enc: &'static Encoding) -> &'static Encoding {
    if enc == UTF_8 { GB18030 } else { UTF_8 }
}

/// The event word in the file's encoding, for the byte search.
pub fn encode(enc: &'static Encoding, text: &str) -> Vec<u8> {
    enc.encode(text).0.into_owned()
}

/// The words in both encodings (the file's first), each once: the byte
/// search must find a login line in whichever encoding it was written.
pub fn encode_both(enc: &'static Encoding, words: &[&str]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for e in [enc, other(enc)] {
        for w in words {
            let b = encode(e, w);
            if !out.contains(&b) {
                out.push(b);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_detects_gb18030_and_utf8() {
        let gb = encode(GB18030, "[2025-11-23 18:00:00 +0800] [1] [INFO] 登录成功 test_00001\n");
        assert_ne!(gb, "登录成功".as_bytes());
        assert_eq!(resolve(EncodingChoice::Auto, &gb), GB18030);
        assert_eq!(resolve(EncodingChoice::Auto, "登录成功\n".as_bytes()), UTF_8);
        assert_eq!(
            decode(GB18030, &gb).0.trim_end(),
            "[2025-11-23 18:00:00 +0800] [1] [INFO] 登录成功 test_00001"
        );
        assert!(!decode(UTF_8, b"\xff ok").1);
    }

    const LOGIN: &str = "[2026-12-04 10:00:00 +0800] [1] [INFO] 登录成功 student_id=test_00001 exam_id=1 ip=127.0.0.1";

    #[test]
    fn a_line_in_the_other_encoding_is_read_in_it() {
        let gb = encode(GB18030, LOGIN);
        // UTF-8 Chinese pairs up into valid GB18030: only the rule saves it.
        assert!(decode(GB18030, LOGIN.as_bytes()).1);
        assert_ne!(decode(GB18030, LOGIN.as_bytes()).0, LOGIN);
        assert_eq!(
            decode_line(GB18030, LOGIN.as_bytes()),
            (LOGIN.to_string(), LineEnc::Other)
        );
        assert_eq!(decode_line(GBK, LOGIN.as_bytes()), (LOGIN.to_string(), LineEnc::Other));
        assert_eq!(decode_line(GB18030, &gb), (LOGIN.to_string(), LineEnc::Clean));
        assert_eq!(decode_line(UTF_8, &gb), (LOGIN.to_string(), LineEnc::Other));
        assert_eq!(
            decode_line(UTF_8, LOGIN.as_bytes()),
            (LOGIN.to_string(), LineEnc::Clean)
        );
        // ASCII is the same in both: the file's.
        assert_eq!(decode_line(GB18030, b"Booting worker").1, LineEnc::Clean);
        let gap = "[2026-12-04 09:52:37,673: WARNING/ForkPoolWorker-1] [视频合并] 序号不连续，跳过合并: \
                   考试=1, 学生=test_00006, 缺失序号=[3], 实际序号范围=1-4";
        assert_eq!(
            decode_line(UTF_8, &encode(GB18030, gap)),
            (gap.to_string(), LineEnc::Other)
        );
        assert_eq!(decode_line(GB18030, gap.as_bytes()), (gap.to_string(), LineEnc::Other));
    }

    #[test]
    fn a_byte_order_mark_mid_file_makes_its_line_utf8() {
        let line = [b"\xEF\xBB\xBF".as_slice(), LOGIN.as_bytes()].concat();
        assert_eq!(decode_line(GB18030, &line), (LOGIN.to_string(), LineEnc::Other));
        assert_eq!(decode_line(UTF_8, &line), (LOGIN.to_string(), LineEnc::Clean));
        // A BOM before bytes that are no UTF-8 leaves the line to the rules.
        let gb = [b"\xEF\xBB\xBF".as_slice(), &encode(GB18030, "登录成功")].concat();
        assert_ne!(decode_line(GB18030, &gb).1, LineEnc::Clean);
    }

    #[test]
    fn a_gb18030_line_valid_as_utf8_by_accident_stays_gb18030() {
        // 录 is C2 BC in GB18030, which is UTF-8 for ¼: valid, not CJK.
        let line = encode(GB18030, "录");
        assert_eq!(line, [0xC2, 0xBC]);
        assert_eq!(std::str::from_utf8(&line), Ok("¼"));
        assert_eq!(decode_line(GB18030, &line), ("录".to_string(), LineEnc::Clean));
        let line = encode(GB18030, "x 录 ok");
        assert_eq!(decode_line(GB18030, &line), ("x 录 ok".to_string(), LineEnc::Clean));
        // One non-CJK character is enough to keep a line GB18030, even
        // beside CJK: é in UTF-8 (C3 A9) is 脙 in GB18030.
        assert_eq!(decode_line(GB18030, "登录 é".as_bytes()).1, LineEnc::Clean);
        // Full-width punctuation and CJK symbols are CJK.
        assert_eq!(decode_line(GB18030, "登录，「成功」。".as_bytes()).1, LineEnc::Other);
    }

    #[test]
    fn a_line_in_neither_encoding_is_bad() {
        // 0xFF is neither UTF-8 nor GB18030; 0x81 0x20 is a cut GB18030 pair.
        assert_eq!(decode_line(UTF_8, b"\xff ok").1, LineEnc::Bad);
        assert_eq!(decode_line(GB18030, b"\xff ok").1, LineEnc::Bad);
        assert_eq!(decode_line(UTF_8, b"ok \x81 ").1, LineEnc::Bad);
    }

    #[test]
    fn the_words_the_audits_look_for_are_plausible_utf8() {
        let words = [
            "登录成功",
            "登出",
            "学生登出",
            "序号缺失",
            "序号不连续",
            "序号不连续，跳过合并",
            "[视频合并]",
        ];
        for w in words.into_iter().chain(crate::audit::merge::GAP_WORDS) {
            assert!(w.chars().all(|c| c.is_ascii() || plausible_utf8_char(c)), "{w}");
        }
        assert_eq!(
            encode_both(UTF_8, &["登录成功", "ok"]),
            [
                "登录成功".as_bytes().to_vec(),
                b"ok".to_vec(),
                vec![0xB5, 0xC7, 0xC2, 0xBC, 0xB3, 0xC9, 0xB9, 0xA6]
            ]
        );
    }

    proptest::proptest! {
        /// Lines of CJK text and ASCII, each written in UTF-8 or GB18030,
        /// read back as written in a file of either encoding, but for the
        /// rule's edge: GB18030 bytes that are valid UTF-8 by accident (in a
        /// UTF-8 file), valid UTF-8 of CJK alone (in a GB18030 file).
        #[test]
        fn lines_in_either_encoding_read_back(
            lines in proptest::collection::vec(("[a-z0-9 =_]{0,6}[\u{4E00}-\u{9FA5}，]{1,6}[a-z0-9 =_]{0,6}", proptest::bool::ANY), 1..20),
            file_gb in proptest::bool::ANY,
        ) {
            let enc = if file_gb { GB18030 } else { UTF_8 };
            for (text, gb) in lines {
                let bytes = if gb { encode(GB18030, &text) } else { text.as_bytes().to_vec() };
                let accident = gb
                    && std::str::from_utf8(&bytes)
                        .is_ok_and(|u| !file_gb || u.chars().all(|c| c.is_ascii() || plausible_utf8_char(c)));
                if accident {
                    continue;
                }
                let (read, _) = decode_line(enc, &bytes);
                proptest::prop_assert_eq!(read, text);
            }
        }
    }

    #[test]
    fn a_short_ascii_file_leaves_auto_undecided() {
        let ascii = b"[2025-11-23 17:59:59 +0800] [7] [INFO] Booting worker\n";
        assert!(undecided(EncodingChoice::Auto, ascii));
        assert!(!undecided(EncodingChoice::Utf8, ascii));
        assert!(!undecided(EncodingChoice::Auto, "登录成功\n".as_bytes()));
        assert!(!undecided(EncodingChoice::Auto, &vec![b'a'; SAMPLE_BYTES]));
    }

    #[test]
    fn expands_globs_and_reports_empty_ones() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a.log", "a.log.1", "a.log.2.gz"] {
            std::fs::write(dir.path().join(n), "x\n").unwrap();
        }
        let pat = format!("{}/a.log*", dir.path().display());
        let none = format!("{}/zzz*", dir.path().display());
        let (inputs, errors) = expand(&[pat, "-".into(), none.clone()]);
        assert_eq!(inputs.len(), 4);
        assert_eq!(inputs[3], Input::Stdin);
        assert_eq!(errors, [(none, "no file matches this pattern".to_string())]);
    }
}
