//! Issues 26 (item 3) and 27 (item 5): what the client's ledger explains
//! (seqs given up, skipped, lost at exit, dropped at a restart or a kill,
//! duplicates sent again after a restart) stops failing the gate, gaps and
//! short tails alike, and shows as one `::notice` each with `--github`.
//! Runs the real binary on a tree and a ledger built in a temp dir.

use std::fs;
use std::path::Path;
use std::process::Command;

use common::ledger::Record;

fn verify(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A segment of `size` bytes stamped at minute `min`, second `q`.
fn segment(sd: &Path, id: &str, seq: u64, min: u32, size: usize) {
    let dir = sd.join("31/recordings").join(id);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join(format!("{id}_20251123_18{min:02}{:02}_seq_{seq:04}.mp4", seq % 60)),
        vec![b'x'; size],
    )
    .unwrap();
}

fn upload(id: &str, seq: u64, size: u64) -> Record {
    Record::Upload {
        student: id.into(),
        exam: Some("31".into()),
        seq: Some(seq),
        attempt: 1,
        planned_ms: 0,
        start_ms: 0,
        end_ms: 1,
        recorded_ms: Some(seq * 60_000),
        bytes_sent: size + 100,
        file: None,
        file_size: size,
        status: Some(200),
        failure: None,
        answer: Default::default(),
    }
}

/// A ledger of one whole section: `run`, the records, `end` counting them.
fn ledger(path: &Path, records: Vec<Record>) -> String {
    let run = Record::Run {
        v: 3,
        tool: "loadgen".into(),
        host: "h".into(),
        scenario: "s".into(),
        task: Some("recording".into()),
        started_unix_ms: 1,
    };
    let n = records.len() as u64 + 2;
    let mut out = Vec::new();
    for r in std::iter::once(run).chain(records).chain([Record::End { records: n }]) {
        r.write_line(&mut out).unwrap();
    }
    fs::write(path, out).unwrap();
    path.display().to_string()
}

/// Student 1 restarts after seq 5 with 4 and 5 queued (dropped), then sends
/// 1-3 again; student 2 is killed after seq 3 (queued, lost); student 3's
/// seqs 4-5 are still queued at exit; student 4 gives up seq 2 and skips 3.
fn scenario(d: &Path) -> (String, String) {
    let sd = d.join("server_data");
    let mut recs = Vec::new();
    for q in 1..=3 {
        segment(&sd, "test_00001", q, 0, 10);
        segment(&sd, "test_00001", q, 10, 12);
        recs.push(upload("test_00001", q, 10));
    }
    recs.push(Record::Restart {
        student: "test_00001".into(),
        exam: Some("31".into()),
        at_ms: 300_000,
        last_seq: 5,
        lost: vec![4, 5],
    });
    // A restarted client logs in again before it uploads (verify holds
    // ledgers to that order).
    recs.push(Record::Login {
        student: "test_00001".into(),
        exam: Some("31".into()),
        attempt: 1,
        start_ms: 300_001,
        end_ms: 300_002,
        status: Some(200),
        failure: None,
        answer: Default::default(),
    });
    recs.extend((1..=3).map(|q| upload("test_00001", q, 12)));
    for q in 1..=2 {
        segment(&sd, "test_00002", q, 0, 10);
        recs.push(upload("test_00002", q, 10));
    }
    recs.push(Record::Killed {
        student: "test_00002".into(),
        exam: Some("31".into()),
        at_ms: 200_000,
        last_seq: 3,
        lost: vec![3],
    });
    for q in 1..=3 {
        segment(&sd, "test_00003", q, 0, 10);
        recs.push(upload("test_00003", q, 10));
    }
    for q in 4..=5 {
        recs.push(Record::LostAtExit {
            student: "test_00003".into(),
            exam: Some("31".into()),
            seq: q,
            attempts: 2,
        });
    }
    for q in [1, 4, 5] {
        segment(&sd, "test_00004", q, 0, 10);
        recs.push(upload("test_00004", q, 10));
    }
    recs.push(Record::GaveUp {
        student: "test_00004".into(),
        exam: Some("31".into()),
        seq: 2,
        attempts: 3,
    });
    recs.push(Record::Skipped {
        student: "test_00004".into(),
        exam: Some("31".into()),
        seq: 3,
    });
    let l = ledger(&d.join("l.ndjson"), recs);
    (sd.display().to_string(), l)
}

#[test]
fn restarts_kills_losses_at_exit_and_give_ups_are_explained_not_failed() {
    let d = tempfile::tempdir().unwrap();
    let (sd, l) = scenario(d.path());
    let args = ["gate", "--dir", &sd, "--ledger", &l, "--expect-segments", "5"];
    let (code, out, err) = verify(&[&args[..], &["--format", "json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    assert_eq!(code, 0, "{}", v["failed_on"]);
    let kinds: Vec<(String, String, String)> = v["cross"]["ledger"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["kind"].as_str().unwrap().to_string(),
                r["exam"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        ("test_00001", "duplicate_client_restarted"),
        ("test_00001", "gap_client_restarted"),
        ("test_00002", "gap_client_killed"),
        ("test_00003", "gap_client_lost_at_exit"),
        ("test_00004", "gap_client_gave_up"),
        ("test_00004", "gap_client_skipped"),
    ];
    assert_eq!(
        kinds,
        want.map(|(i, k)| (i.to_string(), k.to_string(), "31".to_string())),
        "{}",
        v["cross"]["ledger"]
    );
    let explained = &v["seq"]["summary"]["explained"];
    assert_eq!(
        (
            explained["gap"].as_u64(),
            explained["duplicate"].as_u64(),
            explained["short"].as_u64()
        ),
        (Some(2), Some(3), Some(3)),
        "{explained}"
    );

    let (code, out, _) = verify(&[&args[..], &["--github"]].concat());
    assert_eq!(code, 0, "{out}");
    let annotations: Vec<&str> = out.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 6, "{out}");
    assert!(annotations.iter().all(|a| a.starts_with("::notice ")), "{out}");
}

/// Without the records that explain them, the same tree still fails: the
/// explanations come from the ledger, not from leniency.
#[test]
fn the_same_tree_with_a_ledger_of_uploads_only_fails() {
    let d = tempfile::tempdir().unwrap();
    let (sd, _) = scenario(d.path());
    let text = fs::read_to_string(d.path().join("l.ndjson")).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""kind":"upload""#) || l.contains(r#""kind":"run""#))
        .collect();
    let mut body = kept.join("\n");
    body.push_str(&format!("\n{{\"kind\":\"end\",\"records\":{}}}\n", kept.len() + 1));
    let l = d.path().join("uploads.ndjson");
    fs::write(&l, body).unwrap();
    let (code, out, _) = verify(&[
        "gate",
        "--dir",
        &sd,
        "--ledger",
        &l.display().to_string(),
        "--expect-segments",
        "5",
        "--github",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("::error title=verify gate seq%3Ashort"), "{out}");
    assert!(
        out.contains("::error title=verify gate cross%3Agap_unexplained"),
        "{out}"
    );
}

/// Issue 27 item 4: in a 100-column terminal (`COLUMNS=100`) no line of the
/// table is wider, long details end `…`; `--wide` prints them whole; JSON
/// is the same whatever the width.
#[test]
fn tables_fit_columns_and_wide_prints_cells_whole() {
    let d = tempfile::tempdir().unwrap();
    let (sd, l) = scenario(d.path());
    let run = |extra: &[&str], columns: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_verify"));
        c.args(["gate", "--dir", &sd, "--ledger", &l, "--expect-segments", "6"])
            .args(extra)
            .env("NO_COLOR", "1")
            .env_remove("COLUMNS");
        if let Some(n) = columns {
            c.env("COLUMNS", n);
        }
        let out = c.output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let widest = |text: &str| text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let fitted = run(&[], Some("100"));
    assert!(widest(&fitted) <= 100, "{fitted}");
    assert!(
        fitted.lines().any(|l| l.trim_end_matches(['│', ' ']).ends_with('…')),
        "{fitted}"
    );
    assert!(
        fitted.contains("cross:duplicate_client_restarted (explained) │"),
        "the kind is whole: {fitted}"
    );
    let wide = run(&["--wide"], Some("100"));
    assert!(widest(&wide) > 100, "{wide}");
    assert!(
        wide.contains("its queue was dropped and its seq counted again from 1: explained"),
        "{wide}"
    );
    assert_eq!(
        run(&["--format", "json"], Some("100")),
        run(&["--format", "json"], None)
    );
}

/// Issue 27 item 1: a second run on one server. Without `--exam`, the gate
/// audits the exam the ledger's uploads name, not the first run's too.
#[test]
fn the_ledgers_exam_decides_the_scope_without_exam() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    let mut recs = Vec::new();
    for i in 1..=4u64 {
        let id = format!("test_{i:05}");
        for q in 1..=2 {
            if i <= 2 {
                let dir = sd.join("30/recordings").join(&id);
                fs::create_dir_all(&dir).unwrap();
                fs::write(
                    dir.join(format!("{id}_20251122_18000{q}_seq_000{q}.mp4")),
                    vec![b'x'; 10],
                )
                .unwrap();
            }
            segment(&sd, &id, q, 0, 10);
            recs.push(upload(&id, q, 10));
        }
    }
    let l = ledger(&d.path().join("l.ndjson"), recs);
    let sd = sd.display().to_string();
    let args = [
        "gate",
        "--dir",
        &sd,
        "--expect",
        "test_00001..test_00004",
        "--format",
        "json",
    ];
    let (code, out, _) = verify(&args);
    assert_eq!(code, 1, "without the ledger both exams are audited: {out}");
    let (code, out, err) = verify(&[&args[..], &["--ledger", &l]].concat());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    assert_eq!(code, 0, "{}", v["failed_on"]);
    assert_eq!(v["seq"]["scanned"]["exams"].as_array().unwrap().len(), 1);
    assert_eq!(v["seq"]["scanned"]["exams"][0]["exam"], "31");
    let notes = v["cross"]["ledger"]["notes"].to_string();
    assert!(
        notes.contains("audited 31, the exam(s) the ledger's uploads name"),
        "{notes}"
    );
}

/// An expected student with no folder at all: explained when its client
/// was killed before its first segment or gave every seq up; still missing
/// when no ledger knows it.
#[test]
fn an_absent_student_the_ledger_explains_is_not_missing() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    let mut recs = Vec::new();
    for q in 1..=2 {
        segment(&sd, "test_00001", q, 0, 10);
        recs.push(upload("test_00001", q, 10));
    }
    // Its client logged in, then was killed before its first segment.
    recs.push(Record::Login {
        student: "test_00002".into(),
        exam: Some("31".into()),
        attempt: 1,
        start_ms: 0,
        end_ms: 1,
        status: Some(200),
        failure: None,
        answer: Default::default(),
    });
    recs.push(Record::Killed {
        student: "test_00002".into(),
        exam: Some("31".into()),
        at_ms: 1,
        last_seq: 0,
        lost: vec![],
    });
    for q in 1..=2 {
        recs.push(Record::GaveUp {
            student: "test_00003".into(),
            exam: Some("31".into()),
            seq: q,
            attempts: 3,
        });
    }
    let l = ledger(&d.path().join("l.ndjson"), recs);
    let sd = sd.display().to_string();
    let run = |last: &str| {
        let expect = format!("test_00001..{last}");
        let (code, out, err) = verify(&[
            "gate",
            "--dir",
            &sd,
            "--ledger",
            &l,
            "--expect",
            &expect,
            "--expect-segments",
            "2",
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
        (code, v)
    };
    let (code, v) = run("test_00003");
    assert_eq!(code, 0, "{}", v["failed_on"]);
    let missing = &v["seq"]["missing_students"];
    assert_eq!(missing.as_array().unwrap().len(), 2, "{missing}");
    assert!(
        missing.as_array().unwrap().iter().all(|m| m["explained"] == true),
        "{missing}"
    );
    assert_eq!(v["seq"]["summary"]["explained"]["missing_student"], 2);
    let (code, v) = run("test_00004");
    assert_eq!(code, 1);
    assert_eq!(v["failed_on"], serde_json::json!(["seq:missing_student"]));
}
