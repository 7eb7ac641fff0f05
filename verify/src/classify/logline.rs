//! Log line headers of gunicorn (error-log and access-log styles), celery and
//! Python logging: when a line was written and by whom.
//!
//! - gunicorn error log: `[2025-11-23 18:00:00 +0800] [12345] [INFO] message`
//! - gunicorn access log: `127.0.0.1 - - [23/Nov/2025:18:00:00 +0800] "POST /api/login HTTP/1.1" 200 53 "-" "ua"`
//! - celery: `[2025-11-23 18:00:00,123: INFO/ForkPoolWorker-1] message`
//! - Flask / logging default: `[2025-11-23 18:00:00,123] INFO in app: message`

use crate::segment::days_from_civil;

/// A timestamp found in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The text as written.
    pub text: String,
    /// Seconds since the epoch; the zone offset applied when the line had one.
    pub unix: i64,
}

/// What a line's header says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// When it was written.
    pub time: Option<Stamp>,
    /// Who wrote it or for whom: a client address, a pid, a worker process.
    pub source: Option<String>,
    /// True for gunicorn access-log lines.
    pub access: bool,
}

/// Reads the header of one line. Never fails: unknown shapes give `Header::default()`.
pub fn header(line: &str) -> Header {
    let line = line.trim_start_matches('\0');
    let mut h = Header::default();
    if let Some(rest) = line.strip_prefix('[') {
        let close = rest.find(']').unwrap_or(rest.len());
        let inside = &rest[..close];
        h.time = iso_stamp(inside);
        let after = &rest[(close + 1).min(rest.len())..];
        h.source = celery_process(inside).or_else(|| bracket_pid(after));
    } else if let Some(open) = head(line, 80).find(" - ")
        && let Some(lb) = line.find('[')
        && let Some(rb) = line[lb..].find(']')
    {
        // Access log: `host ident user [time] "request" ...`
        h.time = access_stamp(&line[lb + 1..lb + rb]);
        h.source = Some(line[..open].to_string()).filter(|s| !s.is_empty() && !s.contains(' '));
        h.access = line[lb + rb..].contains(" HTTP/");
    } else {
        h.time = iso_stamp(line);
    }
    if let Some(client) = client_in_message(line) {
        h.source = Some(client);
    }
    h
}

/// `ip=1.2.3.4`, `client=…`, `remote_addr=…` in a message: the client beats the pid.
fn client_in_message(line: &str) -> Option<String> {
    for key in ["remote_addr=", "client=", "ip="] {
        if let Some(i) = line.find(key) {
            let boundary = i == 0 || !line.as_bytes()[i - 1].is_ascii_alphanumeric();
            let v: String = line[i + key.len()..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':'))
                .collect();
            if boundary && !v.is_empty() {
                return Some(v);
            }
        }
    }
    None
}

/// `[12345]` right after the time bracket (gunicorn): `pid 12345`.
fn bracket_pid(after: &str) -> Option<String> {
    let rest = after.trim_start().strip_prefix('[')?;
    let close = rest.find(']')?;
    let pid = &rest[..close];
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then(|| format!("pid {pid}"))
}

/// `…: INFO/ForkPoolWorker-1` inside a celery bracket: the process name.
fn celery_process(inside: &str) -> Option<String> {
    let (_, tail) = inside.rsplit_once(": ")?;
    let (_, process) = tail.split_once('/')?;
    (!process.is_empty()).then(|| process.to_string())
}

/// The first `n` bytes of `s`, shortened to a character boundary.
fn head(s: &str, n: usize) -> &str {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

fn num(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn civil(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    // A year of 14 digits is no time (found by fuzzing: the day count overflowed).
    let ok = (0..=9999).contains(&y) && (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && s <= 60;
    ok.then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// `+0800` / `-0530` / `Z` -> seconds east of UTC.
fn zone(s: &str) -> Option<i64> {
    if s == "Z" {
        return Some(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    // ASCII digits only: slicing a multibyte string at 2 could split a character.
    let digits: Vec<u8> = s.bytes().skip(1).filter(|c| *c != b':').collect();
    let [h1, h2, m1, m2] = digits[..] else { return None };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let d = |c: u8| i64::from(c - b'0');
    Some(sign * ((d(h1) * 10 + d(h2)) * 3600 + (d(m1) * 10 + d(m2)) * 60))
}

/// `YYYY-MM-DD[ T]HH:MM:SS[,mmm|.mmm][ ±ZZZZ|Z]` at the start of `s`.
pub fn iso_stamp(s: &str) -> Option<Stamp> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b' ' || b[10] == b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let field = |r: std::ops::Range<usize>| s.get(r).and_then(num);
    let base = civil(
        field(0..4)?,
        field(5..7)?,
        field(8..10)?,
        field(11..13)?,
        field(14..16)?,
        field(17..19)?,
    )?;
    let mut end = 19;
    if matches!(b.get(19), Some(b',' | b'.')) {
        end += 1 + b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    let rest = &s[end..];
    let tz_text = rest.strip_prefix(' ').unwrap_or(rest);
    let tz_len = tz_text.find([' ', ']', ':']).unwrap_or(tz_text.len()).min(6);
    let (unix, end) = match zone(head(tz_text, tz_len)) {
        Some(off) => (base - off, s.len() - tz_text.len() + head(tz_text, tz_len).len()),
        None => (base, end),
    };
    Some(Stamp {
        text: s[..end].to_string(),
        unix,
    })
}

/// `23/Nov/2025:18:00:00 +0800` (gunicorn's access-log `%(t)s`).
pub fn access_stamp(s: &str) -> Option<Stamp> {
    let (date, tz) = s.split_once(' ').unwrap_or((s, ""));
    let mut parts = date.splitn(4, [':', '/']);
    let (d, mon, y) = (num(parts.next()?)?, parts.next()?, num(parts.next()?)?);
    let mut hms = parts.next()?.split(':');
    let (h, mi, sec) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mo = MONTHS.iter().position(|m| *m == mon)? as i64 + 1;
    let off = if tz.is_empty() { 0 } else { zone(tz)? };
    Some(Stamp {
        text: s.to_string(),
        unix: civil(y, mo, d, h, mi, sec)? - off,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fuzzer's crash (fuzz/artifacts/log_line/crash-eeae40cd…): an
    /// access-log stamp with a 14-digit year overflowed the day count.
    #[test]
    fn fuzz_crash_huge_access_log_year_is_no_time() {
        let input: &[u8] = &[
            49, 51, 32, 45, 32, 116, 101, 115, 116, 95, 51, 91, 50, 53, 47, 78, 111, 118, 47, 50, 53, 56, 48, 49, 56,
            48, 57, 57, 50, 50, 48, 53, 50, 58, 48, 58, 49, 58, 51, 32, 43, 48, 48, 48, 48, 93, 231, 49, 50, 55, 56,
            53, 56, 153, 48, 49, 56, 48, 57, 57, 50, 50, 48, 53, 58, 48, 58, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
            48, 48, 48, 48, 48, 48, 49, 58, 48, 48, 48, 48, 48, 187, 229, 189, 149, 49, 230, 136, 55, 49, 144, 229, 52,
            56, 54, 56, 138, 159, 57, 54, 51, 34, 54, 58,
        ];
        let line = String::from_utf8_lossy(input);
        let h = header(&line);
        assert!(h.time.is_none());
        assert!(access_stamp("25/Nov/25801809922052:0:1:3 +0000").is_none());
        assert!(access_stamp("25/Nov/2025:0:1:3 +0000").is_some());
    }

    #[test]
    fn gunicorn_error_log_line() {
        let h = header("[2025-11-23 18:00:00 +0800] [12345] [INFO] 登录成功 student_id=test_00001");
        let t = h.time.unwrap();
        assert_eq!(t.text, "2025-11-23 18:00:00 +0800");
        assert_eq!(t.unix, days_from_civil(2025, 11, 23) * 86_400 + 10 * 3600);
        assert_eq!(h.source.as_deref(), Some("pid 12345"));
        assert!(!h.access);
    }

    #[test]
    fn gunicorn_access_log_line() {
        let h = header(
            r#"127.0.0.1 - - [23/Nov/2025:18:00:00 +0800] "POST /api/login HTTP/1.1" 200 53 "-" "python-requests/2.31""#,
        );
        assert_eq!(h.time.unwrap().unix, days_from_civil(2025, 11, 23) * 86_400 + 10 * 3600);
        assert_eq!(h.source.as_deref(), Some("127.0.0.1"));
        assert!(h.access);
    }

    #[test]
    fn celery_and_flask_lines() {
        let c = header("[2025-11-23 18:00:01,123: INFO/ForkPoolWorker-1] Task merge[ab-cd] succeeded in 0.1s: None");
        assert_eq!(c.time.unwrap().text, "2025-11-23 18:00:01,123");
        assert_eq!(c.source.as_deref(), Some("ForkPoolWorker-1"));
        let f = header("[2025-11-23 18:00:02,5] INFO in app: 登录成功 test_00002 ip=10.0.0.7");
        assert_eq!(f.time.unwrap().text, "2025-11-23 18:00:02,5");
        assert_eq!(
            f.source.as_deref(),
            Some("10.0.0.7"),
            "a client address in the message wins"
        );
    }

    #[test]
    fn unknown_lines_have_empty_headers() {
        assert_eq!(header("Traceback (most recent call last):"), Header::default());
        assert_eq!(header("[not a time] x").time, None);
        assert_eq!(
            header("\0\0\0[2025-11-23 18:00:00 +0000] [1] [INFO] x")
                .time
                .unwrap()
                .text,
            "2025-11-23 18:00:00 +0000"
        );
    }

    proptest! {
        #[test]
        fn header_never_panics(line in "\\PC{0,120}") {
            let _ = header(&line);
        }

        #[test]
        fn header_never_panics_on_bracketed_noise(line in "\\[[0-9 :,/+.TZa-zA-Z-]{0,40}\\]? ?\\[?[0-9]{0,6}\\]?.{0,20}") {
            let _ = header(&line);
        }
    }
}
