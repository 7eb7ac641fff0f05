//! The segment file-name grammar:
//! `<student_id>_<YYYYMMDD>_<HHMMSS>[_seq_<N>].<ext>`, parsed from the right so
//! student IDs may themselves hold underscores (`test_00001`).

/// A parsed segment name. Borrowed from the file name: parsing never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentName<'a> {
    /// The student ID the name carries.
    pub student: &'a str,
    /// Seconds since the Unix epoch of the name's date and time (no zone: only
    /// differences between segments matter).
    pub time: i64,
    /// The sequence number, when the name has `_seq_<N>`.
    pub seq: Option<u64>,
    /// The extension, without the dot.
    pub ext: &'a str,
}

/// What a file name in a student folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind<'a> {
    /// A segment of one of the accepted extensions.
    Segment(SegmentName<'a>),
    /// A temporary upload file (`.part`, `.tmp`, ...): in flight, not an error.
    InFlight,
    /// Anything else.
    Other,
}

/// Suffixes of files still being written by an uploader or the server.
const IN_FLIGHT_SUFFIXES: &[&str] = &[".part", ".tmp", ".partial", ".upload", ".crdownload", ".temp"];

/// Classifies one file name. `exts` are the accepted extensions (without dot,
/// compared case-insensitively).
pub fn classify<'a>(name: &'a str, exts: &[String]) -> NameKind<'a> {
    if let Some(seg) = parse(name, exts) {
        return NameKind::Segment(seg);
    }
    let lower_ends = |s: &str| {
        name.len() >= s.len()
            && name.is_char_boundary(name.len() - s.len())
            && name[name.len() - s.len()..].eq_ignore_ascii_case(s)
    };
    if IN_FLIGHT_SUFFIXES.iter().any(|s| lower_ends(s)) {
        NameKind::InFlight
    } else {
        NameKind::Other
    }
}

/// Parses a segment name; `None` when it does not follow the grammar.
/// Byte by byte from the right with fixed widths (this runs once per file of
/// a million-file tree): `<student>_<8 digits>_<6 digits>[_seq_<digits>].<ext>`.
pub fn parse<'a>(name: &'a str, exts: &[String]) -> Option<SegmentName<'a>> {
    let b = name.as_bytes();
    let dot = b.iter().rposition(|&c| c == b'.')?;
    // '.' is ASCII: both slices start and end on character boundaries.
    let (stem, ext) = (name.get(..dot)?, name.get(dot + 1..)?);
    if !exts.iter().any(|e| e.eq_ignore_ascii_case(ext)) {
        return None;
    }
    let sb = stem.as_bytes();
    let digits = sb.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    let head = sb.len() - digits;
    let (end, seq) = match sb.get(..head) {
        Some(h) if digits > 0 && h.ends_with(b"_seq_") => {
            (head.checked_sub(5)?, Some(stem.get(head..)?.parse::<u64>().ok()?))
        }
        _ => (sb.len(), None),
    };
    // `_YYYYMMDD_HHMMSS` ends the rest, after a non-empty student ID.
    let stamp = end.checked_sub(16)?;
    let t: &[u8; 16] = sb.get(stamp..end)?.try_into().ok()?;
    if stamp == 0 || t[0] != b'_' || t[9] != b'_' {
        return None;
    }
    let student = stem.get(..stamp)?;
    let time = civil_seconds(&t[1..9], &t[10..])?;
    Some(SegmentName {
        student,
        time,
        seq,
        ext,
    })
}

/// `YYYYMMDD`, `HHMMSS` -> seconds since 1970-01-01 00:00:00, validating the
/// digits and the calendar (`None` otherwise). Plain arithmetic, not six
/// `str::parse` calls per file.
fn civil_seconds(ymd: &[u8], hms: &[u8]) -> Option<i64> {
    let num = |s: &[u8]| -> Option<i64> {
        s.iter()
            .try_fold(0i64, |n, &b| b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0')))
    };
    if ymd.len() != 8 || hms.len() != 6 {
        return None;
    }
    let (y, m, d) = (num(ymd.get(..4)?)?, num(ymd.get(4..6)?)?, num(ymd.get(6..)?)?);
    let (hh, mm, ss) = (num(hms.get(..2)?)?, num(hms.get(2..4)?)?, num(hms.get(4..)?)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mp4() -> Vec<String> {
        vec!["mp4".to_string()]
    }

    /// The grammar as first written (`rsplit_once`), kept as the oracle of
    /// the byte parser.
    fn parse_reference<'a>(name: &'a str, exts: &[String]) -> Option<SegmentName<'a>> {
        let (stem, ext) = name.rsplit_once('.')?;
        if !exts.iter().any(|e| e.eq_ignore_ascii_case(ext)) {
            return None;
        }
        let digits = stem.bytes().rev().take_while(u8::is_ascii_digit).count();
        let head = &stem[..stem.len() - digits];
        let (stem, seq) = match head.strip_suffix("_seq_") {
            Some(head) if digits > 0 => (head, Some(stem[stem.len() - digits..].parse::<u64>().ok()?)),
            _ => (stem, None),
        };
        let (stem, hms) = stem.rsplit_once('_')?;
        let (student, ymd) = stem.rsplit_once('_')?;
        let all = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if student.is_empty() || ymd.len() != 8 || hms.len() != 6 || !all(ymd) || !all(hms) {
            return None;
        }
        let time = civil_seconds(ymd.as_bytes(), hms.as_bytes())?;
        Some(SegmentName {
            student,
            time,
            seq,
            ext,
        })
    }

    proptest! {
        #[test]
        fn the_byte_parser_agrees_with_the_grammar(name in "[a-z_0-9.é]{0,12}(_2025112[0-9]|_20251[0-9]31|_[0-9]{8}|_[0-9]{7})?(_[0-9]{6}|_23596[0-9]|_[0-9]{5})?(_seq_[0-9]{0,22}|_seq|[0-9]{0,3})?(\\.mp4|\\.MP4|\\.mkv|\\.)?") {
            prop_assert_eq!(parse(&name, &mp4()), parse_reference(&name, &mp4()), "{}", name);
        }
    }

    #[test]
    fn parses_sequenced_and_unsequenced_names() {
        let s = parse("test_00001_20251123_180000_seq_0001.mp4", &mp4()).unwrap();
        assert_eq!((s.student, s.seq, s.ext), ("test_00001", Some(1), "mp4"));
        let u = parse("test_00001_20251123_180030.mp4", &mp4()).unwrap();
        assert_eq!((u.student, u.seq), ("test_00001", None));
        assert_eq!(u.time - s.time, 30);
        let wide = parse("a_20251123_180000_seq_123456.MP4", &mp4()).unwrap();
        assert_eq!(wide.seq, Some(123_456));
    }

    #[test]
    fn epoch_arithmetic_is_right() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        let a = parse("x_20241231_235959_seq_1.mp4", &mp4()).unwrap();
        let b = parse("x_20250101_000000_seq_2.mp4", &mp4()).unwrap();
        assert_eq!(b.time - a.time, 1);
    }

    #[test]
    fn rejects_names_off_the_grammar() {
        for bad in [
            "test_00001_20251123_180000_seq_0001.webm",
            "test_00001_20251123_1800_seq_0001.mp4",
            "test_00001_20251332_180000_seq_0001.mp4",
            "test_00001_20250229_180000.mp4",
            "_20251123_180000.mp4",
            "20251123_180000.mp4",
            "notes.txt",
            "test_00001_20251123_180000_seq_99999999999999999999999.mp4",
        ] {
            assert_eq!(parse(bad, &mp4()), None, "{bad}");
        }
    }

    #[test]
    fn classifies_temporary_uploads_as_in_flight() {
        assert_eq!(classify("x_20251123_180000_seq_1.mp4.part", &mp4()), NameKind::InFlight);
        assert_eq!(classify("upload.TMP", &mp4()), NameKind::InFlight);
        assert_eq!(classify(".DS_Store", &mp4()), NameKind::Other);
        assert!(matches!(
            classify("x_20251123_180000.mp4", &mp4()),
            NameKind::Segment(_)
        ));
    }

    proptest! {
        #[test]
        fn names_round_trip(
            id in "[a-z][a-z0-9_]{0,12}",
            y in 1971i64..2100, m in 1i64..=12, d in 1i64..=28,
            hh in 0i64..24, mm in 0i64..60, ss in 0i64..60,
            seq in proptest::option::of(0u64..10_000_000),
        ) {
            let seq_part = seq.map(|s| format!("_seq_{s:04}")).unwrap_or_default();
            let name = format!("{id}_{y:04}{m:02}{d:02}_{hh:02}{mm:02}{ss:02}{seq_part}.mp4");
            let p = parse(&name, &mp4()).unwrap();
            prop_assert_eq!(p.student, id.as_str());
            prop_assert_eq!(p.seq, seq);
            prop_assert_eq!(p.time, days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss);
        }

        #[test]
        fn never_panics_on_arbitrary_names(name in "\\PC{0,60}") {
            let _ = classify(&name, &mp4());
        }
    }
}
