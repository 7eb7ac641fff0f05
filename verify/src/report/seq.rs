//! The `verify seq` report (`"schema": "verify.seq/1"`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::PathError;
pub use super::files::{EmptyFiles, EmptyRef};
use crate::findings::Kind;
use common::exit::Outcome;

/// Schema tag of this report.
pub const SCHEMA: &str = "verify.seq/1";

/// Kinds of finding of `verify seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeqKind {
    /// Seq numbers missing between the first and the last seen.
    Gap,
    /// The first seq is above `--first-seq`.
    LeadingGap,
    /// One seq number in two or more files.
    Duplicate,
    /// A segment without `_seq_N`.
    Unsequenced,
    /// A file naming another student than its folder.
    Foreign,
    /// A zero-byte file, or one under `--min-size`.
    Empty,
    /// Seq order disagrees with the name timestamps.
    OutOfOrder,
    /// A pause well above the student's usual interval.
    Stall,
    /// A file or folder in a student folder that is no segment.
    Unparseable,
    /// Last seq below `--expect-segments`.
    Short,
    /// An expected student without folder or segments.
    MissingStudent,
    /// A student folder outside the expected population.
    UnexpectedStudent,
}

impl Kind for SeqKind {
    const ALL: &'static [SeqKind] = &[
        SeqKind::Gap,
        SeqKind::LeadingGap,
        SeqKind::Duplicate,
        SeqKind::Unsequenced,
        SeqKind::Foreign,
        SeqKind::Empty,
        SeqKind::OutOfOrder,
        SeqKind::Stall,
        SeqKind::Unparseable,
        SeqKind::Short,
        SeqKind::MissingStudent,
        SeqKind::UnexpectedStudent,
    ];

    fn name(self) -> &'static str {
        match self {
            SeqKind::Gap => "gap",
            SeqKind::LeadingGap => "leading_gap",
            SeqKind::Duplicate => "duplicate",
            SeqKind::Unsequenced => "unsequenced",
            SeqKind::Foreign => "foreign",
            SeqKind::Empty => "empty",
            SeqKind::OutOfOrder => "out_of_order",
            SeqKind::Stall => "stall",
            SeqKind::Unparseable => "unparseable",
            SeqKind::Short => "short",
            SeqKind::MissingStudent => "missing_student",
            SeqKind::UnexpectedStudent => "unexpected_student",
        }
    }

    fn fails_by_default(self) -> bool {
        // A stall is a symptom worth seeing, not proof of lost data.
        self != SeqKind::Stall
    }
}

/// The whole `verify seq` report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeqReport {
    /// Always `verify.seq/1`.
    pub schema: String,
    /// `pass`, `fail` or `error`, from the findings and `--fail-on`.
    pub verdict: common::exit::Verdict,
    /// The finding kinds that made the run fail (empty when it passed).
    pub failed_on: Vec<SeqKind>,
    /// What was scanned.
    pub scanned: Scanned,
    /// Totals and a count per finding kind.
    pub summary: SeqSummary,
    /// Expected students with no folder or no segment.
    pub missing_students: Vec<StudentRef>,
    /// Student folders outside the expected population.
    pub unexpected_students: Vec<StudentRef>,
    /// One entry per student with at least one finding, sorted by exam and ID.
    pub students: Vec<StudentFindings>,
    /// Every student folder scanned, sorted by exam and ID: what cross-checks
    /// and `verify gate --merge` need.
    pub present: Vec<Presence>,
    /// Files lying directly in a recordings folder, outside any student folder.
    pub stray_files: Vec<String>,
    /// Paths that could not be read; any entry makes the exit code 2.
    pub errors: Vec<PathError>,
    /// Students without findings as (exam, id), for per-student JUnit cases.
    /// Not part of the JSON (the summary counts them).
    #[serde(skip)]
    pub clean: Vec<(Option<String>, String)>,
}

/// What `--dir` pointed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scanned {
    /// The path given.
    pub root: String,
    /// `recordings`, `exam` or `server_data`.
    pub layout: Layout,
    /// The exams scanned, each with its recordings folder.
    pub exams: Vec<ExamScanned>,
}

/// The shape of the scanned tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A `recordings` folder: children are student folders.
    Recordings,
    /// An exam folder holding `recordings/`.
    Exam,
    /// A `server_data` folder: every child holding `recordings/` is an exam.
    ServerData,
}

/// One exam of the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamScanned {
    /// The exam ID (its folder name), or null for a bare recordings folder.
    pub exam: Option<String>,
    /// Its recordings folder.
    pub recordings: String,
    /// Student folders found in it.
    pub students: u64,
}

/// Totals of the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeqSummary {
    /// Student folders scanned.
    pub students: u64,
    /// Students with at least one finding.
    pub students_with_findings: u64,
    /// Files seen in student folders (segments, in-flight and others).
    pub files: u64,
    /// Files named as segments (sequenced or not, foreign included).
    pub segments: u64,
    /// Temporary upload files (`.part`, `.tmp`, ...), not errors.
    pub in_flight: u64,
    /// Symbolic links skipped (not followed without `--follow-links`).
    pub skipped_links: u64,
    /// Students expected (0 without `--expect`).
    pub expected_students: u64,
    /// Count per finding kind: missing seq numbers for `gap` and `leading_gap`,
    /// duplicated seq numbers for `duplicate`, files for `unsequenced`,
    /// `foreign`, `empty`, `out_of_order` and `unparseable`, pauses for `stall`,
    /// students for the rest. Every kind is present, zeros included.
    pub findings: BTreeMap<SeqKind, u64>,
    /// Of those, the ones the client's ledger explains (`verify gate
    /// --ledger`: gap and leading-gap seqs, duplicated seqs, short
    /// students), counted alike: they do not fail. Absent without a ledger.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub explained: BTreeMap<SeqKind, u64>,
    /// Number of entries in `errors`.
    pub errors: u64,
}

/// One student folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Presence {
    /// Exam ID, or null for a bare recordings folder.
    pub exam: Option<String>,
    /// Student ID (folder name).
    pub id: String,
    /// Its segment files (foreign excluded).
    pub segments: u64,
    /// Lowest and highest seq, if any.
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
}

/// A student named by exam and ID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentRef {
    /// Exam ID, or null for a bare recordings folder.
    pub exam: Option<String>,
    /// Student ID.
    pub id: String,
    /// Why it is listed: `no_folder`, `no_segments` or `not_expected`.
    pub reason: String,
    /// A missing student the client's ledger explains (`verify gate
    /// --ledger`: killed, or every seq given up or lost): it does not fail.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub explained: bool,
}

/// Findings for one student folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentFindings {
    /// Exam ID, or null for a bare recordings folder.
    pub exam: Option<String>,
    /// Student ID (the folder name, escaped).
    pub id: String,
    /// Lowest seq seen, if any.
    pub first_seq: Option<u64>,
    /// Highest seq seen, if any.
    pub last_seq: Option<u64>,
    /// Segment files of this student (sequenced or not; foreign excluded).
    pub segments: u64,
    /// Missing seq numbers between first and last, as inclusive `[from, to]`.
    pub gaps: Vec<[u64; 2]>,
    /// Missing seq numbers before the first, as `[first_seq_option, first - 1]`.
    pub leading_gap: Option<[u64; 2]>,
    /// Seq numbers present in more than one file.
    pub duplicates: Vec<Duplicate>,
    /// Segment files without a seq number.
    pub unsequenced: Vec<String>,
    /// Files whose name carries another student's ID.
    pub foreign: Vec<Foreign>,
    /// Zero-byte files, or files under `--min-size` (`[{"file", "size"}]`).
    pub empty: EmptyFiles,
    /// Segments whose timestamp is earlier than that of a lower seq.
    pub out_of_order: Vec<OutOfOrder>,
    /// Pauses between consecutive segments well above the usual interval.
    pub stalls: Vec<Stall>,
    /// Other files or folders (folders end in `/`).
    pub unparseable: Vec<String>,
    /// Set when the last seq is below `--expect-segments`.
    pub short: Option<Short>,
    /// Temporary upload files in this folder.
    pub in_flight: u64,
    /// Seqs of `gaps` and `leading_gap` the client's ledger explains
    /// (`verify gate --ledger`: given up, skipped, lost at exit, a client
    /// restart or kill): they do not fail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explained: Vec<[u64; 2]>,
}

/// One seq number found in several files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Duplicate {
    /// The seq number.
    pub seq: u64,
    /// The files carrying it, sorted by name.
    pub files: Vec<String>,
    /// The client's ledger explains it (sent again after a restart).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub explained: bool,
}

/// A file naming another student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Foreign {
    /// The file name.
    pub file: String,
    /// The student ID in the name.
    pub id: String,
}

/// A file that is empty or too small (owned; lists keep them as `EmptyFiles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyFile {
    /// The file name.
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A segment earlier in time than a lower seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutOfOrder {
    /// The seq that came too early.
    pub seq: u64,
    /// Its file.
    pub file: String,
    /// The lower seq with the later timestamp.
    pub after_seq: u64,
    /// That seq's file.
    pub after_file: String,
}

/// A pause between two consecutive segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    /// The seq before the pause.
    pub after_seq: u64,
    /// The seq after the pause.
    pub seq: u64,
    /// Seconds between the two names' timestamps.
    pub seconds: i64,
    /// The student's median interval per seq step, in seconds.
    pub median_seconds: f64,
}

/// A student that stopped before the expected number of segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Short {
    /// Its last seq.
    pub last_seq: u64,
    /// The expected number of segments.
    pub expected: u64,
    /// The client's ledger explains every missing seq of the tail.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub explained: bool,
}

impl StudentFindings {
    /// Counts of this student's findings per kind (see `SeqSummary::findings`).
    pub fn counts(&self) -> [(SeqKind, u64); 10] {
        use crate::audit::ranges::count;
        let n = |v: usize| v as u64;
        [
            (SeqKind::Gap, count(&self.gaps)),
            (SeqKind::LeadingGap, self.leading_gap.map_or(0, |g| count(&[g]))),
            (SeqKind::Duplicate, n(self.duplicates.len())),
            (SeqKind::Unsequenced, n(self.unsequenced.len())),
            (SeqKind::Foreign, n(self.foreign.len())),
            (SeqKind::Empty, n(self.empty.len())),
            (SeqKind::OutOfOrder, n(self.out_of_order.len())),
            (SeqKind::Stall, n(self.stalls.len())),
            (SeqKind::Unparseable, n(self.unparseable.len())),
            (SeqKind::Short, u64::from(self.short.is_some())),
        ]
    }

    /// Of `counts()`, what the client's ledger explains.
    pub fn explained_counts(&self) -> [(SeqKind, u64); 4] {
        use crate::audit::ranges::{count, intersect, normalize};
        let explained = normalize(self.explained.clone());
        [
            (
                SeqKind::Gap,
                count(&intersect(&normalize(self.gaps.clone()), &explained)),
            ),
            (
                SeqKind::LeadingGap,
                count(&intersect(
                    &self.leading_gap.into_iter().collect::<Vec<_>>(),
                    &explained,
                )),
            ),
            (
                SeqKind::Duplicate,
                self.duplicates.iter().filter(|d| d.explained).count() as u64,
            ),
            (
                SeqKind::Short,
                u64::from(self.short.as_ref().is_some_and(|s| s.explained)),
            ),
        ]
    }

    /// True when the student has any finding at all.
    pub fn has_findings(&self) -> bool {
        self.counts().iter().any(|&(_, c)| c > 0)
    }
}

impl SeqReport {
    /// The outcome this report maps to.
    pub fn outcome(&self) -> Outcome {
        self.verdict.outcome()
    }
}
