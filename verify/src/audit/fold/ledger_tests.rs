//! Tests of the ledger fold (`ledger.rs`).
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
        r#"{"kind":"login","student":"s1","exam":"7","attempt":1,"start_ms":0,"end_ms":1,"status":200,"failure":null}"#
            .into(),
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
    assert_eq!(s.seqs[&1].acked, [((0, 3), 10)]);
    assert_eq!(s.seqs[&2].failed, [((0, 4), "http 500".to_string())]);
    assert_eq!(s.seqs[&5].acked, [((0, 11), 10)], "the overlong line kept its number");
    assert_eq!(s.gave_up.keys().copied().collect::<Vec<_>>(), [2]);
    assert_eq!(s.unsequenced, [((0, 8), 10)]);
    assert!(p.no_exam["s1"].seqs.contains_key(&4));
    let st = &p.files[0];
    assert_eq!(
        (st.records, st.malformed, st.unknown_kinds, st.complete()),
        (8, 2, 1, false)
    );
    assert_eq!(st.problems.iter().map(|p| p.0).collect::<Vec<_>>(), [6, 7, 10]);
    p.observe_line(f, br#"{"kind":"end","records":12}"#);
    assert!(p.complete(), "12 lines, the end included: {:?}", p.files[0]);
    assert_eq!(p.at((0, 3)), "l.ndjson:3");
}

/// Hostile review F1: a ledger missing lines (or with lines added) is
/// never complete, whether `end` or a worker's `run_end` closes it.
#[test]
fn a_closing_record_must_count_its_sections_lines() {
    let up = upload("s1", "\"7\"", "1", "null");
    for (close, n, complete) in [
        ("end", 3, true),
        ("end", 4, false),
        ("end", 2, false),
        ("run_end", 3, true),
        ("run_end", 5, false),
    ] {
        let mut p = LedgerPart::default();
        let f = p.add_file("l.ndjson".into());
        p.observe_line(f, RUN.as_bytes());
        p.observe_line(f, up.as_bytes());
        p.observe_line(f, format!(r#"{{"kind":"{close}","records":{n}}}"#).as_bytes());
        let st = &p.files[0];
        assert_eq!(st.complete(), complete, "{close} {n}: {st:?}");
        assert_eq!(st.miscounted, u64::from(!complete));
        if !complete {
            assert!(st.problems[0].1.contains("lines are"), "{:?}", st.problems);
        }
    }
    // Two worker sections closed by `run_end`, then the worker's `end`.
    let mut p = LedgerPart::default();
    let f = p.add_file("w.ndjson".into());
    for line in [
        RUN,
        r#"{"kind":"run_end","records":2}"#,
        RUN,
        &up,
        r#"{"kind":"run_end","records":3}"#,
    ] {
        p.observe_line(f, line.as_bytes());
    }
    p.observe_line(f, br#"{"kind":"end","records":6}"#);
    assert!(p.complete() && p.files[0].sections == 2, "{:?}", p.files[0]);
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
    p.observe_line(f, RUN.replace("\"v\":2", "\"v\":99").as_bytes());
    assert!(p.files[0].refused.as_deref().is_some_and(|w| w.contains("line 3")));
}
