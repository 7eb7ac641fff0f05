//! `verify ids` end to end: the real binary on fixture logs and on logs made
//! bad on purpose (encodings, NULs, huge lines, truncated gzip, stdin).

mod support;

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use support::{fixtures, verify};
use verify::report::ids::{IdsKind, IdsReport};

fn log_fixture(name: &str) -> String {
    fixtures().join("logs").join(name).display().to_string()
}

fn json(args: &[&str]) -> (i32, IdsReport, String) {
    let mut all = vec!["ids", "--format", "json"];
    all.extend_from_slice(args);
    let run = verify(&all);
    let report: IdsReport = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON does not parse into the strict types: {e}\n{}\n{}",
            run.stdout, run.stderr
        )
    });
    (run.code, report, run.stderr)
}

/// The fixture as GB18030 bytes, as a server with a Chinese locale writes it.
fn gb18030_fixture() -> Vec<u8> {
    let text = fs::read_to_string(log_fixture("gunicorn_access.log")).unwrap();
    encoding_rs::GB18030.encode(&text).0.into_owned()
}

#[test]
fn fixture_log_duplicates_missing_and_malformed_exactly() {
    let (code, r, _) = json(&[
        "--log",
        &log_fixture("gunicorn_access.log"),
        "--expect",
        "test_00001..test_00006",
    ]);
    assert_eq!(code, 1);
    assert_eq!(r.schema, "verify.ids/1");
    assert_eq!(r.failed_on, [IdsKind::Collision, IdsKind::Missing]);
    let s = &r.summary;
    assert_eq!(
        (s.lines, s.login_events, s.distinct_ids, s.continuation_lines),
        (23, 7, 5, 1)
    );
    let dups: Vec<(&str, IdsKind, u64)> = r.duplicates.iter().map(|d| (d.id.as_str(), d.kind, d.count)).collect();
    assert_eq!(
        dups,
        [
            ("test_00003", IdsKind::Collision, 2),
            ("test_00004", IdsKind::Relogin, 2)
        ]
    );
    let ev = &r.duplicates[0].events;
    assert_eq!((ev[0].line, ev[1].line), (9, 12));
    assert_eq!(ev[0].time.as_deref(), Some("2025-11-23 18:00:03 +0800"));
    assert_eq!(
        (ev[0].source.as_deref(), ev[1].source.as_deref()),
        (Some("127.0.0.2"), Some("127.0.0.3"))
    );
    assert_eq!(r.missing, ["test_00006"]);
    assert_eq!((r.malformed.count, r.malformed.samples[0].line), (1, 23));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn window_and_fail_on_change_the_verdict() {
    let log = log_fixture("gunicorn_access.log");
    // A window of one second makes the 2 s pair a relogin too; relogins do not fail by default.
    let (code, r, _) = json(&["--log", &log, "--window", "1s"]);
    assert_eq!((code, r.summary.collisions, r.summary.relogins), (0, 0, 2));
    let (code, r, _) = json(&["--log", &log, "--window", "1h", "--fail-on", "+relogin,+malformed"]);
    assert_eq!((code, r.summary.collisions), (1, 2));
    assert_eq!(r.failed_on, [IdsKind::Collision, IdsKind::Malformed]);
}

#[test]
fn table_output_names_both_sources_of_a_collision() {
    let run = verify(&["ids", "--log", &log_fixture("gunicorn_access.log"), "--limit", "0"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("from two different sources, 127.0.0.2 and 127.0.0.3"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("FAIL on collision"), "{}", run.stdout);
    assert!(!run.stdout.contains("│ exam"), "log audits have no exam column");
}

#[test]
fn access_only_log_suggests_the_error_log() {
    let (code, r, _) = json(&["--log", &log_fixture("access_only.log")]);
    // Login requests and not one login: a failing finding of its own.
    assert_eq!((code, r.summary.login_events), (1, 0));
    assert_eq!(r.failed_on, [IdsKind::LoginRequestsOnly]);
    assert!(
        r.warnings.iter().any(|w| w.contains("2 of them POST /api/login")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn gb18030_logs_need_the_right_encoding_and_auto_finds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("gbk.log");
    fs::write(&path, gb18030_fixture()).unwrap();
    let p = path.to_str().unwrap();
    // Each line is read in the encoding it is in: `--encoding utf-8` on a
    // GB18030 log still finds its logins, and says the lines are GB18030.
    let (_, utf8, _) = json(&["--log", p, "--encoding", "utf-8"]);
    let s = &utf8.summary;
    assert_eq!((s.login_events, s.duplicated_ids, s.undecodable_lines), (7, 2, 0));
    assert_eq!(utf8.files[0].encoding, "utf-8");
    assert!(s.mixed_encoding_lines >= 7, "{s:?}");
    assert!(
        utf8.warnings.iter().any(|w| w.contains("mixes encodings")),
        "{:?}",
        utf8.warnings
    );
    let (_, explicit, _) = json(&["--log", p, "--encoding", "gb18030"]);
    let (_, auto, _) = json(&["--log", p, "--encoding", "auto"]);
    for r in [&explicit, &auto] {
        assert_eq!(
            (
                r.summary.login_events,
                r.summary.duplicated_ids,
                r.summary.undecodable_lines,
                r.summary.mixed_encoding_lines
            ),
            (7, 2, 0, 0)
        );
        assert_eq!(r.files[0].encoding, "gb18030");
    }
    assert!(
        auto.warnings.iter().any(|w| w.contains("encoding detected as gb18030")),
        "{:?}",
        auto.warnings
    );
}

#[test]
fn nul_prefix_huge_line_invalid_bytes_and_empty_file_do_not_shift_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = fs::read(log_fixture("gunicorn_access.log")).unwrap();
    // copytruncate of a file written without O_APPEND: a run of NULs, then lines.
    let mut nul = vec![0u8; 3 << 20];
    nul.extend_from_slice(&fixture);
    fs::write(tmp.path().join("nul.log"), &nul).unwrap();
    // A 10 MB line and invalid bytes in the middle of the file.
    let mut messy = fixture.clone();
    messy.extend_from_slice(&vec![b'x'; 10 << 20]);
    messy.extend_from_slice(b"\n\xff\xfe broken bytes ");
    messy.extend_from_slice("登录成功 test_00077\n".as_bytes());
    messy.extend_from_slice(&fixture);
    fs::write(tmp.path().join("messy.log"), &messy).unwrap();
    fs::write(tmp.path().join("empty.log"), b"").unwrap();

    let (_, r, _) = json(&["--log", tmp.path().join("nul.log").to_str().unwrap()]);
    assert_eq!((r.summary.lines, r.summary.login_events), (23, 7));
    assert_eq!(r.files[0].leading_nul_bytes, 3 << 20);
    assert!(r.warnings.iter().any(|w| w.contains("NUL bytes")), "{:?}", r.warnings);
    assert_eq!(r.duplicates[0].events[0].line, 9, "NULs are not lines");

    let (_, r, _) = json(&["--log", tmp.path().join("messy.log").to_str().unwrap()]);
    assert_eq!(r.summary.lines, 23 + 2 + 23);
    assert_eq!(r.summary.login_events, 7 + 1 + 7);
    assert_eq!(r.summary.undecodable_lines, 1);
    let far = r.duplicates.iter().find(|d| d.id == "test_00001").unwrap();
    assert_eq!(far.events.iter().map(|e| e.line).collect::<Vec<_>>(), [5, 30]);

    let (code, r, _) = json(&["--log", tmp.path().join("empty.log").to_str().unwrap()]);
    assert_eq!((code, r.summary.lines, r.summary.login_events), (0, 0, 0));
}

#[test]
fn gzip_rotations_globs_and_truncated_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = fs::read(log_fixture("gunicorn_access.log")).unwrap();
    fs::write(tmp.path().join("gunicorn_access.log"), &fixture).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&fixture.repeat(40)).unwrap();
    let gz = gz.finish().unwrap();
    fs::write(tmp.path().join("gunicorn_access.log.2.gz"), &gz).unwrap();
    let glob = format!("{}/gunicorn_access.log*", tmp.path().display());
    let (code, r, _) = json(&["--log", &glob]);
    assert_eq!(code, 1);
    assert_eq!(r.summary.files, 2);
    assert_eq!(r.summary.lines, 23 * 41);
    assert_eq!(r.summary.login_events, 7 * 41);

    fs::write(tmp.path().join("cut.log.gz"), &gz[..gz.len() / 2]).unwrap();
    let (code, r, _) = json(&["--log", tmp.path().join("cut.log.gz").to_str().unwrap()]);
    assert_eq!(code, 2, "an incomplete read is an I/O error");
    assert_eq!(r.verdict, "error");
    assert!(r.errors[0].error.contains("read stopped after"), "{:?}", r.errors);
    assert!(r.summary.lines > 0, "the part before the damage is still counted");

    let missing = json(&["--log", &format!("{}/nothing-*.log", tmp.path().display())]);
    assert_eq!(missing.0, 2);
    assert_eq!(missing.1.errors[0].error, "no file matches this pattern");
}

#[test]
fn reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(["ids", "--log", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&fs::read(log_fixture("gunicorn_access.log")).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let r: IdsReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), r.summary.login_events, r.files[0].path.as_str()),
        (Some(1), 7, "-")
    );
}

#[test]
fn custom_pattern_reads_ids_from_request_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("access.log");
    fs::write(
        &log,
        "10.0.0.1 - - [23/Nov/2025:18:00:01 +0800] \"POST /api/login?sid=test_00001 HTTP/1.1\" 200 5\n\
         10.0.0.2 - - [23/Nov/2025:18:00:02 +0800] \"POST /api/login?sid=test_00001 HTTP/1.1\" 200 5\n\
         10.0.0.2 - - [23/Nov/2025:18:00:03 +0800] \"POST /api/upload?sid=test_00001 HTTP/1.1\" 200 5\n",
    )
    .unwrap();
    let (code, r, _) = json(&[
        "--log",
        log.to_str().unwrap(),
        "--pattern",
        r#"^(?P<source>\S+) .*"POST /api/login\?sid=(?P<id>test_\d+)"#,
    ]);
    assert_eq!((code, r.summary.login_events), (1, 2));
    assert_eq!(r.duplicates[0].kind, IdsKind::Collision);
    assert_eq!(r.duplicates[0].events[1].source.as_deref(), Some("10.0.0.2"));
    let bad = verify(&["ids", "--log", log.to_str().unwrap(), "--pattern", "test_\\d+"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("named group `id`"), "{}", bad.stderr);
}

/// Real lines from real gunicorn (fixtures/logs/target, scripts/target-capture.sh),
/// across a rotation: the formats the parser assumes are the ones gunicorn writes.
#[test]
fn real_gunicorn_logs_from_the_reference_target() {
    let dir = fixtures().join("logs/target");
    let glob = format!("{}/gunicorn_access.log*", dir.display());
    let (code, r, _) = json(&["--log", &glob, "--expect", "test_00001..test_00009"]);
    assert_eq!(code, 1);
    assert_eq!(r.summary.files, 2);
    assert_eq!(
        (r.summary.login_events, r.summary.distinct_ids, r.summary.malformed),
        (10, 9, 0)
    );
    assert!(r.missing.is_empty() && r.unexpected.is_empty());
    assert_eq!(r.duplicates.len(), 1);
    let d = &r.duplicates[0];
    assert_eq!((d.id.as_str(), d.kind, d.count), ("test_00005", IdsKind::Collision, 2));
    let sources: Vec<&str> = d.events.iter().filter_map(|e| e.source.as_deref()).collect();
    assert_eq!(sources, ["10.0.0.51", "10.0.0.52"]);
    assert!(
        d.events
            .iter()
            .all(|e| e.time.as_deref().is_some_and(|t| t.ends_with("+0000")))
    );
    // Access lines and login lines share the file: no "wrong file" warning.
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

/// Issue 27 item 1: two runs on one target. The first run's students logged
/// out (the real server's print, local time without a zone) and logged in
/// again 25 s later: relogins with the time between, never collisions. A
/// student logged in from two clients with no logout between collides, and
/// the evidence says so in words. The gate reads the same.
#[test]
fn logouts_end_sessions_so_a_second_run_is_relogins() {
    let d = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for (t, id) in [(0, 1), (1, 2), (2, 3)] {
        log.push_str(&format!(
            "[2025-11-23 18:00:0{t} +0800] [42] [INFO] 登录成功 student_id=test_0000{id} exam_id=1 ip=127.0.0.1\n"
        ));
    }
    for id in 1..=3 {
        log.push_str(&format!(
            "学生登出: ID=test_0000{id}, 考试=1, 时间=2025-11-23 18:00:20\n"
        ));
    }
    for id in 1..=3 {
        log.push_str(&format!(
            "[2025-11-23 18:00:45 +0800] [43] [INFO] 登录成功 student_id=test_0000{id} exam_id=2 ip=127.0.0.1\n"
        ));
    }
    log.push_str("[2025-11-23 18:06:00 +0800] [43] [INFO] 登录成功 student_id=test_00009 exam_id=2 ip=10.0.0.1\n");
    log.push_str("[2025-11-23 18:06:04 +0800] [42] [INFO] 登录成功 student_id=test_00009 exam_id=2 ip=10.0.0.2\n");
    log.push_str("学生登出处理异常: test_00009\n");
    let path = d.path().join("gunicorn_error.log");
    fs::write(&path, log).unwrap();
    let p = path.display().to_string();
    let (code, r, err) = json(&["--log", &p]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(r.failed_on, [IdsKind::Collision]);
    assert_eq!((r.summary.login_events, r.summary.logout_events), (8, 3));
    let kinds: Vec<(&str, IdsKind)> = r.duplicates.iter().map(|d| (d.id.as_str(), d.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("test_00001", IdsKind::Relogin),
            ("test_00002", IdsKind::Relogin),
            ("test_00003", IdsKind::Relogin),
            ("test_00009", IdsKind::Collision)
        ]
    );
    let relogin = &r.duplicates[0];
    assert!(
        relogin.evidence.contains("logged out at 2025-11-23 18:00:20")
            && relogin.evidence.contains("logged in again 25 s later"),
        "{}",
        relogin.evidence
    );
    assert_eq!(relogin.logouts.len(), 1);
    let c = &r.duplicates[3].evidence;
    assert!(
        c.contains("4 s apart with no logout between: overlapping sessions")
            && c.contains("from two different sources, 10.0.0.1 and 10.0.0.2"),
        "{c}"
    );
    // --logout-event '' reads no logouts: logins 45 s apart collide, as they
    // all did before logouts were read.
    let (_, old, _) = json(&["--log", &p, "--logout-event", ""]);
    assert_eq!(old.summary.collisions, 4);
    let gate = verify(&["gate", "--log", &p, "--format", "json"]);
    let g: serde_json::Value = serde_json::from_str(&gate.stdout).unwrap();
    assert_eq!(g["ids"]["summary"]["relogins"], 3, "{}", gate.stdout);
    assert_eq!(g["ids"]["summary"]["collisions"], 1);
}

/// Issue 26 item 5: an access log with `POST /api/login` requests and no
/// login event says why and what to do, and fails even with --allow-empty.
#[test]
fn an_access_log_of_login_requests_says_where_the_logins_are() {
    let log = log_fixture("access_only.log");
    let (code, r, _) = json(&["--log", &log, "--allow-empty"]);
    assert_eq!(code, 1);
    assert_eq!(r.failed_on, [IdsKind::LoginRequestsOnly]);
    assert_eq!(r.summary.login_requests_sampled, 2);
    let text = verify(&["ids", "--log", &log, "--color", "never"]);
    assert_eq!(text.code, 1);
    for words in [
        "print() output",
        "--capture-output",
        "--error-logfile",
        "--db mysql://",
        "--ledger",
    ] {
        assert!(text.stdout.contains(words), "{words}: {}", text.stdout);
    }
}

/// One worker's ledger: a run section whose logins (and logouts) are given
/// as (student, ms since the run started, logout ms).
fn ledger(path: &std::path::Path, started: u64, students: &[(&str, u64, Option<u64>)]) {
    use common::ledger::Record;
    let mut out = Vec::new();
    let mut recs = vec![Record::Run {
        v: common::ledger::VERSION,
        tool: "loadgen".into(),
        host: "http://127.0.0.1:5000".into(),
        scenario: "built-in".into(),
        task: Some("recording".into()),
        started_unix_ms: started,
    }];
    for &(s, at, out_at) in students {
        recs.push(Record::Login {
            student: s.into(),
            exam: Some("1".into()),
            attempt: 1,
            start_ms: at,
            end_ms: at + 20,
            status: Some(200),
            failure: None,
            answer: Default::default(),
        });
        if let Some(o) = out_at {
            recs.push(Record::Logout {
                student: s.into(),
                exam: Some("1".into()),
                attempt: 1,
                start_ms: o,
                end_ms: o + 5,
                status: Some(200),
                failure: None,
                answer: Default::default(),
            });
        }
    }
    let n = recs.len() as u64 + 1;
    recs.push(Record::End { records: n });
    for r in recs {
        r.write_line(&mut out).unwrap();
    }
    fs::write(path, out).unwrap();
}

/// Issue 26 item 5: `verify ids --ledger` names a student logged in by two
/// workers with both records; one worker's login after its logout is a
/// relogin; `gate --ledger` fails on the collision too.
#[test]
fn ledgers_name_an_id_logged_in_by_two_workers() {
    let d = tempfile::tempdir().unwrap();
    let (w0, w1) = (d.path().join("w0.ndjson"), d.path().join("w1.ndjson"));
    let t0 = 1_764_892_800_000;
    ledger(
        &w0,
        t0,
        &[
            ("test_00001", 0, Some(60_000)),
            ("test_00002", 10, Some(5_000)),
            ("test_00002", 9_000, None),
        ],
    );
    ledger(&w1, t0 + 30_000, &[("test_00001", 0, None)]);
    let (a, b) = (w0.display().to_string(), w1.display().to_string());
    let (code, r, err) = json(&["--ledger", &a, &b]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(r.failed_on, [IdsKind::Collision]);
    let got: Vec<(&str, IdsKind)> = r.duplicates.iter().map(|d| (d.id.as_str(), d.kind)).collect();
    assert_eq!(
        got,
        [("test_00001", IdsKind::Collision), ("test_00002", IdsKind::Relogin)]
    );
    let c = &r.duplicates[0];
    let at: Vec<String> = c.events.iter().map(|e| format!("{}:{}", e.file, e.line)).collect();
    assert_eq!(at, [format!("{a}:2"), format!("{b}:2")]);
    assert!(
        c.evidence.contains(&format!("two different sources, {a} and {b}")),
        "{}",
        c.evidence
    );
    assert_eq!(
        (r.summary.files, r.summary.login_events, r.summary.logout_events),
        (2, 4, 2)
    );
    // The gate fails on it beside the server's log, which shows no collision.
    let log = d.path().join("g.log");
    fs::write(
        &log,
        "[2025-12-05 00:00:00 +0000] [1] [INFO] 登录成功 student_id=test_00001 ip=127.0.0.1\n\
         [2025-12-05 00:00:00 +0000] [1] [INFO] 登录成功 student_id=test_00002 ip=127.0.0.1\n",
    )
    .unwrap();
    let gate = verify(&[
        "gate",
        "--log",
        log.to_str().unwrap(),
        "--ledger",
        &a,
        &b,
        "--format",
        "json",
    ]);
    assert_eq!(gate.code, 1, "{}", gate.stderr);
    let g: serde_json::Value = serde_json::from_str(&gate.stdout).unwrap();
    let failed = g["failed_on"].as_array().unwrap();
    assert!(failed.iter().any(|k| k == "cross:ledger_collision"), "{failed:?}");
    let rows = g["cross"]["ledger"]["rows"].as_array().unwrap();
    let row = rows.iter().find(|r| r["kind"] == "ledger_collision").unwrap();
    assert_eq!(row["id"], "test_00001");
    assert!(row["detail"].as_str().unwrap().contains(&format!("{b}:2")), "{row}");
}

/// The real server's captured print output: logouts, and no login line at
/// all. The finding says so and where the logins are.
#[test]
fn logouts_without_a_single_login_point_at_the_database() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("gunicorn_error.log");
    fs::write(
        &p,
        "录屏上传成功: test_00001_20251123_180000_seq_1.mp4 (6291456 bytes)\n\
         学生登出: ID=test_00001, 考试=3, 时间=2025-11-23 18:05:00\n",
    )
    .unwrap();
    let run = verify(&["ids", "--log", p.to_str().unwrap(), "--color", "never"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("1 logout(s) and not one login event") && run.stdout.contains("--db mysql://"),
        "{}",
        run.stdout
    );
}

/// `gate --merge` reclassifies over every server's logins with their
/// logouts: a student who logged out on one server and in on another 25 s
/// later is a relogin, not a collision.
#[test]
fn merged_gate_reports_keep_the_logouts() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.log");
    let b = d.path().join("b.log");
    fs::write(
        &a,
        "[2025-11-23 18:00:00 +0800] [1] [INFO] 登录成功 student_id=test_00001 ip=10.0.0.1\n\
         学生登出: ID=test_00001, 考试=1, 时间=2025-11-23 18:00:20\n",
    )
    .unwrap();
    fs::write(
        &b,
        "[2025-11-23 18:00:45 +0800] [1] [INFO] 登录成功 student_id=test_00001 ip=10.0.0.1\n",
    )
    .unwrap();
    let mut reports = Vec::new();
    for (log, name) in [(&a, "a.json"), (&b, "b.json")] {
        let r = verify(&["gate", "--log", log.to_str().unwrap(), "--format", "json"]);
        let path = d.path().join(name);
        fs::write(&path, r.stdout).unwrap();
        reports.push(path.display().to_string());
    }
    let m = verify(&["gate", "--merge", &reports[0], &reports[1], "--format", "json"]);
    assert_eq!(m.code, 0, "{}{}", m.stdout, m.stderr);
    let v: serde_json::Value = serde_json::from_str(&m.stdout).unwrap();
    assert_eq!(v["ids"]["summary"]["relogins"], 1, "{}", v["ids"]);
    assert_eq!(v["ids"]["summary"]["logout_events"], 1);
}
