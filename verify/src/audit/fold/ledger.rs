//! The client ledger part of the gate fold: what `loadgen --ledger` wrote,
//! per exam, student and seq, read line by line (batch or followed live)
//! through the shared format (`common::ledger`). A file whose first record
//! is no `run` of a version this build reads is refused; lines that are no
//! record (a run killed mid-line, an overlong line) and records of unknown
//! kinds are counted with their `file:line`, and fail the gate.

use std::collections::BTreeMap;

use common::ledger::{READS, View, Viewed, check_opening, decode, decode_view};

use common::text::escape_str;

/// Where a record is: (file index, line from 1).
pub type Loc = (usize, u64);

/// Problems kept per file, with their line (the rest are counted).
const PROBLEMS_KEPT: usize = 5;

/// One seq of one student, as the client saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqLedger {
    /// Every attempt the server acknowledged, with the file size sent: a
    /// seq sent again after a client restart (or in another run section) is
    /// acknowledged once per file the server must hold.
    pub acked: Vec<(Loc, u64)>,
    /// Attempts that failed: where, and why.
    pub failed: Vec<(Loc, String)>,
}

/// A client restart or kill the ledger records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// True for `killed` (no restart follows), false for `restart`.
    pub killed: bool,
    pub at: Loc,
    /// The last seq recorded before it (0: none).
    pub last_seq: u64,
    /// Queued seqs it dropped.
    pub lost: Vec<u64>,
}

/// One student of one exam, as the client saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudentLedger {
    /// A login answered 2xx, and where.
    pub login_ok: Option<Loc>,
    pub seqs: BTreeMap<u64, SeqLedger>,
    pub gave_up: BTreeMap<u64, Loc>,
    pub skipped: BTreeMap<u64, Loc>,
    /// Seqs still queued when the client's exit passes ended (dropped).
    pub lost_at_exit: BTreeMap<u64, Loc>,
    /// Client restarts (`restart`) and kills (`killed`), in ledger order.
    pub faults: Vec<Fault>,
    /// Uploads sent without a seq (`--no-seq`) the server acknowledged:
    /// where, and the file size sent.
    pub unsequenced: Vec<(Loc, u64)>,
    /// Uploads sent without a seq that failed: the first, and how many.
    pub unsequenced_failed: Option<(Loc, String, u64)>,
    /// Ended abnormally: why, and where.
    pub ended: Option<(String, Loc)>,
    /// Its last record.
    pub last: Loc,
    /// The files with records of it (indices, ascending).
    pub files: Vec<usize>,
}

impl StudentLedger {
    /// Holds uploads (tried, given up or skipped seqs, or unsequenced ones):
    /// what must be matched to one exam's folder.
    pub fn has_uploads(&self) -> bool {
        !self.seqs.is_empty()
            || !self.gave_up.is_empty()
            || !self.skipped.is_empty()
            || !self.lost_at_exit.is_empty()
            || !self.unsequenced.is_empty()
            || self.unsequenced_failed.is_some()
    }

    /// Adds another's records (the same student read under two keys).
    pub fn absorb(&mut self, o: &StudentLedger) {
        self.login_ok = match (self.login_ok, o.login_ok) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for (q, l) in &o.seqs {
            let e = self.seqs.entry(*q).or_default();
            e.acked.extend(l.acked.iter().copied());
            e.failed.extend(l.failed.iter().cloned());
        }
        self.gave_up.extend(o.gave_up.iter().map(|(q, l)| (*q, *l)));
        self.skipped.extend(o.skipped.iter().map(|(q, l)| (*q, *l)));
        self.lost_at_exit.extend(o.lost_at_exit.iter().map(|(q, l)| (*q, *l)));
        self.faults.extend(o.faults.iter().cloned());
        self.faults.sort_by_key(|f| f.at);
        self.unsequenced.extend(o.unsequenced.iter().copied());
        if let Some((loc, why, n)) = &o.unsequenced_failed {
            let e = self.unsequenced_failed.get_or_insert((*loc, why.clone(), 0));
            e.2 = e.2.saturating_add(*n);
        }
        self.ended = self.ended.take().or(o.ended.clone());
        self.last = self.last.max(o.last);
        self.files.extend(o.files.iter().copied());
        self.files.sort_unstable();
        self.files.dedup();
    }
}

/// One ledger file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerFileState {
    pub name: String,
    /// Lines read, overlong ones included.
    pub lines: u64,
    pub records: u64,
    /// Lines that are no record (not JSON, fields missing or mistyped, over
    /// the line cap, outside a run section).
    pub malformed: u64,
    /// Records of a kind this version does not know.
    pub unknown_kinds: u64,
    /// The first problems: line, and what.
    pub problems: Vec<(u64, String)>,
    /// Why the file is not read as a ledger; its lines are then ignored.
    pub refused: Option<String>,
    /// Run sections opened, and those that closed with their `end` (or a
    /// worker's `run_end`) counting the section's lines right.
    pub sections: u64,
    pub ended_sections: u64,
    /// Sections whose closing record counts other than the lines read:
    /// lines are missing (or were added), so the section is not complete.
    pub miscounted: u64,
    /// Inside a run section (a `run` read, its `end` not yet).
    open: bool,
    /// Lines of the open section so far, its `run` included.
    section_lines: u64,
    /// Student records without an exam (version 1, or no `exam_id` captured).
    pub without_exam: u64,
    /// Records out of a client's order (`ledger_order.rs`): an upload after
    /// the student's `killed`, no login after its `restart`, …
    pub out_of_order: u64,
}

impl LedgerFileState {
    /// Every section it opened ended with its `end` record.
    pub fn complete(&self) -> bool {
        self.sections > 0 && self.ended_sections == self.sections
    }

    /// Counts a line of the open section.
    fn count_line(&mut self) {
        if self.open {
            self.section_lines = self.section_lines.saturating_add(1);
        }
    }

    /// Closes the open section at its `end` or `run_end` (counted already):
    /// complete only when its count is the lines read, so a ledger missing
    /// lines (a copy cut in the middle, lines deleted) is never complete.
    fn close(&mut self, line: u64, kind: &str, records: u64) {
        self.open = false;
        if records == self.section_lines {
            self.ended_sections = self.ended_sections.saturating_add(1);
            return;
        }
        self.miscounted = self.miscounted.saturating_add(1);
        let what = if records > self.section_lines {
            "missing"
        } else {
            "added"
        };
        self.problem(
            line,
            format!(
                "its `{kind}` record counts {records} line(s) for its run section, the file holds {}: lines are {what}",
                self.section_lines
            ),
        );
    }

    /// Keeps a problem (escaped: it may quote the line).
    fn problem(&mut self, line: u64, what: String) {
        if self.problems.len() < PROBLEMS_KEPT {
            self.problems.push((line, escape_str(&what)));
        }
    }

    /// Refuses the file (escaped: the reason may quote the line).
    fn refuse(&mut self, why: &str) {
        self.refused = Some(escape_str(why));
    }
}

/// Every ledger read so far.
#[derive(Debug, Clone, Default)]
pub struct LedgerPart {
    pub files: Vec<LedgerFileState>,
    /// Students per exam (the exam the ledger records).
    pub by_exam: BTreeMap<String, BTreeMap<String, StudentLedger>>,
    /// Students whose records name no exam.
    pub no_exam: BTreeMap<String, StudentLedger>,
    /// Upload records.
    pub uploads: u64,
    /// Files that could not be read.
    pub errors: Vec<crate::report::PathError>,
    /// Logins and what ended them, for the login audit (`ledger_logins.rs`).
    pub logins: crate::audit::ledger_logins::LedgerLogins,
    /// Set when the ledger chose the exams audited (no `--exam`).
    pub scope: Option<String>,
    /// The order of each student's records, checked as they come.
    pub order: super::ledger_order::RecordOrder,
}

impl LedgerPart {
    /// Adds a file (records follow with its index).
    pub fn add_file(&mut self, name: String) -> usize {
        self.files.push(LedgerFileState {
            name,
            ..LedgerFileState::default()
        });
        self.files.len() - 1
    }

    /// Every student: (exam, ID, records).
    pub fn students(&self) -> impl Iterator<Item = (Option<&str>, &str, &StudentLedger)> {
        let none = self.no_exam.iter().map(|(id, s)| (None, id.as_str(), s));
        let some = self
            .by_exam
            .iter()
            .flat_map(|(e, m)| m.iter().map(move |(id, s)| (Some(e.as_str()), id.as_str(), s)));
        none.chain(some)
    }

    /// The exams a student's records name.
    pub fn exams_of(&self, id: &str) -> Vec<&str> {
        self.by_exam
            .iter()
            .filter(|(_, m)| m.contains_key(id))
            .map(|(e, _)| e.as_str())
            .collect()
    }

    fn student(&mut self, exam: Option<&str>, id: &str) -> Option<&mut StudentLedger> {
        let map = match exam {
            None => &mut self.no_exam,
            Some(e) => {
                if !self.by_exam.contains_key(e) {
                    self.by_exam.insert(e.to_string(), BTreeMap::new());
                }
                self.by_exam.get_mut(e)?
            }
        };
        if !map.contains_key(id) {
            map.insert(id.to_string(), StudentLedger::default());
        }
        map.get_mut(id)
    }

    /// Counts a line dropped for being over the line cap (it still has a
    /// line number: every later `file:line` stays right).
    pub fn observe_overlong(&mut self, file: usize) {
        let Some(f) = self.files.get_mut(file) else { return };
        f.lines = f.lines.saturating_add(1);
        if f.refused.is_some() {
            return;
        }
        let line = f.lines;
        if f.sections == 0 {
            f.refuse("its first line is over the line cap: not a ledger");
            return;
        }
        f.count_line();
        f.malformed = f.malformed.saturating_add(1);
        let cap = crate::sources::lines::MAX_LINE >> 20;
        f.problem(line, format!("over the line cap ({cap} MiB), skipped"));
    }

    /// Folds the next line of file `file` (without its newline).
    pub fn observe_line(&mut self, file: usize, bytes: &[u8]) {
        let Some(f) = self.files.get_mut(file) else { return };
        f.lines = f.lines.saturating_add(1);
        let line = f.lines;
        if f.refused.is_some() {
            return;
        }
        let viewed = decode_view(bytes);
        // Every line of a section counts against its closing record's count.
        f.count_line();
        if matches!(viewed, Viewed::Blank) {
            return;
        }
        if f.sections == 0 {
            // The first record decides whether this is a ledger at all.
            if let Err(why) = check_opening(&decode(bytes)) {
                f.refuse(&why);
                return;
            }
        }
        let v = match viewed {
            Viewed::Blank => return,
            Viewed::Malformed(why) => {
                f.malformed = f.malformed.saturating_add(1);
                f.problem(line, format!("not a ledger record: {why}"));
                return;
            }
            Viewed::UnknownKind(k) => {
                f.unknown_kinds = f.unknown_kinds.saturating_add(1);
                f.problem(line, format!("a record of unknown kind `{k}`"));
                return;
            }
            Viewed::Record(v) => v,
        };
        f.records = f.records.saturating_add(1);
        match v.kind {
            "run" => {
                let ver = v.v.unwrap_or(0);
                if !READS.contains(&ver) {
                    f.refuse(&format!(
                        "line {line} opens a run section in ledger format version {ver}; this build reads versions {READS:?}"
                    ));
                    return;
                }
                f.sections = f.sections.saturating_add(1);
                f.open = true;
                self.logins.observe(file, &f.name, line, v.kind, bytes);
                f.section_lines = 1;
                return;
            }
            // `run_end`: a worker's section closed at the master's Stop; an
            // `end` may follow it when the worker quits (no section open).
            "end" | "run_end" => {
                if f.open {
                    f.close(line, v.kind, v.records.unwrap_or(0));
                }
                return;
            }
            _ if !f.open => {
                f.malformed = f.malformed.saturating_add(1);
                f.problem(line, format!("a `{}` record after its section's `end`", v.kind));
                return;
            }
            _ => {}
        }
        if v.exam.is_none() && matches!(v.kind, "upload" | "gave_up" | "skipped" | "lost_at_exit") {
            f.without_exam = f.without_exam.saturating_add(1);
        }
        if let Some(student) = v.student.as_deref()
            && let Some(why) = self.order.observe(file, f.sections, line, v.kind, student)
        {
            f.out_of_order = f.out_of_order.saturating_add(1);
            f.problem(line, why);
        }
        self.logins.observe(file, &f.name, line, v.kind, bytes);
        self.fold(file, line, v);
    }

    fn fold(&mut self, file: usize, line: u64, v: View<'_>) {
        let loc = (file, line);
        let Some(id) = v.student.as_deref() else { return };
        if v.kind == "upload" {
            self.uploads = self.uploads.saturating_add(1);
        }
        let Some(s) = self.student(v.exam.as_deref(), id) else {
            return;
        };
        s.last = loc;
        if s.files.last() != Some(&file) {
            s.files.push(file);
            s.files.sort_unstable();
            s.files.dedup();
        }
        match (v.kind, v.seq) {
            ("login", _) if v.failure.is_none() => s.login_ok = s.login_ok.or(Some(loc)),
            ("upload", seq) => match (seq, v.failure) {
                (Some(q), None) => s.seqs.entry(q).or_default().acked.push((loc, v.file_size)),
                (Some(q), Some(why)) => s.seqs.entry(q).or_default().failed.push((loc, why.into_owned())),
                (None, None) => s.unsequenced.push((loc, v.file_size)),
                (None, Some(why)) => {
                    let e = s.unsequenced_failed.get_or_insert((loc, why.into_owned(), 0));
                    e.2 = e.2.saturating_add(1);
                }
            },
            ("gave_up", Some(q)) => {
                s.gave_up.insert(q, loc);
            }
            ("skipped", Some(q)) => {
                s.skipped.insert(q, loc);
            }
            ("lost_at_exit", Some(q)) => {
                s.lost_at_exit.insert(q, loc);
            }
            (kind @ ("restart" | "killed"), _) => s.faults.push(Fault {
                killed: kind == "killed",
                at: loc,
                last_seq: v.last_seq.unwrap_or(0),
                lost: v.lost,
            }),
            ("ended", _) => s.ended = Some((v.why.map(|w| w.into_owned()).unwrap_or_default(), loc)),
            _ => {}
        }
    }

    /// `file:line` of a record.
    pub fn at(&self, loc: Loc) -> String {
        let name = self.files.get(loc.0).map_or("?", |f| f.name.as_str());
        format!("{name}:{}", loc.1)
    }

    /// True when every file's every section ended with its `end` record.
    pub fn complete(&self) -> bool {
        self.files.iter().all(LedgerFileState::complete)
    }

    /// Why files cannot be read as ledgers: (file, why).
    pub fn refusals(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .filter_map(|f| f.refused.as_ref().map(|w| (f.name.clone(), w.clone())))
            .collect()
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
