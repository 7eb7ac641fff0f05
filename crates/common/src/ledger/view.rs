//! A lean reading of ledger lines for readers that fold millions of them
//! (`verify gate --ledger`): the fields a reconciliation uses, borrowed from
//! the line, without building a [`Record`]. `Record`'s internally tagged
//! enum buffers every object before picking its variant; this reads the line
//! once into one flat struct and checks each kind's required fields itself.
//! Whenever the lean reading fails (an escaped string, a field of another
//! kind with an odd type, a duplicate field, an unknown kind, a bad line) it
//! falls back to [`decode`], so the two can only ever agree (tested below).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use super::{Decoded, Record, decode};

/// The fields of one record that a reader reconciles with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View<'a> {
    /// The record's kind, one of [`super::KINDS`].
    pub kind: &'static str,
    pub student: Option<Cow<'a, str>>,
    pub exam: Option<Cow<'a, str>>,
    /// `upload` (null when unsequenced), `gave_up`, `skipped`.
    pub seq: Option<u64>,
    /// `upload`: the file part's size.
    pub file_size: u64,
    /// `login`, `upload`, `logout`: `None` when the request succeeded.
    pub failure: Option<Cow<'a, str>>,
    /// `ended`.
    pub why: Option<Cow<'a, str>>,
    /// `run`: the format version.
    pub v: Option<u32>,
    /// `upload` of a queued task: when its segment was recorded.
    pub recorded_ms: Option<u64>,
    /// `restart`, `killed`: the last seq recorded before.
    pub last_seq: Option<u64>,
    /// `restart`, `killed`: the queued seqs dropped.
    pub lost: Vec<u64>,
    /// `end`, `run_end`: the section's line count.
    pub records: Option<u64>,
}

/// What one line holds, as [`Decoded`] but with a [`View`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewed<'a> {
    Blank,
    Record(View<'a>),
    UnknownKind(String),
    Malformed(String),
}

impl View<'static> {
    /// The view of a whole record.
    pub fn of(r: &Record) -> View<'static> {
        let own = |s: &String| Some(Cow::Owned(s.clone()));
        let mut v = View {
            kind: r.kind(),
            student: None,
            exam: None,
            seq: None,
            file_size: 0,
            failure: None,
            why: None,
            v: None,
            recorded_ms: None,
            last_seq: None,
            lost: Vec::new(),
            records: None,
        };
        match r {
            Record::Run { v: ver, .. } => v.v = Some(*ver),
            Record::Login {
                student, exam, failure, ..
            }
            | Record::Logout {
                student, exam, failure, ..
            } => {
                v.student = own(student);
                v.exam = exam.as_ref().and_then(own);
                v.failure = failure.as_ref().and_then(own);
            }
            Record::Upload {
                student,
                exam,
                seq,
                file_size,
                failure,
                recorded_ms,
                ..
            } => {
                v.student = own(student);
                v.exam = exam.as_ref().and_then(own);
                v.seq = *seq;
                v.file_size = *file_size;
                v.failure = failure.as_ref().and_then(own);
                v.recorded_ms = *recorded_ms;
            }
            Record::GaveUp { student, exam, seq, .. }
            | Record::Skipped { student, exam, seq }
            | Record::LostAtExit { student, exam, seq, .. } => {
                v.student = own(student);
                v.exam = exam.as_ref().and_then(own);
                v.seq = Some(*seq);
            }
            Record::Restart {
                student,
                exam,
                last_seq,
                lost,
                ..
            }
            | Record::Killed {
                student,
                exam,
                last_seq,
                lost,
                ..
            } => {
                v.student = own(student);
                v.exam = exam.as_ref().and_then(own);
                v.last_seq = Some(*last_seq);
                v.lost = lost.clone();
            }
            Record::Ended { student, why } => {
                v.student = own(student);
                v.why = own(why);
            }
            Record::End { records } | Record::RunEnd { records } => v.records = Some(*records),
        }
        v
    }
}

/// Every field of every kind, typed as `Record` types it (each name has one
/// type across kinds). `Option` stands for "absent or null": a required
/// field found `None` sends the line to the fallback, which says why.
/// Unknown fields are refused (loadgen writes none): `decode` reads them
/// into values, and only the fallback can say what it would make of them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Flat<'a> {
    #[serde(borrow)]
    kind: Option<&'a str>,
    v: Option<u32>,
    #[serde(borrow)]
    tool: Option<&'a str>,
    #[serde(borrow)]
    host: Option<&'a str>,
    #[serde(borrow)]
    scenario: Option<&'a str>,
    #[serde(borrow)]
    task: Option<&'a str>,
    started_unix_ms: Option<u64>,
    #[serde(borrow)]
    student: Option<&'a str>,
    #[serde(borrow)]
    exam: Option<&'a str>,
    attempt: Option<u32>,
    attempts: Option<u32>,
    seq: Option<u64>,
    planned_ms: Option<u64>,
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    bytes_sent: Option<u64>,
    recorded_ms: Option<u64>,
    #[serde(borrow)]
    file: Option<&'a str>,
    file_size: Option<u64>,
    status: Option<u16>,
    #[serde(borrow)]
    failure: Option<&'a str>,
    #[serde(default)]
    answer: AnyMap,
    #[serde(borrow)]
    why: Option<&'a str>,
    records: Option<u64>,
}

/// A JSON object whose entries are skipped (`answer`: a map, null refused).
#[derive(Default)]
struct AnyMap;

impl<'de> Deserialize<'de> for AnyMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyMap;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<AnyMap, A::Error> {
                while m.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(AnyMap)
            }
        }
        d.deserialize_map(V)
    }
}

/// Any JSON value, read (not skipped) and dropped: a skipped string's
/// escapes and a skipped number's range go unchecked, and `decode` (which
/// reads the answer into `Value`s) would refuse what skipping accepts
/// (`"\udc00"`, `1e999`; found by the fuzz target).
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Checked;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_unit<E>(self) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Checked, A::Error> {
                while s.next_element::<Checked>()?.is_some() {}
                Ok(Checked)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Checked, A::Error> {
                while m.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(Checked)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads one line (without its newline) into a [`View`]; agrees with
/// [`decode`] on every input.
pub fn decode_view(line: &[u8]) -> Viewed<'_> {
    if let Ok(f) = serde_json::from_slice::<Flat>(line)
        && let Some(v) = lean(f)
    {
        return Viewed::Record(v);
    }
    match decode(line) {
        Decoded::Blank => Viewed::Blank,
        Decoded::Record(r) => Viewed::Record(View::of(&r)),
        Decoded::UnknownKind(k) => Viewed::UnknownKind(k),
        Decoded::Malformed(e) => Viewed::Malformed(e),
    }
}

/// The view of a flat record whose kind's required fields are all there.
fn lean<'a>(f: Flat<'a>) -> Option<View<'a>> {
    let _ = (&f.task, &f.file, &f.status, &f.answer); // optional everywhere: typed is checked
    let b = |s: Option<&'a str>| s.map(Cow::Borrowed);
    let mut v = View {
        kind: "",
        student: None,
        exam: None,
        seq: None,
        file_size: 0,
        failure: None,
        why: None,
        v: None,
        recorded_ms: None,
        last_seq: None,
        lost: Vec::new(),
        records: None,
    };
    let has = |x: &[bool]| x.iter().all(|&p| p);
    match f.kind? {
        "run" => {
            let ok = has(&[
                f.v.is_some(),
                f.tool.is_some(),
                f.host.is_some(),
                f.scenario.is_some(),
                f.started_unix_ms.is_some(),
            ]);
            (v.kind, v.v) = ("run", f.v);
            ok.then_some(v)
        }
        kind @ ("login" | "logout") => {
            let ok = has(&[
                f.student.is_some(),
                f.attempt.is_some(),
                f.start_ms.is_some(),
                f.end_ms.is_some(),
            ]);
            v.kind = if kind == "login" { "login" } else { "logout" };
            (v.student, v.exam, v.failure) = (b(f.student), b(f.exam), b(f.failure));
            ok.then_some(v)
        }
        "upload" => {
            let ok = has(&[
                f.student.is_some(),
                f.attempt.is_some(),
                f.planned_ms.is_some(),
                f.start_ms.is_some(),
                f.end_ms.is_some(),
                f.bytes_sent.is_some(),
            ]);
            v.kind = "upload";
            (v.student, v.exam, v.failure, v.seq) = (b(f.student), b(f.exam), b(f.failure), f.seq);
            (v.file_size, v.recorded_ms) = (f.file_size?, f.recorded_ms);
            ok.then_some(v)
        }
        kind @ ("gave_up" | "skipped" | "lost_at_exit") => {
            let ok = f.student.is_some() && (kind == "skipped" || f.attempts.is_some());
            v.kind = match kind {
                "gave_up" => "gave_up",
                "skipped" => "skipped",
                _ => "lost_at_exit",
            };
            (v.student, v.exam, v.seq) = (b(f.student), b(f.exam), Some(f.seq?));
            ok.then_some(v)
        }
        "ended" => {
            v.kind = "ended";
            (v.student, v.why) = (Some(Cow::Borrowed(f.student?)), Some(Cow::Borrowed(f.why?)));
            Some(v)
        }
        kind @ ("end" | "run_end") => {
            v.records = Some(f.records?);
            v.kind = if kind == "end" { "end" } else { "run_end" };
            Some(v)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_lean_path_reads_what_loadgen_writes() {
        let line = br#"{"kind":"upload","student":"test_00001","exam":"7","seq":3,"attempt":1,"planned_ms":30000,"start_ms":30001,"end_ms":30090,"bytes_sent":1200,"file":"recording_3.mp4","file_size":1000,"status":200,"failure":null,"answer":{"filename":"x.mp4"}}"#;
        let Viewed::Record(v) = decode_view(line) else { panic!() };
        assert!(
            matches!(v.student, Some(Cow::Borrowed("test_00001"))),
            "borrowed: {v:?}"
        );
        assert_eq!(
            (v.kind, v.seq, v.file_size, v.exam.as_deref()),
            ("upload", Some(3), 1000, Some("7"))
        );
    }

    /// Found by the fuzz target: what skipping a value accepts and reading
    /// it refuses, in the answer and in a field of no kind.
    #[test]
    fn values_the_lean_path_does_not_use_are_still_read() {
        let base = r#"{"kind":"upload","student":"s","seq":1,"attempt":1,"planned_ms":0,"start_ms":0,"end_ms":1,"bytes_sent":1,"file":null,"file_size":1,"failure":null"#;
        for tail in [
            r#","answer":{"f":"\udc00"}}"#,
            r#","answer":{"f":1e999}}"#,
            r#","other":"\udc00"}"#,
            r#","other":1e999}"#,
        ] {
            let line = format!("{base}{tail}");
            assert!(matches!(decode(line.as_bytes()), Decoded::Malformed(_)), "{line}");
            assert!(matches!(decode_view(line.as_bytes()), Viewed::Malformed(_)), "{line}");
        }
    }

    /// Fragments that make records, near-records and non-records.
    fn field() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            Just("kind"),
            Just("v"),
            Just("tool"),
            Just("host"),
            Just("scenario"),
            Just("task"),
            Just("started_unix_ms"),
            Just("student"),
            Just("exam"),
            Just("attempt"),
            Just("attempts"),
            Just("seq"),
            Just("planned_ms"),
            Just("start_ms"),
            Just("end_ms"),
            Just("bytes_sent"),
            Just("file"),
            Just("file_size"),
            Just("status"),
            Just("failure"),
            Just("answer"),
            Just("why"),
            Just("records"),
            Just("recorded_ms"),
            Just("at_ms"),
            Just("last_seq"),
            Just("lost"),
            Just("other"),
        ];
        let value = prop_oneof![
            Just("null".to_string()),
            Just("1".to_string()),
            Just("-1".to_string()),
            Just("70000".to_string()),
            Just("5000000000".to_string()),
            Just("1.5".to_string()),
            Just(r#""s""#.to_string()),
            Just(r#""a\"b""#.to_string()),
            Just("{}".to_string()),
            Just(r#"{"filename":"x"}"#.to_string()),
            Just("[1]".to_string()),
            Just("true".to_string()),
            Just(r#""\udc00""#.to_string()),
            Just("1e999".to_string()),
            Just(r#"{"f":"\udc00"}"#.to_string()),
            Just(r#"{"f":[1e999]}"#.to_string()),
            prop_oneof![
                Just("run"),
                Just("login"),
                Just("upload"),
                Just("gave_up"),
                Just("skipped"),
                Just("logout"),
                Just("ended"),
                Just("end"),
                Just("lost_at_exit"),
                Just("restart"),
                Just("killed"),
                Just("run_end"),
                Just("frob")
            ]
            .prop_map(|k| format!("\"{k}\"")),
        ];
        (name, value).prop_map(|(n, v)| format!("\"{n}\":{v}"))
    }

    fn full(kind: &str) -> Vec<String> {
        let all = [
            r#""v":2"#,
            r#""tool":"t""#,
            r#""host":"h""#,
            r#""scenario":"s""#,
            r#""task":null"#,
            r#""started_unix_ms":1"#,
            r#""student":"s1""#,
            r#""exam":"3""#,
            r#""attempt":1"#,
            r#""attempts":2"#,
            r#""seq":4"#,
            r#""planned_ms":0"#,
            r#""start_ms":1"#,
            r#""end_ms":2"#,
            r#""bytes_sent":9"#,
            r#""file":"f""#,
            r#""file_size":8"#,
            r#""status":200"#,
            r#""failure":null"#,
            r#""why":"w""#,
            r#""records":3"#,
            r#""recorded_ms":7"#,
            r#""at_ms":5"#,
            r#""last_seq":4"#,
            r#""lost":[3,4]"#,
        ];
        std::iter::once(format!(r#""kind":"{kind}""#))
            .chain(all.iter().map(|s| s.to_string()))
            .collect()
    }

    proptest! {
        #[test]
        fn the_lean_path_agrees_with_decode(
            kind in prop_oneof![Just("run"), Just("login"), Just("upload"), Just("gave_up"),
                Just("skipped"), Just("logout"), Just("ended"), Just("end"), Just("lost_at_exit"),
                Just("restart"), Just("killed"), Just("run_end"), Just("frob")],
            drop in proptest::collection::vec(proptest::bool::weighted(0.08), 26),
            extra in proptest::collection::vec(field(), 0..4),
            cut in proptest::option::of(0usize..400),
        ) {
            let mut fields: Vec<String> = full(kind).into_iter().zip(&drop).filter(|(_, d)| !**d).map(|(f, _)| f).collect();
            fields.extend(extra);
            let mut line = format!("{{{}}}", fields.join(","));
            if let Some(c) = cut {
                line.truncate(c.min(line.len()));
            }
            let want = match decode(line.as_bytes()) {
                Decoded::Blank => Viewed::Blank,
                Decoded::Record(r) => Viewed::Record(View::of(&r)),
                Decoded::UnknownKind(k) => Viewed::UnknownKind(k),
                Decoded::Malformed(e) => Viewed::Malformed(e),
            };
            prop_assert_eq!(decode_view(line.as_bytes()), want, "{}", line);
        }
    }
}
