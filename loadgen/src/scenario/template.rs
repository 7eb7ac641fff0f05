//! Templates: `{name}` placeholders, compiled once when the scenario loads
//! (unknown names are refused then, with their line), filled per request
//! without parsing. `{{` and `}}` are literal braces.

use chrono::{DateTime, FixedOffset, Local, TimeDelta};

/// Where a template may be used decides which names it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `[[setup]]`: the population (`{student_list}`), earlier setup captures.
    Setup,
    /// `[login]`: the student, no captures yet.
    Login,
    /// `[[task]]` and `[logout]`: the student and its login captures.
    Student,
    /// The sequenced task: as `Student`, plus `{seq}`.
    Sequenced,
}

/// What a template's names are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub place: Place,
    /// Capture names visible here, in index order.
    pub captures: &'a [String],
    /// `[vars]` constants, replaced at compile time.
    pub vars: &'a std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    StudentId,
    N,
    StudentName,
    Seq,
    StudentList,
    Timestamp,
    Capture(usize),
    /// A `[vars]` value (or `--var`): fixed when the scenario loads, and
    /// percent-encoded in a path like any other filled value.
    Const(String),
    /// `{cookie:NAME}`: the value of a cookie in the student's jar.
    Cookie(String),
    /// `{student_ip}`: 10.x.y.z from the student's number, distinct per student
    /// (for `X-Real-IP` / `X-Forwarded-For` behind a proxy that trusts them).
    StudentIp,
    /// `{time[+-]OFFSET:FORMAT}`: the request's moment plus the offset, in strftime FORMAT.
    Time {
        offset_ms: i64,
        format: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Var(Var),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// A value captured from an answer: its JSON, and its text for templates.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    pub json: serde_json::Value,
    pub text: String,
}

impl Captured {
    /// The text of a JSON value: strings bare, everything else as JSON.
    pub fn new(json: serde_json::Value) -> Captured {
        let text = match &json {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Captured { json, text }
    }
}

/// The values one request is filled with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Values<'a> {
    pub student_id: &'a str,
    pub n: u64,
    pub student_name: &'a str,
    pub seq: Option<u64>,
    pub captures: &'a [Captured],
    pub student_list: &'a str,
    /// The request's moment: a task's planned start; `None`: now, read only
    /// when a template needs it (the clock is not read per request otherwise).
    pub at: Option<DateTime<Local>>,
    /// The student's cookie jar (`{cookie:NAME}`; sent and filled by requests).
    pub jar: Option<&'a crate::cookies::Jar>,
    /// Another machine's clock for `{timestamp}` and `{time…}` (`loadgen
    /// setup` reads the server's); `None`: this machine's local time.
    pub zone: Option<Zone>,
}

/// A clock other than this machine's: its UTC offset, and how far it is off
/// (the server's wall time minus this machine's, beyond the offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    pub offset: FixedOffset,
    pub skew_ms: i64,
}

impl Zone {
    /// `at` (this machine's moment) on this clock.
    pub fn at(&self, at: DateTime<Local>) -> DateTime<FixedOffset> {
        let t = at.with_timezone(&self.offset);
        TimeDelta::try_milliseconds(self.skew_ms)
            .and_then(|d| t.checked_add_signed(d))
            .unwrap_or(t)
    }
}

/// The request's moment on the clock its templates count from.
fn moment(v: &Values) -> DateTime<FixedOffset> {
    let at = v.at.unwrap_or_else(Local::now);
    match v.zone {
        Some(z) => z.at(at),
        None => at.fixed_offset(),
    }
}

/// How filled values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    None,
    /// Percent-encoded: for values placed into a URL path or query.
    Url,
}

/// ISO 8601 with milliseconds and the local offset, as `{timestamp}` gives it.
pub const ISO: &str = "%Y-%m-%dT%H:%M:%S%.3f%:z";

/// The largest `{time+OFFSET:…}` offset, in ms: ten years.
const MAX_TIME_OFFSET_MS: i64 = 87_600 * 3_600_000;

fn time_var(spec: &str) -> Result<Var, String> {
    // spec is what follows "time": "", "+3h", "-10m", each then ":FORMAT".
    let (offset, format) = spec
        .split_once(':')
        .ok_or_else(|| "a time template is {time:FORMAT} or {time+3h:FORMAT}".to_string())?;
    let offset_ms = match offset.as_bytes().first() {
        None => 0,
        Some(b'+' | b'-') => {
            let ms = common::usage::parse_millis(&offset[1..]).map_err(|e| e.0)?;
            // Ten years: a moment any calendar can write (it used to fall back to now).
            let ms = i64::try_from(ms)
                .ok()
                .filter(|ms| *ms <= MAX_TIME_OFFSET_MS)
                .ok_or_else(|| format!("time offset '{offset}' is too large: at most 87600h (ten years)"))?;
            if offset.starts_with('-') { -ms } else { ms }
        }
        Some(_) => return Err(format!("time offset '{offset}' must start with + or -")),
    };
    if format.is_empty() {
        return Err("empty time format".into());
    }
    let items = chrono::format::StrftimeItems::new(format);
    if items.clone().any(|i| matches!(i, chrono::format::Item::Error)) {
        return Err(format!("bad strftime format '{format}'"));
    }
    Ok(Var::Time {
        offset_ms,
        format: format.to_string(),
    })
}

/// True when `name` is a built-in template (`{student_id}`, `{cookie:x}`,
/// `{time+3h:%H}`, …): a var or a capture of that name could never be filled.
pub fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "student_id" | "n" | "student_name" | "student_ip" | "seq" | "student_list" | "timestamp" | "time"
    ) || name.starts_with("cookie:")
        || name
            .strip_prefix("time")
            .is_some_and(|rest| rest.starts_with([':', '+', '-']))
}

fn var(name: &str, scope: &Scope) -> Result<Var, String> {
    let student = matches!(scope.place, Place::Login | Place::Student | Place::Sequenced);
    let var = match name {
        "student_id" if student => Var::StudentId,
        "n" if student => Var::N,
        "student_name" if student => Var::StudentName,
        "student_ip" if student => Var::StudentIp,
        _ if student && name.starts_with("cookie:") && name.len() > "cookie:".len() => {
            Var::Cookie(name.trim_start_matches("cookie:").to_string())
        }
        "seq" if scope.place == Place::Sequenced => Var::Seq,
        "student_list" if scope.place == Place::Setup => Var::StudentList,
        "timestamp" => Var::Timestamp,
        _ if name.starts_with("time") && (name[4..].starts_with([':', '+', '-'])) => time_var(&name[4..])?,
        _ => {
            if let Some(i) = scope.captures.iter().position(|c| c == name) {
                Var::Capture(i)
            } else if let Some(v) = scope.vars.get(name) {
                Var::Const(v.clone())
            } else {
                let hint = match (name, scope.place) {
                    ("seq", _) => " ({seq} is only for the sequenced task)",
                    ("student_list", _) => " ({student_list} is only for [[setup]])",
                    ("student_id" | "n" | "student_name", Place::Setup) => " (setup runs once, for no student)",
                    _ => "",
                };
                return Err(format!("undefined template {{{name}}}{hint}"));
            }
        }
    };
    Ok(var)
}

impl Template {
    /// Compiles `text`, refusing names `scope` does not define.
    pub fn compile(text: &str, scope: &Scope) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            lit.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                lit.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err(format!("unmatched '}}' in '{text}' (write }}}} for a literal brace)"));
            }
            let end = tail
                .find('}')
                .ok_or_else(|| format!("unclosed '{{' in '{text}' (write {{{{ for a literal brace)"))?;
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Var(var(&tail[1..end], scope)?));
            rest = &tail[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(Template {
            source: text.to_string(),
            pieces,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the template is exactly `{seq}` (such a field is left out
    /// when uploading without seq).
    pub fn is_only_seq(&self) -> bool {
        self.pieces == [Piece::Var(Var::Seq)]
    }

    /// The capture index when the template is exactly one captured value.
    fn only_capture(&self) -> Option<usize> {
        match self.pieces.as_slice() {
            [Piece::Var(Var::Capture(i))] => Some(*i),
            _ => None,
        }
    }

    /// True when filling reads the request's moment (`{timestamp}`, `{time:…}`).
    pub fn uses_time(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Var(Var::Timestamp | Var::Time { .. })))
    }

    /// True when the template holds `{seq}`.
    pub fn uses_seq(&self) -> bool {
        self.pieces.contains(&Piece::Var(Var::Seq))
    }

    /// True when the template has no placeholder.
    pub fn is_literal(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Lit(_)))
    }

    /// The filled text.
    pub fn fill(&self, v: &Values, escape: Escape) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Var(var) => {
                    let start = out.len();
                    push_var(&mut out, var, v);
                    if escape == Escape::Url {
                        let raw = out.split_off(start);
                        percent_encode(&mut out, &raw);
                    }
                }
            }
        }
        out
    }

    /// The value for a JSON body: a template that is exactly one captured
    /// value sends it with its JSON type (a numeric exam ID stays a number).
    pub fn fill_json(&self, v: &Values) -> serde_json::Value {
        match self.only_capture().and_then(|i| v.captures.get(i)) {
            Some(c) => c.json.clone(),
            None => serde_json::Value::String(self.fill(v, Escape::None)),
        }
    }
}

fn push_var(out: &mut String, var: &Var, v: &Values) {
    use std::fmt::Write;
    match var {
        Var::StudentId => out.push_str(v.student_id),
        Var::N => {
            let _ = write!(out, "{}", v.n);
        }
        Var::StudentName => out.push_str(v.student_name),
        Var::Seq => {
            if let Some(s) = v.seq {
                let _ = write!(out, "{s}");
            }
        }
        Var::StudentList => out.push_str(v.student_list),
        Var::Timestamp => {
            let _ = write!(out, "{}", moment(v).format(ISO));
        }
        Var::Capture(i) => out.push_str(v.captures.get(*i).map_or("", |c| c.text.as_str())),
        Var::Const(s) => out.push_str(s),
        Var::Cookie(name) => {
            if let Some(value) = v.jar.and_then(|j| j.value(name)) {
                out.push_str(&value);
            }
        }
        Var::StudentIp => {
            let n = v.n;
            let _ = write!(out, "10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
        }
        Var::Time { offset_ms, format } => {
            let now = moment(v);
            let at = TimeDelta::try_milliseconds(*offset_ms)
                .and_then(|d| now.checked_add_signed(d))
                .unwrap_or(now);
            let _ = write!(out, "{}", at.format(format));
        }
    }
}

/// RFC 3986 unreserved characters stay, every other byte is `%XX`: safe in a
/// path segment and in a query value alike. A value that is `.` or `..` has
/// its dots encoded too, so it cannot become a dot-segment of the path.
fn percent_encode(out: &mut String, raw: &str) {
    let dots = raw == "." || raw == "..";
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') || (b == b'.' && !dots) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::BTreeMap;

    fn scope<'a>(place: Place, captures: &'a [String], vars: &'a BTreeMap<String, String>) -> Scope<'a> {
        Scope { place, captures, vars }
    }

    #[test]
    fn fills_student_values_captures_and_times() {
        let caps = vec!["exam_id".to_string(), "token".to_string()];
        let vars = BTreeMap::from([("exam_name".to_string(), "final".to_string())]);
        let sc = scope(Place::Sequenced, &caps, &vars);
        let t = Template::compile("{student_id}_{n}_{seq}_{exam_id}_{exam_name}_{{x}}", &sc).unwrap();
        let captured = [
            Captured::new(serde_json::json!(7)),
            Captured::new(serde_json::json!("a b/c")),
        ];
        let at = Local.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let v = Values {
            student_id: "test_00001",
            n: 1,
            seq: Some(3),
            captures: &captured,
            at: Some(at),
            ..Values::default()
        };
        assert_eq!(t.fill(&v, Escape::None), "test_00001_1_3_7_final_{x}");
        let p = Template::compile("/s/{token}/{student_id}", &sc).unwrap();
        assert_eq!(p.fill(&v, Escape::Url), "/s/a%20b%2Fc/test_00001");
        for (token, path) in [("..", "/s/%2E%2E/test_00001"), ("a..b", "/s/a..b/test_00001")] {
            let c = [
                Captured::new(serde_json::json!(7)),
                Captured::new(serde_json::json!(token)),
            ];
            let v = Values { captures: &c, ..v };
            assert_eq!(p.fill(&v, Escape::Url), path, "no dot-segment from a value");
        }
        let tm = Template::compile("{time:%Y-%m-%d %H:%M:%S}|{time+3h:%H}|{time-1m:%M}", &sc).unwrap();
        assert_eq!(tm.fill(&v, Escape::None), "2026-01-02 03:04:05|06|03");
        assert!(
            Template::compile("{timestamp}", &sc)
                .unwrap()
                .fill(&v, Escape::None)
                .starts_with("2026-01-02T03:04:05.000")
        );
        // A lone capture keeps its JSON type in JSON bodies.
        let e = Template::compile("{exam_id}", &sc).unwrap();
        assert_eq!(e.fill_json(&v), serde_json::json!(7));
        assert_eq!(t.fill_json(&v), serde_json::json!("test_00001_1_3_7_final_{x}"));
        assert!(Template::compile("{seq}", &sc).unwrap().is_only_seq());
    }

    /// Issue 26 item 6: with the server's clock, times count from its wall
    /// time (its offset and its skew), not this machine's.
    #[test]
    fn times_count_from_another_clock() {
        let (none, vars) = (Vec::new(), BTreeMap::new());
        let sc = scope(Place::Setup, &none, &vars);
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 1, 2, 23, 0, 0)
            .unwrap()
            .with_timezone(&Local);
        let zone = Zone {
            offset: FixedOffset::east_opt(8 * 3600).unwrap(),
            skew_ms: 90_000,
        };
        let v = Values {
            at: Some(at),
            zone: Some(zone),
            ..Values::default()
        };
        let t = Template::compile("{time:%Y-%m-%d %H:%M:%S}|{time+3h:%H:%M}|{timestamp}", &sc).unwrap();
        assert_eq!(
            t.fill(&v, Escape::None),
            "2026-01-03 07:01:30|10:01|2026-01-03T07:01:30.000+08:00"
        );
    }

    #[test]
    fn cookies_and_student_addresses() {
        let (none, vars) = (Vec::new(), BTreeMap::new());
        let sc = scope(Place::Student, &none, &vars);
        let jar = crate::cookies::Jar::new("http://example.com".into());
        jar.store("/api/login", &["session=s3cr3t; Path=/".to_string()]);
        let v = Values {
            n: 70_000,
            jar: Some(&jar),
            ..Values::default()
        };
        let t = Template::compile("{cookie:session}|{cookie:absent}|{student_ip}", &sc).unwrap();
        assert_eq!(t.fill(&v, Escape::None), "s3cr3t||10.1.17.112");
        let setup = scope(Place::Setup, &none, &vars);
        assert!(
            Template::compile("{cookie:session}", &setup).is_err(),
            "setup has no student jar"
        );
        assert!(Template::compile("{cookie:}", &sc).is_err());
    }

    #[test]
    fn refuses_undefined_names_by_place_and_bad_syntax() {
        let none: Vec<String> = Vec::new();
        let vars = BTreeMap::new();
        let err = |text: &str, place| Template::compile(text, &scope(place, &none, &vars)).unwrap_err();
        assert!(err("{seq}", Place::Student).contains("only for the sequenced task"));
        assert!(err("{student_list}", Place::Login).contains("only for [[setup]]"));
        assert!(err("{student_id}", Place::Setup).contains("for no student"));
        assert!(err("{exam_id}", Place::Student).contains("undefined template {exam_id}"));
        assert!(err("{time+x:%H}", Place::Student).contains("bad duration"));
        assert!(err("{time:%Q}", Place::Student).contains("bad strftime"));
        assert!(err("{time+87601h:%H}", Place::Student).contains("at most 87600h"));
        assert!(err("{time-18446744073709551615ms:%H}", Place::Student).contains("at most 87600h"));
        assert!(err("a{b", Place::Student).contains("unclosed"));
        assert!(err("a}b", Place::Student).contains("unmatched"));
    }
}
