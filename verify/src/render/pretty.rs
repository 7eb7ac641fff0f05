//! `serde_json`'s pretty layout, written in parts: a value at any depth
//! ([`value_at`]), an object field by field ([`Object`]) and long lists
//! rendered in parallel parts ([`Object::list`]), each byte for byte what
//! `to_writer_pretty` writes for the whole (tested against it).

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::ser::Formatter;

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

/// Before an item or key: `\n` for the first, `,\n` after, then the indent.
pub fn separator(out: &mut (impl Write + ?Sized), first: bool, depth: usize) -> io::Result<()> {
    out.write_all(if first { b"\n" } else { b",\n" })?;
    indent(out, depth)
}

/// After the last item: a new line at the container's own `depth` if it
/// held anything, then its closing bracket.
pub fn close(out: &mut (impl Write + ?Sized), had_items: bool, depth: usize, bracket: &[u8]) -> io::Result<()> {
    if had_items {
        out.write_all(b"\n")?;
        indent(out, depth)?;
    }
    out.write_all(bracket)
}

impl Nested {
    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth = self.depth.saturating_add(1);
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        close(w, self.has_value, self.depth, bracket)
    }
}

impl Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        separator(w, first, self.depth)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        separator(w, first, self.depth)
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
pub fn value_at<W: Write + ?Sized, T: Serialize + ?Sized>(out: &mut W, value: &T, depth: usize) -> io::Result<()> {
    let formatter = Nested {
        depth,
        has_value: false,
    };
    value.serialize(&mut serde_json::Serializer::with_formatter(out, formatter))?;
    Ok(())
}

/// Writes one list item into its part's buffer, `depth` levels deep.
pub trait ItemWriter<T>: Fn(&mut Vec<u8>, &T, usize) -> io::Result<()> + Sync {}
impl<T, F: Fn(&mut Vec<u8>, &T, usize) -> io::Result<()> + Sync> ItemWriter<T> for F {}

/// A pretty JSON object written field by field.
pub struct Object<'w, W: Write + ?Sized> {
    out: &'w mut W,
    depth: usize,
    first: bool,
}

impl<W: Write + ?Sized> std::fmt::Debug for Object<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl<'w, W: Write + ?Sized> Object<'w, W> {
    /// Opens an object that sits `depth` levels deep.
    pub fn begin(out: &'w mut W, depth: usize) -> io::Result<Object<'w, W>> {
        out.write_all(b"{")?;
        Ok(Object {
            out,
            depth,
            first: true,
        })
    }

    /// Writes the next key; the caller writes its value at [`Object::inner`]
    /// depth into the returned writer.
    pub fn key(&mut self, key: &str) -> io::Result<&mut W> {
        separator(self.out, self.first, self.inner())?;
        self.first = false;
        value_at(self.out, key, 0)?;
        self.out.write_all(b": ")?;
        Ok(self.out)
    }

    /// The depth of the object's values.
    pub fn inner(&self) -> usize {
        self.depth.saturating_add(1)
    }

    /// A field whose value serde writes.
    pub fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> io::Result<()> {
        let depth = self.inner();
        value_at(self.key(key)?, value, depth)
    }

    /// A list field whose items serde writes, in parallel parts.
    pub fn list<T: Serialize + Sync>(&mut self, key: &str, items: &[T]) -> io::Result<()> {
        self.list_with(key, items, value_at)
    }

    /// A list field whose items `write` writes, in parallel parts.
    pub fn list_with<T: Sync>(&mut self, key: &str, items: &[T], write: impl ItemWriter<T>) -> io::Result<()> {
        self.list_in(key, items, PART, BATCH, write)
    }

    /// `list_with`, `part` items per part and `batch` per batch (tests use small ones).
    fn list_in<T: Sync>(
        &mut self,
        key: &str,
        items: &[T],
        part: usize,
        batch: usize,
        write: impl ItemWriter<T>,
    ) -> io::Result<()> {
        let depth = self.inner().saturating_add(1);
        let out = self.key(key)?;
        if items.is_empty() {
            return out.write_all(b"[]");
        }
        out.write_all(b"[")?;
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
                        separator(buf, b == 0 && p == 0 && i == 0, depth)?;
                        write(buf, item, depth)?;
                    }
                    Ok(())
                });
            rendered?;
            // The last batch may fill fewer parts: those left hold the last batch's bytes.
            for buf in bufs.iter().take(batch.len().div_ceil(part)) {
                out.write_all(buf)?;
            }
        }
        close(out, true, depth.saturating_sub(1), b"]")
    }

    /// Closes the object.
    pub fn end(self) -> io::Result<()> {
        close(self.out, !self.first, self.depth, b"}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours<R: Serialize>(r: &R) -> String {
        let mut v = Vec::new();
        value_at(&mut v, r, 0).unwrap();
        String::from_utf8(v).unwrap()
    }

    fn serde<R: Serialize>(r: &R) -> String {
        serde_json::to_string_pretty(r).unwrap()
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
                o.list_in("items", &items[..n], part, batch, value_at).unwrap();
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
