//! Issue 26 against the reference target (scripts/target-up.sh): a
//! restarted built-in client and a server that fails uploads for a while.
//! Needs the `real-servers` feature.

mod support;

use std::process::Command;

use serde_json::Value;

fn kind<'a>(l: &'a [Value], k: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    l.iter().filter(move |r| r["kind"] == k)
}

/// Issue 26 item 3 against the reference target: the built-in client,
/// restarted 2.5 s in, sends seq 1 again with a later timestamp, so the
/// server keeps two files for the same seq (the duplicates `verify` sees on
/// the real server after a client restart); the ledger's `restart` record
/// says which seqs were sent before it.
#[test]
fn a_restarted_builtin_client_makes_duplicate_seqs_on_the_server() {
    let t = support::Target::start();
    let exam = t.setup(2);
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("l.ndjson");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["run", "--host", &t.url, "--students", "2", "--spawn-rate", "50"])
        .args([
            "--segments",
            "3",
            "--segment-interval",
            "1s",
            "--flush-every",
            "500ms",
            "--segment-size",
            "2K",
        ])
        .args([
            "--restart-students",
            "100%@2500ms",
            "--ledger",
            ledger.to_str().unwrap(),
        ])
        .env_remove("WORKER_OFFSET")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Value> = std::fs::read_to_string(&ledger)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rec = t.dir.path().join("server_data").join(&exam).join("recordings");
    for id in ["test_00001", "test_00002"] {
        let restart = kind(&records, "restart")
            .find(|r| r["student"] == id)
            .expect("a restart record");
        let before = restart["last_seq"].as_u64().unwrap();
        assert!(before >= 1, "{restart}");
        let mut names: Vec<String> = std::fs::read_dir(rec.join(id))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let seq1 = names.iter().filter(|n| n.ends_with("_seq_0001.mp4")).count();
        assert_eq!(seq1, 2, "seq 1 before and after the restart: {names:?}");
        assert_eq!(
            names.iter().filter(|n| n.ends_with("_seq_0003.mp4")).count(),
            1 + usize::from(before >= 3),
            "{names:?}"
        );
    }
}

/// Issue 26's test against the reference target: the built-in client, time
/// compressed; every recording upload fails for 3 s (the target's
/// `run/fail-uploads` switch, a full disk). The queue grows, then drains at
/// the next flushes with the same seqs and timestamps: the server holds one
/// file per seq, and the gate, client against server, passes.
#[test]
fn the_real_client_rides_out_a_server_that_fails_uploads_for_a_while() {
    let t = support::Target::start();
    let exam = t.setup(3);
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("l.ndjson");
    let json = dir.path().join("r.json");
    let switch = t.dir.path().join("run/fail-uploads");
    let child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["run", "--host", &t.url, "--students", "3", "--spawn-rate", "50"])
        .args([
            "--segments",
            "8",
            "--segment-interval",
            "1s",
            "--flush-every",
            "1s",
            "--segment-size",
            "2K",
        ])
        .args(["--ledger", ledger.to_str().unwrap(), "--json", json.to_str().unwrap()])
        .env_remove("WORKER_OFFSET")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    std::fs::write(&switch, b"").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    std::fs::remove_file(&switch).unwrap();
    let out = child.wait_with_output().unwrap();
    // The failed attempts count as failures (about a third of the uploads):
    // the run's verdict is the failure ratio's, not this test's subject.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<Value> = std::fs::read_to_string(&ledger)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let uploads: Vec<&Value> = kind(&records, "upload").collect();
    let failed: Vec<&&Value> = uploads.iter().filter(|u| !u["failure"].is_null()).collect();
    assert!(failed.len() >= 3, "the switch failed some uploads: {}", failed.len());
    for f in &failed {
        // The same seq was acknowledged later with the same recording time.
        let acked = uploads
            .iter()
            .find(|u| u["student"] == f["student"] && u["seq"] == f["seq"] && u["failure"].is_null());
        let acked = acked.unwrap_or_else(|| panic!("never acknowledged after its failure: {f}"));
        assert_eq!(acked["recorded_ms"], f["recorded_ms"], "{f} / {acked}");
        assert!(acked["start_ms"].as_u64() > f["start_ms"].as_u64());
    }
    assert_eq!(kind(&records, "lost_at_exit").count(), 0);
    assert_eq!(kind(&records, "gave_up").count(), 0);
    let report: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let q = report.queue.expect("a queue block");
    assert!(
        q.max_student_depth >= 3,
        "the queue grew while the server failed: {q:?}"
    );
    assert_eq!(q.lost_at_exit, 0);
    // One file per seq on the server, 1..8 for every student.
    let rec = t.dir.path().join("server_data").join(&exam).join("recordings");
    for n in 1..=3 {
        let id = format!("test_{n:05}");
        let mut seqs: Vec<String> = std::fs::read_dir(rec.join(&id))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter_map(|n| {
                n.rsplit_once("_seq_")
                    .map(|(_, s)| s.trim_end_matches(".mp4").to_string())
            })
            .collect();
        seqs.sort();
        let want: Vec<String> = (1..=8).map(|s| format!("{s:04}")).collect();
        assert_eq!(seqs, want, "{id}");
    }
    let gate = Command::new(support::verify_bin())
        .args([
            "gate",
            "--dir",
            &t.data(),
            "--exam",
            &exam,
            "--expect",
            "test_00001..test_00003",
        ])
        .args(["--expect-segments", "8", "--ledger", ledger.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        gate.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&gate.stdout),
        String::from_utf8_lossy(&gate.stderr)
    );
}
