//! The empty-file findings of one student, kept compact: the prefix their
//! escaped names share once (`<id>_<date>_1…`), then each name's rest end
//! to end in one buffer, with the rests' lengths and the sizes beside them.
//! A tree of a million empty files is a million findings: as one `String`
//! each they cost a million allocations to build and as many to free, and
//! their memory (every page of it faulted in) was most of the scan's. In
//! JSON the list is the same as a `Vec<EmptyFile>`: `[{"file", "size"}, …]`.

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::seq::EmptyFile;

/// One empty file, borrowed from its list: its name is `prefix` + `rest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmptyRef<'a> {
    /// The escaped name's first part, shared with the rest of the list.
    pub prefix: &'a str,
    /// The escaped name's own part.
    pub rest: &'a str,
    /// Its size in bytes.
    pub size: u64,
}

impl EmptyRef<'_> {
    /// The escaped file name, whole.
    pub fn file(&self) -> String {
        format!("{}{}", self.prefix, self.rest)
    }

    /// The escaped name's bytes, prefix then rest (no string of their own).
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.prefix.bytes().chain(self.rest.bytes())
    }
}

/// The file name, for `{}`: no string of its own.
impl fmt::Display for EmptyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix)?;
        f.write_str(self.rest)
    }
}

impl Serialize for EmptyRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Name<'a>(&'a EmptyRef<'a>);
        impl Serialize for Name<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self.0)
            }
        }
        let mut st = s.serialize_struct("EmptyFile", 2)?;
        st.serialize_field("file", &Name(self))?;
        st.serialize_field("size", &self.size)?;
        st.end()
    }
}

/// Empty or too-small files of one folder, in the order they were given.
#[derive(Debug, Clone, Default)]
pub struct EmptyFiles {
    /// The shared prefix (its first `prefix` bytes), then the rests.
    names: String,
    prefix: usize,
    /// Each rest's length (a name is at most a few KiB escaped).
    lens: Vec<u32>,
    sizes: Vec<u64>,
}

impl EmptyFiles {
    /// The list of `files` (raw name, size) in the order given, each name
    /// written by `escape` (which must escape character by character, so
    /// that a shared prefix escapes to a shared prefix). A name too long to
    /// keep (over 4 GiB escaped) is an error, not a cut name.
    pub fn build(files: &[(&str, u64)], escape: impl Fn(&mut String, &str)) -> Result<EmptyFiles, String> {
        let mut cut = files
            .iter()
            .map(|f| f.0.as_bytes())
            .reduce(common_prefix)
            .map_or(0, <[u8]>::len);
        let first = files.first().map_or("", |f| f.0);
        while !first.is_char_boundary(cut) {
            cut -= 1;
        }
        let bytes: usize = files.iter().map(|f| f.0.len().saturating_sub(cut)).sum();
        let mut out = EmptyFiles {
            names: String::with_capacity(bytes.saturating_add(cut)),
            prefix: 0,
            lens: Vec::with_capacity(files.len()),
            sizes: Vec::with_capacity(files.len()),
        };
        escape(&mut out.names, first.get(..cut).unwrap_or_default());
        out.prefix = out.names.len();
        for &(name, size) in files {
            let at = out.names.len();
            escape(&mut out.names, name.get(cut..).unwrap_or_default());
            let len = out.names.len().saturating_sub(at);
            let len = u32::try_from(len).map_err(|_| format!("a file name of {len} bytes"))?;
            out.lens.push(len);
            out.sizes.push(size);
        }
        Ok(out)
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// The `i`-th file.
    pub fn get(&self, i: usize) -> Option<EmptyRef<'_>> {
        self.iter().nth(i)
    }

    /// The files in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = EmptyRef<'_>> + '_ {
        let prefix = self.names.get(..self.prefix).unwrap_or_default();
        let mut at = self.prefix;
        self.lens.iter().zip(&self.sizes).map(move |(&len, &size)| {
            let end = at.saturating_add(len as usize);
            let rest = self.names.get(at..end).unwrap_or_default();
            at = end;
            EmptyRef { prefix, rest, size }
        })
    }

    /// True when the names are in order (each strictly after the last).
    pub fn is_sorted(&self) -> bool {
        let mut rests = self.iter().map(|f| f.rest);
        let Some(mut last) = rests.next() else { return true };
        rests.all(|r| std::mem::replace(&mut last, r) < r)
    }

    /// Sorts by name (names in a list are unique: the order is total); the
    /// names are laid out again in that order, so that whoever reads the
    /// list later (the JSON, long after the scan) reads memory front to
    /// back. The scan gives its files in order already and sorts only when
    /// escaping changed that order.
    /// (The rare path: whole names are copied out and the list built again.)
    pub fn sort(&mut self) -> Result<(), String> {
        let names: Vec<(String, u64)> = self.iter().map(|f| (f.file(), f.size)).collect();
        let mut files: Vec<(&str, u64)> = names.iter().map(|(n, size)| (n.as_str(), *size)).collect();
        sort_by_name(&mut files, |f| f.0);
        *self = EmptyFiles::build(&files, |out, s| out.push_str(s))?;
        Ok(())
    }
}

/// Sorts `items` by `name` (unique names). A folder's names share a long
/// prefix (`<id>_<date>_`): each item is keyed by the 8 bytes after the
/// prefix they all share, so most comparisons are one integer's, and only
/// equal keys compare names.
pub fn sort_by_name<'a, T: Copy>(items: &mut [T], name: impl Fn(&T) -> &'a str) {
    let common = items
        .iter()
        .map(|i| name(i).as_bytes())
        .reduce(common_prefix)
        .map_or(0, <[u8]>::len);
    let mut keyed: Vec<(u64, T)> = items
        .iter()
        .map(|i| (key_after(name(i).as_bytes(), common), *i))
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| name(&a.1).cmp(name(&b.1))));
    for (dst, (_, item)) in items.iter_mut().zip(keyed) {
        *dst = item;
    }
}

/// The longest prefix `a` and `b` share.
fn common_prefix<'a>(a: &'a [u8], b: &[u8]) -> &'a [u8] {
    let n = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    a.get(..n).unwrap_or_default()
}

/// The 8 bytes of `name` from `at`, big-endian, zero-padded: names that
/// share their first `at` bytes order as these keys do where the keys
/// differ (a shorter name pads with 0, below any byte a name can hold).
fn key_after(name: &[u8], at: usize) -> u64 {
    let mut k = [0u8; 8];
    for (d, s) in k.iter_mut().zip(name.get(at..).unwrap_or_default()) {
        *d = *s;
    }
    u64::from_be_bytes(k)
}

impl PartialEq for EmptyFiles {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.size == b.size && a.bytes().eq(b.bytes()))
    }
}

impl Serialize for EmptyFiles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for EmptyFiles {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let files = Vec::<EmptyFile>::deserialize(d)?;
        from_escaped(&files).map_err(serde::de::Error::custom)
    }
}

/// A list of files whose names are already escaped, in the order given
/// (a report read back).
pub fn from_escaped(files: &[EmptyFile]) -> Result<EmptyFiles, String> {
    let refs: Vec<(&str, u64)> = files.iter().map(|f| (f.file.as_str(), f.size)).collect();
    EmptyFiles::build(&refs, |out, s| out.push_str(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(files: &[EmptyFile]) -> EmptyFiles {
        from_escaped(files).unwrap()
    }

    fn owned(names: impl Iterator<Item = String>) -> Vec<EmptyFile> {
        names.map(|file| EmptyFile { file, size: 0 }).collect()
    }

    proptest::proptest! {
        #[test]
        fn the_keyed_sort_is_the_name_sort(names in proptest::collection::btree_set("(test_0001_2025_)?[0-9_sq]{0,12}(\\.mp4)?", 0..40)) {
            let mut list = list(&owned(names.iter().rev().cloned()));
            list.sort().unwrap();
            proptest::prop_assert!(list.is_sorted());
            let sorted: Vec<String> = list.iter().map(|f| f.file()).collect();
            let expected: Vec<String> = names.iter().cloned().collect();
            proptest::prop_assert_eq!(sorted, expected);
        }

        #[test]
        fn same_json_and_order_as_a_vec_of_files(
            files in proptest::collection::btree_map("(ab)?[a-z\\\\\"é\u{1}]{0,12}", 0u64..9, 0..20)
        ) {
            // Given in reverse, sorted back: the JSON of the sorted Vec.
            let vec: Vec<EmptyFile> = files.iter().map(|(f, &size)| EmptyFile { file: f.clone(), size }).collect();
            let mut rev = vec.clone();
            rev.reverse();
            let mut l = list(&rev);
            l.sort().unwrap();
            let json = serde_json::to_string_pretty(&l).unwrap();
            proptest::prop_assert_eq!(&json, &serde_json::to_string_pretty(&vec).unwrap());
            let back: EmptyFiles = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(&back, &l);
            proptest::prop_assert_eq!(l.len(), vec.len());
            proptest::prop_assert_eq!(l.get(0).map(|f| f.file()), vec.first().map(|f| f.file.clone()));
        }
    }

    #[test]
    fn the_shared_prefix_stops_at_a_character_boundary() {
        // "é" and "è" share their first byte: the prefix must not split them.
        let l = list(&owned(["aé".to_string(), "aè".to_string()].into_iter()));
        let parts: Vec<(&str, &str)> = l.iter().map(|f| (f.prefix, f.rest)).collect();
        assert_eq!(parts, [("a", "é"), ("a", "è")]);
        assert!(!l.is_sorted(), "è (U+00E8) sorts before é (U+00E9)");
    }
}
