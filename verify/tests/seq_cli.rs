//! `verify seq` end to end: the real binary on committed fixture trees and on
//! generated trees whose injected faults are known.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use support::{assert_same_text, fixtures, gentree, verify};
use verify::report::seq::{Layout, SeqKind, SeqReport};

fn exam30() -> String {
    fixtures().join("seq/server_data/30").display().to_string()
}

fn json(args: &[&str]) -> (i32, SeqReport) {
    let mut all = vec!["seq", "--format", "json"];
    all.extend_from_slice(args);
    let run = verify(&all);
    let report: SeqReport = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("JSON does not parse into the strict types: {e}\n{}", run.stdout));
    support::assert_pretty_json(&run.stdout, &report);
    (run.code, report)
}

#[test]
fn fixture_exam_reports_every_finding_kind_exactly() {
    let (code, r) = json(&["--dir", &exam30(), "--expect", "test_00001..test_00013"]);
    assert_eq!(code, 1);
    assert_eq!(r.schema, "verify.seq/1");
    assert_eq!(r.verdict, "fail");
    assert_eq!(r.scanned.layout, Layout::Exam);
    assert_eq!(r.scanned.exams[0].exam.as_deref(), Some("30"));
    assert_eq!(
        (
            r.summary.students,
            r.summary.files,
            r.summary.segments,
            r.summary.in_flight
        ),
        (12, 45, 42, 1)
    );
    let by_id: BTreeMap<&str, _> = r.students.iter().map(|s| (s.id.as_str(), s)).collect();
    assert!(!by_id.contains_key("test_00001"), "the clean student has no entry");
    assert_eq!(by_id["test_00002"].gaps, [[4, 5]]);
    assert_eq!(by_id["test_00003"].leading_gap, Some([1, 2]));
    assert_eq!(by_id["test_00004"].duplicates[0].seq, 2);
    assert_eq!(by_id["test_00004"].duplicates[0].files.len(), 2);
    assert_eq!(by_id["test_00005"].unsequenced, ["test_00005_20251123_180100.mp4"]);
    assert_eq!(by_id["test_00006"].foreign[0].id, "test_00007");
    assert_eq!(
        by_id["test_00008"].empty.get(0).unwrap().file(),
        "test_00008_20251123_180030_seq_0002.mp4"
    );
    assert_eq!(
        (
            by_id["test_00009"].out_of_order[0].seq,
            by_id["test_00009"].out_of_order[0].after_seq
        ),
        (3, 2)
    );
    assert_eq!(by_id["test_00010"].stalls[0].seconds, 600);
    assert_eq!(by_id["test_00011"].unparseable, ["notes.txt"]);
    assert_eq!(by_id["test_00011"].in_flight, 1);
    let missing: Vec<(&str, &str)> = r
        .missing_students
        .iter()
        .map(|m| (m.id.as_str(), m.reason.as_str()))
        .collect();
    assert_eq!(
        missing,
        [
            ("test_00007", "no_folder"),
            ("test_00012", "no_segments"),
            ("test_00013", "no_folder")
        ]
    );
    assert_eq!(r.unexpected_students[0].id, "test_00099");
    assert_eq!(r.stray_files.len(), 1);
    let f = &r.summary.findings;
    assert_eq!(
        (f[&SeqKind::Gap], f[&SeqKind::LeadingGap], f[&SeqKind::Stall]),
        (2, 2, 1)
    );
    assert!(!r.failed_on.contains(&SeqKind::Stall), "stalls do not fail by default");
    assert!(r.errors.is_empty());
}

#[test]
fn clean_exam_exits_zero_and_says_pass() {
    let run = verify(&[
        "seq",
        "--dir",
        &fixtures().join("seq/server_data/31").display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.trim_end().ends_with("PASS"), "{}", run.stdout);
    assert!(
        !run.stdout.contains('\x1b'),
        "no colour under NO_COLOR / off a terminal"
    );
}

#[test]
fn layouts_are_detected_and_grouped_by_exam() {
    let (_, r) = json(&["--dir", &fixtures().join("seq/server_data").display().to_string()]);
    assert_eq!(r.scanned.layout, Layout::ServerData);
    let exams: Vec<_> = r.scanned.exams.iter().map(|e| e.exam.clone().unwrap()).collect();
    assert_eq!(exams, ["30", "31"]);
    assert_eq!(r.summary.students, 14);
    let (_, rec) = json(&[
        "--dir",
        &fixtures().join("seq/server_data/30/recordings").display().to_string(),
    ]);
    assert_eq!(rec.scanned.layout, Layout::Recordings);
    assert_eq!(rec.scanned.exams[0].exam.as_deref(), Some("30"));
}

#[test]
fn fail_on_selects_the_failing_kinds() {
    let dir = exam30();
    let (code, r) = json(&["--dir", &dir, "--fail-on", "stall"]);
    assert_eq!((code, r.failed_on.as_slice()), (1, &[SeqKind::Stall][..]));
    let (code, _) = json(&["--dir", &dir, "--fail-on", "none"]);
    assert_eq!(code, 0);
    let bad = verify(&["seq", "--dir", &dir, "--fail-on", "gaps"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("unknown finding kind 'gaps'"), "{}", bad.stderr);
}

#[test]
fn table_is_cut_at_limit_with_a_count_of_the_rest() {
    let run = verify(&["seq", "--dir", &exam30(), "--limit", "3"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("Findings (3 of 10):"), "{}", run.stdout);
    assert!(run.stdout.contains("… and 7 more"), "{}", run.stdout);
    assert!(run.stdout.contains("FAIL on gap, leading_gap"), "{}", run.stdout);
}

#[test]
fn junit_matches_the_golden_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("seq.xml");
    let run = verify(&[
        "seq",
        "--dir",
        &exam30(),
        "--expect",
        "test_00001..test_00013",
        "--junit",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let actual = fs::read_to_string(&out).unwrap();
    let golden = fixtures().join("seq/expected.junit.xml");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, &actual).unwrap();
    }
    assert_same_text(&actual, &fs::read_to_string(golden).unwrap(), "JUnit report");
}

#[test]
fn usage_and_io_errors_exit_two() {
    let run = verify(&["seq", "--dir", "/nonexistent/recordings"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .trim_end()
            .ends_with("--dir /nonexistent/recordings: not found")
            && run.stderr.matches("os error").count() == 0,
        "the OS error once, in words: {}",
        run.stderr
    );
    assert_eq!(verify(&["seq"]).code, 2);
    assert_eq!(verify(&["seq", "--dir", ".", "--min-size", "lots"]).code, 2);
    assert_eq!(verify(&["seq", "--dir", ".", "--expect", "a_1..b_2"]).code, 2);
    assert_eq!(verify(&["--help"]).code, 0);
}

#[cfg(unix)]
#[test]
fn odd_names_links_and_vanished_targets_are_reported_not_fatal() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("recordings");
    let s1 = rec.join("test_00001");
    fs::create_dir_all(&s1).unwrap();
    for q in 1..=3 {
        fs::write(s1.join(format!("test_00001_20251123_18000{q}_seq_000{q}.mp4")), "x").unwrap();
    }
    fs::write(s1.join(std::ffi::OsStr::from_bytes(b"bad_\xff\xfe.mp4")), "x").unwrap();
    fs::create_dir(s1.join("nested")).unwrap();
    std::os::unix::fs::symlink(
        "/nonexistent/target",
        s1.join("test_00001_20251123_180004_seq_0004.mp4"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&s1, rec.join("test_00002")).unwrap();

    let (code, r) = json(&["--dir", rec.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(r.summary.skipped_links, 2);
    assert_eq!(r.students[0].unparseable, ["bad_\\xFF\\xFE.mp4", "nested/"]);

    let (code, r) = json(&["--dir", rec.to_str().unwrap(), "--follow-links"]);
    assert_eq!(code, 2, "a dangling link is an I/O error when following links");
    assert_eq!(r.verdict, "error");
    assert_eq!(r.summary.students, 2);
    assert!(r.errors.iter().all(|e| e.error.contains("vanished")), "{:?}", r.errors);
    assert_eq!(r.errors.len(), 2, "one dangling link seen through each student folder");
}

/// A listing of every path with its size and mtime, to prove nothing changed.
fn snapshot(root: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path().display().to_string(), m.len(), m.modified().unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn generated_tree_findings_equal_the_injected_truth_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = gentree::Spec {
        exam: "30".into(),
        students: 400,
        segments: 15,
        fault_every: 4,
        seed: 11,
        size: 1,
    };
    let truth = gentree::generate(tmp.path(), &spec).unwrap();
    assert!(
        truth.gaps.len() > 5 && truth.duplicates.len() > 5 && truth.missing.len() > 5,
        "generator injects every kind"
    );
    let before = snapshot(tmp.path());
    let dir = truth.recordings.display().to_string();
    let (code, r) = json(&["--dir", &dir, "--expect", "test_00001..test_00400", "-j", "1"]);
    assert_eq!(code, 1);
    let (_, r2) = json(&["--dir", &dir, "--expect", "test_00001..test_00400", "-j", "2"]);
    assert_eq!(r, r2, "the report does not depend on the thread count");
    assert_eq!(before, snapshot(tmp.path()), "the scan changed nothing");

    assert_eq!(r.summary.files, truth.files);
    let pick = |f: &dyn Fn(&verify::report::seq::StudentFindings) -> Option<usize>| -> BTreeMap<String, usize> {
        r.students
            .iter()
            .filter_map(|s| f(s).map(|n| (s.id.clone(), n)))
            .collect()
    };
    let gaps: BTreeMap<String, Vec<[u64; 2]>> = r
        .students
        .iter()
        .filter(|s| !s.gaps.is_empty())
        .map(|s| (s.id.clone(), s.gaps.clone()))
        .collect();
    assert_eq!(gaps, truth.gaps);
    let dups: BTreeMap<String, Vec<u64>> = r
        .students
        .iter()
        .filter(|s| !s.duplicates.is_empty())
        .map(|s| (s.id.clone(), s.duplicates.iter().map(|d| d.seq).collect()))
        .collect();
    assert_eq!(dups, truth.duplicates);
    let unseq = pick(&|s| (!s.unsequenced.is_empty()).then_some(s.unsequenced.len()));
    assert_eq!(
        unseq,
        truth
            .unsequenced
            .iter()
            .map(|(k, v)| (k.clone(), *v as usize))
            .collect()
    );
    let empty = pick(&|s| (!s.empty.is_empty()).then_some(s.empty.len()));
    assert_eq!(
        empty,
        truth.empty.iter().map(|(k, v)| (k.clone(), *v as usize)).collect()
    );
    let missing: Vec<String> = r.missing_students.iter().map(|m| m.id.clone()).collect();
    assert_eq!(missing, truth.missing);
    let f = &r.summary.findings;
    for kind in [
        SeqKind::LeadingGap,
        SeqKind::Foreign,
        SeqKind::OutOfOrder,
        SeqKind::Stall,
        SeqKind::Unparseable,
    ] {
        assert_eq!(f[&kind], 0, "{kind:?} was not injected");
    }
}

/// Completions for three shells and the man pages of every subcommand.
#[test]
fn completions_and_man_pages() {
    for (shell, marker) in [
        ("bash", "_verify()"),
        ("zsh", "#compdef verify"),
        ("fish", "complete -c verify"),
    ] {
        let r = verify(&["completions", shell]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.contains(marker) && r.stdout.contains("gate"),
            "{shell}: {}",
            &r.stdout[..200.min(r.stdout.len())]
        );
    }
    let d = tempfile::tempdir().unwrap();
    let r = verify(&["man", d.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in ["verify.1", "verify-seq.1", "verify-gate.1", "verify-watch.1"] {
        let text = fs::read_to_string(d.path().join(page)).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
}
