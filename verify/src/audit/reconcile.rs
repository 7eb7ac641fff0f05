//! The client ledger against the server: every upload the server
//! acknowledged must be on its disk at the size sent, and every gap on disk
//! gets exactly one cause. Pure: the ledger fold, the disk's segments and
//! gaps, and the log's logins in; a `LedgerReport` out.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::fold::ledger::{LedgerPart, Loc, StudentLedger};
use crate::audit::ranges::{self, normalize, subtract};
use crate::report::gate::{CrossKind, LedgerFile, LedgerReport, LedgerRow};

/// One segment file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegRef {
    pub seq: u64,
    /// Its size, when the scan checked sizes.
    pub size: Option<u64>,
    /// Its name (escaped).
    pub name: String,
}

/// What the server's side shows, per student ID.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    /// Sequenced segment files (foreign ones excluded).
    pub segments: BTreeMap<String, Vec<SegRef>>,
    /// Gaps, leading gaps included.
    pub gaps: BTreeMap<String, Vec<[u64; 2]>>,
}

/// The causes of one student's disk gaps: each seq of `gaps` in exactly one
/// of the returned range lists (the property test holds this).
pub fn gap_causes(gaps: &[[u64; 2]], s: Option<&StudentLedger>) -> Vec<(CrossKind, Vec<[u64; 2]>)> {
    let gaps = normalize(gaps.to_vec());
    let Some(s) = s else {
        return vec![(CrossKind::GapUnexplained, gaps)];
    };
    let set = |seqs: Vec<u64>| ranges::compress(&seqs);
    let acked = set(s
        .seqs
        .iter()
        .filter(|(_, l)| l.acked.is_some())
        .map(|(&q, _)| q)
        .collect());
    let tried: Vec<u64> = s
        .seqs
        .iter()
        .filter(|(_, l)| l.acked.is_none())
        .map(|(&q, _)| q)
        .chain(s.gave_up.keys().copied())
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .collect();
    let tried = subtract(&set(tried), &acked);
    let skipped = subtract(&subtract(&set(s.skipped.keys().copied().collect()), &acked), &tried);
    let mut rest = gaps.clone();
    let mut out = Vec::new();
    for (kind, seqs) in [
        (CrossKind::AckedMissing, acked),
        (CrossKind::GapClientGaveUp, tried),
        (CrossKind::GapClientSkipped, skipped),
    ] {
        let hit = ranges::intersect(&rest, &seqs);
        if !hit.is_empty() {
            rest = subtract(&rest, &hit);
            out.push((kind, hit));
        }
    }
    if !rest.is_empty() {
        out.push((CrossKind::GapUnexplained, rest));
    }
    out
}

/// Reconciles the ledgers with the disk (when `--dir` ran) and the log's
/// logins (when `--log` ran).
pub fn reconcile(ledger: &LedgerPart, disk: Option<&Disk>, logins: Option<&BTreeSet<String>>) -> LedgerReport {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for f in ledger.files.iter().filter(|f| !f.complete) {
        notes.push(format!(
            "{} has no end record: the run did not finish (killed?); seqs after each student's last record cannot be explained",
            f.name
        ));
    }
    if let Some(disk) = disk {
        let ids: BTreeSet<&String> = ledger.students.keys().chain(disk.gaps.keys()).collect();
        let empty = Vec::new();
        for id in ids {
            let s = ledger.students.get(id);
            let segs = disk.segments.get(id).unwrap_or(&empty);
            if let Some(s) = s {
                uploads(ledger, id, s, segs, &mut rows);
            }
            let gaps = disk.gaps.get(id).map_or(&[][..], Vec::as_slice);
            for (kind, seqs) in gap_causes(gaps, s) {
                if kind == CrossKind::AckedMissing {
                    continue; // named per seq by `uploads`
                }
                rows.push(gap_row(ledger, id, s, kind, seqs));
            }
        }
    } else {
        notes.push("no --dir: uploads were not held against the disk".into());
    }
    if let Some(logins) = logins {
        let ok: BTreeSet<&String> = ledger
            .students
            .iter()
            .filter(|(_, s)| s.login_ok.is_some())
            .map(|(id, _)| id)
            .collect();
        for id in logins.iter().filter(|id| !ok.contains(id)) {
            rows.push(row(
                CrossKind::LoginNotInLedger,
                id,
                Vec::new(),
                None,
                "in the gunicorn log, no ledger records its login (a client whose ledger was not given?)".into(),
            ));
        }
        for id in ok.into_iter().filter(|id| !logins.contains(*id)) {
            let at = ledger.students.get(id).and_then(|s| s.login_ok);
            rows.push(row(
                CrossKind::LedgerNotInLog,
                id,
                Vec::new(),
                at.map(|l| ledger.at(l)),
                "the client's login was answered 2xx, the gunicorn log has no login line".into(),
            ));
        }
    }
    LedgerReport {
        files: ledger
            .files
            .iter()
            .map(|f| LedgerFile {
                path: f.name.clone(),
                records: f.records,
                malformed: f.malformed,
                complete: f.complete,
            })
            .collect(),
        students: ledger.students.len() as u64,
        uploads: ledger.uploads,
        acked_seqs: ledger
            .students
            .values()
            .map(|s| s.seqs.values().filter(|l| l.acked.is_some()).count() as u64)
            .sum(),
        rows,
        notes,
        errors: ledger.errors.clone(),
    }
}

fn row(kind: CrossKind, id: &str, seqs: Vec<[u64; 2]>, record: Option<String>, detail: String) -> LedgerRow {
    LedgerRow {
        kind,
        id: id.to_string(),
        seqs,
        record,
        file: None,
        detail,
    }
}

/// Acknowledged uploads against the files; failed ones whose file exists.
fn uploads(ledger: &LedgerPart, id: &str, s: &StudentLedger, segs: &[SegRef], rows: &mut Vec<LedgerRow>) {
    for (&seq, l) in &s.seqs {
        let files: Vec<&SegRef> = segs.iter().filter(|g| g.seq == seq).collect();
        if let Some((loc, sent)) = l.acked {
            match files.first() {
                None => rows.push(row(
                    CrossKind::AckedMissing,
                    id,
                    vec![[seq, seq]],
                    Some(ledger.at(loc)),
                    format!("the server answered 2xx for seq {seq} ({sent} B sent); no file with that seq is on disk"),
                )),
                Some(first) => {
                    let sizes: Vec<u64> = files.iter().filter_map(|f| f.size).collect();
                    if !sizes.is_empty() && !sizes.contains(&sent) {
                        rows.push(LedgerRow {
                            file: Some(first.name.clone()),
                            ..row(
                                CrossKind::AckedSizeMismatch,
                                id,
                                vec![[seq, seq]],
                                Some(ledger.at(loc)),
                                format!(
                                    "sent {sent} B, acknowledged; on disk {} B",
                                    sizes.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                                ),
                            )
                        });
                    }
                }
            }
        }
        let Some((loc, why)) = l.failed.first() else { continue };
        let unacked_files = files.len().saturating_sub(usize::from(l.acked.is_some()));
        if unacked_files > 0
            && let Some(f) = files.first()
        {
            let detail = if l.acked.is_some() {
                format!(
                    "attempt failed ({why}) and a retry succeeded; the server kept both: {} files with seq {seq} (a duplicate seq)",
                    files.len()
                )
            } else {
                format!(
                    "every attempt failed ({why}, {} attempt(s)); the file is on disk: the server wrote it and the answer was lost",
                    l.failed.len()
                )
            };
            rows.push(LedgerRow {
                file: Some(f.name.clone()),
                ..row(
                    CrossKind::UnackedPresent,
                    id,
                    vec![[seq, seq]],
                    Some(ledger.at(*loc)),
                    detail,
                )
            });
        }
    }
}

fn gap_row(
    ledger: &LedgerPart,
    id: &str,
    s: Option<&StudentLedger>,
    kind: CrossKind,
    seqs: Vec<[u64; 2]>,
) -> LedgerRow {
    let first_of = |m: &BTreeMap<u64, Loc>| seqs.iter().find_map(|&[a, b]| m.range(a..=b).next().map(|(_, l)| *l));
    let (record, detail) = match (kind, s) {
        (CrossKind::GapClientGaveUp, Some(s)) => {
            let fail = seqs
                .iter()
                .find_map(|&[a, b]| s.seqs.range(a..=b).find_map(|(_, l)| l.failed.last().cloned()));
            let rec = first_of(&s.gave_up).or(fail.as_ref().map(|f| f.0));
            let why = fail.map_or_else(String::new, |f| format!(" (last failure: {})", f.1));
            (
                rec,
                format!("the client never got these acknowledged and gave up{why}: explained"),
            )
        }
        (CrossKind::GapClientSkipped, Some(s)) => (
            first_of(&s.skipped),
            "skipped on purpose by the client (--skip-seq): explained".into(),
        ),
        (_, None) => (
            None,
            "no ledger records this student (a client whose ledger was not given?)".into(),
        ),
        (_, Some(s)) => {
            let last = s.seqs.keys().next_back().copied();
            let why = match (&s.ended, ledger.complete()) {
                (Some((why, _)), _) => format!("the client ended abnormally ({why}) before trying them"),
                (None, false) if seqs.iter().all(|r| last.is_none_or(|l| r[0] > l)) => {
                    "the ledger ends before these seqs (run killed?): cannot know".into()
                }
                _ => "the client never tried these seqs".into(),
            };
            (Some(s.last), why)
        }
    };
    LedgerRow {
        kind,
        id: id.to_string(),
        detail: format!("seq {}: {detail}", ranges::format(&seqs)),
        seqs,
        record: record.map(|l| ledger.at(l)),
        file: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn student(acked: &[u64], failed: &[u64], gave_up: &[u64], skipped: &[u64]) -> StudentLedger {
        let mut s = StudentLedger::default();
        for &q in acked {
            s.seqs.entry(q).or_default().acked = Some(((0, q), 10));
        }
        for &q in failed {
            s.seqs.entry(q).or_default().failed.push(((0, q), "timeout".into()));
        }
        for &q in gave_up {
            s.gave_up.insert(q, (0, q));
        }
        for &q in skipped {
            s.skipped.insert(q, (0, q));
        }
        s
    }

    #[test]
    fn each_gap_seq_gets_its_cause() {
        let s = student(&[1, 4], &[5], &[5], &[6]);
        let causes = gap_causes(&[[2, 7]], Some(&s));
        assert_eq!(
            causes,
            [
                (CrossKind::AckedMissing, vec![[4, 4]]),
                (CrossKind::GapClientGaveUp, vec![[5, 5]]),
                (CrossKind::GapClientSkipped, vec![[6, 6]]),
                (CrossKind::GapUnexplained, vec![[2, 3], [7, 7]]),
            ]
        );
        assert_eq!(
            gap_causes(&[[2, 99_999_999_999_999]], None),
            [(CrossKind::GapUnexplained, vec![[2, 99_999_999_999_999]])]
        );
    }

    #[test]
    fn acked_missing_size_mismatch_and_unacked_present_name_record_and_file() {
        let mut ledger = LedgerPart::default();
        let f = ledger.add_file("a.ndjson".into());
        for line in [
            r#"{"kind":"login","student":"s","failure":null}"#,
            r#"{"kind":"upload","student":"s","seq":1,"file_size":10,"failure":null}"#,
            r#"{"kind":"upload","student":"s","seq":2,"file_size":10,"failure":null}"#,
            r#"{"kind":"upload","student":"s","seq":3,"file_size":10,"failure":null}"#,
            r#"{"kind":"upload","student":"s","seq":4,"file_size":10,"failure":"timeout"}"#,
            r#"{"kind":"end"}"#,
        ] {
            ledger.observe_line(f, line.as_bytes());
        }
        let seg = |seq, size: u64| SegRef {
            seq,
            size: Some(size),
            name: format!("s_seq_{seq}.mp4"),
        };
        let disk = Disk {
            segments: [("s".to_string(), vec![seg(1, 10), seg(3, 5), seg(4, 10)])].into(),
            gaps: [("s".to_string(), vec![[2, 2]])].into(),
        };
        let r = reconcile(&ledger, Some(&disk), Some(&["s".to_string()].into()));
        type Row<'a> = (CrossKind, Vec<[u64; 2]>, Option<&'a str>, Option<&'a str>);
        let got: Vec<Row> = r
            .rows
            .iter()
            .map(|r| (r.kind, r.seqs.clone(), r.record.as_deref(), r.file.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (CrossKind::AckedMissing, vec![[2, 2]], Some("a.ndjson:3"), None),
                (
                    CrossKind::AckedSizeMismatch,
                    vec![[3, 3]],
                    Some("a.ndjson:4"),
                    Some("s_seq_3.mp4")
                ),
                (
                    CrossKind::UnackedPresent,
                    vec![[4, 4]],
                    Some("a.ndjson:5"),
                    Some("s_seq_4.mp4")
                ),
            ]
        );
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        assert_eq!((r.uploads, r.acked_seqs), (4, 3));
    }

    proptest! {
        /// Every disk gap seq gets exactly one cause, whatever the ledger says.
        #[test]
        fn every_gap_seq_has_exactly_one_cause(
            gaps in proptest::collection::vec((1u64..200, 0u64..20), 0..8),
            acked in proptest::collection::vec(1u64..220, 0..40),
            failed in proptest::collection::vec(1u64..220, 0..20),
            gave_up in proptest::collection::vec(1u64..220, 0..20),
            skipped in proptest::collection::vec(1u64..220, 0..20),
            known in any::<bool>(),
        ) {
            let gaps: Vec<[u64; 2]> = gaps.into_iter().map(|(a, w)| [a, a + w]).collect();
            let s = student(&acked, &failed, &gave_up, &skipped);
            let causes = gap_causes(&gaps, known.then_some(&s));
            let mut seen: BTreeMap<u64, CrossKind> = BTreeMap::new();
            for (kind, rs) in &causes {
                for &[a, b] in rs {
                    for q in a..=b {
                        prop_assert!(seen.insert(q, *kind).is_none(), "seq {} has two causes", q);
                    }
                }
            }
            let want: BTreeSet<u64> = gaps.iter().flat_map(|&[a, b]| a..=b).collect();
            prop_assert_eq!(seen.keys().copied().collect::<BTreeSet<u64>>(), want);
            for (q, kind) in seen {
                let expect = if !known {
                    CrossKind::GapUnexplained
                } else if acked.contains(&q) {
                    CrossKind::AckedMissing
                } else if failed.contains(&q) || gave_up.contains(&q) {
                    CrossKind::GapClientGaveUp
                } else if skipped.contains(&q) {
                    CrossKind::GapClientSkipped
                } else {
                    CrossKind::GapUnexplained
                };
                prop_assert_eq!(kind, expect, "seq {}", q);
            }
        }
    }
}
