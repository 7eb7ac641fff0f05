//! The client ledger (`loadgen --ledger FILE`): one JSON object per line,
//! `kind` naming the record. A file is one or more run sections: each opens
//! with a `run` record (the format's version, who wrote it) and, when the run
//! ended normally, closes with an `end` record. `--ledger-append` adds a
//! section to an existing file. Times are milliseconds since the section's
//! run started (`started_unix_ms`).
//!
//! The writer serializes [`Record`]; the reader decodes each line with
//! [`decode`], which tells a record from a blank line, a record of a kind this
//! version does not know, and a line that is no record at all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod view;
pub use view::{View, Viewed, decode_view};

/// The version this build writes. 2: `exam` on student records, `seq: null`
/// for an upload of an unsequenced run. 3: a queued task's `recorded_ms` on
/// uploads, `lost_at_exit`, `restart`, `killed` and `run_end` records.
pub const VERSION: u32 = 3;

/// The versions this build reads. Version 1 has no `exam`: such a ledger
/// cannot tell two exams' students apart.
pub const READS: &[u32] = &[1, 2, 3];

/// The answer's fields the scenario names (`ledger = { filename = "/filename" }`).
pub type AnswerFields = BTreeMap<String, serde_json::Value>;

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// The first line of a run section: who wrote it and what was run.
    Run {
        v: u32,
        tool: String,
        host: String,
        scenario: String,
        /// The sequenced task's name (`recording`); `null` without one.
        task: Option<String>,
        started_unix_ms: u64,
    },
    Login {
        student: String,
        /// The exam the student logged into (the login's `exam_id` capture),
        /// when the scenario captures one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exam: Option<String>,
        attempt: u32,
        start_ms: u64,
        end_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// `null` when the request succeeded, else its failure kind (`http 500`, `timeout`, …).
        failure: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        answer: AnswerFields,
    },
    /// One request of the sequenced task.
    Upload {
        student: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exam: Option<String>,
        /// `null` when the run sends no seq (`--no-seq`).
        seq: Option<u64>,
        attempt: u32,
        planned_ms: u64,
        start_ms: u64,
        end_ms: u64,
        /// A queued task's segment: when it was recorded (its `timestamp`,
        /// the same for every attempt); absent for a task without a queue.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recorded_ms: Option<u64>,
        /// Request body bytes sent.
        bytes_sent: u64,
        /// The file part's name and size.
        file: Option<String>,
        file_size: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        failure: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        answer: AnswerFields,
    },
    /// A seq given up after its retries: the server may show a gap there.
    GaveUp {
        student: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exam: Option<String>,
        seq: u64,
        attempts: u32,
    },
    /// A seq not uploaded on purpose (`--skip-seq`, `--skip-every`).
    Skipped {
        student: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exam: Option<String>,
        seq: u64,
    },
    Logout {
        student: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exam: Option<String>,
        attempt: u32,
        start_ms: u64,
        end_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        failure: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        answer: AnswerFields,
    },
    /// Segments still queued when the student's exit passes ended: the
    /// client drops them, so the server shows a gap or a short tail there.
    LostAtExit {
        student: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exam: Option<String>,
        seq: u64,
        /// Failed attempts it had (0: never tried).
        attempts: u32,
    },
    /// The client restarted (`--restart-students`): its queue (`lost`) is
    /// dropped and its seq starts again at 1 after a new login, so the
    /// server may see the same seqs twice with other timestamps.
    Restart {
        student: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exam: Option<String>,
        at_ms: u64,
        /// The last seq recorded before the restart (0: none).
        last_seq: u64,
        lost: Vec<u64>,
    },
    /// The client was killed (`--kill-students`): queue lost, no logout.
    Killed {
        student: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exam: Option<String>,
        at_ms: u64,
        last_seq: u64,
        lost: Vec<u64>,
    },
    /// A student that did not finish by itself (panicked, abandoned at the stop).
    Ended { student: String, why: String },
    /// Closes a Locust run's section when the master stops it; the worker
    /// stays and may open another section. A section ending so is complete,
    /// as with `end`. `records` counts the section's lines, this one included.
    RunEnd { records: u64 },
    /// The last line of a run section that ended normally; `records` counts
    /// the section's lines, this one included.
    End { records: u64 },
}

impl Record {
    /// The record's `kind`, as written.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Run { .. } => "run",
            Record::Login { .. } => "login",
            Record::Upload { .. } => "upload",
            Record::GaveUp { .. } => "gave_up",
            Record::Skipped { .. } => "skipped",
            Record::Logout { .. } => "logout",
            Record::LostAtExit { .. } => "lost_at_exit",
            Record::Restart { .. } => "restart",
            Record::Killed { .. } => "killed",
            Record::Ended { .. } => "ended",
            Record::RunEnd { .. } => "run_end",
            Record::End { .. } => "end",
        }
    }

    /// Writes the record as one line (newline included).
    pub fn write_line<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, self).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    }
}

/// Every `kind` of this version.
pub const KINDS: &[&str] = &[
    "run",
    "login",
    "upload",
    "gave_up",
    "skipped",
    "logout",
    "lost_at_exit",
    "restart",
    "killed",
    "ended",
    "run_end",
    "end",
];

/// What one line of a ledger holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Only whitespace.
    Blank,
    Record(Record),
    /// A JSON object whose `kind` this version does not know.
    UnknownKind(String),
    /// Not a record: not JSON, no `kind`, or a known kind with missing or
    /// mistyped fields (a seq given as a string). The reason, for the report.
    Malformed(String),
}

/// Reads one line (without its newline).
pub fn decode(line: &[u8]) -> Decoded {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Decoded::Blank;
    }
    match serde_json::from_slice::<Record>(line) {
        Ok(r) => Decoded::Record(r),
        Err(e) => {
            #[derive(Deserialize)]
            struct Kind {
                kind: String,
            }
            match serde_json::from_slice::<Kind>(line) {
                Ok(k) if !KINDS.contains(&k.kind.as_str()) => Decoded::UnknownKind(k.kind),
                _ => Decoded::Malformed(e.to_string()),
            }
        }
    }
}

/// Checks that a section's first record opens a run this build reads; the
/// error says what the file is instead.
pub fn check_opening(first: &Decoded) -> Result<u32, String> {
    match first {
        Decoded::Record(Record::Run { v, .. }) if READS.contains(v) => Ok(*v),
        Decoded::Record(Record::Run { v, tool, .. }) => Err(format!(
            "written by {tool} in ledger format version {v}; this build reads versions {READS:?}"
        )),
        Decoded::Record(r) => Err(format!(
            "its first record is a `{}`, not a `run`: not the start of a ledger",
            r.kind()
        )),
        Decoded::UnknownKind(k) => Err(format!(
            "its first line is a record of unknown kind `{k}`: not a ledger"
        )),
        Decoded::Malformed(_) | Decoded::Blank => Err("its first line is not a ledger record: not a ledger".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn upload(seq: Option<u64>, exam: Option<&str>) -> Record {
        Record::Upload {
            student: "test_00001".into(),
            exam: exam.map(Into::into),
            seq,
            attempt: 1,
            planned_ms: 30_000,
            start_ms: 30_001,
            end_ms: 30_090,
            bytes_sent: 1200,
            file: Some("recording_3.mp4".into()),
            file_size: 1000,
            recorded_ms: None,
            status: Some(200),
            failure: None,
            answer: [("filename".to_string(), serde_json::json!("x.mp4"))].into(),
        }
    }

    #[test]
    fn the_layout_is_the_one_version_1_wrote_plus_exam() {
        let mut out = Vec::new();
        upload(Some(3), Some("7")).write_line(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                r#"{"kind":"upload","student":"test_00001","exam":"7","seq":3,"attempt":1,"planned_ms":30000,"#,
                r#""start_ms":30001,"end_ms":30090,"bytes_sent":1200,"file":"recording_3.mp4","file_size":1000,"#,
                r#""status":200,"failure":null,"answer":{"filename":"x.mp4"}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn lines_decode_to_records_unknown_kinds_or_malformed() {
        let v1 = br#"{"kind":"upload","student":"s1","seq":1,"attempt":1,"planned_ms":0,"start_ms":0,"end_ms":1,"bytes_sent":10,"file":null,"file_size":10,"status":200,"failure":null}"#;
        assert!(matches!(
            decode(v1),
            Decoded::Record(Record::Upload {
                exam: None,
                seq: Some(1),
                ..
            })
        ));
        assert_eq!(decode(b"  \t"), Decoded::Blank);
        assert_eq!(
            decode(br#"{"kind":"frobnicate","x":1}"#),
            Decoded::UnknownKind("frobnicate".into())
        );
        let stringy = br#"{"kind":"gave_up","student":"s1","seq":"2","attempts":1}"#;
        assert!(matches!(decode(stringy), Decoded::Malformed(_)));
        assert!(matches!(
            decode(b"root:x:0:0:root:/root:/bin/bash"),
            Decoded::Malformed(_)
        ));
        assert!(matches!(
            decode(br#"{"kind":"upload","student":"s1","se"#),
            Decoded::Malformed(_)
        ));
    }

    #[test]
    fn only_a_run_of_a_known_version_opens_a_ledger() {
        let run = |v| {
            decode(format!(r#"{{"kind":"run","v":{v},"tool":"loadgen","host":"h","scenario":"s","task":null,"started_unix_ms":1}}"#).as_bytes())
        };
        assert_eq!(check_opening(&run(1)), Ok(1));
        assert_eq!(check_opening(&run(VERSION)), Ok(VERSION));
        assert!(check_opening(&run(99)).unwrap_err().contains("version 99"));
        assert!(
            check_opening(&decode(b"root:x:0:0"))
                .unwrap_err()
                .contains("not a ledger")
        );
        assert!(
            check_opening(&decode(br#"{"kind":"end","records":1}"#))
                .unwrap_err()
                .contains("`end`")
        );
    }

    proptest! {
        #[test]
        fn every_record_written_reads_back_as_itself(
            student in "\\PC{0,12}", exam in proptest::option::of("\\PC{0,6}"),
            seq in proptest::option::of(any::<u64>()), size in any::<u64>(), failure in proptest::option::of("\\PC{0,8}"),
        ) {
            let records = [
                Record::Login { student: student.clone(), exam: exam.clone(), attempt: 2, start_ms: 1, end_ms: 2, status: None, failure: failure.clone(), answer: AnswerFields::new() },
                Record::Upload { student: student.clone(), exam: exam.clone(), seq, attempt: 1, planned_ms: 0, start_ms: 1, end_ms: 2, bytes_sent: size, recorded_ms: Some(size / 2), file: None, file_size: size, status: Some(500), failure, answer: AnswerFields::new() },
                Record::LostAtExit { student: student.clone(), exam: exam.clone(), seq: size, attempts: 2 },
                Record::Restart { student: student.clone(), exam: exam.clone(), at_ms: size, last_seq: 4, lost: vec![3, 4] },
                Record::Killed { student: student.clone(), exam: exam.clone(), at_ms: 1, last_seq: 0, lost: vec![] },
                Record::RunEnd { records: size },
                Record::GaveUp { student: student.clone(), exam: exam.clone(), seq: seq.unwrap_or(0), attempts: 3 },
                Record::Skipped { student: student.clone(), exam, seq: size },
                Record::Ended { student, why: "abandoned".into() },
                Record::End { records: size },
            ];
            for r in records {
                let mut out = Vec::new();
                r.write_line(&mut out).unwrap();
                prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
                prop_assert_eq!(decode(&out[..out.len() - 1]), Decoded::Record(r));
            }
        }
    }
}
