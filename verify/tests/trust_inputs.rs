//! Inputs a hostile or hurried user gives: relative paths, logs in another
//! encoding, logs without a single event, `--fail-on` sets that drop the
//! ledger's verdict. Each must end in a failure or a warning, never a quiet PASS.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::verify;

fn segment(rec: &Path, id: &str, seq: u32) {
    let dir = rec.join(id);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join(format!("{id}_20251123_1800{:02}_seq_{seq:04}.mp4", seq * 2)),
        "x",
    )
    .unwrap();
}

fn watch_in(cwd: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_verify"))
        .current_dir(cwd)
        .arg("watch")
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the child, killing it if it runs far past its own --duration
/// (a hang guard, not a speed check).
fn finish(mut child: Child, limit: Duration) -> Output {
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > limit {
            child.kill().unwrap();
            panic!("verify watch did not stop by itself within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Item 1: `--dir x`, `--dir ./x`, `--dir x/../y`: the tree is watched, the
/// gap and the student folder that appear during the run are in the alerts
/// and the final report, and the report shows the paths as the user wrote them.
#[test]
fn watch_with_a_relative_dir_sees_the_tree_change() {
    let base = tempfile::tempdir().unwrap();
    let forms = [("a", "a"), ("./b", "b"), ("x/../c", "c")];
    fs::create_dir_all(base.path().join("x")).unwrap();
    let mut children = Vec::new();
    for (arg, real) in forms {
        let rec = base.path().join(real).join("30/recordings");
        segment(&rec, "test_00001", 1);
        let child = watch_in(
            base.path(),
            &[
                "--dir",
                arg,
                "--expect",
                "test_00001..test_00002",
                "--duration",
                "4s",
                "--grace",
                "1s",
                "--format",
                "json",
            ],
        );
        children.push((arg, rec, child));
    }
    std::thread::sleep(Duration::from_millis(800));
    for (_, rec, _) in &children {
        segment(rec, "test_00001", 2);
        segment(rec, "test_00001", 4); // seq 3 never comes
        segment(rec, "test_00002", 1); // a student folder that appears during the run
    }
    for (arg, _, child) in children {
        let out = finish(child, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("ALERT gap confirmed: exam 30 test_00001 seq 3 missing"),
            "--dir {arg}: no gap alert in:\n{stderr}"
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let seq = &v["seq"];
        assert_eq!(seq["summary"]["students"], 2, "--dir {arg}: {}", seq["summary"]);
        assert_eq!(seq["missing_students"], serde_json::json!([]), "--dir {arg}");
        assert!(
            v["failed_on"].as_array().unwrap().contains(&"seq:gap".into()),
            "--dir {arg}: {}",
            v["failed_on"]
        );
        assert_eq!(out.status.code(), Some(1), "--dir {arg}: {stderr}");
        // Shown as written, matched in absolute form.
        assert_eq!(seq["scanned"]["root"], arg);
        let recordings = seq["scanned"]["exams"][0]["recordings"].as_str().unwrap();
        assert_eq!(recordings, format!("{arg}/30/recordings"));
    }
}

/// Item 17: a `--fail-on` that replaces the cross set drops `acked_missing`
/// from it: said on stderr; the `+cross:` form keeps it, and says nothing.
#[test]
fn a_fail_on_that_drops_acked_missing_is_warned_about() {
    let d = tempfile::tempdir().unwrap();
    segment(&d.path().join("30/recordings"), "test_00001", 1);
    let dir = d.path().to_str().unwrap();
    let replaced = verify(&["gate", "--dir", dir, "--fail-on", "cross:gap_disk_only"]);
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    assert!(
        replaced
            .stderr
            .contains("warning: --fail-on leaves out cross:acked_missing"),
        "{}",
        replaced.stderr
    );
    let added = verify(&["gate", "--dir", dir, "--fail-on", "+cross:gap_disk_only"]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    assert!(!added.stderr.contains("acked_missing"), "{}", added.stderr);
}

/// The folder reads `verify watch` counted, from its last line.
fn folder_reads(stderr: &str) -> u64 {
    let line = stderr.lines().rev().find(|l| l.contains(" folder reads")).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "folder").unwrap();
    words[at - 1].parse().unwrap()
}

/// Item 11: reading a young folder raised events that woke the loop that read
/// it again (23,000 reads for 3 folders in 4 s). Each folder is read at most
/// once per `--tick`: 10 folders, 3 s at 100 ms, at most 10 x 31 reads.
#[test]
fn new_folders_are_read_at_most_once_per_tick() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("30/recordings");
    segment(&rec, "test_00001", 1);
    let child = watch_in(
        d.path(),
        &["--dir", ".", "--duration", "3s", "--tick", "100ms", "--format", "json"],
    );
    std::thread::sleep(Duration::from_millis(500));
    for n in 2..=11 {
        segment(&rec, &format!("test_{n:05}"), 1);
        segment(&rec, &format!("test_{n:05}"), 2);
    }
    let out = finish(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["seq"]["summary"]["students"], 11, "{stderr}");
    assert_eq!(v["seq"]["summary"]["segments"], 21, "{stderr}");
    let reads = folder_reads(&stderr);
    assert!(
        (10..=310).contains(&reads),
        "{reads} folder reads for 10 new folders:\n{stderr}"
    );
}
