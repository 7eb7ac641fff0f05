//! JSON output: the report structs, serialized as they are (the contract).
//!
//! Most reports go through `serde_json`'s pretty printer in one piece. The
//! seq report (also inside the gate's) can hold a million findings: its long
//! lists are rendered in parallel parts (`render::pretty`), and a student's
//! empty files, the one list that reaches a million entries, are written
//! without serde's per-field calls. The document stays byte for byte the
//! one `to_writer_pretty` gives: every seq and gate test checks it.

use std::io::{self, Write};

use super::pretty::{Object, close, separator, value_at};
use crate::report::gate::GateReport;
use crate::report::seq::{EmptyFiles, SeqReport, StudentFindings};

/// A report that knows how to write itself as the JSON contract.
pub trait JsonReport {
    /// Writes the report as a pretty JSON document nested `depth` levels deep
    /// (0: the whole document), without a trailing newline.
    fn write_json(&self, out: &mut dyn Write, depth: usize) -> io::Result<()>;
}

/// Writes `report` as pretty JSON followed by a newline.
pub fn write<W: Write, R: JsonReport + ?Sized>(out: &mut W, report: &R) -> io::Result<()> {
    report.write_json(out, 0)?;
    writeln!(out)
}

impl JsonReport for SeqReport {
    fn write_json(&self, out: &mut dyn Write, depth: usize) -> io::Result<()> {
        // Every field named: a field added to the report and not here does not compile.
        let SeqReport {
            schema,
            verdict,
            failed_on,
            scanned,
            summary,
            missing_students,
            unexpected_students,
            students,
            present,
            stray_files,
            errors,
            clean: _, // not part of the JSON
        } = self;
        let mut o = Object::begin(out, depth)?;
        o.field("schema", schema)?;
        o.field("verdict", verdict)?;
        o.field("failed_on", failed_on)?;
        o.field("scanned", scanned)?;
        o.field("summary", summary)?;
        o.list("missing_students", missing_students)?;
        o.list("unexpected_students", unexpected_students)?;
        o.list_with("students", students, student)?;
        o.list("present", present)?;
        o.list("stray_files", stray_files)?;
        o.list("errors", errors)?;
        o.end()
    }
}

/// One student's findings.
fn student(out: &mut Vec<u8>, s: &StudentFindings, depth: usize) -> io::Result<()> {
    let StudentFindings {
        exam,
        id,
        first_seq,
        last_seq,
        segments,
        gaps,
        leading_gap,
        duplicates,
        unsequenced,
        foreign,
        empty,
        out_of_order,
        stalls,
        unparseable,
        short,
        in_flight,
        explained,
    } = s;
    let mut o = Object::begin(out, depth)?;
    o.field("exam", exam)?;
    o.field("id", id)?;
    o.field("first_seq", first_seq)?;
    o.field("last_seq", last_seq)?;
    o.field("segments", segments)?;
    o.field("gaps", gaps)?;
    o.field("leading_gap", leading_gap)?;
    o.field("duplicates", duplicates)?;
    o.field("unsequenced", unsequenced)?;
    o.field("foreign", foreign)?;
    let inner = o.inner();
    empty_files(o.key("empty")?, empty, inner)?;
    o.field("out_of_order", out_of_order)?;
    o.field("stalls", stalls)?;
    o.field("unparseable", unparseable)?;
    o.field("short", short)?;
    o.field("in_flight", in_flight)?;
    if !explained.is_empty() {
        o.field("explained", explained)?;
    }
    o.end()
}

/// `[{"file": …, "size": …}, …]` as serde writes it, `depth` levels deep.
fn empty_files(out: &mut Vec<u8>, files: &EmptyFiles, depth: usize) -> io::Result<()> {
    if files.is_empty() {
        out.extend_from_slice(b"[]");
        return Ok(());
    }
    out.push(b'[');
    let (item, field) = (depth.saturating_add(1), depth.saturating_add(2));
    let mut num = itoa::Buffer::new();
    for (i, f) in files.iter().enumerate() {
        separator(out, i == 0, item)?;
        out.push(b'{');
        separator(out, true, field)?;
        out.extend_from_slice(b"\"file\": ");
        name(out, f.prefix, f.rest)?;
        separator(out, false, field)?;
        out.extend_from_slice(b"\"size\": ");
        out.extend_from_slice(num.format(f.size).as_bytes());
        close(out, true, item, b"}")?;
    }
    close(out, true, depth, b"]")
}

/// A file name given in two parts, as a JSON string: as it is when nothing
/// in it needs escaping (what serde escapes: `"`, `\\` and control
/// characters), else serde's escaping of the whole.
fn name(out: &mut Vec<u8>, prefix: &str, rest: &str) -> io::Result<()> {
    // A fold, not `all`: no early exit, so the check runs on whole vectors.
    let plain = |s: &str| {
        s.bytes()
            .fold(true, |p, b| p & (b >= 0x20) & (b != b'"') & (b != b'\\'))
    };
    if plain(prefix) && plain(rest) {
        out.push(b'"');
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(rest.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        value_at(out, &format!("{prefix}{rest}"), 0)
    }
}

impl JsonReport for GateReport {
    fn write_json(&self, out: &mut dyn Write, depth: usize) -> io::Result<()> {
        let GateReport {
            schema,
            verdict,
            failed_on,
            checks,
            ids,
            seq,
            merge,
            cross,
            merged_from,
        } = self;
        let mut o = Object::begin(out, depth)?;
        o.field("schema", schema)?;
        o.field("verdict", verdict)?;
        o.field("failed_on", failed_on)?;
        o.field("checks", checks)?;
        o.field("ids", ids)?;
        let inner = o.inner();
        match seq {
            Some(seq) => seq.write_json(o.key("seq")?, inner)?,
            None => o.field("seq", seq)?,
        }
        o.field("merge", merge)?;
        o.field("cross", cross)?;
        o.field("merged_from", merged_from)?;
        o.end()
    }
}

macro_rules! plain_json {
    ($($t:ty),*) => {$(
        impl JsonReport for $t {
            fn write_json(&self, out: &mut dyn Write, depth: usize) -> io::Result<()> {
                value_at(out, self, depth)
            }
        }
    )*};
}

plain_json!(crate::report::ids::IdsReport, crate::report::merge::MergeReport);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::seq::EmptyFile;

    proptest::proptest! {
        #[test]
        fn empty_files_are_written_as_serde_writes_them(
            files in proptest::collection::vec(("[a-z_0-9.\"\\\\\u{1}\u{7f}é\u{200b}]{0,16}", proptest::num::u64::ANY), 0..6),
            depth in 0usize..6,
        ) {
            let owned: Vec<EmptyFile> = files.iter().map(|(f, s)| EmptyFile { file: f.clone(), size: *s }).collect();
            let list = crate::report::files::from_escaped(&owned).unwrap();
            let mut ours = Vec::new();
            empty_files(&mut ours, &list, depth).unwrap();
            let mut theirs = Vec::new();
            value_at(&mut theirs, &list, depth).unwrap();
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
        }
    }

    #[test]
    fn a_student_is_written_as_serde_writes_it() {
        let mut s = StudentFindings {
            exam: Some("30".into()),
            id: "test_\"1".into(),
            gaps: vec![[2, 3]],
            ..StudentFindings::default()
        };
        let files = [("a\u{1}.mp4", 0), ("ab.mp4", 3)].map(|(f, size)| EmptyFile { file: f.into(), size });
        s.empty = crate::report::files::from_escaped(&files).unwrap();
        let mut ours = Vec::new();
        student(&mut ours, &s, 2).unwrap();
        let mut theirs = Vec::new();
        value_at(&mut theirs, &s, 2).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
    }
}
