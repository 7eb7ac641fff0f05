//! `verify watch` end to end: the real binary follows logs (rotated mid-run)
//! and a recordings tree (new folders appear), alerts as things happen, and
//! ends with the report `verify gate` gives afterwards on the same data.

mod support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::verify;
use verify::report::gate::GateReport;

fn append(p: &Path, line: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .unwrap()
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
}

fn login(p: &Path, id: &str, sec: u32, ip: &str) {
    append(
        p,
        &format!("[2025-11-23 18:00:{sec:02} +0800] [7] [INFO] 登录成功 student_id={id} exam_id=30 ip={ip}"),
    );
}

fn segment(rec: &Path, id: &str, seq: u32) {
    let dir = rec.join(id);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join(format!("{id}_20251123_1800{:02}_seq_{seq:04}.mp4", seq * 2)),
        "x",
    )
    .unwrap();
}

#[test]
fn live_alerts_and_a_final_report_equal_to_the_gate() {
    let tmp = tempfile::tempdir().unwrap();
    let (logs, rec) = (tmp.path().join("logs"), tmp.path().join("rec"));
    fs::create_dir_all(&logs).unwrap();
    fs::create_dir_all(&rec).unwrap();
    let (g, c) = (logs.join("gunicorn_access.log"), logs.join("celery_worker_merge.log"));
    append(&g, "[2025-11-23 17:59:59 +0800] [7] [INFO] Booting worker with pid: 7");
    append(&c, "[2025-11-23 17:59:59,000: INFO/MainProcess] merge@vm ready.");
    let child = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args([
            "watch",
            "--log",
            g.to_str().unwrap(),
            "--celery-log",
            c.to_str().unwrap(),
            "--dir",
            rec.to_str().unwrap(),
        ])
        .args([
            "--expect",
            "test_00001..test_00003",
            "--duration",
            "5s",
            "--grace",
            "1s",
            "--summary-interval",
            "1s",
        ])
        .args(["--format", "json"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    login(&g, "test_00001", 1, "10.0.0.1");
    login(&g, "test_00002", 2, "10.0.0.2");
    segment(&rec, "test_00001", 1);
    segment(&rec, "test_00001", 2);
    std::thread::sleep(Duration::from_millis(300));
    // Rotation the logrotate way, with the next lines in the new file.
    fs::rename(&g, logs.join("gunicorn_access.log.1")).unwrap();
    login(&g, "test_00002", 3, "10.0.0.9");
    login(&g, "test_00003", 4, "10.0.0.3");
    segment(&rec, "test_00001", 4); // seq 3 never comes
    segment(&rec, "test_00002", 1);
    segment(&rec, "test_00003", 1); // a folder created during the watch
    append(
        &c,
        "[2025-11-23 18:00:09,000: WARNING/ForkPoolWorker-1] tasks.merge_segments[0a0b0c0d-0000-4000-8000-000000000001]: 序号缺失 student_id=test_00001 exam_id=30 missing=3",
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for alert in [
        "ALERT duplicate login test_00002: 2 logins; two 1 s apart with no logout between: overlapping sessions (within --window 120 s), from two different sources, 10.0.0.2 and 10.0.0.9",
        "ALERT server reports missing seq 3 for test_00001",
        "ALERT gap confirmed: test_00001 seq 3 missing",
        "students uploading 3",
        "(1 rotations, 0 truncations)",
    ] {
        assert!(stderr.contains(alert), "missing «{alert}» in:\n{stderr}");
    }
    assert_eq!(
        stderr.matches("ALERT duplicate login").count(),
        1,
        "each duplicate is alerted once:\n{stderr}"
    );
    let live: GateReport = serde_json::from_slice(&out.stdout).unwrap();

    let after = verify(&[
        "gate",
        "--log",
        &format!("{}*", g.display()),
        "--celery-log",
        c.to_str().unwrap(),
        "--dir",
        rec.to_str().unwrap(),
        "--expect",
        "test_00001..test_00003",
        "--format",
        "json",
    ]);
    let batch: GateReport = serde_json::from_str(&after.stdout).unwrap();
    assert_eq!(live.failed_on, batch.failed_on);
    assert_eq!(live.cross, batch.cross);
    // Watch followed one path through its rotation; the gate afterwards reads
    // the two files rotation left: the same lines, one file more.
    let mut batch_ids = batch.ids.as_ref().unwrap().summary.clone();
    assert_eq!(batch_ids.files, 2);
    batch_ids.files = 1;
    assert_eq!(live.ids.as_ref().unwrap().summary, batch_ids);
    assert_eq!(live.seq.as_ref().unwrap().summary, batch.seq.as_ref().unwrap().summary);
    assert_eq!(
        live.merge.as_ref().unwrap().server_gaps,
        batch.merge.as_ref().unwrap().server_gaps
    );
    assert!(
        live.failed_on.contains(&"cross:gap_both".to_string()) && live.failed_on.contains(&"ids:collision".to_string())
    );
}

/// SIGTERM (timeout(1), docker stop, systemd) and SIGHUP (a closed terminal)
/// end a watch as Ctrl-C does: the final report on stdout and every report
/// file written, the verdict's exit code (not 143 or 129 with nothing).
#[test]
fn sigterm_and_sighup_end_a_watch_with_its_reports() {
    for signal in ["TERM", "HUP", "INT"] {
        let tmp = tempfile::tempdir().unwrap();
        let rec = tmp.path().join("rec");
        fs::create_dir_all(&rec).unwrap();
        segment(&rec, "test_00001", 1);
        segment(&rec, "test_00001", 2);
        let junit = tmp.path().join("w.xml");
        let md = tmp.path().join("w.md");
        let child = Command::new(env!("CARGO_BIN_EXE_verify"))
            .args([
                "watch",
                "--dir",
                rec.to_str().unwrap(),
                "--expect",
                "test_00001..test_00001",
            ])
            .args(["--junit", junit.to_str().unwrap(), "--markdown", md.to_str().unwrap()])
            .args(["--format", "json", "--summary-interval", "1s"])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "SIG{signal}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: GateReport = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("SIG{signal}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(report.seq.as_ref().map(|s| s.summary.segments), Some(2), "SIG{signal}");
        assert!(
            fs::read_to_string(&junit).unwrap().contains("<testsuites"),
            "SIG{signal}"
        );
        assert!(fs::metadata(&md).unwrap().len() > 0, "SIG{signal}");
    }
}
