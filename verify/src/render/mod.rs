//! Renderers: one file per output format, each writing a report into an
//! `impl Write`. Audits expose their report through [`AuditView`] so the
//! table and JUnit writers are shared by every subcommand.

pub mod escape;
pub mod gate;
pub mod github;
pub mod html;
pub mod ids;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod pretty;
pub mod seq;
pub mod table;
pub mod watch;

use crate::findings::{FailOn, Kind};
use crate::report::PathError;
use common::exit::Outcome;

/// One finding, as a row for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    /// The check it belongs to inside a gate (`seq`, `ids`, …), or empty.
    pub check: &'static str,
    /// Exam, or empty.
    pub exam: String,
    /// Student ID.
    pub student: String,
    /// Finding kind name.
    pub kind: &'static str,
    /// What exactly, with evidence.
    pub detail: String,
    /// Whether this kind fails the run.
    pub fails: bool,
    /// The client's ledger explains it (a notice, never an error or warning).
    pub explained: bool,
}

/// One JUnit test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Test case name (usually the student).
    pub name: String,
    /// Class name (audit and exam).
    pub classname: String,
    /// Failing findings; empty means the case passed.
    pub failures: Vec<String>,
    /// Non-failing findings, kept as output.
    pub notes: Vec<String>,
    /// Set for read errors.
    pub error: Option<String>,
}

impl Case {
    /// A case for one finding group: failures when the kind fails, notes otherwise.
    pub fn finding(name: String, classname: String, texts: Vec<String>, fails: bool) -> Case {
        let (failures, notes) = if fails { (texts, vec![]) } else { (vec![], texts) };
        Case {
            name,
            classname,
            failures,
            notes,
            error: None,
        }
    }

    /// A case for a path that could not be read.
    pub fn read_error(e: &PathError, classname: &str) -> Case {
        Case {
            name: e.path.clone(),
            classname: classname.into(),
            failures: vec![],
            notes: vec![],
            error: Some(e.error.clone()),
        }
    }
}

/// What renderers need from a report.
pub trait AuditView {
    /// Stable audit name, e.g. `verify seq` (JUnit suite names).
    fn name(&self) -> &'static str;
    /// Headline for people, naming what was audited.
    fn title(&self) -> String;
    /// Outcome of the run.
    fn outcome(&self) -> Outcome;
    /// Failing kinds found.
    fn failed_on(&self) -> Vec<String>;
    /// Headline numbers: (label, value, note).
    fn summary_rows(&self) -> Vec<[String; 3]>;
    /// Every finding, in report order.
    fn finding_rows(&self) -> Vec<FindingRow>;
    /// Read errors.
    fn errors(&self) -> Vec<PathError>;
    /// One JUnit case per subject.
    fn junit_cases(&self) -> Vec<Case>;
}

/// The note of a summary row: `fails`, `reported`, or nothing when there are none.
pub fn kind_note<K: Kind>(fail_on: &FailOn<K>, kind: K, n: u64) -> String {
    match (n, fail_on.fails(kind)) {
        (0, _) => String::new(),
        (_, true) => "fails".into(),
        (_, false) => "reported".into(),
    }
}

/// `a, b, c …+N more` for long lists inside a cell.
pub fn short_list(items: &[String], keep: usize) -> String {
    short_list_of(items.len(), items.iter().cloned(), keep)
}

/// `short_list` of `len` items given as an iterator: only the ones shown are
/// formatted (a student with 500 empty files makes 5 strings, not 500).
pub fn short_list_of(len: usize, items: impl Iterator<Item = String>, keep: usize) -> String {
    let mut s = items.take(keep).collect::<Vec<_>>().join(", ");
    if len > keep {
        s.push_str(&format!(" …+{} more", len - keep));
    }
    s
}

impl FindingRow {
    /// A row of `kind`, failing or not as `fail_on` says (no exam, no check).
    pub fn of<K: Kind>(fail_on: &FailOn<K>, kind: K, student: &str, detail: String) -> FindingRow {
        FindingRow {
            check: "",
            exam: String::new(),
            student: student.to_string(),
            kind: kind.name(),
            detail,
            fails: fail_on.fails(kind),
            explained: false,
        }
    }

    /// What a row that does not fail is: ` (explained)` when the client's
    /// ledger explains it, ` (note)` otherwise; empty for a failing row.
    pub fn marker(&self) -> &'static str {
        match (self.fails, self.explained) {
            (true, _) => "",
            (false, true) => " (explained)",
            (false, false) => " (note)",
        }
    }

    /// `kind`, or `check:kind` inside a gate.
    pub fn label(&self) -> String {
        if self.check.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}:{}", self.check, self.kind)
        }
    }
}
