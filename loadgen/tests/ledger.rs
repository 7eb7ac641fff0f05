//! The client ledger's own contract, against small servers on 127.0.0.1:
//! an existing ledger is never truncated, a write error keeps the run, an
//! unsequenced run records no seq. The runs against the reference target
//! (issue 15) are in ledger_real.rs (the `real-servers` feature).

mod support;

use std::process::Command;

use support::hung;

/// Issue 24 item 4: a rerun (a restarted worker) with the same `--ledger`
/// never erases the earlier run's evidence: refused without
/// `--ledger-append`, a second section with it.
#[test]
fn an_existing_ledger_is_never_truncated() {
    let d = tempfile::tempdir().unwrap();
    let ledger = d.path().join("ledger.ndjson");
    let earlier = concat!(
        r#"{"kind":"run","v":2,"tool":"loadgen","host":"http://127.0.0.1:1","scenario":"built-in","task":"recording","started_unix_ms":1}"#,
        "\n",
        r#"{"kind":"upload","student":"test_00001","exam":"7","seq":1,"attempt":1,"planned_ms":0,"start_ms":0,"end_ms":1,"bytes_sent":10,"file":null,"file_size":10,"status":200,"failure":null}"#
    );
    std::fs::write(&ledger, earlier).unwrap();
    let loadgen = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "run",
                "--host",
                "http://127.0.0.1:1",
                "--students",
                "1",
                "--segments",
                "1",
            ])
            .args(["--login-retries", "0", "--ledger", ledger.to_str().unwrap()])
            .args(extra)
            .env_remove("WORKER_OFFSET")
            .output()
            .unwrap()
    };
    let out = loadgen(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("exists") && err.contains("--ledger-append"), "{err}");
    assert_eq!(std::fs::read_to_string(&ledger).unwrap(), earlier, "untouched");

    let out = loadgen(&["--ledger-append"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(2), "{err}");
    let text = std::fs::read_to_string(&ledger).unwrap();
    assert!(
        text.starts_with(earlier),
        "the earlier run is kept byte for byte:\n{text}"
    );
    let kinds: Vec<String> = text[earlier.len()..]
        .lines()
        .skip(1)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("run"), "{text}");
    assert_eq!(kinds.last().map(String::as_str), Some("end"), "{text}");
    assert!(kinds.iter().any(|k| k == "login"), "{text}");
}

/// Issue 24 item 14: a ledger that cannot be written (here the file size
/// limit, `ulimit -f`, which fails writes past 32 KiB with EFBIG as a full
/// disk fails them with ENOSPC) is said at once; the run goes on, every
/// report is written with the error in it, and loadgen exits 2.
#[test]
fn a_ledger_write_error_keeps_the_run_and_its_reports() {
    let (port, seen) = hung::serve(|path| Some(if path == "/login" { r#"{"token":"t"}"# } else { "{}" }.to_string()));
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.toml"), hung::SCENARIO).unwrap();
    let loadgen = env!("CARGO_BIN_EXE_loadgen");
    // SIGXFSZ ignored (inherited through exec): the write fails instead of killing the process.
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec {loadgen} run --host http://127.0.0.1:{port} --scenario s.toml \\
         --students 20 --spawn-rate 100 --run-time 4s --ledger l.ndjson --json r.json --csv c"
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(d.path())
        .env_remove("WORKER_OFFSET")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("write --ledger l.ndjson") && err.contains("the run goes on"),
        "{err}"
    );
    assert!(table.contains("students:"), "the table is printed: {table}");
    let r: loadgen::report::RunReport =
        serde_json::from_slice(&std::fs::read(d.path().join("r.json")).unwrap()).unwrap();
    assert!(
        r.ledger_error.as_deref().unwrap().contains("File too large"),
        "{:?}",
        r.ledger_error
    );
    assert!(d.path().join("c_stats.csv").exists() && d.path().join("c_stats_history.csv").exists());
    // The run went on after the ledger stopped: more uploads than the ledger holds.
    let ledger = std::fs::read_to_string(d.path().join("l.ndjson")).unwrap();
    let recorded = ledger.matches(r#""kind":"upload""#).count() as u64;
    assert!(
        r.students.segments_uploaded > recorded,
        "{} > {recorded}",
        r.students.segments_uploaded
    );
    assert_eq!(r.students.finished, 20, "every student logged out: {:?}", r.students);
    assert!(seen.lock().unwrap().iter().filter(|p| p.starts_with("/out/")).count() >= 20);
}

fn records(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Issue 24 item 6: with `--no-seq` the server never sees a seq, and the
/// ledger says so (`seq: null`) instead of claiming seq N was acknowledged.
#[test]
fn an_unsequenced_run_records_no_seq() {
    let (port, _) = hung::serve(|path| Some(if path == "/login" { r#"{"token":"t"}"# } else { "{}" }.to_string()));
    let d = tempfile::tempdir().unwrap();
    let scenario = d.path().join("s.toml");
    std::fs::write(&scenario, hung::SCENARIO).unwrap();
    let ledger = d.path().join("l.ndjson");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["run", "--host", &format!("http://127.0.0.1:{port}"), "--scenario"])
        .args([
            scenario.to_str().unwrap(),
            "--students",
            "2",
            "--segments",
            "3",
            "--no-seq",
        ])
        .args(["--ledger", ledger.to_str().unwrap()])
        .env_remove("WORKER_OFFSET")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let uploads: Vec<_> = records(&ledger).into_iter().filter(|l| l["kind"] == "upload").collect();
    assert_eq!(uploads.len(), 6);
    assert!(
        uploads.iter().all(|u| u["seq"].is_null() && u["status"] == 200),
        "{uploads:?}"
    );
}
