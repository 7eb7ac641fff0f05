//! The client ledger against the server: every upload the server
//! acknowledged must be on its disk at the size sent, and every gap on disk
//! gets exactly one cause. Pure: the ledger fold, the disk's segments and
//! gaps, and the log's logins in; a `LedgerReport` out.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::audit::fold::ledger::{LedgerPart, StudentLedger};
use crate::report::PathError;
use crate::report::gate::{CrossKind, LedgerFile, LedgerReport, LedgerRow};

pub use super::causes::gap_causes;
use super::causes::{duplicate_rows, gap_row};
pub use super::ledger_checks::exam_ambiguity;
use super::ledger_checks::{ledger_names, login_rows, malformed_rows, unrelated_rows};
use super::unsequenced::unsequenced;

/// One segment file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegRef {
    pub seq: u64,
    /// Its size, when the scan checked sizes.
    pub size: Option<u64>,
    /// Its name (escaped).
    pub name: String,
}

/// A student of an exam: (exam folder name, student ID).
pub type Key = (Option<String>, String);

/// What the server's side shows, per exam and student. Segments are
/// borrowed from the audited folders (a million-file folder is not copied).
#[derive(Debug, Clone, Default)]
pub struct Disk<'a> {
    /// The exams under `--dir`: (name, exam folder path, escaped).
    pub exams: Vec<(Option<String>, String)>,
    /// Sequenced segment files (foreign ones excluded).
    pub segments: BTreeMap<Key, Cow<'a, [SegRef]>>,
    /// Segment files without a seq: (size, name).
    pub unsequenced: BTreeMap<Key, Vec<(Option<u64>, String)>>,
    /// Gaps, leading gaps included.
    pub gaps: BTreeMap<Key, Vec<[u64; 2]>>,
    /// Short tails: the seqs after the last one up to `--expect-segments`.
    pub tails: BTreeMap<Key, [u64; 2]>,
    /// Seqs in several files.
    pub duplicates: BTreeMap<Key, Vec<u64>>,
    /// `--exam` chose `exams`: the ledger's students of other exams are left out.
    pub selected: bool,
    /// Expected students without segments: the seqs they should have sent.
    pub absent: BTreeMap<Key, [u64; 2]>,
}

/// The ledger's students keyed as the disk's. Records without an exam of a
/// student whose other records name exactly one exam (a failed login, its
/// `ended`) join that exam; uploads without an exam go to the tree's only
/// exam (refused by `exam_ambiguity` when it holds several).
fn resolve<'a>(ledger: &'a LedgerPart, disk: &Disk<'_>) -> BTreeMap<Key, Cow<'a, StudentLedger>> {
    let sole = match disk.exams.as_slice() {
        [(e, _)] => Some(e.clone()),
        [] => Some(None),
        _ => None,
    };
    let mut out: BTreeMap<Key, Cow<'a, StudentLedger>> = BTreeMap::new();
    for (exam, id, s) in ledger.students() {
        let exam = match (exam, &sole) {
            (Some(e), _) => Some(e.to_string()),
            (None, _) if !s.has_uploads() && ledger.exams_of(id).len() == 1 => {
                ledger.exams_of(id).first().map(|e| e.to_string())
            }
            (None, Some(e)) => e.clone(),
            (None, None) => continue, // uploads refused by exam_ambiguity; the rest holds nothing
        };
        match out.entry((exam, id.to_string())) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Cow::Borrowed(s));
            }
            std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().to_mut().absorb(s),
        }
    }
    out
}

/// Reconciles the ledgers with the disk (when `--dir` ran) and the log's
/// logins (when `--log` ran).
pub fn reconcile(ledger: &LedgerPart, disk: Option<&Disk<'_>>, logins: Option<&BTreeSet<String>>) -> LedgerReport {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut errors = ledger.errors.clone();
    errors.extend(ledger.refusals().into_iter().map(|(path, why)| PathError {
        path,
        error: format!("not a ledger this build reads: {why}"),
    }));
    for f in ledger.files.iter().filter(|f| f.refused.is_none() && f.sections == 0) {
        notes.push(format!("{} holds no run section (empty, or only blank lines)", f.name));
    }
    notes.extend(ledger.scope.clone());
    rows.extend(malformed_rows(ledger));
    rows.extend(super::ledger_checks::incomplete_rows(ledger));
    rows.extend(super::ledger_logins::rows(ledger));
    if let Some(disk) = disk {
        if let Some(why) = exam_ambiguity(ledger, &disk.exams) {
            errors.push(PathError {
                path: ledger_names(ledger),
                error: why,
            });
        }
        let mut students = resolve(ledger, disk);
        if disk.selected {
            let chosen: BTreeSet<&Option<String>> = disk.exams.iter().map(|(e, _)| e).collect();
            let before = students.len();
            students.retain(|k, _| chosen.contains(&k.0));
            if students.len() < before {
                notes.push(format!(
                    "{} student(s) of other exams in the ledger were left out (--exam)",
                    before - students.len()
                ));
            }
        }
        let disk_exams: BTreeSet<&Option<String>> = disk.exams.iter().map(|(e, _)| e).collect();
        let absent: BTreeSet<&str> = ledger
            .by_exam
            .keys()
            .filter(|e| !disk.exams.is_empty() && !disk_exams.contains(&Some(e.to_string())))
            .map(String::as_str)
            .collect();
        if !absent.is_empty() && !disk.selected {
            notes.push(format!(
                "the ledger's exam(s) {} have no folder under --dir (it holds: {}): their uploads are held against nothing",
                absent.into_iter().collect::<Vec<_>>().join(", "),
                disk.exams.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        let keys: BTreeSet<&Key> = students
            .keys()
            .chain(disk.gaps.keys())
            .chain(disk.tails.keys())
            .collect();
        let (empty, none) = (Vec::new(), Vec::new());
        for key in keys {
            let id = key.1.as_str();
            let s = students.get(key).map(|c| &**c);
            let from = rows.len();
            if let Some(s) = s {
                let segs = disk.segments.get(key).map_or(&empty[..], |c| &c[..]);
                super::acked::uploads(ledger, id, s, segs, &mut rows);
                unsequenced(ledger, id, s, disk.unsequenced.get(key).unwrap_or(&none), &mut rows);
                let dups = disk.duplicates.get(key).map_or(&[][..], Vec::as_slice);
                rows.extend(duplicate_rows(ledger, id, s, dups, segs));
            }
            let mut gaps = disk.gaps.get(key).cloned().unwrap_or_default();
            gaps.extend(disk.tails.get(key));
            // An absent student is reconciled only when a ledger knows it.
            gaps.extend(disk.absent.get(key).filter(|_| s.is_some()));
            for (kind, seqs) in gap_causes(&gaps, s) {
                if kind == CrossKind::AckedMissing {
                    continue; // named per seq by `uploads`
                }
                rows.push(gap_row(ledger, id, s, kind, seqs));
            }
            for r in rows.iter_mut().skip(from) {
                r.exam.clone_from(&key.0);
            }
        }
    } else {
        notes.push("no --dir: uploads were not held against the disk".into());
    }
    if let Some(logins) = logins {
        login_rows(ledger, logins, &mut rows);
    }
    if disk.is_some() || logins.is_some() {
        let server: BTreeSet<&str> = disk
            .iter()
            .flat_map(|d| d.segments.keys().chain(d.gaps.keys()).chain(d.unsequenced.keys()))
            .map(|k| k.1.as_str())
            .chain(logins.iter().flat_map(|l| l.iter().map(String::as_str)))
            .collect();
        rows.extend(unrelated_rows(ledger, &server));
    }
    LedgerReport {
        files: ledger
            .files
            .iter()
            .map(|f| LedgerFile {
                path: f.name.clone(),
                records: f.records,
                malformed: f.malformed,
                unknown_kinds: f.unknown_kinds,
                problems: f.problems.iter().map(|(l, w)| format!("{}:{l}: {w}", f.name)).collect(),
                sections: f.sections,
                complete: f.complete(),
            })
            .collect(),
        students: ledger.students().count() as u64,
        uploads: ledger.uploads,
        acked_seqs: ledger
            .students()
            .map(|(_, _, s)| s.seqs.values().filter(|l| !l.acked.is_empty()).count() as u64)
            .sum(),
        acked_unsequenced: ledger.students().map(|(_, _, s)| s.unsequenced.len() as u64).sum(),
        rows,
        notes,
        errors,
    }
}

pub(super) fn row(kind: CrossKind, id: &str, seqs: Vec<[u64; 2]>, record: Option<String>, detail: String) -> LedgerRow {
    LedgerRow {
        kind,
        exam: None,
        id: id.to_string(),
        seqs,
        record,
        file: None,
        detail,
    }
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
