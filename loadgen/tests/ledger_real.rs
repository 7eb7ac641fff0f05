//! Issue 15: the client ledger against the server. Real `loadgen` runs with
//! `--ledger` against the reference target, some with its fault switches on
//! (acknowledge a seq and lose it; keep half of a seq's bytes), then the real
//! `verify gate --ledger` names exactly those seqs, or explains every gap.
//! Needs the reference target (scripts/target-up.sh): the `real-servers`
//! feature.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Target, repo, verify_bin};
use verify::report::gate::{CrossKind, GateReport, LedgerRow};

fn run(t: &Target, ledger: &std::path::Path, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["run", "--host", &t.url, "--spawn-rate", "50", "--segment-size", "2K-4K"])
        .args([
            "--segment-interval",
            "500ms",
            "--flush-every",
            "500ms",
            "--every",
            "heartbeat=1s",
            "--every",
            "screenshot=2s",
        ])
        .args(["--ledger", ledger.to_str().unwrap()])
        .args(extra)
        .env_remove("WORKER_OFFSET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Stops the target (the merge worker has run) and gates with the ledger.
fn gate(t: &Target, ledger: &std::path::Path, expect: &str) -> (i32, GateReport) {
    let down = Command::new(repo().join("scripts/target-down.sh"))
        .arg(t.dir.path())
        .arg("30")
        .output()
        .unwrap();
    assert!(down.status.success());
    let out = Command::new(verify_bin())
        .args(["gate", "--log", &t.log(), "--dir", &t.data(), "--expect", expect])
        .args(["--ledger", ledger.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), report)
}

fn rows(r: &GateReport) -> Vec<LedgerRow> {
    r.cross.as_ref().unwrap().ledger.as_ref().unwrap().rows.clone()
}

fn kinds(rows: &[LedgerRow]) -> Vec<(String, CrossKind, Vec<[u64; 2]>)> {
    let mut v: Vec<_> = rows.iter().map(|r| (r.id.clone(), r.kind, r.seqs.clone())).collect();
    v.sort();
    v
}

#[test]
fn a_server_that_loses_or_truncates_acknowledged_uploads_is_named() {
    let t = Target::start_with(&[("TARGET_LOSE_SEQS", "2"), ("TARGET_TRUNCATE_SEQS", "3")]);
    t.setup(5);
    let d = tempfile::tempdir().unwrap();
    let ledger = d.path().join("ledger.ndjson");
    let out = run(&t, &ledger, &["--students", "5", "--segments", "4"])
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, r) = gate(&t, &ledger, "test_00001..test_00005");
    assert_eq!(code, 1);
    let mut want = Vec::new();
    for n in 1..=5 {
        let id = format!("test_{n:05}");
        want.push((id.clone(), CrossKind::AckedMissing, vec![[2, 2]]));
        want.push((id, CrossKind::AckedSizeMismatch, vec![[3, 3]]));
    }
    want.sort();
    let rows = rows(&r);
    assert_eq!(kinds(&rows), want);
    for row in &rows {
        let rec = row.record.as_deref().unwrap();
        assert!(rec.starts_with(ledger.to_str().unwrap()), "{rec}");
        if row.kind == CrossKind::AckedSizeMismatch {
            assert!(row.file.as_deref().unwrap().ends_with("_seq_0003.mp4"), "{row:?}");
        }
    }
    let failed = &r.failed_on;
    assert!(
        failed.contains(&"cross:acked_missing".to_string())
            && failed.contains(&"cross:acked_size_mismatch".to_string()),
        "{failed:?}"
    );
}

#[test]
fn skipped_seqs_are_explained_gaps_and_nothing_is_unexplained() {
    let t = Target::start();
    t.setup(6);
    let d = tempfile::tempdir().unwrap();
    let ledger = d.path().join("ledger.ndjson");
    let out = run(&t, &ledger, &["--students", "6", "--segments", "4", "--skip-seq", "2"])
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, r) = gate(&t, &ledger, "test_00001..test_00006");
    let rows = rows(&r);
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(
        rows.iter()
            .all(|x| x.kind == CrossKind::GapClientSkipped && x.seqs == [[2, 2]] && x.record.is_some()),
        "{rows:?}"
    );
    assert!(
        !r.failed_on
            .iter()
            .any(|k| k.starts_with("cross:gap_unexplained") || k.starts_with("cross:acked"))
    );
    let l = r.cross.as_ref().unwrap().ledger.as_ref().unwrap();
    assert!(l.files.iter().all(|f| f.complete) && l.notes.is_empty(), "{l:?}");
}

/// SIGKILL mid-run: the ledger's prefix reconciles, and the gate fails on
/// what it cannot know (`ledger_incomplete`: the file has no end record).
#[test]
fn a_killed_run_leaves_a_ledger_that_still_reconciles() {
    let t = Target::start();
    t.setup(4);
    let d = tempfile::tempdir().unwrap();
    let ledger = d.path().join("ledger.ndjson");
    let mut child = run(&t, &ledger, &["--students", "4", "--run-time", "60s"]);
    std::thread::sleep(Duration::from_secs(4));
    child.kill().unwrap();
    let _ = child.wait();
    let text = std::fs::read_to_string(&ledger).unwrap();
    assert!(text.lines().count() > 4, "records were flushed while running:\n{text}");
    assert!(!text.contains(r#""kind":"end""#));
    let (_, r) = gate(&t, &ledger, "test_00001..test_00004");
    let l = r.cross.as_ref().unwrap().ledger.as_ref().unwrap();
    assert_eq!(l.files.len(), 1);
    assert!(!l.files[0].complete);
    assert!(l.uploads >= 4, "{l:?}");
    assert!(
        l.rows
            .iter()
            .any(|x| x.kind == CrossKind::LedgerIncomplete && x.detail.contains("did not finish")),
        "{:?}",
        l.rows
    );
    assert!(
        r.failed_on.iter().any(|k| k == "cross:ledger_incomplete"),
        "{:?}",
        r.failed_on
    );
    // What the ledger acknowledged is on disk: no data was lost.
    assert!(
        !l.rows
            .iter()
            .any(|x| x.kind == CrossKind::AckedMissing || x.kind == CrossKind::AckedSizeMismatch),
        "{:?}",
        l.rows
    );
}

fn records(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Issue 24 item 2: every student record names the exam `loadgen setup`
/// created (the login's `exam_id` capture, a number, written as its decimal
/// text), so two exams under one `--dir` cannot be pooled.
#[test]
fn every_student_record_names_the_exam_it_logged_into() {
    let t = Target::start();
    let exam = t.setup(3);
    let d = tempfile::tempdir().unwrap();
    let ledger = d.path().join("ledger.ndjson");
    let out = run(&t, &ledger, &["--students", "3", "--segments", "3", "--skip-seq", "2"])
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = records(&ledger);
    let mut seen = std::collections::BTreeMap::new();
    for l in &lines {
        let kind = l["kind"].as_str().unwrap();
        if ["login", "upload", "skipped", "gave_up", "logout"].contains(&kind) {
            assert_eq!(l["exam"], serde_json::json!(exam), "{l}");
            *seen.entry(kind.to_string()).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.get("login"), Some(&3), "{seen:?}");
    assert_eq!(seen.get("upload"), Some(&6), "{seen:?}");
    assert_eq!(seen.get("skipped"), Some(&3), "{seen:?}");
    assert_eq!(seen.get("logout"), Some(&3), "{seen:?}");
}
