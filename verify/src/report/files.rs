//! The empty-file findings of one student, kept compact: escaped names end
//! to end in one buffer with their sizes beside them. A tree of a million
//! empty files is a million findings; as one `String` each they cost a
//! million allocations to build and as many to free. In JSON the list is the
//! same as a `Vec<EmptyFile>`: `[{"file": …, "size": …}, …]`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::seq::EmptyFile;

/// One empty file, borrowed from its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EmptyRef<'a> {
    /// The file name, escaped.
    pub file: &'a str,
    /// Its size in bytes.
    pub size: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    at: usize,
    len: usize,
    size: u64,
}

/// Empty or too-small files of one folder, in the order `sort` leaves them.
#[derive(Debug, Clone, Default)]
pub struct EmptyFiles {
    names: String,
    entries: Vec<Entry>,
}

impl EmptyFiles {
    /// Room for `files` files whose names take `bytes`.
    pub fn with_capacity(files: usize, bytes: usize) -> EmptyFiles {
        EmptyFiles {
            names: String::with_capacity(bytes),
            entries: Vec::with_capacity(files),
        }
    }

    /// Adds a file: `push_name` writes its escaped name into the buffer.
    pub fn push_with(&mut self, size: u64, push_name: impl FnOnce(&mut String)) {
        let at = self.names.len();
        push_name(&mut self.names);
        let len = self.names.len().saturating_sub(at);
        self.entries.push(Entry { at, len, size });
    }

    /// Adds a file whose name is already escaped.
    pub fn push(&mut self, file: &str, size: u64) {
        self.push_with(size, |s| s.push_str(file));
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn name(&self, e: &Entry) -> &str {
        self.names.get(e.at..e.at.saturating_add(e.len)).unwrap_or_default()
    }

    /// The `i`-th file.
    pub fn get(&self, i: usize) -> Option<EmptyRef<'_>> {
        self.entries.get(i).map(|e| self.at(e))
    }

    fn at(&self, e: &Entry) -> EmptyRef<'_> {
        EmptyRef {
            file: self.name(e),
            size: e.size,
        }
    }

    /// The files in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = EmptyRef<'_>> + '_ {
        self.entries.iter().map(|e| self.at(e))
    }

    /// True when the names are in order (each strictly after the last).
    pub fn is_sorted(&self) -> bool {
        self.entries.windows(2).all(|w| match w {
            [a, b] => self.name(a) < self.name(b),
            _ => true,
        })
    }

    /// Sorts by name (names in a folder are unique: the order is total),
    /// and lays the names out again in that order: whoever reads the list
    /// later (the JSON, long after the scan) reads memory front to back,
    /// not a cache miss a name. The scan pushes files in order already
    /// (`sort_by_name` on the raw names) and sorts only when escaping changed
    /// the order.
    pub fn sort(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        sort_by_name(&mut entries, |e| self.name(e));
        let mut names = String::with_capacity(self.names.len());
        for e in &mut entries {
            let at = names.len();
            names.push_str(self.name(e));
            e.at = at;
        }
        (self.names, self.entries) = (names, entries);
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
        self.iter().eq(other.iter())
    }
}

impl Serialize for EmptyFiles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for EmptyFiles {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = EmptyFiles::default();
        for f in Vec::<EmptyFile>::deserialize(d)? {
            out.push(&f.file, f.size);
        }
        Ok(out)
    }
}

impl FromIterator<EmptyFile> for EmptyFiles {
    fn from_iter<I: IntoIterator<Item = EmptyFile>>(iter: I) -> Self {
        let mut out = EmptyFiles::default();
        for f in iter {
            out.push(&f.file, f.size);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_keyed_sort_is_the_name_sort(names in proptest::collection::btree_set("(test_0001_2025_)?[0-9_sq]{0,12}(\\.mp4)?", 0..40)) {
            let mut list = EmptyFiles::default();
            for n in names.iter().rev() {
                list.push(n, 0);
            }
            list.sort();
            let sorted: Vec<&str> = list.iter().map(|f| f.file).collect();
            let expected: Vec<&str> = names.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(sorted, expected);
        }

        #[test]
        fn same_json_and_order_as_a_vec_of_files(
            files in proptest::collection::btree_map("[a-z\\\\\"é\u{1}]{0,12}", 0u64..9, 0..20)
        ) {
            // Pushed in reverse, sorted back: the JSON of the sorted Vec.
            let vec: Vec<EmptyFile> = files.iter().map(|(f, &size)| EmptyFile { file: f.clone(), size }).collect();
            let mut list: EmptyFiles = vec.iter().rev().cloned().collect();
            list.sort();
            let json = serde_json::to_string_pretty(&list).unwrap();
            proptest::prop_assert_eq!(&json, &serde_json::to_string_pretty(&vec).unwrap());
            let back: EmptyFiles = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(&back, &list);
            proptest::prop_assert_eq!(list.len(), vec.len());
            proptest::prop_assert_eq!(list.get(0).map(|f| f.file), vec.first().map(|f| f.file.as_str()));
        }
    }
}
