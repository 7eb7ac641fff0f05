//! Tests of the reconciliation (`reconcile.rs`).
use super::*;
use common::ledger::Record;
use proptest::prelude::*;

fn student(acked: &[u64], failed: &[u64], gave_up: &[u64], skipped: &[u64]) -> StudentLedger {
    let mut s = StudentLedger::default();
    for &q in acked {
        s.seqs.entry(q).or_default().acked.push(((0, q), 10));
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

/// A ledger of these records (a `run` first, an `end` last).
pub(crate) fn ledger_of(records: &[Record]) -> LedgerPart {
    let mut ledger = LedgerPart::default();
    let f = ledger.add_file("a.ndjson".into());
    let run = Record::Run {
        v: common::ledger::VERSION,
        tool: "loadgen".into(),
        host: "h".into(),
        scenario: "s".into(),
        task: Some("recording".into()),
        started_unix_ms: 1,
    };
    let end = Record::End {
        records: records.len() as u64 + 2,
    };
    for r in std::iter::once(&run).chain(records).chain([&end]) {
        let mut line = Vec::new();
        r.write_line(&mut line).unwrap();
        ledger.observe_line(f, line.strip_suffix(b"\n").unwrap());
    }
    ledger
}

fn login(student: &str, exam: Option<&str>) -> Record {
    Record::Login {
        student: student.into(),
        exam: exam.map(Into::into),
        attempt: 1,
        start_ms: 0,
        end_ms: 1,
        status: Some(200),
        failure: None,
        answer: Default::default(),
    }
}

fn upload(student: &str, exam: Option<&str>, seq: Option<u64>, size: u64, failure: Option<&str>) -> Record {
    Record::Upload {
        student: student.into(),
        exam: exam.map(Into::into),
        seq,
        attempt: 1,
        planned_ms: 0,
        start_ms: 0,
        end_ms: 1,
        bytes_sent: size + 100,
        recorded_ms: None,
        file: None,
        file_size: size,
        status: None,
        failure: failure.map(Into::into),
        answer: Default::default(),
    }
}

fn seg(seq: u64, size: u64) -> SegRef {
    SegRef {
        seq,
        size: Some(size),
        name: format!("s_seq_{seq}.mp4"),
    }
}

fn key(exam: Option<&str>, id: &str) -> Key {
    (exam.map(Into::into), id.to_string())
}

type Row<'a> = (CrossKind, Vec<[u64; 2]>, Option<&'a str>, Option<&'a str>);

fn rows(r: &LedgerReport) -> Vec<Row<'_>> {
    r.rows
        .iter()
        .map(|r| (r.kind, r.seqs.clone(), r.record.as_deref(), r.file.as_deref()))
        .collect()
}

#[test]
fn acked_missing_size_mismatch_and_unacked_present_name_record_and_file() {
    let ledger = ledger_of(&[
        login("s", None),
        upload("s", None, Some(1), 10, None),
        upload("s", None, Some(2), 10, None),
        upload("s", None, Some(3), 10, None),
        upload("s", None, Some(4), 10, Some("timeout")),
    ]);
    let disk = Disk {
        segments: [(key(None, "s"), vec![seg(1, 10), seg(3, 5), seg(4, 10)].into())].into(),
        gaps: [(key(None, "s"), vec![[2, 2]])].into(),
        ..Disk::default()
    };
    let r = reconcile(&ledger, Some(&disk), Some(&["s".to_string()].into()));
    assert_eq!(
        rows(&r),
        [
            (CrossKind::AckedMissing, vec![[2, 2]], Some("a.ndjson:4"), None),
            (
                CrossKind::AckedSizeMismatch,
                vec![[3, 3]],
                Some("a.ndjson:5"),
                Some("s_seq_3.mp4")
            ),
            (
                CrossKind::UnackedPresent,
                vec![[4, 4]],
                Some("a.ndjson:6"),
                Some("s_seq_4.mp4")
            ),
        ]
    );
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert_eq!((r.uploads, r.acked_seqs), (4, 3));
}

/// Hostile review F3: a seq acknowledged twice (a client restart, two run
/// sections) needs two files of the sizes sent; one file matching one of
/// them is a loss, two files of one size a size mismatch.
#[test]
fn a_seq_acknowledged_twice_needs_two_files_of_the_sizes_sent() {
    let ledger = ledger_of(&[
        upload("s", None, Some(1), 10, None),
        upload("s", None, Some(1), 20, None),
    ]);
    let with = |segs: Vec<SegRef>| {
        let disk = Disk {
            segments: [(key(None, "s"), segs.into())].into(),
            ..Disk::default()
        };
        rows(&reconcile(&ledger, Some(&disk), None))
            .into_iter()
            .map(|r| r.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(with(vec![seg(1, 10)]), [CrossKind::AckedMissing]);
    assert_eq!(with(vec![seg(1, 20)]), [CrossKind::AckedMissing]);
    assert_eq!(with(vec![seg(1, 10), seg(1, 10)]), [CrossKind::AckedSizeMismatch]);
    assert_eq!(with(vec![seg(1, 20), seg(1, 10)]), []);
    assert_eq!(with(vec![]), [CrossKind::AckedMissing]);
}

/// Issue 24 item 2: an upload acknowledged in exam 31 and lost is not
/// "found" in exam 30's folder of the same student with the same seq.
#[test]
fn exams_are_reconciled_apart() {
    let ledger = ledger_of(&[upload("s", Some("31"), Some(1), 10, None)]);
    let disk = Disk {
        exams: vec![(Some("30".into()), "d/30".into()), (Some("31".into()), "d/31".into())],
        segments: [(key(Some("30"), "s"), vec![seg(1, 10)].into())].into(),
        ..Disk::default()
    };
    let r = reconcile(&ledger, Some(&disk), None);
    assert_eq!(
        rows(&r),
        [(CrossKind::AckedMissing, vec![[1, 1]], Some("a.ndjson:2"), None)]
    );
    // Without exams, one exam under --dir is the run's; several are refused.
    let v1 = ledger_of(&[upload("s", None, Some(1), 10, None)]);
    let one = Disk {
        exams: vec![(Some("30".into()), "d/30".into())],
        ..disk.clone()
    };
    assert!(reconcile(&v1, Some(&one), None).rows.is_empty());
    let why = exam_ambiguity(&v1, &disk.exams).unwrap();
    assert!(why.contains("--dir d/30 | --dir d/31"), "{why}");
    assert!(!reconcile(&v1, Some(&disk), None).errors.is_empty());
    // A failed login carries no exam (nothing was captured): no refusal, and
    // it joins the student's only exam.
    let mut failed = login("s", None);
    if let Record::Login { failure, .. } = &mut failed {
        *failure = Some("http 500".into());
    }
    let v2 = ledger_of(&[
        failed,
        login("s", Some("31")),
        upload("s", Some("31"), Some(1), 10, None),
    ]);
    assert_eq!(exam_ambiguity(&v2, &disk.exams), None);
    let r = reconcile(&v2, Some(&disk), None);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        rows(&r),
        [(CrossKind::AckedMissing, vec![[1, 1]], Some("a.ndjson:4"), None)]
    );
}

/// Issue 24 item 6: uploads without a seq are held by count and size.
#[test]
fn unsequenced_uploads_are_held_by_count_and_size() {
    let ledger = ledger_of(&[
        upload("s", Some("30"), None, 10, None),
        upload("s", Some("30"), None, 20, None),
        upload("s", Some("30"), None, 30, None),
    ]);
    let on_disk = |sizes: &[u64]| Disk {
        exams: vec![(Some("30".into()), "d/30".into())],
        unsequenced: [(
            key(Some("30"), "s"),
            sizes.iter().map(|&n| (Some(n), format!("s_{n}.mp4"))).collect(),
        )]
        .into(),
        ..Disk::default()
    };
    let r = reconcile(&ledger, Some(&on_disk(&[30, 10, 20])), None);
    assert!(r.rows.is_empty(), "{:?}", r.rows);
    assert_eq!(r.acked_unsequenced, 3);
    let kinds = |sizes: &[u64]| -> Vec<CrossKind> {
        reconcile(&ledger, Some(&on_disk(sizes)), None)
            .rows
            .iter()
            .map(|r| r.kind)
            .collect()
    };
    assert_eq!(kinds(&[10, 20]), [CrossKind::AckedMissing]);
    assert_eq!(kinds(&[10, 20, 31]), [CrossKind::AckedSizeMismatch]);
}

/// Issue 24 item 8: seqs and files are matched once, not per seq.
#[test]
fn many_seqs_reconcile_in_one_walk() {
    let n = 20_000u64;
    let mut ledger = LedgerPart::default();
    let f = ledger.add_file("a.ndjson".into());
    ledger.observe_line(
        f,
        br#"{"kind":"run","v":2,"tool":"t","host":"h","scenario":"s","task":null,"started_unix_ms":1}"#,
    );
    for q in 1..=n {
        let mut line = Vec::new();
        upload("s", None, Some(q), q % 7, None).write_line(&mut line).unwrap();
        ledger.observe_line(f, line.strip_suffix(b"\n").unwrap());
    }
    let disk = Disk {
        segments: [(
            key(None, "s"),
            (1..=n).rev().filter(|q| q % 1000 != 0).map(|q| seg(q, q % 7)).collect(),
        )]
        .into(),
        ..Disk::default()
    };
    let r = reconcile(&ledger, Some(&disk), None);
    assert_eq!(r.rows.iter().filter(|r| r.kind == CrossKind::AckedMissing).count(), 20);
    assert_eq!(r.acked_seqs, n);
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
        lost in proptest::collection::vec(1u64..220, 0..10),
        fault in proptest::option::of((any::<bool>(), 1u64..220, proptest::collection::vec(1u64..220, 0..5))),
        known in any::<bool>(),
    ) {
        let gaps: Vec<[u64; 2]> = gaps.into_iter().map(|(a, w)| [a, a + w]).collect();
        let mut s = student(&acked, &failed, &gave_up, &skipped);
        for &q in &lost {
            s.lost_at_exit.insert(q, (0, q));
        }
        // The client logged in, and its fault is its last record (a kill
        // or restart comes after the uploads it ends).
        s.login_ok = Some((0, 0));
        if let Some((killed, last_seq, fl)) = &fault {
            s.faults.push(crate::audit::fold::ledger::Fault { killed: *killed, at: (0, 1000), last_seq: *last_seq, lost: fl.clone() });
        }
        let sent: BTreeSet<u64> = s.seqs.keys().copied().collect();
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
            } else if lost.contains(&q) {
                CrossKind::GapClientLostAtExit
            } else if let Some((false, last, fl)) = &fault
                && (fl.contains(&q) || (q > *last && !sent.contains(&q)))
            {
                CrossKind::GapClientRestarted
            } else if let Some((true, last, fl)) = &fault
                && (fl.contains(&q) || q > *last)
            {
                CrossKind::GapClientKilled
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
