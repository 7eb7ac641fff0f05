//! The client ledger part of the gate fold: what `loadgen --ledger` wrote,
//! per student and seq, read line by line (batch or followed live). Lines
//! that are no record (a run killed mid-line) are counted, never fatal.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Where a record is: (file index, line from 1).
pub type Loc = (usize, u64);

/// One seq of one student, as the client saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqLedger {
    /// The attempt the server acknowledged, with the file size sent.
    pub acked: Option<(Loc, u64)>,
    /// Attempts that failed: where, and why.
    pub failed: Vec<(Loc, String)>,
}

/// One student, as the client saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudentLedger {
    /// A login answered 2xx, and where.
    pub login_ok: Option<Loc>,
    pub seqs: BTreeMap<u64, SeqLedger>,
    pub gave_up: BTreeMap<u64, Loc>,
    pub skipped: BTreeMap<u64, Loc>,
    /// Ended abnormally: why, and where.
    pub ended: Option<(String, Loc)>,
    /// Its last record.
    pub last: Loc,
}

/// One ledger file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerFileState {
    pub name: String,
    pub lines: u64,
    pub records: u64,
    pub malformed: u64,
    /// Its `end` record was read.
    pub complete: bool,
}

/// The fields of a record the reconciliation uses (the rest is ignored).
#[derive(Debug, Deserialize)]
struct Line {
    kind: String,
    student: Option<String>,
    seq: Option<u64>,
    file_size: Option<u64>,
    failure: Option<String>,
    why: Option<String>,
}

/// Every ledger read so far.
#[derive(Debug, Clone, Default)]
pub struct LedgerPart {
    pub files: Vec<LedgerFileState>,
    pub students: BTreeMap<String, StudentLedger>,
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

    /// Folds one line of file `file` (without its newline).
    pub fn observe_line(&mut self, file: usize, bytes: &[u8]) {
        let Some(f) = self.files.get_mut(file) else { return };
        f.lines = f.lines.saturating_add(1);
        let loc = (file, f.lines);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let Ok(l) = serde_json::from_slice::<Line>(bytes) else {
            f.malformed = f.malformed.saturating_add(1);
            return;
        };
        f.records = f.records.saturating_add(1);
        if l.kind == "end" {
            f.complete = true;
            return;
        }
        let Some(student) = l.student else {
            if l.kind != "run" {
                f.malformed = f.malformed.saturating_add(1);
            }
            return;
        };
        let s = self.students.entry(student).or_default();
        s.last = loc;
        match (l.kind.as_str(), l.seq) {
            ("login", _) if l.failure.is_none() => s.login_ok = s.login_ok.or(Some(loc)),
            ("upload", Some(seq)) => {
                self.uploads = self.uploads.saturating_add(1);
                let e = s.seqs.entry(seq).or_default();
                match l.failure {
                    None => e.acked = e.acked.or(Some((loc, l.file_size.unwrap_or(0)))),
                    Some(why) => e.failed.push((loc, why)),
                }
            }
            ("gave_up", Some(seq)) => {
                s.gave_up.insert(seq, loc);
            }
            ("skipped", Some(seq)) => {
                s.skipped.insert(seq, loc);
            }
            ("ended", _) => s.ended = Some((l.why.unwrap_or_default(), loc)),
            _ => {}
        }
    }

    /// `file:line` of a record.
    pub fn at(&self, loc: Loc) -> String {
        let name = self.files.get(loc.0).map_or("?", |f| f.name.as_str());
        format!("{name}:{}", loc.1)
    }

    /// True when every file ended with its `end` record.
    pub fn complete(&self) -> bool {
        self.files.iter().all(|f| f.complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_fold_per_student_and_seq_and_a_cut_line_is_counted() {
        let mut p = LedgerPart::default();
        let f = p.add_file("l.ndjson".into());
        for line in [
            r#"{"kind":"run","v":1}"#,
            r#"{"kind":"login","student":"s1","attempt":1,"status":200,"failure":null}"#,
            r#"{"kind":"upload","student":"s1","seq":1,"attempt":1,"file_size":10,"status":200,"failure":null}"#,
            r#"{"kind":"upload","student":"s1","seq":2,"attempt":1,"file_size":10,"status":500,"failure":"http 500"}"#,
            r#"{"kind":"gave_up","student":"s1","seq":2,"attempts":1}"#,
            r#"{"kind":"upload","student":"s1","seq":3,"att"#,
        ] {
            p.observe_line(f, line.as_bytes());
        }
        let s = &p.students["s1"];
        assert_eq!(s.login_ok, Some((0, 2)));
        assert_eq!(s.seqs[&1].acked, Some(((0, 3), 10)));
        assert_eq!(s.seqs[&2].failed, [((0, 4), "http 500".to_string())]);
        assert_eq!(s.gave_up.keys().copied().collect::<Vec<_>>(), [2]);
        assert_eq!(
            (p.files[0].records, p.files[0].malformed, p.files[0].complete),
            (5, 1, false)
        );
        assert_eq!(p.at((0, 3)), "l.ndjson:3");
        p.observe_line(f, br#"{"kind":"end","records":6}"#);
        assert!(p.complete());
    }
}
