//! Checks of the ledger as a whole, beside the per-seq reconciliation: can
//! it be held against this tree at all (exams), are its lines records, does
//! it name the students the server shows, do the logins agree.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::fold::ledger::{LedgerPart, Loc, StudentLedger};
use crate::audit::reconcile::row;
use crate::report::gate::{CrossKind, LedgerRow};

/// Why the ledger cannot be held against this tree: records without an exam
/// (format version 1, or a scenario that captures no `exam_id`) while
/// `--dir` holds several exams. The message lists the `--dir` to give.
pub fn exam_ambiguity(ledger: &LedgerPart, exams: &[(Option<String>, String)]) -> Option<String> {
    // Only uploads need their exam: a failed login or an `ended` record
    // without one says nothing about any folder.
    if !ledger.no_exam.values().any(StudentLedger::has_uploads) || exams.len() < 2 {
        return None;
    }
    let files: Vec<&str> = ledger
        .files
        .iter()
        .filter(|f| f.without_exam > 0)
        .map(|f| f.name.as_str())
        .collect();
    let dirs: Vec<String> = exams.iter().take(10).map(|(_, p)| format!("--dir {p}")).collect();
    let more = exams.len().saturating_sub(dirs.len());
    Some(format!(
        "{} records students without their exam (ledger format version 1, or a scenario that captures no exam_id) \
         and --dir holds {} exams, so a student's uploads cannot be told from the same ID's in another exam: \
         give the folder of the exam the run used: {}{}",
        files.join(", "),
        exams.len(),
        dirs.join(" | "),
        if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        }
    ))
}

pub(super) fn ledger_names(ledger: &LedgerPart) -> String {
    ledger
        .files
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row per file with lines that are no record or records of unknown kinds.
pub(super) fn malformed_rows(ledger: &LedgerPart) -> Vec<LedgerRow> {
    let mut rows = Vec::new();
    for f in ledger.files.iter().filter(|f| f.refused.is_none()) {
        if f.malformed == 0 && f.unknown_kinds == 0 && f.miscounted == 0 && f.out_of_order == 0 {
            continue;
        }
        let first: Vec<String> = f.problems.iter().map(|(l, w)| format!("line {l}: {w}")).collect();
        rows.push(row(
            CrossKind::LedgerMalformed,
            "-",
            Vec::new(),
            f.problems.first().map(|(l, _)| format!("{}:{l}", f.name)),
            format!(
                "{} line(s) are no ledger record, {} record(s) are of an unknown kind{}: what they say was not reconciled; first: {}",
                f.malformed,
                f.unknown_kinds,
                match f.miscounted {
                    0 => String::new(),
                    n => format!(", and {n} run section(s) do not hold the lines their closing record counts"),
                } + &match f.out_of_order {
                    0 => String::new(),
                    n => format!(", and {n} record(s) break a client's order (it cannot be trusted to explain a gap)"),
                },
                first.join("; ")
            ),
        ));
    }
    rows
}

/// One row per file with a run section that no `end` or `run_end` closes
/// (and no miscount, which `malformed_rows` names): a killed client or a cut
/// file, whose last seqs and logins nothing vouches for.
pub(super) fn incomplete_rows(ledger: &LedgerPart) -> Vec<LedgerRow> {
    ledger
        .files
        .iter()
        .filter(|f| f.refused.is_none() && f.sections > 0 && !f.complete() && f.miscounted == 0)
        .map(|f| {
            row(
                CrossKind::LedgerIncomplete,
                "-",
                Vec::new(),
                Some(format!("{}:{}", f.name, f.lines)),
                format!(
                    "{} run section(s), {} closed: the run did not finish (killed?) or the file was cut; seqs after each \
                     student's last record cannot be explained. Audit the whole ledger, or accept a killed run with \
                     --fail-on=-cross:ledger_incomplete",
                    f.sections, f.ended_sections
                ),
            )
        })
        .collect()
}

/// One row per file that names none of the students the server shows.
pub(super) fn unrelated_rows(ledger: &LedgerPart, server: &BTreeSet<&str>) -> Vec<LedgerRow> {
    if server.is_empty() {
        return Vec::new();
    }
    let mut related = vec![false; ledger.files.len()];
    let mut students = vec![0u64; ledger.files.len()];
    for (_, id, s) in ledger.students() {
        let known = server.contains(id);
        for &f in &s.files {
            if let Some(r) = related.get_mut(f) {
                *r |= known;
            }
            if let Some(n) = students.get_mut(f) {
                *n = n.saturating_add(1);
            }
        }
    }
    let mut rows = Vec::new();
    for (i, f) in ledger.files.iter().enumerate() {
        if f.refused.is_some() || related.get(i).copied().unwrap_or(true) {
            continue;
        }
        let n = students.get(i).copied().unwrap_or(0);
        rows.push(LedgerRow {
            file: None,
            ..row(
                CrossKind::LedgerUnrelated,
                "-",
                Vec::new(),
                Some(f.name.clone()),
                format!(
                    "none of its {n} student(s) is among the {} the tree or the log shows: the ledger of another run or server?",
                    server.len()
                ),
            )
        })
    }
    rows
}

pub(super) fn login_rows(ledger: &LedgerPart, logins: &BTreeSet<String>, rows: &mut Vec<LedgerRow>) {
    let mut ok: BTreeMap<&str, Loc> = BTreeMap::new();
    for (_, id, s) in ledger.students() {
        if let Some(l) = s.login_ok {
            let e = ok.entry(id).or_insert(l);
            *e = (*e).min(l);
        }
    }
    for id in logins.iter().filter(|id| !ok.contains_key(id.as_str())) {
        rows.push(row(
            CrossKind::LoginNotInLedger,
            id,
            Vec::new(),
            None,
            "in the gunicorn log, no ledger records its login (a client whose ledger was not given?)".into(),
        ));
    }
    for (id, at) in ok.into_iter().filter(|(id, _)| !logins.contains(*id)) {
        rows.push(row(
            CrossKind::LedgerNotInLog,
            id,
            Vec::new(),
            Some(ledger.at(at)),
            "the client's login was answered 2xx, the gunicorn log has no login line".into(),
        ));
    }
}
