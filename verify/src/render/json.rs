//! JSON output: the report structs, serialized as they are (the contract).
//!
//! Most reports go through `serde_json`'s pretty printer in one piece. The
//! seq report (also inside the gate's) can hold a million findings: its long
//! lists are rendered in parallel parts, each part exactly the bytes the
//! pretty printer writes for those items at their depth ([`Nested`]), so
//! the document is byte for byte the one `to_writer_pretty` gives (tested
//! against it).

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::ser::Formatter;

use crate::report::gate::GateReport;
use crate::report::seq::SeqReport;

/// A report that knows how to write itself as the JSON contract.
pub trait JsonReport {
    /// Writes the report as a pretty JSON document nested `depth` levels deep
    /// (0: the whole document), without a trailing newline.
    fn write_json(&self, out: &mut dyn Write, depth: usize) -> io::Result<()>;
}

/// Any serializable report, in one piece.
pub fn write_plain<R: Serialize + ?Sized>(out: &mut dyn Write, report: &R, depth: usize) -> io::Result<()> {
    value_at(out, report, depth)
}

/// Writes `report` as pretty JSON followed by a newline.
pub fn write<W: Write, R: JsonReport + ?Sized>(out: &mut W, report: &R) -> io::Result<()> {
    report.write_json(out, 0)?;
    writeln!(out)
}

/// Items per parallel part, and parts rendered before they are written: a
/// few MB in memory at a time, whatever the list's length, in buffers
/// reused from batch to batch (fresh ones cost a page fault per 4 KiB).
const PART: usize = 16;
const BATCH: usize = 16 * PART;

/// `serde_json`'s `PrettyFormatter` (two spaces), starting `depth` levels
/// deep: its own depth is private, so it is restated here, method for method.
struct Nested {
    depth: usize,
    has_value: bool,
}

/// Two spaces per level, in as few writes as the depth allows (a million
/// findings sit five levels deep: one write each, not five).
fn indent(out: &mut (impl Write + ?Sized), depth: usize) -> io::Result<()> {
    const SPACES: &[u8; 64] = &[b' '; 64];
    let mut left = depth.saturating_mul(2);
    while left > 0 {
        let n = left.min(SPACES.len());
        out.write_all(SPACES.get(..n).unwrap_or_default())?;
        left -= n;
    }
    Ok(())
}

impl Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_add(1);
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.depth)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_add(1);
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.depth)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes `value` as the pretty printer writes it `depth` levels deep.
fn value_at<W: Write + ?Sized, T: Serialize + ?Sized>(out: &mut W, value: &T, depth: usize) -> io::Result<()> {
    let formatter = Nested {
        depth,
        has_value: false,
    };
    value.serialize(&mut serde_json::Serializer::with_formatter(out, formatter))?;
    Ok(())
}

/// A pretty JSON object written field by field.
struct Object<'w> {
    out: &'w mut dyn Write,
    depth: usize,
    first: bool,
}

impl<'w> Object<'w> {
    fn begin(out: &'w mut dyn Write, depth: usize) -> io::Result<Object<'w>> {
        out.write_all(b"{")?;
        Ok(Object {
            out,
            depth,
            first: true,
        })
    }

    fn key(&mut self, key: &str) -> io::Result<()> {
        self.out.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        indent(self.out, self.depth.saturating_add(1))?;
        value_at(self.out, key, 0)?;
        self.out.write_all(b": ")
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> io::Result<()> {
        self.key(key)?;
        value_at(self.out, value, self.depth.saturating_add(1))
    }

    /// A field whose value writes itself (a report nested in another).
    fn nested<R: JsonReport>(&mut self, key: &str, value: Option<&R>) -> io::Result<()> {
        self.key(key)?;
        match value {
            Some(r) => r.write_json(self.out, self.depth.saturating_add(1)),
            None => self.out.write_all(b"null"),
        }
    }

    /// A list field, its items rendered in parallel parts.
    fn list<T: Serialize + Sync>(&mut self, key: &str, items: &[T]) -> io::Result<()> {
        self.list_in(key, items, PART, BATCH)
    }

    /// `list` with `part` items per part and `batch` per batch (tests use small ones).
    fn list_in<T: Serialize + Sync>(&mut self, key: &str, items: &[T], part: usize, batch: usize) -> io::Result<()> {
        self.key(key)?;
        if items.is_empty() {
            return self.out.write_all(b"[]");
        }
        self.out.write_all(b"[")?;
        let depth = self.depth.saturating_add(2);
        let (part, batch) = (part.max(1), batch.max(1));
        let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); batch.div_ceil(part).min(items.len().div_ceil(part))];
        for (b, batch) in items.chunks(batch).enumerate() {
            let rendered: io::Result<()> = bufs
                .par_iter_mut()
                .zip(batch.par_chunks(part))
                .enumerate()
                .try_for_each(|(p, (buf, items))| {
                    buf.clear();
                    for (i, item) in items.iter().enumerate() {
                        let first = b == 0 && p == 0 && i == 0;
                        buf.extend_from_slice(if first { b"\n" } else { b",\n" });
                        indent(buf, depth)?;
                        value_at(buf, item, depth)?;
                    }
                    Ok(())
                });
            rendered?;
            // The last batch may fill fewer parts: those left hold the last batch's bytes.
            for buf in bufs.iter().take(batch.len().div_ceil(part)) {
                self.out.write_all(buf)?;
            }
        }
        self.out.write_all(b"\n")?;
        indent(self.out, self.depth.saturating_add(1))?;
        self.out.write_all(b"]")
    }

    fn end(self) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b"\n")?;
            indent(self.out, self.depth)?;
        }
        self.out.write_all(b"}")
    }
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
        o.list("students", students)?;
        o.list("present", present)?;
        o.list("stray_files", stray_files)?;
        o.list("errors", errors)?;
        o.end()
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
        o.nested("seq", seq.as_ref())?;
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
                write_plain(out, self, depth)
            }
        }
    )*};
}

plain_json!(
    crate::report::ids::IdsReport,
    crate::report::merge::MergeReport,
    serde_json::Value
);

#[cfg(test)]
mod tests {
    use super::*;

    fn ours<R: JsonReport>(r: &R) -> String {
        let mut v = Vec::new();
        write(&mut v, r).unwrap();
        String::from_utf8(v).unwrap()
    }

    fn serde<R: Serialize>(r: &R) -> String {
        serde_json::to_string_pretty(r).unwrap() + "\n"
    }

    #[test]
    fn nested_values_match_the_pretty_printer() {
        let v = serde_json::json!({
            "a": [], "b": {}, "c": [1, [2, []], {"d": {"e": [{}]}}],
            "f": "x\"\\\u{1}é", "g": null, "h": [[[]]]
        });
        assert_eq!(ours(&v), serde(&v));
        let wrapped = serde_json::json!({ "in": [v.clone(), v] });
        let mut inner = Vec::new();
        value_at(&mut inner, &wrapped["in"], 1).unwrap();
        let whole = serde_json::to_string_pretty(&wrapped).unwrap();
        assert!(whole.contains(std::str::from_utf8(&inner).unwrap()));
    }

    #[test]
    fn lists_in_parts_and_batches_match_one_piece() {
        let items: Vec<serde_json::Value> = (0..11).map(|i| serde_json::json!({"i": i, "v": [i, {}]})).collect();
        for (part, batch) in [(1, 1), (2, 4), (3, 4), (4, 3), (64, 1024), (0, 0)] {
            for n in [0, 1, 4, 11] {
                let mut out = Vec::new();
                let mut o = Object::begin(&mut out, 0).unwrap();
                o.field("a", &1).unwrap();
                o.list_in("items", &items[..n], part, batch).unwrap();
                o.end().unwrap();
                let expected =
                    serde_json::to_string_pretty(&serde_json::json!({"a": 1, "items": &items[..n]})).unwrap();
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    expected,
                    "part {part}, batch {batch}, {n} items"
                );
            }
        }
        let mut out = Vec::new();
        Object::begin(&mut out, 3).unwrap().end().unwrap();
        assert_eq!(out, b"{}");
    }
}
