//! What a scan saw in one student folder: its segments (names in one
//! buffer per folder), other entries, in-flight uploads, skipped links and
//! read errors. The sources fill it; `audit::seq` judges it.

use crate::report::PathError;

/// A segment file as seen in a student folder. Its name lives in the
/// folder's name buffer (`FolderObs::name`): one allocation per folder, not
/// one per file of a million-file tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentObs {
    /// Where the raw name sits in `FolderObs::names`.
    name_at: usize,
    name_len: usize,
    /// Seq number from the name, if it has one.
    pub seq: Option<u64>,
    /// Name timestamp, seconds since the epoch.
    pub time: i64,
    /// Size in bytes, when it was checked.
    pub size: Option<u64>,
    /// The student ID in the name, when it differs from the folder's.
    pub foreign_id: Option<String>,
}

/// Everything seen in one student folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderObs {
    /// Exam ID, if known.
    pub exam: Option<String>,
    /// Folder name (the student ID), escaped.
    pub id: String,
    /// Segment files.
    pub segments: Vec<SegmentObs>,
    /// The segments' names, end to end (escaped only if one ends up in a
    /// finding). Segment names are UTF-8: the name grammar reads text.
    names: String,
    /// Temporary upload files.
    pub in_flight: u64,
    /// Other entries, escaped (folders end in `/`).
    pub others: Vec<String>,
    /// Entries seen but not counted as files (skipped symbolic links).
    pub skipped_links: u64,
    /// Entries that could not be read.
    pub errors: Vec<PathError>,
}

impl FolderObs {
    /// An empty folder of student `id` (escaped) in `exam`.
    pub fn new(exam: Option<String>, id: String) -> FolderObs {
        FolderObs {
            exam,
            id,
            ..FolderObs::default()
        }
    }

    /// Empties the folder for another one (`exam`, `id`), keeping its room:
    /// a scan thread reads folder after folder into one `FolderObs`.
    pub fn reset(&mut self, exam: Option<String>, id: String) {
        (self.exam, self.id) = (exam, id);
        self.segments.clear();
        self.names.clear();
        self.others.clear();
        self.errors.clear();
        (self.in_flight, self.skipped_links) = (0, 0);
    }

    /// Room for `segments` more segments whose names take `bytes`.
    pub fn reserve(&mut self, segments: usize, bytes: usize) {
        self.segments.reserve(segments);
        self.names.reserve(bytes);
    }

    /// Gives back the room `reserve` took and nothing used.
    pub fn shrink_to_fit(&mut self) {
        self.segments.shrink_to_fit();
        self.names.shrink_to_fit();
    }

    /// Files seen in the folder.
    pub fn files(&self) -> u64 {
        (self.segments.len() + self.others.len()) as u64 + self.in_flight
    }

    /// Adds a segment file named `name`.
    pub fn push_segment(
        &mut self,
        name: &str,
        seq: Option<u64>,
        time: i64,
        size: Option<u64>,
        foreign_id: Option<String>,
    ) {
        self.segments.push(SegmentObs {
            name_at: self.names.len(),
            name_len: name.len(),
            seq,
            time,
            size,
            foreign_id,
        });
        self.names.push_str(name);
    }

    /// A segment's file name, unescaped (one of this folder's segments).
    pub fn name(&self, s: &SegmentObs) -> &str {
        let end = s.name_at.saturating_add(s.name_len);
        self.names.get(s.name_at..end).unwrap_or_default()
    }

    /// Whether a segment of this name was seen.
    pub fn has_segment(&self, name: &str) -> bool {
        self.segments.iter().any(|s| self.name(s) == name)
    }
}
