//! The client ledger part of the gate fold: what `loadgen --ledger` wrote,
//! per exam, student and seq, read line by line (batch or followed live)
//! through the shared format (`common::ledger`). A file whose first record
//! is no `run` of a version this build reads is refused; lines that are no
//! record (a run killed mid-line, an overlong line) and records of unknown
//! kinds are counted with their `file:line`, and fail the gate.

use std::collections::BTreeMap;

use common::ledger::{READS, View, Viewed, check_opening, decode, decode_view};

use crate::text::escape_str;

/// Where a record is: (file index, line from 1).
pub type Loc = (usize, u64);

/// Problems kept per file, with their line (the rest are counted).
const PROBLEMS_KEPT: usize = 5;

/// One seq of one student, as the client saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqLedger {
    /// The attempt the server acknowledged, with the file size sent.
    pub acked: Option<(Loc, u64)>,
    /// Attempts that failed: where, and why.
    pub failed: Vec<(Loc, String)>,
}

/// One student of one exam, as the client saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudentLedger {
    /// A login answered 2xx, and where.
    pub login_ok: Option<Loc>,
    pub seqs: BTreeMap<u64, SeqLedger>,
    pub gave_up: BTreeMap<u64, Loc>,
    pub skipped: BTreeMap<u64, Loc>,
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
            e.acked = e.acked.or(l.acked);
            e.failed.extend(l.failed.iter().cloned());
        }
        self.gave_up.extend(o.gave_up.iter().map(|(q, l)| (*q, *l)));
        self.skipped.extend(o.skipped.iter().map(|(q, l)| (*q, *l)));
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
    /// Run sections opened, and those that closed with their `end`.
    pub sections: u64,
    pub ended_sections: u64,
    /// Inside a run section (a `run` read, its `end` not yet).
    open: bool,
    /// Student records without an exam (version 1, or no `exam_id` captured).
    pub without_exam: u64,
}

impl LedgerFileState {
    /// Every section it opened ended with its `end` record.
    pub fn complete(&self) -> bool {
        self.sections > 0 && self.ended_sections == self.sections
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
                return;
            }
            // `run_end`: a Locust worker's section closed at the master's stop.
            "end" | "run_end" => {
                if f.open {
                    f.ended_sections = f.ended_sections.saturating_add(1);
                }
                f.open = false;
                return;
            }
            _ if !f.open => {
                f.malformed = f.malformed.saturating_add(1);
                f.problem(line, format!("a `{}` record after its section's `end`", v.kind));
                return;
            }
            _ => {}
        }
        if v.exam.is_none() && matches!(v.kind, "upload" | "gave_up" | "skipped") {
            f.without_exam = f.without_exam.saturating_add(1);
        }
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
                (Some(q), None) => {
                    let e = s.seqs.entry(q).or_default();
                    e.acked = e.acked.or(Some((loc, v.file_size)));
                }
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
mod tests {
    use super::*;

    const RUN: &str =
        r#"{"kind":"run","v":2,"tool":"loadgen","host":"h","scenario":"s","task":"recording","started_unix_ms":1}"#;

    fn upload(student: &str, exam: &str, seq: &str, failure: &str) -> String {
        format!(
            r#"{{"kind":"upload","student":"{student}","exam":{exam},"seq":{seq},"attempt":1,"planned_ms":0,"start_ms":0,"end_ms":1,"bytes_sent":12,"file":null,"file_size":10,"failure":{failure}}}"#
        )
    }

    #[test]
    fn records_fold_per_exam_student_and_seq_and_bad_lines_are_counted_where_they_are() {
        let mut p = LedgerPart::default();
        let f = p.add_file("l.ndjson".into());
        let lines = [
            RUN.to_string(),
            r#"{"kind":"login","student":"s1","exam":"7","attempt":1,"start_ms":0,"end_ms":1,"status":200,"failure":null}"#.into(),
            upload("s1", "\"7\"", "1", "null"),
            upload("s1", "\"7\"", "2", "\"http 500\""),
            r#"{"kind":"gave_up","student":"s1","exam":"7","seq":2,"attempts":1}"#.into(),
            upload("s1", "\"7\"", "\"3\"", "null"),
            r#"{"kind":"frobnicate"}"#.into(),
            upload("s1", "\"7\"", "null", "null"),
            upload("s1", "null", "4", "null"),
        ];
        for line in &lines {
            p.observe_line(f, line.as_bytes());
        }
        p.observe_overlong(f);
        p.observe_line(f, upload("s1", "\"7\"", "5", "null").as_bytes());
        let s = &p.by_exam["7"]["s1"];
        assert_eq!(s.login_ok, Some((0, 2)));
        assert_eq!(s.seqs[&1].acked, Some(((0, 3), 10)));
        assert_eq!(s.seqs[&2].failed, [((0, 4), "http 500".to_string())]);
        assert_eq!(
            s.seqs[&5].acked,
            Some(((0, 11), 10)),
            "the overlong line kept its number"
        );
        assert_eq!(s.gave_up.keys().copied().collect::<Vec<_>>(), [2]);
        assert_eq!(s.unsequenced, [((0, 8), 10)]);
        assert!(p.no_exam["s1"].seqs.contains_key(&4));
        let st = &p.files[0];
        assert_eq!(
            (st.records, st.malformed, st.unknown_kinds, st.complete()),
            (8, 2, 1, false)
        );
        assert_eq!(st.problems.iter().map(|p| p.0).collect::<Vec<_>>(), [6, 7, 10]);
        p.observe_line(f, br#"{"kind":"end","records":11}"#);
        assert!(p.complete());
        assert_eq!(p.at((0, 3)), "l.ndjson:3");
    }

    #[test]
    fn a_run_end_closes_a_workers_section_like_end() {
        let mut p = LedgerPart::default();
        let f = p.add_file("w.ndjson".into());
        p.observe_line(f, RUN.as_bytes());
        p.observe_line(f, br#"{"kind":"run_end","records":2}"#);
        assert!(p.complete(), "{:?}", p.files[0]);
        p.observe_line(f, RUN.as_bytes());
        assert!(!p.complete(), "the next run's section is open");
        p.observe_line(f, br#"{"kind":"run_end","records":2}"#);
        assert!(p.complete() && p.files[0].sections == 2 && p.files[0].malformed == 0);
    }

    #[test]
    fn only_a_run_of_a_known_version_opens_a_ledger() {
        for first in [
            "root:x:0:0:root:/root:/bin/bash",
            r#"{"kind":"run","v":99,"tool":"loadgen","host":"h","scenario":"s","task":null,"started_unix_ms":1}"#,
            r#"{"kind":"end","records":1}"#,
        ] {
            let mut p = LedgerPart::default();
            let f = p.add_file("x".into());
            p.observe_line(f, b"");
            p.observe_line(f, first.as_bytes());
            p.observe_line(f, RUN.as_bytes());
            assert!(p.files[0].refused.is_some(), "{first}");
            assert_eq!((p.files[0].lines, p.files[0].records), (3, 0));
        }
        let mut p = LedgerPart::default();
        let f = p.add_file("x".into());
        p.observe_line(f, RUN.as_bytes());
        p.observe_line(f, br#"{"kind":"end","records":2}"#);
        p.observe_line(f, RUN.replace("\"v\":2", "\"v\":3").as_bytes());
        assert!(p.files[0].refused.as_deref().is_some_and(|w| w.contains("line 3")));
    }
}
