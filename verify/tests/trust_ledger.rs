//! Issue 24, the ledger reader: `verify gate --ledger` must never pass on a
//! ledger it cannot hold against the server (several exams, a file that is no
//! ledger, unsequenced uploads, overlong lines). Each test builds its tree and
//! ledger in a temp dir and runs the real binary (`VERIFY_BIN` overrides it,
//! to run these against an older build).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::ledger::Record;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn bin() -> String {
    std::env::var("VERIFY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_verify").to_string())
}

fn verify(args: &[&str]) -> Run {
    let out = Command::new(bin()).args(args).env("NO_COLOR", "1").output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: exit {} {} {}", r.code, r.stdout, r.stderr))
}

/// A segment file of `size` bytes under `server_data/<exam>/recordings/<id>/`.
fn segment(root: &Path, exam: &str, id: &str, seq: Option<u64>, size: usize) {
    let dir = root.join(exam).join("recordings").join(id);
    fs::create_dir_all(&dir).unwrap();
    let name = match seq {
        Some(q) => format!("{id}_20251123_1800{:02}_seq_{q:04}.mp4", q % 60),
        None => format!("{id}_20251123_1801{:02}.mp4", size % 60),
    };
    fs::write(dir.join(name), vec![b'x'; size]).unwrap();
}

fn run_record(v: u32) -> Record {
    Record::Run {
        v,
        tool: "loadgen".into(),
        host: "h".into(),
        scenario: "s".into(),
        task: Some("recording".into()),
        started_unix_ms: 1,
    }
}

fn upload(id: &str, exam: Option<&str>, seq: Option<u64>, size: u64) -> Record {
    Record::Upload {
        student: id.into(),
        exam: exam.map(Into::into),
        seq,
        attempt: 1,
        planned_ms: 0,
        start_ms: 0,
        end_ms: 1,
        bytes_sent: size + 100,
        recorded_ms: None,
        file: None,
        file_size: size,
        status: Some(200),
        failure: None,
        answer: Default::default(),
    }
}

fn lines(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        r.write_line(&mut out).unwrap();
    }
    out
}

/// A whole ledger section: `run`, the records, `end`.
fn ledger(path: &Path, v: u32, records: &[Record]) -> String {
    let mut all = vec![run_record(v)];
    all.extend_from_slice(records);
    all.push(Record::End {
        records: records.len() as u64 + 2,
    });
    fs::write(path, lines(&all)).unwrap();
    path.display().to_string()
}

fn kinds(v: &serde_json::Value) -> Vec<String> {
    v["cross"]["ledger"]["rows"]
        .as_array()
        .map(|a| a.iter().map(|r| r["kind"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Item 2: an upload acknowledged in exam 31 and lost is not "found" in an
/// older exam's folder of the same student with the same seq and size.
#[test]
fn several_exams_do_not_hide_an_acknowledged_loss() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    for q in 1..=2 {
        segment(&sd, "30", "test_00001", Some(q), 10);
    }
    segment(&sd, "31", "test_00001", Some(1), 10);
    let l = ledger(
        &d.path().join("l.ndjson"),
        2,
        &[
            upload("test_00001", Some("31"), Some(1), 10),
            upload("test_00001", Some("31"), Some(2), 10),
        ],
    );
    for dir in [sd.clone(), sd.join("31"), sd.join("31/recordings")] {
        let r = verify(&["gate", "--dir", &p(&dir), "--ledger", &l, "--format", "json"]);
        assert_eq!(r.code, 1, "--dir {}: {}", dir.display(), r.stdout);
        let v = json(&r);
        assert_eq!(kinds(&v), ["acked_missing"], "{}", v["cross"]["ledger"]);
        assert_eq!(v["cross"]["ledger"]["rows"][0]["seqs"], serde_json::json!([[2, 2]]));
    }
}

/// Item 2: a ledger without exams meets several exams: refused, naming the
/// `--dir`s to give; one exam's folder is then accepted.
#[test]
fn a_ledger_without_exams_and_several_exams_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    segment(&sd, "30", "test_00001", Some(1), 10);
    segment(&sd, "31", "test_00001", Some(2), 10);
    let l = ledger(
        &d.path().join("l.ndjson"),
        1,
        &[
            upload("test_00001", None, Some(1), 10),
            upload("test_00001", None, Some(2), 10),
        ],
    );
    let r = verify(&["gate", "--dir", &p(&sd), "--ledger", &l]);
    assert_eq!(r.code, 2, "{} {}", r.stdout, r.stderr);
    for exam in ["30", "31"] {
        assert!(
            r.stderr.contains(&format!("--dir {}", p(&sd.join(exam)))),
            "{}",
            r.stderr
        );
    }
    let r = verify(&["gate", "--dir", &p(&sd.join("31")), "--ledger", &l, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(kinds(&json(&r)), ["acked_missing"]);
}

/// Item 3: what is no ledger of a version this build reads is refused.
#[test]
fn a_file_that_is_no_ledger_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    segment(&sd, "30", "test_00001", Some(1), 10);
    let passwd = d.path().join("passwd");
    fs::write(
        &passwd,
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n",
    )
    .unwrap();
    let v99 = ledger(
        &d.path().join("v99.ndjson"),
        99,
        &[upload("test_00001", Some("30"), Some(1), 10)],
    );
    for (file, what) in [(p(&passwd), "not a ledger"), (v99, "version 99")] {
        let r = verify(&["gate", "--dir", &p(&sd), "--ledger", &file]);
        assert_eq!(r.code, 2, "{file}: {} {}", r.stdout, r.stderr);
        assert!(r.stderr.contains(&file) && r.stderr.contains(what), "{}", r.stderr);
    }
}

/// Item 3: malformed lines (seqs as strings) and unknown kinds fail the gate,
/// with the `file:line` of the first ones.
#[test]
fn malformed_lines_and_unknown_kinds_fail() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    segment(&sd, "30", "test_00001", Some(1), 10);
    let path = d.path().join("l.ndjson");
    let good = ledger(&path, 2, &[upload("test_00001", Some("30"), Some(1), 10)]);
    let text = fs::read_to_string(&path).unwrap();
    for (bad, kind) in [
        (text.replace("\"seq\":1", "\"seq\":\"1\""), "ledger_malformed"),
        (
            text.replace("\"kind\":\"upload\"", "\"kind\":\"uplaod\""),
            "ledger_malformed",
        ),
    ] {
        fs::write(&path, bad).unwrap();
        let r = verify(&["gate", "--dir", &p(&sd), "--ledger", &good, "--format", "json"]);
        assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
        let v = json(&r);
        assert!(kinds(&v).contains(&kind.to_string()), "{}", v["cross"]["ledger"]);
        let row = &v["cross"]["ledger"]["rows"][0];
        assert_eq!(row["record"], format!("{good}:2"), "{row}");
    }
}

/// Item 3: a ledger that names none of the students the tree shows fails.
#[test]
fn a_ledger_of_other_students_fails() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    segment(&sd, "30", "test_00001", Some(1), 10);
    let l = ledger(
        &d.path().join("l.ndjson"),
        2,
        &[upload("other_9", Some("30"), Some(1), 10)],
    );
    let r = verify(&["gate", "--dir", &p(&sd), "--ledger", &l, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(kinds(&json(&r)).contains(&"ledger_unrelated".to_string()));
    let empty = ledger(&d.path().join("empty.ndjson"), 2, &[]);
    let r = verify(&["gate", "--dir", &p(&sd), "--ledger", &empty, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(kinds(&json(&r)), ["ledger_unrelated"]);
}

/// Item 6: `--no-seq` uploads (`seq: null`) are held by count and size
/// against the student's files without a seq.
#[test]
fn unsequenced_uploads_are_held_by_count_and_size() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    segment(&sd, "30", "test_00001", None, 10);
    segment(&sd, "30", "test_00001", None, 20);
    let sent = |sizes: &[u64]| -> Vec<Record> {
        sizes
            .iter()
            .map(|&n| upload("test_00001", Some("30"), None, n))
            .collect()
    };
    let l = ledger(&d.path().join("l.ndjson"), 2, &sent(&[20, 10]));
    let r = verify(&["gate", "--dir", &p(&sd), "--ledger", &l, "--format", "json"]);
    assert_eq!(kinds(&json(&r)), Vec::<String>::new(), "{}", r.stdout);
    let l = ledger(&d.path().join("l.ndjson"), 2, &sent(&[20, 10, 30]));
    let r = verify(&["gate", "--dir", &p(&sd), "--ledger", &l, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(kinds(&json(&r)), ["acked_missing"]);
}

/// A ledger whose line 2 is over the line cap (64 MiB): a lost upload on line
/// 4, and the finding says line 4.
fn overlong_ledger(path: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let head = lines(&[run_record(2)]);
    let mut long = b"{\"kind\":\"upload\",\"x\":\"".to_vec();
    long.resize((64 << 20) + 16, b'x');
    long.extend_from_slice(b"\"}\n");
    let tail = lines(&[
        upload("test_00001", Some("30"), Some(1), 10),
        upload("test_00001", Some("30"), Some(2), 10),
        Record::End { records: 5 },
    ]);
    fs::write(path, [head.clone(), long.clone(), tail.clone()].concat()).unwrap();
    (head, long, tail)
}

/// Item 9: an overlong line keeps its line number, in gate and in watch.
#[test]
fn an_overlong_line_keeps_every_later_line_number() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    segment(&sd, "30", "test_00001", Some(1), 10);
    let path = d.path().join("l.ndjson");
    let (head, long, tail) = overlong_ledger(&path);
    let l = p(&path);
    let r = verify(&["gate", "--dir", &p(&sd), "--ledger", &l, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r);
    let rows = &v["cross"]["ledger"]["rows"];
    let find = |v: &serde_json::Value, kind: &str| {
        v.as_array()
            .and_then(|a| a.iter().find(|r| r["kind"] == kind))
            .map(|r| r["record"].clone())
    };
    assert_eq!(find(rows, "acked_missing"), Some(format!("{l}:4").into()), "{rows}");
    assert_eq!(find(rows, "ledger_malformed"), Some(format!("{l}:2").into()), "{rows}");

    // watch: the same lines written while it follows the file.
    fs::write(&path, &head).unwrap();
    let child = Command::new(bin())
        .args([
            "watch",
            "--dir",
            &p(&sd.join("30")),
            "--ledger",
            &l,
            "--duration",
            "3s",
            "--format",
            "json",
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&long).unwrap();
    f.write_all(&tail).unwrap();
    drop(f);
    let out = finish(child, Duration::from_secs(60));
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(w["cross"]["ledger"]["rows"], *rows, "watch and gate agree");
}

/// Waits for the watch to end at its `--duration`. A hang guard, not a speed
/// check: a watch still running long after it should have stopped is killed
/// (so CI never blocks on it) and the test fails naming the hang.
fn finish(mut child: Child, hang_guard: Duration) -> std::process::Output {
    let give_up = Instant::now() + hang_guard;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= give_up {
            let _ = child.kill();
            panic!("watch did not stop: still running {hang_guard:?} after its start (a hang)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A ledger cut short (no `end`: the client killed, or `head` of a ledger)
/// and the tree missing the seqs it no longer mentions: nothing vouches for
/// them, so the gate fails on `ledger_incomplete` (it passed with a note).
#[test]
fn a_ledger_cut_short_fails() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    for q in 1..=2 {
        segment(&sd, "31", "test_00001", Some(q), 10);
    }
    let path = d.path().join("l.ndjson");
    let records = [
        run_record(3),
        upload("test_00001", Some("31"), Some(1), 10),
        upload("test_00001", Some("31"), Some(2), 10),
    ];
    fs::write(&path, lines(&records)).unwrap();
    let r = verify(&[
        "gate",
        "--dir",
        &p(&sd.join("31")),
        "--ledger",
        &p(&path),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v = json(&r);
    assert_eq!(kinds(&v), ["ledger_incomplete"], "{}", v["cross"]["ledger"]);
    let accepted = verify(&[
        "gate",
        "--dir",
        &p(&sd.join("31")),
        "--ledger",
        &p(&path),
        "--fail-on=-cross:ledger_incomplete",
    ]);
    assert_eq!(accepted.code, 0, "{}", accepted.stdout);
    // Closed, the same ledger passes.
    let whole = ledger(&path, 3, &records[1..]);
    assert_eq!(
        verify(&["gate", "--dir", &p(&sd.join("31")), "--ledger", &whole]).code,
        0
    );
}

/// `verify ids --ledger` on a ledger cut short or miscounted: its logins
/// cannot be vouched for, an error (exit 2) saying why, never a pass.
#[test]
fn ids_refuses_to_pass_a_ledger_cut_short_or_miscounted() {
    let d = tempfile::tempdir().unwrap();
    let login = Record::Login {
        student: "test_00001".into(),
        exam: Some("31".into()),
        attempt: 1,
        start_ms: 0,
        end_ms: 1,
        status: Some(200),
        failure: None,
        answer: Default::default(),
    };
    let cut = d.path().join("cut.ndjson");
    fs::write(&cut, lines(&[run_record(3), login.clone()])).unwrap();
    let miscounted = d.path().join("miscounted.ndjson");
    fs::write(
        &miscounted,
        lines(&[run_record(3), login.clone(), Record::End { records: 9 }]),
    )
    .unwrap();
    for (path, why) in [(&cut, "no end record"), (&miscounted, "do not hold the lines")] {
        let r = verify(&["ids", "--ledger", &p(path), "--expect", "test_00001..test_00001"]);
        assert_eq!(r.code, 2, "{}: {}{}", path.display(), r.stdout, r.stderr);
        assert!(
            r.stdout.contains(why) || r.stderr.contains(why),
            "{}{}",
            r.stdout,
            r.stderr
        );
    }
    let whole = ledger(&d.path().join("whole.ndjson"), 3, &[login]);
    let r = verify(&["ids", "--ledger", &whole, "--expect", "test_00001..test_00001"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Beside it, an empty or blank ledger (a worker killed before its first
    // flush) hides that worker's logins: refused too.
    for (name, bytes) in [("empty.ndjson", &b""[..]), ("blank.ndjson", &b"\n\n"[..])] {
        let other = d.path().join(name);
        fs::write(&other, bytes).unwrap();
        let r = verify(&[
            "ids",
            "--ledger",
            &whole,
            &p(&other),
            "--expect",
            "test_00001..test_00001",
        ]);
        assert_eq!(r.code, 2, "{name}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains("no run section") || r.stderr.contains("no run section"),
            "{name}"
        );
    }
}

/// A ledger edited to hide a server's loss behind a client fault: a
/// `restart` the student never logs in after, uploads after its `killed`,
/// a `lost_at_exit` before later uploads. No client writes those orders:
/// the gate fails on `ledger_malformed` instead of taking the explanation.
#[test]
fn fault_records_out_of_a_clients_order_fail() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    for q in [1, 3] {
        segment(&sd, "31", "test_00001", Some(q), 10);
    }
    let fault = |killed: bool| {
        let (student, exam, at_ms, last_seq, lost) = ("test_00001".into(), Some("31".into()), 5, 2, vec![2]);
        if killed {
            Record::Killed {
                student,
                exam,
                at_ms,
                last_seq,
                lost,
            }
        } else {
            Record::Restart {
                student,
                exam,
                at_ms,
                last_seq,
                lost,
            }
        }
    };
    let lost = Record::LostAtExit {
        student: "test_00001".into(),
        exam: Some("31".into()),
        seq: 2,
        attempts: 0,
    };
    let up = |q| upload("test_00001", Some("31"), Some(q), 10);
    for (name, hiding) in [
        ("restart", fault(false)),
        ("killed", fault(true)),
        ("lost_at_exit", lost),
    ] {
        let l = ledger(&d.path().join(format!("{name}.ndjson")), 3, &[up(1), hiding, up(3)]);
        let r = verify(&["gate", "--dir", &p(&sd.join("31")), "--ledger", &l, "--format", "json"]);
        assert_eq!(r.code, 1, "{name}: {}", r.stdout);
        let v = json(&r);
        assert!(
            kinds(&v).contains(&"ledger_malformed".to_string()),
            "{name}: {}",
            v["cross"]["ledger"]
        );
        assert!(
            v["cross"]["ledger"].to_string().contains("break a client's order"),
            "{name}: {}",
            v["cross"]["ledger"]
        );
    }
}

/// A ledger whose run starts at no plausible time (unix ms 0, 2^63) cannot
/// place its logins after another worker's logout: they collide, never a
/// relogin by an absurd clock (hostile review).
#[test]
fn a_ledger_with_an_absurd_start_cannot_turn_a_collision_into_a_relogin() {
    let d = tempfile::tempdir().unwrap();
    let login = |start_ms| Record::Login {
        student: "test_00001".into(),
        exam: Some("31".into()),
        attempt: 1,
        start_ms,
        end_ms: start_ms + 1,
        status: Some(200),
        failure: None,
        answer: Default::default(),
    };
    let logout = Record::Logout {
        student: "test_00001".into(),
        exam: Some("31".into()),
        attempt: 1,
        start_ms: 60_000,
        end_ms: 60_001,
        status: Some(200),
        failure: None,
        answer: Default::default(),
    };
    let write = |name: &str, started: u64, records: Vec<Record>| {
        let path = d.path().join(name);
        let mut all = vec![Record::Run {
            v: 3,
            tool: "loadgen".into(),
            host: "h".into(),
            scenario: "s".into(),
            task: Some("recording".into()),
            started_unix_ms: started,
        }];
        let n = records.len() as u64 + 2;
        all.extend(records);
        all.push(Record::End { records: n });
        fs::write(&path, lines(&all)).unwrap();
        p(&path)
    };
    let a = write("a.ndjson", 1_764_000_000_000, vec![login(10), logout.clone()]);
    for started in [0, 1 << 63, u64::MAX] {
        let b = write("b.ndjson", started, vec![login(20)]);
        let r = verify(&[
            "ids",
            "--ledger",
            &a,
            &b,
            "--expect",
            "test_00001..test_00001",
            "--format",
            "json",
        ]);
        assert_eq!(r.code, 1, "start {started}: {}", r.stdout);
        assert_eq!(
            json(&r)["duplicates"][0]["kind"],
            "collision",
            "start {started}: {}",
            r.stdout
        );
    }
}

/// A `killed` record explains a student's missing tail only where its client
/// was: not from another ledger file that holds nothing else of it, and not
/// from an earlier run section of the same file whose next run uploaded on
/// (hostile re-review: both passed with seqs 6-8 "killed").
#[test]
fn a_kill_explains_nothing_outside_its_own_run() {
    let d = tempfile::tempdir().unwrap();
    let sd = d.path().join("server_data");
    for q in 1..=5 {
        segment(&sd, "31", "test_00001", Some(q), 10);
    }
    let killed = Record::Killed {
        student: "test_00001".into(),
        exam: Some("31".into()),
        at_ms: 5,
        last_seq: 0,
        lost: vec![],
    };
    let login = Record::Login {
        student: "test_00001".into(),
        exam: Some("31".into()),
        attempt: 1,
        start_ms: 0,
        end_ms: 1,
        status: Some(200),
        failure: None,
        answer: Default::default(),
    };
    let uploads: Vec<Record> = (1..=5).map(|q| upload("test_00001", Some("31"), Some(q), 10)).collect();
    // The same file: section 1 killed at once, section 2 uploads 1-5.
    let section = |records: &[Record]| {
        let mut all = vec![run_record(3)];
        all.extend_from_slice(records);
        all.push(Record::End {
            records: records.len() as u64 + 2,
        });
        lines(&all)
    };
    let two = d.path().join("two.ndjson");
    let mut bytes = section(&[login.clone(), killed.clone()]);
    bytes.extend(section(&[[login.clone()].as_slice(), &uploads].concat()));
    fs::write(&two, bytes).unwrap();
    // Another file: nothing but the kill.
    let main = ledger(
        &d.path().join("main.ndjson"),
        3,
        &[[login].as_slice(), &uploads].concat(),
    );
    let bare = ledger(&d.path().join("bare.ndjson"), 3, &[killed]);
    let dir = p(&sd.join("31"));
    for ledgers in [vec![p(&two)], vec![main, bare]] {
        let mut args = vec!["gate", "--dir", &dir, "--expect-segments", "8", "--format", "json"];
        for l in &ledgers {
            args.extend(["--ledger", l.as_str()]);
        }
        let r = verify(&args);
        assert_eq!(r.code, 1, "{ledgers:?}: {}", r.stdout);
        let v = json(&r);
        assert!(
            !kinds(&v).contains(&"gap_client_killed".to_string()),
            "{ledgers:?}: {}",
            v["cross"]["ledger"]
        );
    }
}
