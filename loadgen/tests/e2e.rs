//! End to end: real `loadgen` processes against the reference target (real
//! gunicorn and celery on 127.0.0.1, started from scripts/target-up.sh), then
//! the real `verify` binary judges what the server wrote.

mod support;

use std::process::{Command, Output, Stdio};

use support::{Target, repo, verify_bin};

use verify::report::ids::{IdsKind, IdsReport};
use verify::report::seq::SeqReport;

fn loadgen(target: &Target, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    c.args([
        "run",
        "--host",
        &target.url,
        "--spawn-rate",
        "50",
        "--segment-interval",
        "1s",
        "--segment-size",
        "2K-4K",
    ]);
    c.args(args)
        .env_remove("WORKER_OFFSET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn check(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} exited {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn verify_ids(t: &Target, expect: &str) -> (i32, IdsReport) {
    let out = Command::new(verify_bin())
        .args(["ids", "--log", &t.log(), "--expect", expect, "--format", "json"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).expect("verify ids JSON"),
    )
}

fn verify_seq(t: &Target, expect: &str, segments: &str) -> (i32, SeqReport) {
    let out = Command::new(verify_bin())
        .args([
            "seq",
            "--dir",
            &t.data(),
            "--expect",
            expect,
            "--expect-segments",
            segments,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).expect("verify seq JSON"),
    )
}

#[test]
fn sixty_students_six_segments_are_clean() {
    let t = Target::start();
    let json = t.dir.path().join("run.json");
    check(
        loadgen(
            &t,
            &["--students", "60", "--segments", "6", "--json", json.to_str().unwrap()],
            &[],
        )
        .output()
        .unwrap(),
        "loadgen",
    );
    let run: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        (
            run.students.logged_in,
            run.students.segments_uploaded,
            run.students.finished
        ),
        (60, 360, 60)
    );
    assert_eq!(run.total.failures, 0);
    let (code, ids) = verify_ids(&t, "test_00001..test_00060");
    assert_eq!((code, ids.summary.distinct_ids, ids.summary.duplicated_ids), (0, 60, 0));
    let (code, seq) = verify_seq(&t, "test_00001..test_00060", "6");
    assert_eq!(code, 0, "{:?}", seq.students);
    assert_eq!((seq.summary.students, seq.summary.segments), (60, 360));
}

#[test]
fn two_generators_with_the_same_offset_share_ids_and_verify_names_them() {
    let t = Target::start();
    let args = ["--students", "8", "--segments", "3"];
    let a = loadgen(&t, &args, &[("WORKER_OFFSET", "0")]).spawn().unwrap();
    let b = loadgen(&t, &args, &[("WORKER_OFFSET", "0")]).spawn().unwrap();
    check(a.wait_with_output().unwrap(), "loadgen a");
    check(b.wait_with_output().unwrap(), "loadgen b");
    let (code, ids) = verify_ids(&t, "test_00001..test_00008");
    assert_eq!(code, 1);
    let shared: Vec<&str> = ids.duplicates.iter().map(|d| d.id.as_str()).collect();
    let expected: Vec<String> = (1..=8).map(|n| format!("test_{n:05}")).collect();
    assert_eq!(shared, expected.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        ids.duplicates
            .iter()
            .all(|d| d.kind == IdsKind::Collision && d.count == 2)
    );
}

#[test]
fn shards_split_the_population_without_overlap() {
    let t = Target::start();
    let args = ["--students", "20", "--segments", "2"];
    let a = loadgen(&t, &[&args[..], &["--shard", "1/2"]].concat(), &[])
        .spawn()
        .unwrap();
    let b = loadgen(&t, &[&args[..], &["--shard", "2/2"]].concat(), &[])
        .spawn()
        .unwrap();
    check(a.wait_with_output().unwrap(), "loadgen shard 1/2");
    check(b.wait_with_output().unwrap(), "loadgen shard 2/2");
    let (code, ids) = verify_ids(&t, "test_00001..test_00020");
    assert_eq!((code, ids.summary.distinct_ids, ids.summary.duplicated_ids), (0, 20, 0));
    let (code, _) = verify_seq(&t, "test_00001..test_00020", "2");
    assert_eq!(code, 0);
}

#[test]
fn skipped_seqs_are_exactly_the_gaps_verify_finds() {
    let t = Target::start();
    let json = t.dir.path().join("run.json");
    let args = [
        "--students",
        "5",
        "--segments",
        "8",
        "--skip-seq",
        "3",
        "--skip-every",
        "5",
        "--json",
        json.to_str().unwrap(),
    ];
    check(loadgen(&t, &args, &[]).output().unwrap(), "loadgen");
    let run: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(run.students.skipped.iter().all(|s| s.seqs == [3, 5]) && run.students.skipped.len() == 5);
    let (code, seq) = verify_seq(&t, "test_00001..test_00005", "8");
    assert_eq!(code, 1);
    assert_eq!(seq.students.len(), 5);
    for s in &seq.students {
        assert_eq!(s.gaps, [[3, 3], [5, 5]], "{}", s.id);
        assert!(s.duplicates.is_empty() && s.unsequenced.is_empty() && s.short.is_none());
    }
}

/// Issue 7's end-to-end: faults injected through loadgen (shared IDs, a
/// skipped seq) into the real target; the gate finds exactly them, from the
/// log, the disk and celery, and cross-checks them.
#[test]
fn gate_finds_injected_faults_from_every_side() {
    let t = Target::start();
    let args = ["--students", "4", "--segments", "3", "--skip-seq", "2"];
    let a = loadgen(&t, &args, &[("WORKER_OFFSET", "0")]).spawn().unwrap();
    let b = loadgen(&t, &args, &[("WORKER_OFFSET", "0")]).spawn().unwrap();
    check(a.wait_with_output().unwrap(), "loadgen a");
    check(b.wait_with_output().unwrap(), "loadgen b");
    // Stop the target first: celery drains its queue, so every merge is logged.
    let down = Command::new(repo().join("scripts/target-down.sh"))
        .arg(t.dir.path())
        .arg("30")
        .output()
        .unwrap();
    assert!(down.status.success());
    let logs = t.dir.path().join("logs");
    let out = Command::new(verify_bin())
        .args([
            "gate",
            "--log",
            &t.log(),
            "--celery-log",
            &logs.join("celery_worker_merge.log").display().to_string(),
        ])
        .args([
            "--dir",
            &t.data(),
            "--expect",
            "test_00001..test_00004",
            "--expect-segments",
            "3",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r: verify::report::gate::GateReport = serde_json::from_slice(&out.stdout).unwrap();
    let ids = r.ids.as_ref().unwrap();
    let shared: Vec<&str> = ids
        .duplicates
        .iter()
        .filter(|d| d.kind == IdsKind::Collision)
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(shared, ["test_00001", "test_00002", "test_00003", "test_00004"]);
    let cross = r.cross.as_ref().unwrap();
    let gaps: Vec<(&str, verify::report::gate::CrossKind, &[[u64; 2]])> = cross
        .gaps
        .iter()
        .map(|g| (g.id.as_str(), g.kind, g.seqs.as_slice()))
        .collect();
    let both = verify::report::gate::CrossKind::GapBoth;
    assert_eq!(
        gaps,
        (1..=4)
            .map(|_| both)
            .zip(["test_00001", "test_00002", "test_00003", "test_00004"])
            .map(|(k, id)| (id, k, &[[2u64, 2]][..]))
            .collect::<Vec<_>>()
    );
    // Same-second uploads of one seq overwrite each other on the server, so the
    // disk may or may not show the duplicate: the IDs are exact, the side is not.
    let col: Vec<&str> = cross.collisions.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(col, ["test_00001", "test_00002", "test_00003", "test_00004"]);
    assert!(r.failed_on.contains(&"cross:gap_both".to_string()) && r.failed_on.contains(&"ids:collision".to_string()));
}
