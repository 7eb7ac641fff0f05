//! `verify watch` and `verify gate` are one fold: the same inputs give the
//! same report; nothing followed is lost when files go away; each log keeps
//! the role it was given; hostile inputs stay bounded.

mod support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{fixtures, verify};

fn append(p: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().create(true).append(true).open(p).unwrap();
    f.write_all(bytes).unwrap();
}

fn login_line(id: &str, sec: u32, ip: &str) -> String {
    format!(
        "[2025-11-23 18:{:02}:{:02} +0800] [7] [INFO] 登录成功 student_id={id} exam_id=30 ip={ip}\n",
        sec / 60,
        sec % 60
    )
}

fn watch(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_verify"))
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

/// The same inputs, left in place: `watch` ends with the JSON `gate` gives.
#[test]
fn watch_and_gate_give_byte_identical_reports_on_the_same_inputs() {
    let t = fixtures().join("logs/target");
    let (g1, g2) = (t.join("gunicorn_access.log.1"), t.join("gunicorn_access.log"));
    let (c1, c2) = (t.join("celery_worker_merge.log.1"), t.join("celery_worker_merge.log"));
    let dir = t.join("server_data");
    let common = [
        "--log",
        g1.to_str().unwrap(),
        g2.to_str().unwrap(),
        "--celery-log",
        c1.to_str().unwrap(),
        c2.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
        "--expect",
        "test_00001..test_00010",
        "--format",
        "json",
    ];
    let gate = verify(&[&["gate"], &common[..]].concat());
    let live = finish(
        watch(&[&common[..], &["--duration", "1s"]].concat()),
        Duration::from_secs(60),
    );
    let live_out = String::from_utf8(live.stdout).unwrap();
    assert!(gate.stdout.len() > 1000, "{}", gate.stdout);
    assert_eq!(live_out, gate.stdout, "watch's report is the gate's, byte for byte");
    assert_eq!(live.status.code(), Some(gate.code));
}

/// A log deleted and recreated five times: every line followed stays counted.
#[test]
fn lines_of_deleted_logs_stay_in_the_final_report() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("gunicorn.log");
    append(
        &log,
        b"[2025-11-23 17:59:59 +0800] [7] [INFO] Booting worker with pid: 7\n",
    );
    let child = watch(&["--log", log.to_str().unwrap(), "--duration", "4s", "--format", "json"]);
    std::thread::sleep(Duration::from_millis(600));
    let mut sec = 0;
    for round in 0..5u32 {
        for i in 0..7u32 {
            // Students 1-5 log in again in the next round, from another address,
            // 7 s later: duplicates across deleted files.
            let n = round * 5 + i + 1;
            sec += 1;
            append(&log, login_line(&format!("test_{n:05}"), sec, "10.0.0.1").as_bytes());
        }
        std::thread::sleep(Duration::from_millis(350));
        fs::remove_file(&log).unwrap();
        append(&log, b"[2025-11-23 18:30:00 +0800] [7] [INFO] reopened\n");
        std::thread::sleep(Duration::from_millis(150));
    }
    let out = finish(child, Duration::from_secs(60));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["ids"]["summary"];
    assert_eq!(s["login_events"], 35, "{s}");
    // IDs 6-7 of round r are IDs 1-2 of round r+1: 4 rounds x 2 duplicates.
    assert_eq!(s["duplicated_ids"], 8, "{s}");
    assert_eq!(s["distinct_ids"], 27, "{s}");
}

/// `--log` is gunicorn even when its first lines look like celery's.
#[test]
fn a_log_keeps_the_role_it_was_given() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("gunicorn.log");
    for i in 0..5 {
        append(
            &log,
            format!("[2025-11-23 17:59:5{i},000: INFO/MainProcess] looks like celery\n").as_bytes(),
        );
    }
    let child = watch(&["--log", log.to_str().unwrap(), "--duration", "2s", "--format", "json"]);
    std::thread::sleep(Duration::from_millis(600));
    append(&log, login_line("test_00001", 1, "10.0.0.1").as_bytes());
    append(&log, login_line("test_00001", 2, "10.0.0.2").as_bytes());
    let out = finish(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ALERT duplicate login test_00001"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed_on"], serde_json::json!(["ids:collision"]), "{v}");
}

/// `--encoding gb18030` applies to lines followed live.
#[test]
fn live_lines_are_decoded_with_the_given_encoding() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("gunicorn.log");
    append(&log, b"[2025-11-23 17:59:59 +0800] [7] [INFO] Booting worker\n");
    let child = watch(&[
        "--log",
        log.to_str().unwrap(),
        "--encoding",
        "gb18030",
        "--duration",
        "2s",
    ]);
    std::thread::sleep(Duration::from_millis(600));
    for (sec, ip) in [(1, "10.0.0.1"), (2, "10.0.0.2")] {
        let line = login_line("test_00001", sec, ip);
        let (bytes, _, _) = encoding_rs::GB18030.encode(&line);
        append(&log, &bytes);
    }
    let out = finish(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ALERT duplicate login test_00001"), "{stderr}");
    assert_eq!(out.status.code(), Some(1));
}

/// A seq far above --max-seq raises no flood of alerts, and a wide gap under
/// a raised --max-seq is one alert naming the range; --duration holds.
#[test]
fn a_huge_seq_gap_is_one_alert_and_the_watch_ends_on_time() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("recordings");
    fs::create_dir_all(rec.join("test_00001")).unwrap();
    for max_seq in ["1000000000", "100000000000000"] {
        let child = watch(&[
            "--dir",
            rec.to_str().unwrap(),
            "--grace",
            "0s",
            "--duration",
            "2s",
            "--max-seq",
            max_seq,
        ]);
        std::thread::sleep(Duration::from_millis(600));
        for seq in ["0001", "99999999999999"] {
            fs::write(
                rec.join(format!("test_00001/test_00001_20251123_180000_seq_{seq}.mp4")),
                "x",
            )
            .unwrap();
        }
        let out = finish(child, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let alerts = stderr.lines().filter(|l| l.contains("ALERT")).count();
        assert!(stderr.lines().count() < 20, "{stderr}");
        if max_seq == "1000000000" {
            assert_eq!(alerts, 0, "above --max-seq is no gap:\n{stderr}");
        } else {
            assert_eq!(alerts, 1, "{stderr}");
            assert!(stderr.contains("seq 2-99999999999998 missing"), "{stderr}");
        }
        for f in fs::read_dir(rec.join("test_00001")).unwrap() {
            fs::remove_file(f.unwrap().path()).unwrap();
        }
    }
}

/// A FIFO at a followed path is an error, not a hang.
#[test]
fn a_fifo_log_is_an_error_not_a_hang() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("gunicorn.log");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = finish(
        watch(&["--log", fifo.to_str().unwrap(), "--duration", "1s", "--format", "json"]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["ids"]["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not a regular file"),
        "{v}"
    );
}

/// Inotify watches: one per folder of the tree, none through a symbolic link
/// that leads out of it.
#[test]
fn the_tree_watch_does_not_follow_links_out_of_the_tree() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("recordings");
    fs::create_dir_all(rec.join("test_00001")).unwrap();
    let outside = d.path().join("outside");
    for i in 0..60 {
        fs::create_dir_all(outside.join(format!("d{i}"))).unwrap();
    }
    std::os::unix::fs::symlink(&outside, rec.join("test_00001/link")).unwrap();
    let child = watch(&["--dir", rec.to_str().unwrap(), "--duration", "2s"]);
    std::thread::sleep(Duration::from_millis(1000));
    let mut watches = 0;
    for fd in fs::read_dir(format!("/proc/{}/fdinfo", child.id())).unwrap() {
        let text = fs::read_to_string(fd.unwrap().path()).unwrap_or_default();
        watches += text.lines().filter(|l| l.starts_with("inotify wd:")).count();
    }
    let _ = finish(child, Duration::from_secs(30));
    assert!(watches >= 2, "the tree itself is watched ({watches} watches)");
    assert!(watches < 10, "{watches} inotify watches: the link was followed");
}

fn inotify_watches(pid: u32) -> usize {
    let mut watches = 0;
    for fd in fs::read_dir(format!("/proc/{pid}/fdinfo")).unwrap() {
        let text = fs::read_to_string(fd.unwrap().path()).unwrap_or_default();
        watches += text.lines().filter(|l| l.starts_with("inotify wd:")).count();
    }
    watches
}

/// With --follow-links the tree watch does go where links lead.
#[test]
fn follow_links_extends_the_tree_watch_through_links() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("recordings");
    fs::create_dir_all(rec.join("test_00001")).unwrap();
    let outside = d.path().join("outside");
    for i in 0..20 {
        fs::create_dir_all(outside.join(format!("d{i}"))).unwrap();
    }
    std::os::unix::fs::symlink(&outside, rec.join("test_00001/link")).unwrap();
    let child = watch(&["--dir", rec.to_str().unwrap(), "--duration", "2s", "--follow-links"]);
    std::thread::sleep(Duration::from_millis(1000));
    let watches = inotify_watches(child.id());
    let _ = finish(child, Duration::from_secs(30));
    assert!(watches > 20, "{watches} inotify watches");
}

/// Thirty rotations, ten of each kind, while logins are written: the final
/// JSON counts every login once and names exactly the injected duplicates and
/// gaps.
#[test]
fn rotation_of_every_kind_loses_and_repeats_nothing() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("gunicorn.log");
    let rec = d.path().join("recordings");
    fs::create_dir_all(&rec).unwrap();
    append(&log, b"[2025-11-23 17:59:59 +0800] [7] [INFO] Booting worker\n");
    let child = watch(&[
        "--log",
        log.to_str().unwrap(),
        "--dir",
        rec.to_str().unwrap(),
        "--tick",
        "50ms",
        "--duration",
        "14s",
        "--format",
        "json",
    ]);
    std::thread::sleep(Duration::from_millis(600));
    let (mut logins, mut sec, mut dups) = (0, 0, Vec::new());
    for round in 0..30u32 {
        for i in 0..4u32 {
            let n = round * 4 + i + 1;
            sec += 1;
            append(&log, login_line(&format!("test_{n:05}"), sec, "10.0.0.1").as_bytes());
            logins += 1;
        }
        if round % 7 == 3 {
            // The round's first student again, 4 s later, elsewhere: a collision.
            let id = format!("test_{:05}", round * 4 + 1);
            append(&log, login_line(&id, sec, "10.0.0.99").as_bytes());
            logins += 1;
            dups.push(id);
        }
        if round % 10 == 5 {
            // A student uploads seq 1 and 3: seq 2 is a gap.
            let id = format!("test_{:05}", round * 4 + 2);
            fs::create_dir_all(rec.join(&id)).unwrap();
            for s in [1, 3] {
                fs::write(
                    rec.join(&id).join(format!("{id}_20251123_1800{s:02}_seq_{s:04}.mp4")),
                    "x",
                )
                .unwrap();
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        // As logrotate with dateext: each rotation gets a name of its own.
        let rotated = d.path().join(format!("gunicorn.log.{round}"));
        match round % 3 {
            0 => fs::rename(&log, rotated).unwrap(),
            1 => {
                fs::copy(&log, rotated).unwrap();
                OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
            }
            _ => fs::remove_file(&log).unwrap(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = finish(child, Duration::from_secs(90));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids = &v["ids"];
    assert_eq!(ids["summary"]["login_events"], logins, "{}", ids["summary"]);
    let mut found: Vec<String> = ids["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    found.sort();
    assert_eq!(found, dups);
    assert!(
        ids["duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["kind"] == "collision")
    );
    let gaps: Vec<(String, serde_json::Value)> = v["seq"]["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s["gaps"].clone()))
        .collect();
    assert_eq!(
        gaps,
        [
            ("test_00022".to_string(), serde_json::json!([[2, 2]])),
            ("test_00062".to_string(), serde_json::json!([[2, 2]])),
            ("test_00102".to_string(), serde_json::json!([[2, 2]])),
        ]
    );
}

/// Many alerts at once: at most --max-alerts-per-second lines, the rest
/// counted; the final report still has every gap.
#[test]
fn alerts_are_capped_per_second_with_a_count_of_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("recordings");
    fs::create_dir_all(&rec).unwrap();
    let child = watch(&[
        "--dir",
        rec.to_str().unwrap(),
        "--grace",
        "0s",
        "--duration",
        "3s",
        "--max-alerts-per-second",
        "5",
        "--format",
        "json",
    ]);
    std::thread::sleep(Duration::from_millis(600));
    for n in 1..=30 {
        let id = format!("test_{n:05}");
        fs::create_dir_all(rec.join(&id)).unwrap();
        for s in [1, 3] {
            fs::write(
                rec.join(&id).join(format!("{id}_20251123_1800{s:02}_seq_{s:04}.mp4")),
                "x",
            )
            .unwrap();
        }
    }
    let out = finish(child, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = stderr.lines().filter(|l| l.contains("ALERT gap confirmed")).count();
    let held: u64 = stderr
        .lines()
        .filter_map(|l| {
            l.split("] ")
                .nth(1)?
                .strip_suffix(" more alert(s) held back (over --max-alerts-per-second; all are in the final report)")
        })
        .map(|n| n.parse::<u64>().unwrap())
        .sum();
    assert!(shown <= 15, "at most 5 a second over 3 s: {shown}\n{stderr}");
    assert_eq!(shown as u64 + held, 30, "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["seq"]["summary"]["findings"]["gap"], 30, "{}", v["seq"]["summary"]);
}

/// `--log 'gunicorn.log*'`: the sibling a rotation renames onto is not read
/// a second time.
#[test]
fn a_glob_over_rotated_siblings_reads_each_line_once() {
    let d = tempfile::tempdir().unwrap();
    let (log, old) = (d.path().join("gunicorn.log"), d.path().join("gunicorn.log.1"));
    append(&old, login_line("test_00001", 1, "10.0.0.1").as_bytes());
    append(&log, login_line("test_00002", 2, "10.0.0.1").as_bytes());
    let glob = format!("{}*", log.display());
    let child = watch(&["--log", &glob, "--duration", "2s", "--format", "json"]);
    std::thread::sleep(Duration::from_millis(600));
    append(&log, login_line("test_00003", 3, "10.0.0.1").as_bytes());
    std::thread::sleep(Duration::from_millis(300));
    fs::rename(&log, &old).unwrap();
    append(&log, login_line("test_00004", 4, "10.0.0.1").as_bytes());
    let out = finish(child, Duration::from_secs(30));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ids"]["summary"]["login_events"], 4, "{}", v["ids"]["summary"]);
    assert_eq!(v["ids"]["summary"]["duplicated_ids"], 0);
}

/// A ledger is followed like a log: what the client wrote during the watch
/// is reconciled with the tree in the final report.
#[test]
fn a_followed_ledger_is_reconciled_in_the_final_report() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("recordings");
    fs::create_dir_all(rec.join("test_00001")).unwrap();
    let ledger = d.path().join("ledger.ndjson");
    append(
        &ledger,
        br#"{"kind":"run","v":1,"tool":"loadgen","host":"h","scenario":"s","task":null,"started_unix_ms":1}
"#,
    );
    let child = watch(&[
        "--dir",
        rec.to_str().unwrap(),
        "--ledger",
        ledger.to_str().unwrap(),
        "--duration",
        "2s",
        "--format",
        "json",
    ]);
    std::thread::sleep(Duration::from_millis(600));
    for seq in 1..=3u64 {
        let line = format!(
            "{{\"kind\":\"upload\",\"student\":\"test_00001\",\"seq\":{seq},\"attempt\":1,\"planned_ms\":0,\"start_ms\":0,\"end_ms\":1,\"bytes_sent\":1,\"file\":null,\"file_size\":1,\"status\":200,\"failure\":null}}\n"
        );
        append(&ledger, line.as_bytes());
        if seq != 2 {
            fs::write(
                rec.join(format!("test_00001/test_00001_20251123_18000{seq}_seq_{seq:04}.mp4")),
                "x",
            )
            .unwrap();
        }
    }
    append(&ledger, b"{\"kind\":\"end\",\"records\":5}\n");
    let out = finish(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = &v["cross"]["ledger"]["rows"];
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["kind"], "acked_missing");
    assert_eq!(rows[0]["seqs"], serde_json::json!([[2, 2]]));
    assert!(
        rows[0]["record"].as_str().unwrap().ends_with("ledger.ndjson:3"),
        "{rows}"
    );
    assert_eq!(v["cross"]["ledger"]["files"][0]["complete"], true);
}

/// Issue 27 item 1 in `watch`: a logout followed live ends the session, so
/// the student's next login 25 s later raises no duplicate-login alert and
/// ends as a relogin; a login from elsewhere while a session is open does.
#[test]
fn watch_reads_logouts_live_and_alerts_only_overlaps() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("gunicorn_error.log");
    fs::write(&g, "").unwrap();
    let gs = g.display().to_string();
    let child = watch(&["--log", &gs, "--duration", "3s", "--tick", "50ms", "--format", "json"]);
    std::thread::sleep(Duration::from_millis(800));
    append(&g, login_line("test_00001", 0, "10.0.0.1").as_bytes());
    append(
        &g,
        "学生登出: ID=test_00001, 考试=30, 时间=2025-11-23 18:00:20\n".as_bytes(),
    );
    append(&g, login_line("test_00001", 45, "10.0.0.1").as_bytes());
    append(&g, login_line("test_00002", 50, "10.0.0.2").as_bytes());
    append(&g, login_line("test_00002", 52, "10.0.0.3").as_bytes());
    let out = finish(child, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("duplicate login test_00001"), "{stderr}");
    assert!(stderr.contains("ALERT duplicate login test_00002"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ids"]["summary"]["relogins"], 1, "{v}");
    assert_eq!(v["ids"]["summary"]["logout_events"], 1);
    assert_eq!(v["ids"]["summary"]["collisions"], 1);
}
